"""The figures of an evaluation report, computed from a pipeline and gold corpora.

Everything here is plain data (dicts and lists) so that the plots, the HTML page and the
report's JSON are drawn from one computation. The pipeline runs once per corpus.
"""
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin

from ..scoring import LinkedOffsets, _overlaps, _prf, gold_linked_offsets, score_binary, score_linked_spans, score_spans

LINKER_FACTORY = "adr_meddra_linker"
GAZETTEER_FACTORY = "adr_gazetteer"
# Span lengths in tokens; the last bucket takes everything longer.
LENGTH_BUCKETS = ("1", "2", "3", "4+")
N_TOP = 15


def find_pipe(nlp: Language, factory: str) -> Optional[str]:
    """The name of the first enabled component made by `factory`, if any."""
    for name in nlp.pipe_names:
        if nlp.get_pipe_meta(name).factory == factory:
            return name
    return None


def sets_entities(nlp: Language) -> bool:
    """Whether some enabled component writes `doc.ents` (an NER or a ruler)."""
    return any("doc.ents" in nlp.get_pipe_meta(name).assigns for name in nlp.pipe_names) or any(
        nlp.get_pipe_meta(name).factory in ("ner", "entity_ruler") for name in nlp.pipe_names
    )


def read_docs(nlp: Language, path: Union[str, Path]) -> List[Doc]:
    """The gold Docs of a converted corpus."""
    if not Path(path).is_file():
        raise ValueError(f"{path}: no such corpus")
    return list(DocBin().from_disk(path).get_docs(nlp.vocab))


def textcat_figures(
    probabilities: Sequence[float], gold: Sequence[bool], threshold: Optional[float]
) -> Dict[str, Any]:
    """Precision-recall curve, F1 against threshold and the scores at the stored threshold.

    probabilities (Sequence[float]): `doc.cats["ADR"]` per tweet.
    gold (Sequence[bool]): Gold class per tweet.
    threshold (Optional[float]): The pipeline's stored decision threshold.
    RETURNS (Dict[str, Any]): "curve" (threshold, p, r, f per 0.01 step), "at_threshold"
        (score_binary at the stored threshold, or None), "best" ({threshold, f}), n, n_pos.
    """
    curve = []
    for i in range(1, 100):
        t = round(i * 0.01, 2)
        s = score_binary(probabilities, gold, t)
        curve.append({"threshold": t, "p": s["p"], "r": s["r"], "f": s["f"]})
    best = max(curve, key=lambda row: (row["f"], -abs(row["threshold"] - 0.5)))
    at = None if threshold is None else score_binary(probabilities, gold, threshold)
    return {
        "curve": curve,
        "at_threshold": at,
        "threshold": threshold,
        "best": {"threshold": best["threshold"], "f": best["f"]},
        "n": len(gold),
        "n_pos": int(sum(gold)),
    }


def _length_bucket(n_tokens: int) -> str:
    return LENGTH_BUCKETS[min(n_tokens, len(LENGTH_BUCKETS)) - 1]


def _span_info(doc: Doc, start: int, end: int, has_gazetteer: bool) -> Tuple[str, Optional[bool]]:
    # Gold offsets need not fall on token boundaries: widen to the tokens they touch.
    span = doc.char_span(start, end, alignment_mode="expand")
    n_tokens = len(span) if span is not None and len(span) else 1
    gazetteer = None
    if has_gazetteer and span is not None:
        gazetteer = any(token._.adr_gaz != "O" for token in span)
    return _length_bucket(n_tokens), gazetteer


def _group_scores(pred: List[Dict[str, Any]], gold: List[Dict[str, Any]], key: str) -> Dict[str, Dict[str, float]]:
    """Strict and relaxed P/R/F1 per value of `key`: precision over the predicted spans with
    that value, recall over the gold spans with it."""
    values = sorted({s[key] for s in pred + gold if s[key] is not None}, key=str)
    groups = {}
    for value in values:
        p = [s for s in pred if s[key] == value]
        g = [s for s in gold if s[key] == value]
        strict = _prf(sum(s["strict"] for s in p), len(p), sum(s["strict"] for s in g), len(g))
        relaxed = _prf(sum(s["relaxed"] for s in p), len(p), sum(s["relaxed"] for s in g), len(g))
        groups[str(value)] = {
            "strict_p": strict[0], "strict_r": strict[1], "strict_f": strict[2],
            "relaxed_p": relaxed[0], "relaxed_r": relaxed[1], "relaxed_f": relaxed[2],
            "n_pred": len(p), "n_gold": len(g),
        }
    return groups


