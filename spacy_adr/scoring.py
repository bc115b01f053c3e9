"""SMM4H scores. Spans: strict (exact offsets) and relaxed (any overlap), optionally with codes;
offsets are character offsets into the original tweet, as the SMM4H scorer compares them.
Tweets: P/R/F1 of the positive (ADR) class at a decision threshold.
"""
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.tokens import Doc

Offsets = Tuple[int, int]
LinkedOffsets = Tuple[int, int, str]


def _overlaps(a: Offsets, b: Offsets) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _prf(p_hits: int, n_pred: int, r_hits: int, n_gold: int) -> Tuple[float, float, float]:
    p = p_hits / n_pred if n_pred else 0.0
    r = r_hits / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def span_counts(
    predicted: Sequence[LinkedOffsets], gold: Sequence[LinkedOffsets]
) -> Dict[str, int]:
    """The hit counts of one document's spans, the parts of every SMM4H span score.

    Strict: a predicted span is right when a gold span has exactly its offsets. Relaxed:
    precision counts predicted spans that overlap some gold span, recall counts gold spans
    that some predicted span overlaps. Linked ("e2e"): relaxed, and the codes are equal.

    predicted (Sequence[LinkedOffsets]): (start, end, code) of each predicted span.
    gold (Sequence[LinkedOffsets]): (start, end, code) of each gold span.
    RETURNS (Dict[str, int]): n_pred, n_gold, strict_hits, relaxed_p_hits, relaxed_r_hits,
        e2e_p_hits, e2e_r_hits; the span counts are of distinct offsets.
    """
    pred_spans, gold_spans = {p[:2] for p in predicted}, {g[:2] for g in gold}
    pred_linked, gold_linked = set(predicted), set(gold)
    return {
        "n_pred": len(pred_spans),
        "n_gold": len(gold_spans),
        "strict_hits": len(pred_spans & gold_spans),
        "relaxed_p_hits": sum(any(_overlaps(p, g) for g in gold_spans) for p in pred_spans),
        "relaxed_r_hits": sum(any(_overlaps(g, p) for p in pred_spans) for g in gold_spans),
        "n_pred_linked": len(pred_linked),
        "n_gold_linked": len(gold_linked),
        "e2e_p_hits": sum(
            any(p[2] == g[2] and _overlaps(p[:2], g[:2]) for g in gold_linked) for p in pred_linked
        ),
        "e2e_r_hits": sum(
            any(p[2] == g[2] and _overlaps(p[:2], g[:2]) for p in pred_linked) for g in gold_linked
        ),
    }


def scores_from_counts(counts: Dict[str, float]) -> Dict[str, Dict[str, float]]:
    """Strict, relaxed and end-to-end P/R/F1 from summed (possibly weighted) `span_counts`.

    counts (Dict[str, float]): Sums of the fields of `span_counts` over documents.
    RETURNS (Dict[str, Dict[str, float]]): "ner": strict_p/r/f, relaxed_p/r/f, n_pred, n_gold;
        "e2e": relaxed_p/r/f, n_pred, n_gold.
    """
    strict = _prf(counts["strict_hits"], counts["n_pred"], counts["strict_hits"], counts["n_gold"])
    relaxed = _prf(counts["relaxed_p_hits"], counts["n_pred"], counts["relaxed_r_hits"], counts["n_gold"])
    linked = _prf(counts["e2e_p_hits"], counts["n_pred_linked"], counts["e2e_r_hits"], counts["n_gold_linked"])
    return {
        "ner": {
            "strict_p": strict[0], "strict_r": strict[1], "strict_f": strict[2],
            "relaxed_p": relaxed[0], "relaxed_r": relaxed[1], "relaxed_f": relaxed[2],
            "n_pred": counts["n_pred"], "n_gold": counts["n_gold"],
        },
        "e2e": {
            "relaxed_p": linked[0], "relaxed_r": linked[1], "relaxed_f": linked[2],
            "n_pred": counts["n_pred_linked"], "n_gold": counts["n_gold_linked"],
        },
    }


def sum_counts(per_doc: Iterable[Dict[str, int]], weights: Optional[Iterable[float]] = None) -> Dict[str, float]:
    """Add up `span_counts` of several documents, each counted `weight` times (default once)."""
    total: Dict[str, float] = {}
    per_doc = list(per_doc)
    weights = [1.0] * len(per_doc) if weights is None else list(weights)
    for counts, weight in zip(per_doc, weights, strict=True):
        for key, value in counts.items():
            total[key] = total.get(key, 0.0) + weight * value
    return total


