"""Counting drug-event cases over annotate outputs, in dicts whose size grows with the distinct
drugs and events, never with the records.

A case is one (drug, event) pair of one tweet: the drug of an ADR span (`span["drug"]`, from
`adr_drug_mentions`) and the event it counts under (`terms.SpanTerms`). A tweet that names
the same pair twice ("headache ... headache again") is one case. ADR spans without a drug
(the tweet names none) or without an event are not cases; the summary counts them. The 2x2
table of a pair (see `measures`) is then: a = its cases, a + b = the drug's cases,
a + c = the event's cases, a + b + c + d = all cases.

With a date field (`annotate --keep-field`), each record's cases are counted a second time in
the counts of its time window (`windows`): a table per window, whose margins are the window's
own.
"""
import datetime
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Sequence, Set, Tuple, Union

from tqdm import tqdm

from .problems import ProblemLog
from .reading import ReadStats, read_records
from .terms import SpanTerms
from .windows import parse_date, window_of

NO_DRUG_FIELD = "ADR span without a drug field: annotate with a pipeline that has adr_drug_mentions"
BAD_SPAN = "span that is not a JSON object"
BAD_DATE = "date not understood (ISO 8601, Twitter's created_at or a Unix time): record counted, in no window"
# Records between two updates of the progress bar: an update per record would cost more
# than the counting.
_PROGRESS_EVERY = 10_000


@dataclass
class SpanStats:
    """What became of the ADR spans read.

    spans (int): Spans with an ADR label.
    other_labels (int): Spans with another label (not counted).
    with_drug (int): ADR spans with a drug.
    without_drug (int): ADR spans whose tweet names no drug (`drug` None).
    without_term (int): ADR spans with a drug but no event (no code, no PT).
    cases (int): Cases counted (distinct drug-event pairs per tweet).
    tweets_with_cases (int): Records with at least one case.
    """

    spans: int = 0
    other_labels: int = 0
    with_drug: int = 0
    without_drug: int = 0
    without_term: int = 0
    cases: int = 0
    tweets_with_cases: int = 0

    def to_dict(self) -> Dict[str, int]:
        """RETURNS (Dict[str, int]): The counts."""
        return asdict(self)


@dataclass
class SignalCounts:
    """The counts of every drug-event pair and their margins.

    pairs (Dict[Tuple[str, str], int]): (drug, event code) -> cases (a).
    drugs (Dict[str, int]): Drug -> its cases (a + b).
    events (Dict[str, int]): Event code -> its cases (a + c).
    event_names (Dict[str, str]): Event code -> name.
    drug_tweets (Dict[str, int]): Drug -> tweets with at least one case of it.
    total (int): All cases.
    tweets (int): Tweets with at least one case.
    """

    pairs: Dict[Tuple[str, str], int] = field(default_factory=dict)
    drugs: Dict[str, int] = field(default_factory=dict)
    events: Dict[str, int] = field(default_factory=dict)
    event_names: Dict[str, str] = field(default_factory=dict)
    drug_tweets: Dict[str, int] = field(default_factory=dict)
    total: int = 0
    tweets: int = 0

    def add_tweet(self, cases: Set[Tuple[str, str]]) -> None:
        """Count the cases of one tweet.

        cases (Set[Tuple[str, str]]): Its distinct (drug, event code) pairs.
        """
        for pair in cases:
            drug, event = pair
            self.pairs[pair] = self.pairs.get(pair, 0) + 1
            self.drugs[drug] = self.drugs.get(drug, 0) + 1
            self.events[event] = self.events.get(event, 0) + 1
        for drug in {drug for drug, _ in cases}:
            self.drug_tweets[drug] = self.drug_tweets.get(drug, 0) + 1
        self.total += len(cases)
        self.tweets += bool(cases)


@dataclass
class DateStats:
    """What the records' dates were.

    field (str): The date field.
    window (str): The window ("day", "week", "month", "year").
    dated (int): Records with a date.
    undated (int): Records without the field, or with it null or "".
    bad (int): Records whose field is not a date (each a problem).
    """

    field: str
    window: str
    dated: int = 0
    undated: int = 0
    bad: int = 0

    def to_dict(self) -> Dict[str, object]:
        """RETURNS (Dict[str, object]): The figures."""
        return asdict(self)


