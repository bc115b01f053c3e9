"""Span-level voting over K NER pipelines (seeds, recipes or encoders).

Each member marks ADR spans on the same texts; a span is kept when at least `min_votes`
members marked exactly its offsets. Kept spans that overlap are resolved by votes, then
length, then position, so the result is a valid set of entities. With K members,
`min_votes=1` is the union (recall), `min_votes=K` the intersection (precision), and a
majority sits between. Members can carry more than one vote each (`weights`), so that a
stronger member (a base-size encoder among MiniLMs) is overruled only when the others agree.
Which pays is measured, not assumed (`evaluate-ner-ensemble`).
"""
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import spacy
from spacy.language import Language

Offsets = Tuple[int, int]


def vote_spans(
    member_spans: Sequence[Sequence[Offsets]], min_votes: int,
    weights: Optional[Sequence[int]] = None,
) -> List[Offsets]:
    """The spans of one text that at least `min_votes` members agree on, without overlaps.

    member_spans (Sequence[Sequence[Offsets]]): Per member, the (start, end) of its spans.
    min_votes (int): Votes a span needs, 1 to the members' total weight.
    weights (Optional[Sequence[int]]): Votes of each member (a stronger member counts more);
        None gives each one vote.
    RETURNS (List[Offsets]): The kept spans, sorted by start.
    """
    weights = [1] * len(member_spans) if weights is None else list(weights)
    if len(weights) != len(member_spans) or any(w < 1 for w in weights):
        raise ValueError(f"weights must be {len(member_spans)} positive integers, got {weights}")
    if not 1 <= min_votes <= max(sum(weights), 1):
        raise ValueError(f"min_votes must be between 1 and {sum(weights)}, got {min_votes}")
    votes: Counter = Counter()
    for spans, weight in zip(member_spans, weights):
        for span in set(spans):
            votes[span] += weight
    candidates = sorted(
        (span for span, n in votes.items() if n >= min_votes),
        key=lambda span: (-votes[span], span[0] - span[1], span[0]),
    )
    kept: List[Offsets] = []
    for start, end in candidates:
        if all(end <= k_start or start >= k_end for k_start, k_end in kept):
            kept.append((start, end))
    return sorted(kept)


def member_predictions(
    models: Sequence[Union[str, Path, Language]], texts: Sequence[str], *, label: str = "ADR",
    batch_size: int = 64,
) -> Tuple[List[List[List[Offsets]]], List[float]]:
    """Run every member over `texts`.

    models (Sequence[Union[str, Path, Language]]): The members (pipelines or names/paths).
    texts (Sequence[str]): The texts.
    label (str): The entity label voted on.
    batch_size (int): Batch size of nlp.pipe.
    RETURNS (Tuple[List[List[List[Offsets]]], List[float]]): Per member, per text, the span
        offsets; and per member, the seconds its nlp.pipe took (the ensemble's cost).
    """
    spans, seconds = [], []
    for model in models:
        nlp = model if isinstance(model, Language) else spacy.load(model)
        started = time.perf_counter()
        spans.append([
            [(ent.start_char, ent.end_char) for ent in doc.ents if ent.label_ == label]
            for doc in nlp.pipe(texts, batch_size=batch_size)
        ])
        seconds.append(time.perf_counter() - started)
    return spans, seconds


def ensemble_spans(
    predictions: List[List[List[Offsets]]], min_votes: int, weights: Optional[Sequence[int]] = None,
) -> List[List[Offsets]]:
    """Vote text by text over members' predictions (as `member_predictions` returns them).

    predictions (List[List[List[Offsets]]]): Per member, per text, span offsets.
    min_votes (int): Votes a span needs.
    weights (Optional[Sequence[int]]): Votes of each member; None: one each.
    RETURNS (List[List[Offsets]]): Per text, the kept spans.
    """
    if not predictions:
        raise ValueError("ensemble_spans: no members")
    n_texts = {len(member) for member in predictions}
    if len(n_texts) != 1:
        raise ValueError(f"ensemble_spans: members predicted for different numbers of texts {sorted(n_texts)}")
    return [vote_spans(per_text, min_votes, weights) for per_text in zip(*predictions)]


def vote_table(
    predictions: List[List[List[Offsets]]], weights: Optional[Sequence[int]] = None,
) -> Dict[int, List[List[Offsets]]]:
    """Every vote threshold at once: {min_votes: per-text kept spans} for 1 to the total weight."""
    total = len(predictions) if weights is None else sum(weights)
    return {k: ensemble_spans(predictions, k, weights) for k in range(1, total + 1)}