def score_spans(
    predicted: Iterable[Sequence[Offsets]], gold: Iterable[Sequence[Offsets]]
) -> Dict[str, float]:
    """Strict and relaxed P/R/F1 of spans, document by document (see `span_counts`).

    predicted (Iterable[Sequence[Offsets]]): Per document, (start, end) of each predicted span.
    gold (Iterable[Sequence[Offsets]]): Per document, (start, end) of each gold span.
    RETURNS (Dict[str, float]): strict_p/r/f, relaxed_p/r/f, n_pred, n_gold.
    """
    per_doc = [
        span_counts([(*p, "") for p in pred_doc], [(*g, "") for g in gold_doc])
        for pred_doc, gold_doc in zip(predicted, gold, strict=True)
    ]
    scores = scores_from_counts(sum_counts(per_doc))["ner"]
    return {**scores, "n_pred": int(scores["n_pred"]), "n_gold": int(scores["n_gold"])}


def score_linked_spans(
    predicted: Iterable[Sequence[LinkedOffsets]], gold: Iterable[Sequence[LinkedOffsets]]
) -> Dict[str, float]:
    """End-to-end relaxed P/R/F1: a span counts when it overlaps a gold span with the same code.

    predicted (Iterable[Sequence[LinkedOffsets]]): Per document, (start, end, code) triples.
    gold (Iterable[Sequence[LinkedOffsets]]): Per document, (start, end, code) triples.
    RETURNS (Dict[str, float]): relaxed_p/r/f, n_pred, n_gold.
    """
    per_doc = [span_counts(pred_doc, gold_doc) for pred_doc, gold_doc in zip(predicted, gold, strict=True)]
    scores = scores_from_counts(sum_counts(per_doc))["e2e"]
    return {**scores, "n_pred": int(scores["n_pred"]), "n_gold": int(scores["n_gold"])}


def score_binary(
    probabilities: Sequence[float], gold: Sequence[bool], threshold: float
) -> Dict[str, float]:
    """P/R/F1 of the positive class when `probability >= threshold` means positive.

    probabilities (Sequence[float]): Predicted probability of the positive class, per document.
    gold (Sequence[bool]): Whether each document is positive.
    threshold (float): The decision threshold.
    RETURNS (Dict[str, float]): p, r, f, threshold, n (documents), n_pos (gold positives),
        n_pred_pos (predicted positives).
    """
    if len(probabilities) != len(gold):
        raise ValueError(f"{len(probabilities)} predictions for {len(gold)} gold labels")
    predicted = [probability >= threshold for probability in probabilities]
    hits = sum(1 for p, g in zip(predicted, gold) if p and g)
    p, r, f = _prf(hits, sum(predicted), hits, sum(gold))
    return {
        "p": p, "r": r, "f": f, "threshold": threshold,
        "n": len(gold), "n_pos": int(sum(gold)), "n_pred_pos": int(sum(predicted)),
    }


def best_threshold(
    probabilities: Sequence[float], gold: Sequence[bool], *, step: float = 0.01
) -> Tuple[float, float]:
    """The decision threshold with the highest F1 of the positive class.

    Candidates are the multiples of `step` in (0, 1); ties go to the threshold nearest 0.5, so
    that a flat optimum does not drift to an extreme.

    probabilities (Sequence[float]): Predicted probability of the positive class, per document.
    gold (Sequence[bool]): Whether each document is positive.
    step (float): Spacing of the candidate thresholds.
    RETURNS (Tuple[float, float]): The threshold and its F1.
    """
    candidates = [round(i * step, 6) for i in range(1, int(round(1 / step)))]
    scored = [(score_binary(probabilities, gold, t)["f"], -abs(t - 0.5), t) for t in candidates]
    f, _, threshold = max(scored)
    return threshold, f


def gold_linked_offsets(doc: Doc, label: str = "ADR") -> List[Tuple[int, int, str]]:
    """The gold spans of a Doc as the source file gives them, with their codes.

    Task 3 Docs carry the file's own offsets in user_data["gold_spans"] (spans that had to be
    trimmed or widened to fit tokens keep their original offsets there); other Docs use their
    entities and `kb_id_`.
    """
    if "gold_spans" in doc.user_data:
        return [(start, end, code) for start, end, code in doc.user_data["gold_spans"]]
    return [(ent.start_char, ent.end_char, ent.kb_id_) for ent in doc.ents if ent.label_ == label]


def gold_offsets(doc: Doc, label: str = "ADR") -> List[Tuple[int, int]]:
    """The gold spans of a Doc as the source file gives them (see `gold_linked_offsets`)."""
    return [(start, end) for start, end, _code in gold_linked_offsets(doc, label)]