@dataclass
class CountResult:
    """The counts with what was read and what went wrong.

    counts (SignalCounts): The drug-event counts.
    read (ReadStats): Files, lines, records.
    spans (SpanStats): What became of the spans.
    problems (ProblemLog): Bad input, with file and line.
    windows (Dict[str, SignalCounts]): Window label -> the counts of its records; empty
        without a date field.
    dates (Optional[DateStats]): What the dates were; None without a date field.
    """

    counts: SignalCounts
    read: ReadStats
    spans: SpanStats
    problems: ProblemLog
    windows: Dict[str, SignalCounts] = field(default_factory=dict)
    dates: Optional[DateStats] = None


def count_cases(
    paths: Sequence[Union[str, Path]],
    *,
    terms: Optional[SpanTerms] = None,
    labels: Iterable[str] = ("ADR",),
    date_field: Optional[str] = None,
    window: str = "month",
    progress: bool = False,
) -> CountResult:
    """Count the drug-event cases of annotate outputs (see the module docstring).

    paths (Sequence[Union[str, Path]]): JSONL files, plain or compressed (`reading.input_files`
        expands folders).
    terms (Optional[SpanTerms]): How a span's event is found; None: PTs from the records.
    labels (Iterable[str]): Span labels that are ADRs.
    date_field (Optional[str]): The records' date field; None: no counts by window.
    window (str): "day", "week", "month" or "year" (`windows.window_of`).
    progress (bool): Show a progress bar of records read.
    RETURNS (CountResult): Counts, what was read, and the problems.
    """
    terms = terms or SpanTerms()
    labels = set(labels)
    counts, read, spans, problems = SignalCounts(), ReadStats(), SpanStats(), ProblemLog()
    result = CountResult(counts, read, spans, problems)
    if date_field is not None:
        window_of(datetime.datetime(2000, 1, 1), window)  # an unknown window fails before reading
        result.dates = DateStats(date_field, window)
    bar = tqdm(total=None, unit=" records", disable=not progress, mininterval=1.0)
    try:
        for path in paths:
            for line_no, record in read_records(path, problems=problems, stats=read):
                cases = _record_cases(record["spans"], path, line_no, terms, labels, counts, spans, problems)
                if cases:
                    counts.add_tweet(cases)
                    spans.cases += len(cases)
                    spans.tweets_with_cases += 1
                if result.dates is not None:
                    label = _window(record, path, line_no, result.dates, problems)
                    if label is not None and cases:
                        result.windows.setdefault(label, SignalCounts()).add_tweet(cases)
                if read.records % _PROGRESS_EVERY == 0:
                    bar.update(_PROGRESS_EVERY)
    finally:
        bar.update(read.records - bar.n)
        bar.close()
    for window_counts in result.windows.values():
        window_counts.event_names = counts.event_names  # names are learnt once, for all windows
    return result


def _window(
    record: Dict[str, Any], path: Union[str, Path], line_no: int, dates: DateStats, problems: ProblemLog
) -> Optional[str]:
    value = record.get(dates.field)
    if value is None or value == "":
        dates.undated += 1
        return None
    date = parse_date(value)
    if date is None:
        dates.bad += 1
        problems.add(path, line_no, BAD_DATE, repr(value)[:80])
        return None
    dates.dated += 1
    return window_of(date, dates.window)


def _record_cases(
    record_spans: list, path: Union[str, Path], line_no: int, terms: SpanTerms, labels: Set[str],
    counts: SignalCounts, stats: SpanStats, problems: ProblemLog,
) -> Set[Tuple[str, str]]:
    cases: Set[Tuple[str, str]] = set()
    for span in record_spans:
        if not isinstance(span, dict):
            problems.add(path, line_no, BAD_SPAN, type(span).__name__)
            continue
        if span.get("label", "ADR") not in labels:
            stats.other_labels += 1
            continue
        stats.spans += 1
        if "drug" not in span:
            problems.add(path, line_no, NO_DRUG_FIELD)
            continue
        drug = span["drug"]
        if not drug:
            stats.without_drug += 1
            continue
        stats.with_drug += 1
        event, why = terms.term(span)
        if event is None:
            stats.without_term += 1
            problems.add(path, line_no, why or "no event")
            continue
        code, name = event
        counts.event_names.setdefault(code, name)
        cases.add((str(drug), code))
    return cases
