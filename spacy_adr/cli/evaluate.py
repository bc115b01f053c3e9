"""`spacy-adr evaluate-ner` and `evaluate-ner-ensemble`: SMM4H span scores of a pipeline (or of
K pipelines voting), written to a metrics file."""
import sys
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from . import app


@app.command("evaluate-ner")
def evaluate_ner_cli(
    model: str = typer.Argument(..., help="Pipeline: installed package name or path."),
    data_path: Path = typer.Argument(..., help="Gold corpus (.spacy), e.g. corpus/task3/dev.spacy."),
    output: Path = typer.Option(Path("metrics/ner_task3_dev.json"), "--output", "-o", help="Metrics file."),
    variant: str = typer.Option(..., "--variant", help="Name of the variant, e.g. minilm+gazetteer."),
    split: str = typer.Option("task3_dev", "--split", help="Name of the data split."),
    e2e: bool = typer.Option(False, "--e2e", help="Also write the end-to-end row (relaxed span match and the same MedDRA code); needs adr_meddra_linker."),
) -> None:
    """Strict and relaxed P/R/F1 of ADR spans against the source file's own offsets and,
    with --e2e, the end-to-end P/R/F1 of linked spans."""
    from ..evaluation.ner import evaluate_ner
    from ..evaluation.metrics import write_rows

    if not data_path.exists():
        msg.fail(f"{data_path}: no such corpus", exits=1)
    try:
        scores = evaluate_ner(model, data_path, linked=e2e)
    except ValueError as error:
        msg.fail(str(error), exits=1)
    rows = [{"task": task, "variant": variant, "split": split, **values} for task, values in scores.items()]
    write_rows(output, rows, command="spacy-adr " + " ".join(sys.argv[1:]))
    for task, values in scores.items():
        msg.table(
            [(key, f"{value:.4f}" if isinstance(value, float) else value) for key, value in values.items()],
            header=(task, variant),
        )
    msg.good(f"Wrote {output}")


@app.command("evaluate-ner-ensemble")
def evaluate_ner_ensemble_cli(
    models: List[str] = typer.Argument(..., help="Two or more NER pipelines (names or paths)."),
    data_path: Path = typer.Option(..., "--data", "-d", help="Gold corpus (.spacy), e.g. corpus/task3/dev.spacy."),
    variant: str = typer.Option(..., "--variant", help="Name of the ensemble; rows are VARIANT-vote{k}of{K}."),
    output: Path = typer.Option(Path("metrics/ner_task3_dev.json"), "--output", "-o", help="Metrics file."),
    split: str = typer.Option("task3_dev", "--split", help="Name of the data split."),
    weights: Optional[str] = typer.Option(None, "--weights", help="Votes of each member, comma-separated (e.g. 2,1,1); default one each."),
) -> None:
    """Span-level voting over K NER pipelines: strict and relaxed P/R/F1 of every vote
    threshold (1 = union ... K = intersection), with the members' own rows and the time
    each took, so the gain can be set against the cost."""
    from spacy.tokens import DocBin

    from ..evaluation.metrics import write_rows
    from ..evaluation.ner import gold_offsets
    from ..evaluation.scoring import score_spans
    from ..training.ner_ensemble import member_predictions, vote_table

    if len(models) < 2:
        msg.fail("evaluate-ner-ensemble: give at least two pipelines", exits=1)
    try:
        member_weights = [int(w) for w in weights.split(",")] if weights else None
    except ValueError:
        msg.fail(f"--weights: expected comma-separated integers, got {weights!r}", exits=1)
    if member_weights is not None and (len(member_weights) != len(models) or min(member_weights) < 1):
        msg.fail(f"--weights: give {len(models)} positive integers, one per pipeline; got {weights!r}", exits=1)
    if not data_path.exists():
        msg.fail(f"{data_path}: no such corpus", exits=1)
    import spacy

    gold_docs = list(DocBin().from_disk(data_path).get_docs(spacy.blank("en").vocab))
    gold = [gold_offsets(doc) for doc in gold_docs]
    try:
        predictions, seconds = member_predictions(models, [doc.text for doc in gold_docs])
    except (OSError, ValueError) as error:
        msg.fail(str(error), exits=1)
    rows = []
    for model, spans, took in zip(models, predictions, seconds):
        rows.append({"task": "ner", "variant": f"{variant}-member:{model}", "split": split,
                     **score_spans(spans, gold), "n": len(gold_docs), "seconds": round(took, 1)})
    total = sum(member_weights) if member_weights else len(models)
    for k, spans in vote_table(predictions, member_weights).items():
        rows.append({"task": "ner", "variant": f"{variant}-vote{k}of{total}", "split": split,
                     **score_spans(spans, gold), "n": len(gold_docs), "members": list(models),
                     "weights": member_weights or [1] * len(models), "min_votes": k,
                     "seconds": round(sum(seconds), 1)})
    write_rows(output, rows, command="spacy-adr " + " ".join(sys.argv[1:]))
    msg.table(
        [(row["variant"], f"{row['strict_f']:.4f}", f"{row['relaxed_f']:.4f}", row["seconds"]) for row in rows],
        header=("variant", "strict F1", "relaxed F1", "seconds"),
    )
    msg.good(f"Wrote {output}")
