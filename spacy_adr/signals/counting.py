"""Counting drug-event cases over annotate outputs, in dicts whose size grows with the distinct
drugs and events, never with the records.

A case is one (drug, event) pair of one tweet: the drug of an ADR span (`span["drug"]`, from
`adr_drug_mentions`) and the event it counts under (`terms.SpanTerms`). A tweet that names
the same pair twice ("headache ... headache again") is one case. ADR spans without a drug
(the tweet names none) or without an event are not cases; the summary counts them. The 2x2
table of a pair (see `measures`) is then: a = its cases, a + b = the drug's cases,
a + c = the event's cases, a + b + c + d = all cases.
"""
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Optional, Sequence, Set, Tuple, Union

from tqdm import tqdm

from .problems import ProblemLog
from .reading import ReadStats, read_records
from .terms import SpanTerms

NO_DRUG_FIELD = "ADR span without a drug field: annotate with a pipeline that has adr_drug_mentions"
BAD_SPAN = "span that is not a JSON object"
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
    """

    pairs: Dict[Tuple[str, str], int] = field(default_factory=dict)
    drugs: Dict[str, int] = field(default_factory=dict)
    events: Dict[str, int] = field(default_factory=dict)
    event_names: Dict[str, str] = field(default_factory=dict)
    drug_tweets: Dict[str, int] = field(default_factory=dict)
    total: int = 0

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


@dataclass
class CountResult:
    """The counts with what was read and what went wrong.

    counts (SignalCounts): The drug-event counts.
    read (ReadStats): Files, lines, records.
    spans (SpanStats): What became of the spans.
    problems (ProblemLog): Bad input, with file and line.
    """

    counts: SignalCounts
    read: ReadStats
    spans: SpanStats
    problems: ProblemLog


def count_cases(
    paths: Sequence[Union[str, Path]],
    *,
    terms: Optional[SpanTerms] = None,
    labels: Iterable[str] = ("ADR",),
    progress: bool = False,
) -> CountResult:
    """Count the drug-event cases of annotate outputs (see the module docstring).

    paths (Sequence[Union[str, Path]]): JSONL files, plain or compressed (`reading.input_files`
        expands folders).
    terms (Optional[SpanTerms]): How a span's event is found; None: PTs from the records.
    labels (Iterable[str]): Span labels that are ADRs.
    progress (bool): Show a progress bar of records read.
    RETURNS (CountResult): Counts, what was read, and the problems.
    """
    terms = terms or SpanTerms()
    labels = set(labels)
    counts, read, spans, problems = SignalCounts(), ReadStats(), SpanStats(), ProblemLog()
    bar = tqdm(total=None, unit=" records", disable=not progress, mininterval=1.0)
    try:
        for path in paths:
            for line_no, record in read_records(path, problems=problems, stats=read):
                cases = _record_cases(record["spans"], path, line_no, terms, labels, counts, spans, problems)
                if cases:
                    counts.add_tweet(cases)
                    spans.cases += len(cases)
                    spans.tweets_with_cases += 1
                if read.records % _PROGRESS_EVERY == 0:
                    bar.update(_PROGRESS_EVERY)
    finally:
        bar.update(read.records - bar.n)
        bar.close()
    return CountResult(counts, read, spans, problems)


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
