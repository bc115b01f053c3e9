"""Drug-event signals over `spacy-adr annotate` outputs: counts of each drug with each MedDRA
Preferred Term, and the usual disproportionality measures (PRR, ROR with 95 % intervals).

    from spacy_adr.signals import make_signals
    result = make_signals(["annotated.jsonl"], "signals/")

streams the records (any size, plain or compressed; `reading`), counts cases in dicts
(`counting`, `terms`), computes the measures (`measures`) and writes into the folder:
`signals.csv` (and `signals.parquet` when pyarrow is installed), `drugs.csv` (`tables`),
`summary.json` (what was read, the problems with file and line) and `index.html` with its plots
(`page`, `plots`). Bad lines are reported, never fatal.

Counts by time window: annotate with `--keep-field created_at` (any date field of the input)
and name it here (`date_field`): each day, ISO week, month or year then gets its own signal
table, `signals_by_window.csv`, and a line in `windows.csv` (`windows`, `tables`).
"""
import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from ..metrics import machine_description
from .counting import CountResult, count_cases
from .measures import DEFAULT_MIN_COUNT
from .reading import input_files
from .tables import (
    DRUG_COLUMNS, SIGNAL_COLUMNS, WINDOW_COLUMNS, WINDOW_SIGNAL_COLUMNS, drug_rows, signal_rows, window_rows,
    window_signal_rows, write_csv, write_parquet,
)
from .terms import SpanTerms, load_pt_map

PLOTS_DIR = "plots"


@dataclass
class SignalsResult:
    """What `make_signals` wrote and found.

    output_dir (Path): The folder.
    files (List[Path]): The files written.
    summary (Dict[str, Any]): `summary.json`'s content.
    rows (List[Dict[str, Any]]): The signal table.
    """

    output_dir: Path
    files: List[Path]
    summary: Dict[str, Any]
    rows: List[Dict[str, Any]]


def make_signals(
    inputs: Sequence[Union[str, Path]],
    output_dir: Union[str, Path],
    *,
    level: str = "pt",
    meddra: Optional[Union[str, Path]] = None,
    min_count: int = DEFAULT_MIN_COUNT,
    html: bool = True,
    top_drugs: int = 12,
    top_events: int = 10,
    date_field: Optional[str] = None,
    window: str = "month",
    command: str = "",
    progress: bool = False,
) -> SignalsResult:
    """Count drug-event cases in annotate outputs and write the signal tables and page.

    inputs (Sequence[Union[str, Path]]): annotate JSONL outputs (plain, .gz, .bz2, .xz) or
        folders of them.
    output_dir (Union[str, Path]): The folder written (created).
    level (str): "pt": events are MedDRA Preferred Terms; "llt": the spans' own codes.
    meddra (Optional[Union[str, Path]]): A MedDRA table (or pipeline folder) to roll LLTs up
        to PTs for records without `meddra_pt`.
    min_count (int): The fewest cases of a pair in the tables (and of a signal).
    html (bool): Write `index.html` with plots (needs matplotlib).
    top_drugs (int): Drugs (most cases first) with a plot of their top events.
    top_events (int): Events per drug plot.
    date_field (Optional[str]): The records' date field (kept by `annotate --keep-field`);
        None: no counts by window.
    window (str): "day", "week", "month" or "year".
    command (str): The command, shown on the page and in the summary.
    progress (bool): Show a progress bar.
    RETURNS (SignalsResult): The files and figures.
    RAISES (InputError): An input path that does not exist.
    """
    files = input_files(inputs)
    pt_map = load_pt_map(meddra) if meddra is not None else None
    result = count_cases(
        files, terms=SpanTerms(level, pt_map), date_field=date_field, window=window, progress=progress
    )
    rows = signal_rows(result.counts, min_count=min_count)
    drugs = drug_rows(result.counts, rows)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    summary = _summary(result, files, level=level, meddra=meddra, min_count=min_count, command=command, rows=rows)
    written = [
        write_csv(output_dir / "signals.csv", rows, SIGNAL_COLUMNS),
        write_csv(output_dir / "drugs.csv", drugs, DRUG_COLUMNS),
    ]
    if write_parquet(output_dir / "signals.parquet", rows, SIGNAL_COLUMNS):
        written.append(output_dir / "signals.parquet")
    windows: List[Dict[str, Any]] = []
    if result.dates is not None:
        by_window = window_signal_rows(result.windows, min_count=min_count)
        windows = window_rows(result.windows, by_window)
        written.append(write_csv(output_dir / "signals_by_window.csv", by_window, WINDOW_SIGNAL_COLUMNS))
        written.append(write_csv(output_dir / "windows.csv", windows, WINDOW_COLUMNS))
        summary["windows"] = {**result.dates.to_dict(), "windows": len(windows)}
    summary_path = output_dir / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(summary_path)
    if html:
        written.append(
            _write_page(output_dir, summary, rows, drugs, windows, top_drugs=top_drugs, top_events=top_events)
        )
    return SignalsResult(output_dir, written, summary, rows)


def _summary(
    result: CountResult, files: List[Path], *, level: str, meddra: Optional[Union[str, Path]],
    min_count: int, command: str, rows: List[Dict[str, Any]],
) -> Dict[str, Any]:
    return {
        "inputs": [str(path) for path in files],
        "level": level,
        "meddra": None if meddra is None else str(meddra),
        "min_count": min_count,
        "correction": "0.5 added to every cell of a table with a zero cell (Haldane-Anscombe)",
        "date": datetime.date.today().isoformat(),
        "command": command,
        "machine": machine_description(),
        "read": result.read.to_dict(),
        "spans": result.spans.to_dict(),
        "drugs": len(result.counts.drugs),
        "events": len(result.counts.events),
        "pairs": len(result.counts.pairs),
        "rows": len(rows),
        "signals": sum(1 for row in rows if row["signal"]),
        "problems": result.problems.to_dict(),
    }


def _write_page(
    output_dir: Path, summary: Dict[str, Any], rows: List[Dict[str, Any]], drugs: List[Dict[str, Any]],
    windows: List[Dict[str, Any]], *, top_drugs: int, top_events: int,
) -> Path:
    # matplotlib is an option (spacy_adr[report]): imported only for the page.
    from .page import drugs_section, render_signals_page, signals_section, summary_section, windows_section
    from .plots import top_events_plot, volcano_plot

    plots_dir = output_dir / PLOTS_DIR
    plots_dir.mkdir(parents=True, exist_ok=True)
    plots = [volcano_plot(rows, plots_dir / "volcano.png")]
    by_drug: Dict[str, List[Dict[str, Any]]] = {}
    for row in rows:
        by_drug.setdefault(row["drug"], []).append(row)
    for drug in [row["drug"] for row in drugs if row["drug"] in by_drug][:top_drugs]:
        plots.append(top_events_plot(drug, by_drug[drug], plots_dir, top=top_events))
    sections = [
        signals_section(rows, [f"{PLOTS_DIR}/{path.name}" for path in plots], min_count=summary["min_count"]),
        drugs_section(drugs),
        *([windows_section(summary["windows"], windows)] if "windows" in summary else []),
        summary_section(summary),
    ]
    page_path = output_dir / "index.html"
    page_path.write_text(render_signals_page(summary, sections), encoding="utf-8")
    return page_path
