"""An evaluation report of a pipeline on the dev sets: one HTML page with matplotlib plots.

    from spacy_adr.report import make_report
    make_report("en_adr_smm4h", "reports/en_adr_smm4h",
                textcat=[("en_dev", "corpus/task2/en/dev.spacy")], spans="corpus/task3/dev.spacy")

writes `index.html`, its plots under `plots/` and every figure in `report.json`. The page
quotes dev tweets (false positives, misses, rendered examples): licensed text, so the folder
stays local.
"""
import datetime
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from spacy.language import Language
from tqdm import tqdm

from ..classification import adr_threshold, gold_labels
from ..metrics import machine_description
from . import page
from .figures import (
    GAZETTEER_FACTORY,
    LINKER_FACTORY,
    find_pipe,
    linker_figures,
    ner_figures,
    read_docs,
    sets_entities,
    textcat_figures,
)

PLOTS_DIR = "plots"
N_EXAMPLES = 20


def make_report(
    model: Union[str, Path, Language],
    output_dir: Union[str, Path],
    *,
    textcat: Sequence[Tuple[str, Union[str, Path]]] = (),
    spans: Optional[Union[str, Path]] = None,
    metrics_dir: Optional[Union[str, Path]] = None,
    n_examples: int = N_EXAMPLES,
    command: str = "",
    batch_size: int = 64,
    code: Optional[Union[str, Path]] = None,
    limit: Optional[int] = None,
    progress: bool = True,
) -> Path:
    """Evaluate a pipeline on gold corpora and write the report.

    model (Union[str, Path, Language]): Installed package name, pipeline path or pipeline.
    output_dir (Union[str, Path]): Folder of the report (created).
    textcat (Sequence[Tuple[str, Union[str, Path]]]): (split name, `.spacy` with tweet labels)
        pairs, e.g. ("en_dev", "corpus/task2/en/dev.spacy"); skipped when the pipeline has no
        ADR classifier.
    spans (Optional[Union[str, Path]]): `.spacy` with gold ADR spans and codes (Task 3 dev).
    metrics_dir (Optional[Union[str, Path]]): The metrics folder: its stream rows of this
        package are shown when present.
    n_examples (int): Dev tweets rendered with displaCy.
    command (str): The command that made the report, shown on the page.
    batch_size (int): Batch size of nlp.pipe.
    code (Optional[Union[str, Path]]): Python file with registered components to import first.
    limit (Optional[int]): Use only the first `limit` tweets of each corpus (a quick look on a
        slow machine; the page says so).
    progress (bool): Show progress bars.
    RETURNS (Path): The HTML page.
    """
    from ..annotate import load_pipeline

    nlp = load_pipeline(model, code=code)
    output_dir = Path(output_dir)
    plots_dir = output_dir / PLOTS_DIR
    plots_dir.mkdir(parents=True, exist_ok=True)
    name = f"{nlp.lang}_{nlp.meta.get('name', 'pipeline')}"
    report: Dict[str, Any] = {
        "model": name,
        "version": nlp.meta.get("version", ""),
        "pipe_names": list(nlp.pipe_names),
        "date": datetime.date.today().isoformat(),
        "command": command,
        "machine": machine_description(),
        "data": [],
    }
    sections: List[str] = []
    threshold = adr_threshold(nlp)

    def run(texts: List[str], desc: str) -> Any:
        return tqdm(nlp.pipe(texts, batch_size=batch_size), total=len(texts), desc=desc, disable=not progress)

    report["textcat"] = {}
    if threshold is not None or any("textcat" in nlp.get_pipe_meta(n).factory for n in nlp.pipe_names):
        for split, path in textcat:
            docs = read_docs(nlp, path)
            report["data"].append(_data_row(split, path, len(docs), limit))
            docs = docs[:limit]
            gold = gold_labels(docs, path)
            probabilities = [float(doc.cats.get("ADR", 0.0)) for doc in run([d.text for d in docs], split)]
            figures = textcat_figures(probabilities, gold, threshold)
            report["textcat"][split] = figures
            sections.append(_textcat_section(split, figures, plots_dir))

    report["ner"] = None
    report["linker"] = None
    if spans is not None and sets_entities(nlp):
        gold_docs = read_docs(nlp, spans)
        report["data"].append(_data_row("spans", spans, len(gold_docs), limit))
        gold_docs = gold_docs[:limit]
        predicted = list(run([d.text for d in gold_docs], "spans"))
        linker_name = find_pipe(nlp, LINKER_FACTORY)
        ner = ner_figures(
            predicted, gold_docs, has_gazetteer=find_pipe(nlp, GAZETTEER_FACTORY) is not None,
            linked=linker_name is not None,
        )
        report["ner"] = ner
        sections.append(_ner_section(ner, plots_dir))
        if linker_name is not None:
            linker = linker_figures(nlp.get_pipe(linker_name), spans, limit=limit)
            report["linker"] = linker
            if linker is not None:
                sections.append(_linker_section(linker, plots_dir))
        sections.append(_e2e_section(ner, _stream_rows(metrics_dir, name)))
        examples = [doc for doc in predicted if doc.ents][:n_examples]
        sections.append(_examples_section(examples))

    (output_dir / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    page_path = output_dir / "index.html"
    page_path.write_text(page.render_page(report, sections), encoding="utf-8")
    return page_path


def _data_row(split: str, path: Union[str, Path], n: int, limit: Optional[int]) -> Dict[str, Any]:
    # The converted file's date stands for the data's: a re-conversion shows as a new date.
    mtime = datetime.datetime.fromtimestamp(Path(path).stat().st_mtime)
    used = n if limit is None or limit >= n else f"first {limit:,} of {n:,}"
    return {"name": split, "path": str(path), "n": used, "date": mtime.date().isoformat()}


def _rel(path: Path) -> str:
    return f"{PLOTS_DIR}/{path.name}"


def _textcat_section(split: str, figures: Dict[str, Any], plots_dir: Path) -> str:
    from .plots import textcat_plots

    paths = textcat_plots(split, figures, plots_dir)
    at = figures["at_threshold"]
    rows = []
    if at is not None:
        rows.append(["stored threshold", at["threshold"], at["p"], at["r"], at["f"], at["n_pred_pos"]])
    best = figures["best"]
    best_row = next(r for r in figures["curve"] if r["threshold"] == best["threshold"])
    rows.append(["best on this split", best["threshold"], best_row["p"], best_row["r"], best_row["f"], ""])
    body = (
        f"<p>{figures['n']} tweets, {figures['n_pos']} labelled ADR.</p>"
        + page.table(["", "threshold", "precision", "recall", "F1", "predicted ADR"], rows)
        + page.images([_rel(p) for p in paths], f"tweet classification {split}")
    )
    return page.section(f"Tweet classification: {split}", body, f"textcat-{split}")


def _ner_section(ner: Dict[str, Any], plots_dir: Path) -> str:
    from .plots import grouped_bars

    overall = ner["overall"]
    body = page.score_table({"all spans": overall}, "")
    length_plot = grouped_bars("ADR spans by length (tokens)", ner["by_length"], plots_dir / "ner_by_length.png")
    body += "<h3>By span length (tokens)</h3>" + page.score_table(ner["by_length"], "tokens")
    plots = [_rel(length_plot)]
    if ner["by_gazetteer"]:
        gaz_plot = grouped_bars("ADR spans by gazetteer tag", ner["by_gazetteer"], plots_dir / "ner_by_gazetteer.png")
        body += "<h3>By whether the gazetteer tagged a token of the span</h3>" + page.score_table(ner["by_gazetteer"], "gazetteer")
        plots.append(_rel(gaz_plot))
    body += page.images(plots, "span scores")
    body += (
        '<div style="display:flex;gap:2em"><div><h3>Most frequent false positives</h3>'
        + page.table(["predicted span (no gold overlap)", "count"], ner["false_positives"])
        + "</div><div><h3>Most frequent misses</h3>"
        + page.table(["gold span (no prediction overlaps)", "count"], ner["misses"])
        + "</div></div>"
    )
    note = '<p class="note">Strict: exact offsets; relaxed: any overlap. Precision of a group counts the predicted spans in it, recall the gold spans in it.</p>'
    return page.section(f"ADR spans ({overall['n']} tweets)", note + body, "ner")


def _linker_section(linker: Dict[str, Any], plots_dir: Path) -> str:
    from .plots import linker_plots

    paths = linker_plots(linker, plots_dir)
    keys = ["acc1", "acc1_seen", "acc1_unseen", "n", "n_seen", "n_unseen"]
    rows = [[variant, *(linker[variant][k] for k in keys)] for variant in ("classifier", "metric", "combined")]
    rows[2][0] = f"combined @ {linker['threshold']:.2f} (stored)"
    confused = [[c["gold"], c["gold_term"], c["predicted"], c["predicted_term"], c["n"]] for c in linker["confused"]]
    body = (
        '<p class="note">acc@1 of MedDRA LLT codes on the gold mentions. Combined: the nearest concept name when its distance is under the threshold, else the classifier. "Seen": the gold code is one the classifier was trained on.</p>'
        + page.table(["linker", *keys], rows)
        + page.images([_rel(p) for p in paths], "linker")
        + "<h3>Most confused concepts</h3>"
        + page.table(["gold code", "gold term", "predicted code", "predicted term", "mentions"], confused)
    )
    return page.section("MedDRA linking", body, "linker")


def _stream_rows(metrics_dir: Optional[Union[str, Path]], name: str) -> List[Dict[str, Any]]:
    if metrics_dir is None:
        return []
    rows = []
    for path in sorted(Path(metrics_dir).glob("stream_*.json")):
        try:
            rows += [r for r in json.loads(path.read_text(encoding="utf-8")) if r.get("variant", "").startswith(name)]
        except (OSError, ValueError, AttributeError):
            continue
    return [r for r in rows if r.get("task") == "stream"]


def _e2e_section(ner: Dict[str, Any], stream: List[Dict[str, Any]]) -> str:
    body = ""
    if ner["e2e"] is not None:
        e2e = ner["e2e"]
        body += "<p>End to end: a predicted span counts when it overlaps a gold span with the same MedDRA code.</p>"
        body += page.table(["relaxed_p", "relaxed_r", "relaxed_f", "n_pred", "n_gold"],
                           [[e2e["relaxed_p"], e2e["relaxed_r"], e2e["relaxed_f"], e2e["n_pred"], e2e["n_gold"]]])
    if stream:
        keys = ["strict_f", "relaxed_p", "relaxed_r", "relaxed_f", "e2e_relaxed_f", "false_spans_per_1000_noadr", "adr_rate"]
        body += "<h3>On a tweet stream (from the metrics files)</h3>"
        body += '<p class="note">Task 3 dev mixed with unseen NoADR tweets at the stated ADR rate: what users see on a dump.</p>'
        body += page.table(["variant", "split", *keys, "date"], [[r.get("variant"), r.get("split"), *(r.get(k) for k in keys), r.get("date")] for r in stream])
    if not body:
        body = '<p class="note">The pipeline does not link spans and no stream figures were found.</p>'
    return page.section("End to end and stream", body, "e2e")


def _examples_section(docs: List[Any]) -> str:
    from ..visualize import render

    if not docs:
        return page.section("Examples", '<p class="note">No dev tweet got an ADR span.</p>', "examples")
    body = f'<p class="note">The first {len(docs)} dev tweets with a predicted ADR span, each span labelled with its MedDRA term and LLT code.</p>'
    # displaCy writes each tweet's title as an <h2>: the wrapper lets the page's style shrink it.
    rendered = f'<div class="examples">{render(docs, jupyter=False)}</div>'
    return page.section("Examples", body + rendered, "examples")
