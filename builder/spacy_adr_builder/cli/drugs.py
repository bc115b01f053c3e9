"""`spacy-adr-builder drug-lexicon` and `evaluate-drugs`: the drug lexicon of
`adr_drug_mentions`, built from the training data and measured."""
import json
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from . import app, command_line

MIN_ANNOTATED_HELP = "CADEC spellings enter when annotated as a drug in at least this share of their occurrences."
DICTIONARY_HELP = "Add the open drug dictionary of drug-named-entity-recognition (DrugBank open data, MeSH, ...)."


@app.command("drug-lexicon")
def drug_lexicon_cli(
    data_dir: Path = typer.Argument(..., help="The data folder ($SPACY_ADR_DATA)."),
    output: Path = typer.Argument(..., help="The lexicon TSV (name<TAB>drug), e.g. training/drug_lexicon.tsv."),
    report_path: Optional[Path] = typer.Option(None, "--report", help="JSON report: names per source, those left out, problems."),
    min_annotated: float = typer.Option(0.5, "--min-annotated", help=MIN_ANNOTATED_HELP),
    dictionary: bool = typer.Option(True, "--dictionary/--no-dictionary", help=DICTIONARY_HELP),
) -> None:
    """The drug lexicon from the training data: Task 3 train's drug column, CADEC's Drug
    entities (spellings normalised by their SNOMED CT concept) and the WebMD review titles;
    never Task 3 dev. Then the open drug dictionary of drug-named-entity-recognition for the
    drugs they never name. Optional sources missing from DATA_DIR are named and left out."""
    from spacy_adr.errors import ConversionReport, InputError
    from spacy_adr.tokenizer import make_blank
    from ..corpora.drug_names import read_drug_sources
    from ..training.drug_lexicon import build_drug_lexicon

    report = ConversionReport(source=f"drug names in {data_dir}")
    try:
        sources = read_drug_sources(data_dir, make_blank("en"), report, dictionary=dictionary)
    except InputError as error:
        msg.fail(str(error), exits=1)
    for name in sources.missing:
        msg.warn(f"{data_dir / name}: not found, left out of the lexicon")
    lexicon, summary = build_drug_lexicon(
        task3=sources.task3, cadec=sources.cadec, webmd=sources.webmd, dictionary=sources.dictionary,
        ambiguous=sources.ambiguous, min_annotated=min_annotated,
    )
    lexicon.to_disk(output)
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        content = {**summary, "missing": sources.missing, "read": report.to_dict()}
        report_path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for source in ("task3", "cadec", "webmd", "dictionary"):
        if source in summary:
            counts = summary[source]
            msg.info(f"{source}: {counts['names']} names, {counts['kept']} kept")
    msg.good(f"Wrote {output}: {len(lexicon)} names of {len(lexicon.drugs())} drugs")


@app.command("evaluate-drugs")
def evaluate_drugs_cli(
    data_dir: Path = typer.Argument(..., help="The data folder ($SPACY_ADR_DATA)."),
    lexicon_path: Path = typer.Argument(..., help="The project's drug lexicon (drug-lexicon's output)."),
    output: Path = typer.Option(Path("metrics/drugs.json"), "--output", "-o", help="Metrics file."),
    min_annotated: float = typer.Option(0.5, "--min-annotated", help=MIN_ANNOTATED_HELP),
) -> None:
    """(a) The drug found for Task 3 dev's ADR spans by each attribution rule, with the
    project's lexicon; (b) drug mentions on CADEC's Drug entities, strict and relaxed P/R/F1:
    on held-out posts with a lexicon built without them, and on all posts with lexicons that
    never saw CADEC."""
    from spacy_adr.errors import ConversionReport, InputError
    from spacy_adr.kb.drugs import DrugLexicon
    from spacy_adr.metrics import write_rows
    from spacy_adr.tokenizer import make_blank
    from ..corpora.drug_names import TASK3_DEV, read_drug_sources
    from ..evaluation.drugs import evaluate_drugs

    if not lexicon_path.is_file():
        msg.fail(f"{lexicon_path}: no such lexicon (spacy-adr-builder drug-lexicon writes it)", exits=1)
    nlp = make_blank("en")
    report = ConversionReport(source=f"drug evaluation on {data_dir}")
    try:
        sources = read_drug_sources(data_dir, nlp, report)
        rows = evaluate_drugs(
            sources, DrugLexicon().from_disk(lexicon_path), data_dir / TASK3_DEV, nlp, report,
            min_annotated=min_annotated,
        )
    except InputError as error:
        msg.fail(str(error), exits=1)
    write_rows(output, rows, command=command_line())
    attribution = [row for row in rows if row["split"] == "task3_dev"]
    msg.table(
        [(row["lexicon"], row["variant"] + (" (chosen)" if row["chosen"] else ""), f"{row['found']:.4f}", row["n"],
          f"{row['found_known']:.4f}", row["n_known"], f"{row['found_all']:.4f}", row["n_all"])
         for row in attribution],
        header=("lexicon", "rule", "found", "n", "found_known", "n_known", "found_all", "n_all"),
    )
    spans = [row for row in rows if row["split"] != "task3_dev"]
    if spans:
        msg.table(
            [(row["variant"], row["split"], f"{row['strict_f']:.4f}", f"{row['relaxed_f']:.4f}", row["n_gold"])
             for row in spans],
            header=("lexicon", "split", "strict_f", "relaxed_f", "n_gold"),
        )
    msg.good(f"Wrote {output}")
