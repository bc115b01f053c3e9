"""`spacy-adr signals`: drug-event disproportionality over annotate outputs."""
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from ..errors import InputError
from . import app


class Level(str, Enum):
    pt = "pt"
    llt = "llt"


class Window(str, Enum):
    day = "day"
    week = "week"
    month = "month"
    year = "year"


@app.command("signals")
def signals_cli(
    inputs: List[Path] = typer.Argument(..., help="annotate JSONL outputs (.jsonl, also .gz/.bz2/.xz), or folders of them."),
    output_dir: Path = typer.Option(..., "--output", "-o", help="Folder for signals.csv, drugs.csv, summary.json, index.html and plots/."),
    meddra: Optional[Path] = typer.Option(None, "--meddra", help="MedDRA to roll LLTs up to PTs where records carry no meddra_pt: llt.tsv, an llt.asc folder, a linker's kb.tsv or a pipeline folder."),
    level: Level = typer.Option(Level.pt, "--level", help="Events: MedDRA Preferred Terms (pt) or the spans' own codes (llt)."),
    min_count: int = typer.Option(3, "--min-count", help="Fewest cases of a drug-event pair in the tables; a signal needs as many."),
    html: bool = typer.Option(True, "--html/--no-html", help="Write index.html with plots (needs matplotlib: spacy_adr[report])."),
    top_drugs: int = typer.Option(12, "--top-drugs", help="Drugs with a plot of their top events."),
    top_events: int = typer.Option(10, "--top-events", help="Events per drug plot."),
    date_field: Optional[str] = typer.Option(None, "--date-field", help="The records' date field (annotate --keep-field created_at): a signal table per time window too (signals_by_window.csv, windows.csv)."),
    window: Window = typer.Option(Window.month, "--window", help="Time window of --date-field: day, week (ISO), month or year."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Count drug x MedDRA PT cases in annotate outputs (a case: one drug-event pair of one
    tweet, the drug from adr_drug_mentions) and compute PRR and ROR with 95 % intervals
    (0.5 added to every cell of a table with a zero cell). Streams any number of records;
    a bad line or file is reported with file and line, not fatal."""
    if min_count < 1:
        msg.fail("--min-count must be at least 1", exits=1)
    if html:
        try:
            import matplotlib  # noqa: F401
        except ImportError as error:
            msg.fail(f"{error}: pip install 'spacy_adr[report]', or pass --no-html", exits=1)
    from ..signals import make_signals

    try:
        result = make_signals(
            inputs, output_dir, level=level.value, meddra=meddra, min_count=min_count, html=html,
            top_drugs=top_drugs, top_events=top_events, date_field=date_field, window=window.value,
            command="spacy-adr " + " ".join(sys.argv[1:]), progress=not quiet,
        )
    except (InputError, FileNotFoundError, ValueError) as error:
        msg.fail(str(error), exits=1)
    summary = result.summary
    read, spans = summary["read"], summary["spans"]
    msg.info(
        f"{read['files']} files, {read['lines']:,} lines: {read['records']:,} records read, "
        f"{read['skipped']:,} lines skipped, {read['files_failed']} files failed"
    )
    msg.info(
        f"{spans['spans']:,} ADR spans: {spans['with_drug']:,} with a drug, {spans['without_drug']:,} "
        f"without, {spans['without_term']:,} without an event; {spans['cases']:,} cases"
    )
    if "windows" in summary:
        dates = summary["windows"]
        msg.info(
            f"{dates['dated']:,} records dated by {dates['field']!r} in {dates['windows']:,} {dates['window']} windows with "
            f"cases; {dates['undated']:,} without the field, {dates['bad']:,} not a date"
        )
        if not dates["dated"]:
            msg.warn(f"no record has a date in {dates['field']!r}: annotate with --keep-field {dates['field']}")
    problems = summary["problems"]
    for line in problems["examples"][:10]:
        msg.warn(line)
    n_problems = sum(problems["counts"].values())
    if n_problems > 10:
        msg.warn(f"... {n_problems:,} problems in all: see {result.output_dir / 'summary.json'}")
    msg.good(f"{summary['rows']:,} drug-event pairs with at least {min_count} cases, {summary['signals']:,} signals")
    for path in result.files:
        msg.text(f"wrote {path}")