def ner_figures(
    predicted: Sequence[Doc], gold_docs: Sequence[Doc], *, has_gazetteer: bool, linked: bool,
    label: str = "ADR", n_top: int = N_TOP,
) -> Dict[str, Any]:
    """Span scores overall, by span length and by gazetteer tag; the most frequent false
    positives and misses; end-to-end scores when the pipeline links.

    predicted (Sequence[Doc]): The pipeline's Docs, in the order of `gold_docs`.
    gold_docs (Sequence[Doc]): Gold Docs (offsets as `gold_linked_offsets` gives them).
    has_gazetteer (bool): The pipeline sets `token._.adr_gaz`.
    linked (bool): The pipeline links spans to MedDRA (adds "e2e").
    label (str): Entity label scored.
    n_top (int): How many false positives and misses to list.
    RETURNS (Dict[str, Any]): "overall", "by_length", "by_gazetteer" (None without a gazetteer),
        "false_positives" and "misses" ([text, count] pairs), and "e2e" (or None).
    """
    pred_spans: List[Dict[str, Any]] = []
    gold_spans: List[Dict[str, Any]] = []
    all_pred: List[List[LinkedOffsets]] = []
    all_gold: List[List[LinkedOffsets]] = []
    false_positives: Counter = Counter()
    misses: Counter = Counter()
    for doc, gold_doc in zip(predicted, gold_docs, strict=True):
        pred = [(e.start_char, e.end_char, e.kb_id_) for e in doc.ents if e.label_ == label]
        gold = gold_linked_offsets(gold_doc, label)
        all_pred.append(pred)
        all_gold.append(gold)
        gold_offsets = {g[:2] for g in gold}
        pred_offsets = {p[:2] for p in pred}
        for start, end in pred_offsets:
            relaxed = any(_overlaps((start, end), g) for g in gold_offsets)
            length, gazetteer = _span_info(doc, start, end, has_gazetteer)
            pred_spans.append({"strict": (start, end) in gold_offsets, "relaxed": relaxed, "length": length, "gazetteer": gazetteer})
            if not relaxed:
                false_positives[doc.text[start:end].lower()] += 1
        for start, end in gold_offsets:
            relaxed = any(_overlaps((start, end), p) for p in pred_offsets)
            length, gazetteer = _span_info(doc, start, end, has_gazetteer)
            gold_spans.append({"strict": (start, end) in pred_offsets, "relaxed": relaxed, "length": length, "gazetteer": gazetteer})
            if not relaxed:
                misses[doc.text[start:end].lower()] += 1
    overall = score_spans([[p[:2] for p in d] for d in all_pred], [[g[:2] for g in d] for d in all_gold])
    by_gazetteer = None
    if has_gazetteer:
        by_gazetteer = {
            {"True": "gazetteer tagged", "False": "not tagged"}[k]: v
            for k, v in _group_scores(pred_spans, gold_spans, "gazetteer").items()
        }
    by_length = _group_scores(pred_spans, gold_spans, "length")
    return {
        "overall": {**overall, "n": len(gold_docs)},
        "by_length": {k: by_length[k] for k in LENGTH_BUCKETS if k in by_length},
        "by_gazetteer": by_gazetteer,
        "false_positives": [[text, n] for text, n in false_positives.most_common(n_top)],
        "misses": [[text, n] for text, n in misses.most_common(n_top)],
        "e2e": score_linked_spans(all_pred, all_gold) if linked else None,
    }


def linker_figures(
    linker: Any, spans_path: Union[str, Path], *, n_top: int = N_TOP, limit: Optional[int] = None
) -> Optional[Dict[str, Any]]:
    """acc@1 on the gold mentions against the distance threshold (the curve that chose the
    stored one), seen vs unseen concepts at the stored threshold, and the most confused pairs.

    linker (MeddraLinker): The pipeline's initialized linker.
    spans_path (Union[str, Path]): Gold mentions with codes, e.g. corpus/task3/dev.spacy.
    n_top (int): How many confused pairs to list.
    limit (Optional[int]): Only the mentions of the first `limit` documents.
    RETURNS (Optional[Dict[str, Any]]): None when the corpus has no coded mentions or the
        linker has no classifier (there is then no threshold to choose).
    """
    from ..linker_scoring import THRESHOLDS, accuracy_rows, read_docbin_mentions

    mentions = read_docbin_mentions(spans_path, source="dev")
    if limit is not None:
        mentions = _mentions_of_first_docs(spans_path, mentions, limit)
    if not mentions or linker.classifier is None:
        return None
    stored = round(float(linker.threshold), 4)
    thresholds = sorted(set(THRESHOLDS) | {stored})
    rows = accuracy_rows(linker, mentions, thresholds=thresholds)
    by_variant = {row["variant"]: row for row in rows}
    at_stored = next(row for row in rows if row.get("threshold") == stored)
    vectors = linker.encode([m.text for m in mentions])
    links = linker.link_vectors(vectors, threshold=stored, top_k=0)
    confused: Counter = Counter(
        (m.code, link.code) for m, link in zip(mentions, links) if link.code != m.code
    )

    def term(code: str) -> str:
        concept = linker.kb.get(code) if linker.kb is not None else None
        return concept.llt_name if concept is not None else ""

    keep = ("acc1", "acc1_seen", "acc1_unseen", "n", "n_seen", "n_unseen")
    return {
        "threshold": stored,
        "curve": [
            {"threshold": row["threshold"], "acc1": row["acc1"], "acc1_seen": row["acc1_seen"],
             "acc1_unseen": row["acc1_unseen"], "metric_share": row["metric_share"]}
            for row in rows if "threshold" in row
        ],
        "classifier": {k: by_variant["classifier"][k] for k in keep},
        "metric": {k: by_variant["metric"][k] for k in keep},
        "combined": {**{k: at_stored[k] for k in keep}, "metric_share": at_stored["metric_share"]},
        "confused": [
            {"gold": gold, "gold_term": term(gold), "predicted": pred, "predicted_term": term(pred), "n": n}
            for (gold, pred), n in confused.most_common(n_top)
        ],
    }



def _mentions_of_first_docs(path: Union[str, Path], mentions: List[Any], limit: int) -> List[Any]:
    # read_docbin_mentions keeps file order and reads spans by the same rules: count the coded
    # mentions of the first documents.
    import spacy

    docs = list(DocBin().from_disk(path).get_docs(spacy.blank("en").vocab))[:limit]
    n = sum(
        1 for doc in docs
        for span in (doc.spans["sc"] if "sc" in doc.spans else doc.ents)
        if span.label_ == "ADR" and span.kb_id_
    )
    return mentions[:n]
