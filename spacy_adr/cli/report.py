"""`spacy-adr report`: an HTML evaluation report with plots of a pipeline on the dev sets."""
import sys
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from . import app


@app.command("report")
def report_cli(
    model: str = typer.Argument(..., help="Pipeline: installed package name or path."),
    output_dir: Path = typer.Argument(..., help="Folder of the report (index.html, plots/, report.json); keep it local, it quotes dev tweets."),
    data: List[str] = typer.Option(["en_dev:corpus/task2/en/dev.spacy"], "--data", "-d", help="SPLIT:PATH of a corpus with tweet labels for the classifier plots; repeatable."),
    spans: Optional[Path] = typer.Option(Path("corpus/task3/dev.spacy"), "--spans", help="Corpus with gold ADR spans and MedDRA codes (NER, linker, end to end, examples)."),
    no_spans: bool = typer.Option(False, "--no-spans", help="Leave out the span sections (a classifier-only pipeline)."),
    metrics_dir: Path = typer.Option(Path("metrics"), "--metrics", help="Metrics folder; its stream rows of this package are shown."),
    n_examples: int = typer.Option(20, "--examples", help="Dev tweets rendered with displaCy."),
    code: Optional[Path] = typer.Option(None, "--code", "-c", help="Python file with registered components to import."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use only the first N tweets of each corpus (a quick look; the page says so)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Evaluate a pipeline on the dev sets and write one HTML page with plots: tweet
    classification (precision-recall, F1 against threshold), ADR spans by length and gazetteer
    tag with the most frequent errors, MedDRA linking against its threshold, end-to-end and
    stream figures, and dev tweets rendered with displaCy."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        msg.fail(f"{error}: pip install 'spacy_adr[report]'", exits=1)
    from ..report import make_report

    textcat = []
    for value in data:
        if ":" not in value:
            msg.fail(f"--data {value!r}: give SPLIT:PATH, e.g. en_dev:corpus/task2/en/dev.spacy", exits=1)
        split, path = value.split(":", 1)
        textcat.append((split, Path(path)))
    spans_path = None if no_spans else spans
    for path in [p for _, p in textcat] + ([spans_path] if spans_path else []):
        if not path.is_file():
            msg.fail(f"{path}: no such corpus", exits=1)
    try:
        page = make_report(
            model, output_dir, textcat=textcat, spans=spans_path, metrics_dir=metrics_dir,
            n_examples=n_examples, command="spacy-adr " + " ".join(sys.argv[1:]), code=code,
            limit=limit, progress=not quiet,
        )
    except ValueError as error:
        msg.fail(str(error), exits=1)
    msg.good(f"Wrote {page}")
