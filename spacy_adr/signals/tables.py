"""The signal table (one row per drug-event pair) and the drug table, as CSV and Parquet.

Signal table columns:
- `drug`, `event_code`, `event`: the normalised drug name, the MedDRA PT code (or the span's
  own code at level "llt") and its name.
- `a`, `b`, `c`, `d`: the pair's 2x2 table (see `measures`); `drug_cases` = a + b,
  `event_cases` = a + c, `cases` = a + b + c + d.
- `prr`, `prr_lower`, `prr_upper`, `ror`, `ror_lower`, `ror_upper`: the measures with their
  95 % intervals; `corrected`: 0.5 was added to each cell (a cell was 0).
- `signal`: a >= the minimum count and `ror_lower` > 1.
Only pairs with a >= the minimum count are written; rows are ordered by drug, then a
(descending), then event code.

Drug table columns: `drug`, `tweets` (tweets with a case of it), `cases`, `events` (distinct
events), `signals` (rows of the signal table that are signals).

By time window (with a date field): the signal table of each window's own counts, with a
first column `window`, windows in time order; and the window table: `window`, `tweets`
(tweets with a case), `cases`, `drugs`, `events`, `pairs` (rows of its signal table),
`signals`.
"""
import csv
from pathlib import Path
from typing import Any, Dict, List, Sequence, Union

from .counting import SignalCounts
from .measures import DEFAULT_MIN_COUNT, TwoByTwo, disproportionality, is_signal

SIGNAL_COLUMNS = [
    "drug", "event_code", "event", "a", "b", "c", "d", "drug_cases", "event_cases", "cases",
    "prr", "prr_lower", "prr_upper", "ror", "ror_lower", "ror_upper", "corrected", "signal",
]
DRUG_COLUMNS = ["drug", "tweets", "cases", "events", "signals"]
WINDOW_SIGNAL_COLUMNS = ["window", *SIGNAL_COLUMNS]
WINDOW_COLUMNS = ["window", "tweets", "cases", "drugs", "events", "pairs", "signals"]


def signal_rows(counts: SignalCounts, *, min_count: int = DEFAULT_MIN_COUNT) -> List[Dict[str, Any]]:
    """The signal table (see the module docstring).

    counts (SignalCounts): The counts.
    min_count (int): The fewest cases of a pair that gets a row (at least 1).
    RETURNS (List[Dict[str, Any]]): The rows.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    rows = []
    for (drug, event), a in counts.pairs.items():
        if a < min_count:
            continue
        table = TwoByTwo.from_margins(a, counts.drugs[drug], counts.events[event], counts.total)
        measures = disproportionality(table)
        rows.append({
            "drug": drug, "event_code": event, "event": counts.event_names.get(event, event),
            "a": table.a, "b": table.b, "c": table.c, "d": table.d,
            "drug_cases": table.a + table.b, "event_cases": table.a + table.c, "cases": counts.total,
            "prr": measures.prr, "prr_lower": measures.prr_lower, "prr_upper": measures.prr_upper,
            "ror": measures.ror, "ror_lower": measures.ror_lower, "ror_upper": measures.ror_upper,
            "corrected": measures.corrected, "signal": is_signal(a, measures, min_count=min_count),
        })
    rows.sort(key=lambda row: (row["drug"], -row["a"], row["event_code"]))
    return rows


def drug_rows(counts: SignalCounts, signals: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The drug table, the drugs with the most cases first.

    counts (SignalCounts): The counts.
    signals (Sequence[Dict[str, Any]]): The signal table of the same counts.
    RETURNS (List[Dict[str, Any]]): The rows.
    """
    events: Dict[str, int] = {}
    for drug, _ in counts.pairs:
        events[drug] = events.get(drug, 0) + 1
    flagged: Dict[str, int] = {}
    for row in signals:
        flagged[row["drug"]] = flagged.get(row["drug"], 0) + int(row["signal"])
    rows = [
        {"drug": drug, "tweets": counts.drug_tweets.get(drug, 0), "cases": cases,
         "events": events.get(drug, 0), "signals": flagged.get(drug, 0)}
        for drug, cases in counts.drugs.items()
    ]
    rows.sort(key=lambda row: (-row["cases"], row["drug"]))
    return rows


def window_signal_rows(windows: Dict[str, SignalCounts], *, min_count: int = DEFAULT_MIN_COUNT) -> List[Dict[str, Any]]:
    """The signal table of each window's counts, windows in time order (see the module
    docstring).

    windows (Dict[str, SignalCounts]): Window label -> its counts.
    min_count (int): The fewest cases of a pair that gets a row.
    RETURNS (List[Dict[str, Any]]): The rows, each with its `window`.
    """
    return [
        {"window": label, **row}
        for label in sorted(windows)
        for row in signal_rows(windows[label], min_count=min_count)
    ]


def window_rows(windows: Dict[str, SignalCounts], signals: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The window table, in time order.

    windows (Dict[str, SignalCounts]): Window label -> its counts.
    signals (Sequence[Dict[str, Any]]): `window_signal_rows` of the same counts.
    RETURNS (List[Dict[str, Any]]): The rows.
    """
    pairs: Dict[str, int] = {}
    flagged: Dict[str, int] = {}
    for row in signals:
        pairs[row["window"]] = pairs.get(row["window"], 0) + 1
        flagged[row["window"]] = flagged.get(row["window"], 0) + int(row["signal"])
    return [
        {"window": label, "tweets": counts.tweets, "cases": counts.total,
         "drugs": len(counts.drugs), "events": len(counts.events), "pairs": pairs.get(label, 0),
         "signals": flagged.get(label, 0)}
        for label, counts in sorted(windows.items())
    ]


def write_csv(path: Union[str, Path], rows: Sequence[Dict[str, Any]], columns: Sequence[str]) -> Path:
    """Write rows as CSV with a header (floats as Python writes them, booleans as true/false).

    path (Union[str, Path]): The file.
    rows (Sequence[Dict[str, Any]]): The rows.
    columns (Sequence[str]): The columns, in order.
    RETURNS (Path): The file.
    """
    path = Path(path)
    with path.open("w", encoding="utf-8", newline="") as file_:
        writer = csv.writer(file_)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["true" if v is True else "false" if v is False else v for v in (row[c] for c in columns)])
    return path


def write_parquet(path: Union[str, Path], rows: Sequence[Dict[str, Any]], columns: Sequence[str]) -> bool:
    """Write rows as Parquet when pyarrow is installed (it is not a dependency).

    path (Union[str, Path]): The file.
    rows (Sequence[Dict[str, Any]]): The rows.
    columns (Sequence[str]): The columns, in order.
    RETURNS (bool): Whether the file was written.
    """
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        return False
    table = pyarrow.table({column: [row[column] for row in rows] for column in columns})
    pyarrow.parquet.write_table(table, str(path))
    return True
