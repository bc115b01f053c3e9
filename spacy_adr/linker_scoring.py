"""Scoring a MedDRA (or any concept) linker on gold mentions: acc@1 of the classifier alone,
the metric path alone and their combination per distance threshold, seen and unseen concepts
apart. Used by `spacy-adr report` and by the build's linker training and evaluation."""
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

import numpy

from .metrics import machine_description
from .pipeline.concept_linker import MeddraLinker

THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(0, 29))


@dataclass(frozen=True)
class Mention:
    """A mention with its gold LLT code.

    text (str): The mention.
    code (str): MedDRA LLT code.
    source (str): Where it comes from ("task3", "cadec", "smm4h2017").
    """

    text: str
    code: str
    source: str


def read_docbin_mentions(
    path: Union[str, Path],
    *,
    source: str,
    labels: Sequence[str] = ("ADR",),
    skip: Optional[Callable[[str], bool]] = None,
) -> List[Mention]:
    """Gold mentions of a `.spacy` file: `doc.spans["sc"]` where present (it keeps spans that
    overlap and so are missing from doc.ents), else `doc.ents`. Spans without a code are left out.

    path (Union[str, Path]): The DocBin.
    source (str): Source name stored on each mention.
    labels (Sequence[str]): Span labels to take.
    skip (Optional[Callable[[str], bool]]): Leave out documents whose text it is true of.
    RETURNS (List[Mention]): The mentions, in file order.
    """
    import spacy
    from spacy.tokens import DocBin

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Mention corpus {path} not found")
    nlp = spacy.blank("en")
    mentions = []
    for doc in DocBin().from_disk(path).get_docs(nlp.vocab):
        if skip is not None and skip(doc.text):
            continue
        spans = doc.spans["sc"] if "sc" in doc.spans else doc.ents
        for span in spans:
            if span.label_ in labels and span.kb_id_:
                mentions.append(Mention(span.text, span.kb_id_, source))
    return mentions


def accuracy_rows(
    linker: MeddraLinker,
    mentions: Sequence[Mention],
    *,
    thresholds: Iterable[float] = THRESHOLDS,
    split: str = "task3_dev",
    command: str = "",
) -> List[Dict[str, Any]]:
    """acc@1 of the classifier alone, the metric path alone and the combination per threshold.

    linker (MeddraLinker): An initialized linker with a classifier.
    mentions (Sequence[Mention]): Gold mentions.
    thresholds (Iterable[float]): Distance thresholds for the combination.
    split (str): Name of the data, for the rows.
    command (str): The command that produced the rows.
    RETURNS (List[Dict[str, Any]]): Metrics rows (see `spacy_adr.metrics`); `acc1_seen` / `acc1_unseen`
        split the mentions by whether their gold code is one the classifier was trained on.
    """
    vectors = linker.encode([m.text for m in mentions])
    seen_codes: Set[str] = set(linker.classifier.codes) if linker.classifier else set()
    seen = numpy.array([m.code in seen_codes for m in mentions], dtype=bool)
    gold = [m.code for m in mentions]
    variants: List[Tuple[str, float]] = [("classifier", 0.0), ("metric", 10.0)]
    variants += [(f"combined@{t:.2f}", float(t)) for t in thresholds]
    rows = []
    today = date.today().isoformat()
    for variant, threshold in variants:
        links = linker.link_vectors(vectors, threshold=threshold, top_k=0)
        right = numpy.array([link.code == g for link, g in zip(links, gold)], dtype=bool)
        row = {
            "task": "linker",
            "variant": variant,
            "split": split,
            "acc1": _mean(right),
            "acc1_seen": _mean(right[seen]),
            "acc1_unseen": _mean(right[~seen]),
            "n": len(mentions),
            "n_seen": int(seen.sum()),
            "n_unseen": int((~seen).sum()),
        }
        if variant.startswith("combined"):
            row["threshold"] = threshold
            row["metric_share"] = _mean(numpy.array([link.method == "metric" for link in links]))
        row.update({"command": command, "machine": machine_description(), "date": today})
        rows.append(row)
    return rows


def choose_threshold(rows: Sequence[Dict[str, Any]]) -> float:
    """The threshold of the best combined row (the lowest among ties).

    rows (Sequence[Dict[str, Any]]): Rows from `accuracy_rows`.
    RETURNS (float): The threshold.
    """
    combined = [r for r in rows if "threshold" in r]
    if not combined:
        raise ValueError("No combined rows to choose a threshold from")
    best = max(combined, key=lambda r: (r["acc1"], -r["threshold"]))
    return float(best["threshold"])


def _mean(values: numpy.ndarray) -> float:
    return float(values.mean()) if len(values) else 0.0
