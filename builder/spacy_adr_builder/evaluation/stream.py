"""Span figures on a tweet stream: what users see on a dump, not on an enriched test set.

Task 3 dev, on which the NER is measured, is enriched: about half its tweets have an ADR
mention, while a real dump has a few percent. The stream mixes the tweets with span
annotations (Task 3 dev) with tweets labelled NoADR (Task 2 en dev), which by the task's
definition have no ADR mention, so every span on them is false. Tweets the models trained on
(`exclude`) and tweets already among the span tweets are left out.

A stated ADR rate is reached by weighting, not by sampling: each NoADR tweet counts `w` times
so that ADR tweets make up `rate` of the weighted stream. Recall does not depend on the rate;
precision does, through the weighted false spans. `false_spans_per_1000_noadr` is counted on
the NoADR tweets themselves and does not depend on the rate either.

The pipeline runs once with its gate open (`adr_span_gate` with `gate = false`), and a gate
(`GateRule`: a threshold and a span score) is applied afterwards to the
tweet probabilities and span scores: the same rule as the component's, so one run scores every
setting (`tune_gate`).
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy
import spacy
from spacy.language import Language
from spacy.tokens import DocBin
from tqdm import tqdm

from spacy_adr.pipeline.span_gate import GATE_FACTORY, keeps_span_score
from spacy_adr.saved_config import edited_config
from spacy_adr.scoring import LinkedOffsets, gold_linked_offsets, scores_from_counts, span_counts

from ..corpora.multitask import read_tweet_keys, tweet_key


@dataclass
class StreamTweet:
    """One tweet of the stream: its text and gold (start, end, code) spans (none: NoADR)."""

    text: str
    gold: List[LinkedOffsets]
    source: str


@dataclass
class PredictedTweet:
    """What the pipeline said of one tweet with its gate open: its classifier's probability
    and the ADR spans with their scores."""

    probability: Optional[float]
    spans: List[LinkedOffsets] = field(default_factory=list)
    scores: List[Optional[float]] = field(default_factory=list)


@dataclass(frozen=True)
class GateRule:
    """The settings of an `adr_span_gate` that decide which spans stay (see its docstring).

    threshold (float): A tweet's spans stay when its classifier's probability reaches it.
    min_span_score (float): On an open tweet, spans scored under it are held back.
    """

    threshold: float
    min_span_score: float = 0.0

    def row(self) -> Dict[str, float]:
        """RETURNS (Dict[str, float]): The settings as metrics fields."""
        return {"gate_threshold": self.threshold, "min_span_score": self.min_span_score}


def read_stream(
    spans_path: Union[str, Path], noadr_path: Union[str, Path], *,
    exclude: Sequence[Union[str, Path]] = (), label: str = "ADR",
) -> List[StreamTweet]:
    """The tweets of a stream: every span-annotated tweet and the unseen NoADR tweets.

    spans_path (Union[str, Path]): `.spacy` with gold spans, e.g. corpus/task3/dev.spacy.
    noadr_path (Union[str, Path]): `.spacy` with tweet labels, e.g. corpus/task2/en/dev.spacy;
        its tweets with `cats[label] < 0.5` join the stream.
    exclude (Sequence[Union[str, Path]]): `.spacy` files of tweets the models trained on.
    label (str): The entity label and tweet category.
    RETURNS (List[StreamTweet]): Span tweets first, then NoADR tweets.
    """
    for path in [spans_path, noadr_path, *exclude]:
        if not Path(path).exists():
            raise ValueError(f"{path}: no such corpus")
    vocab = spacy.blank("xx").vocab
    tweets = [
        StreamTweet(doc.text, gold_linked_offsets(doc, label), "spans")
        for doc in DocBin().from_disk(spans_path).get_docs(vocab)
    ]
    seen = {tweet_key(tweet.text) for tweet in tweets} | read_tweet_keys([Path(p) for p in exclude])
    for doc in DocBin().from_disk(noadr_path).get_docs(vocab):
        key = tweet_key(doc.text)
        if doc.cats.get(label, 0.0) < 0.5 and key not in seen:
            seen.add(key)
            tweets.append(StreamTweet(doc.text, [], "noadr"))
    return tweets


def annotation_agreement(
    spans_path: Union[str, Path], noadr_path: Union[str, Path], *, label: str = "ADR",
) -> Dict[str, float]:
    """How the span annotation and the tweet labels agree on the tweets both annotated: the
    reference for `false_spans_per_1000_noadr`, which counts every span on a NoADR tweet as
    false. (Task 3 dev and Task 2 en dev share about a thousand tweets.)

    spans_path (Union[str, Path]): `.spacy` with gold spans, e.g. corpus/task3/dev.spacy.
    noadr_path (Union[str, Path]): `.spacy` with tweet labels, e.g. corpus/task2/en/dev.spacy.
    label (str): The entity label and tweet category.
    RETURNS (Dict[str, float]): n_shared_noadr (NoADR-labelled tweets with a span annotation),
        n_noadr_with_spans, n_spans_on_noadr, false_spans_per_1000_noadr (the span
        annotation's own spans on them, per 1,000), n_shared_adr, n_adr_without_spans.
    """
    vocab = spacy.blank("xx").vocab
    spans_of = {
        tweet_key(doc.text): len(gold_linked_offsets(doc, label))
        for doc in DocBin().from_disk(spans_path).get_docs(vocab)
    }
    counts = {"n_shared_noadr": 0, "n_noadr_with_spans": 0, "n_spans_on_noadr": 0, "n_shared_adr": 0, "n_adr_without_spans": 0}
    seen = set()
    for doc in DocBin().from_disk(noadr_path).get_docs(vocab):
        key = tweet_key(doc.text)
        if key not in spans_of or key in seen:
            continue
        seen.add(key)
        n_spans = spans_of[key]
        if doc.cats.get(label, 0.0) >= 0.5:
            counts["n_shared_adr"] += 1
            counts["n_adr_without_spans"] += n_spans == 0
        else:
            counts["n_shared_noadr"] += 1
            counts["n_noadr_with_spans"] += n_spans > 0
            counts["n_spans_on_noadr"] += n_spans
    n_noadr = counts["n_shared_noadr"]
    return {**counts, "false_spans_per_1000_noadr": 1000.0 * counts["n_spans_on_noadr"] / n_noadr if n_noadr else 0.0}


def natural_rate(path: Union[str, Path], label: str = "ADR") -> float:
    """The share of tweets labelled `label` in a classification corpus (Task 2 en dev: 9.2 %)."""
    docs = list(DocBin().from_disk(path).get_docs(spacy.blank("xx").vocab))
    return sum(doc.cats.get(label, 0.0) >= 0.5 for doc in docs) / len(docs)


def find_gate(nlp: Language) -> Optional[str]:
    """The name of the pipeline's `adr_span_gate`, if it has one."""
    for name in nlp.pipe_names:
        if nlp.get_pipe_meta(name).factory == GATE_FACTORY:
            return name
    return None


def predict_stream(
    nlp: Language, texts: Iterable[str], *, label: str = "ADR", batch_size: int = 128,
    progress: bool = True,
) -> List[PredictedTweet]:
    """Run the pipeline with its gate open: every ADR span the NER finds, with its code and score,
    and the classifier's tweet probability.

    nlp (Language): The pipeline.
    texts (Iterable[str]): The tweets.
    label (str): The entity label and tweet category.
    batch_size (int): Batch size of nlp.pipe.
    progress (bool): Show a progress bar.
    RETURNS (List[PredictedTweet]): One prediction per tweet, in order.
    """
    texts = list(texts)
    name = find_gate(nlp)
    gate = nlp.get_pipe(name) if name is not None else None
    was_on = gate is not None and gate.gate
    if was_on:
        gate.gate = False  # open: every span stays in doc.ents (and is still scored)
    try:
        predictions = []
        docs = nlp.pipe(texts, batch_size=batch_size)
        for doc in tqdm(docs, total=len(texts), desc="stream", disable=not progress):
            ents = [ent for ent in doc.ents if ent.label_ == label]
            predictions.append(PredictedTweet(
                doc.cats.get(label),
                [(ent.start_char, ent.end_char, ent.kb_id_) for ent in ents],
                [ent._.adr_score for ent in ents],
            ))
    finally:
        if was_on:
            gate.gate = True
    return predictions


def with_probabilities(predictions: Sequence[PredictedTweet], probabilities: Sequence[float]) -> List[PredictedTweet]:
    """The same spans, gated by other tweet probabilities (e.g. another pipeline's classifier).

    predictions (Sequence[PredictedTweet]): The pipeline's, gate open (`predict_stream`).
    probabilities (Sequence[float]): One tweet probability per prediction.
    RETURNS (List[PredictedTweet]): New predictions; the spans and scores are shared.
    """
    if len(predictions) != len(probabilities):
        raise ValueError(f"{len(probabilities)} probabilities for {len(predictions)} predictions")
    return [PredictedTweet(p, pred.spans, pred.scores) for pred, p in zip(predictions, probabilities)]


def gated(prediction: PredictedTweet, gate: Optional[GateRule]) -> List[LinkedOffsets]:
    """The spans a gate keeps (all of them when `gate` is None or the tweet has no probability)."""
    if gate is None or prediction.probability is None:
        return prediction.spans
    if prediction.probability < gate.threshold:
        return []
    scores = prediction.scores or [None] * len(prediction.spans)
    return [span for span, score in zip(prediction.spans, scores, strict=True)
            if keeps_span_score(score, gate.min_span_score)]


def noadr_weight(n_adr: int, n_noadr: int, rate: float) -> float:
    """How many times each NoADR tweet counts so that ADR tweets make up `rate` of the stream."""
    return n_adr * (1.0 - rate) / (rate * n_noadr)


def stream_scores(
    tweets: Sequence[StreamTweet], predictions: Sequence[PredictedTweet], *,
    rate: Optional[float], gate: Optional[GateRule],
) -> Dict[str, float]:
    """Span and end-to-end scores of a stream at an ADR rate, under a gate.

    tweets (Sequence[StreamTweet]): The stream (`read_stream`).
    predictions (Sequence[PredictedTweet]): The pipeline's, gate open (`predict_stream`).
    rate (Optional[float]): The share of ADR tweets to weight the stream to; None scores the
        span tweets alone (the enriched Task 3 setting) and leaves the NoADR tweets out.
    gate (Optional[GateRule]): The gate; None: every span kept.
    RETURNS (Dict[str, float]): strict_p/r/f, relaxed_p/r/f, e2e_relaxed_p/r/f,
        false_spans_per_1000_noadr, adr_rate, noadr_weight, n_adr_tweets, n_noadr_tweets,
        n_pred (weighted), n_gold.
    """
    if len(tweets) != len(predictions):
        raise ValueError(f"{len(predictions)} predictions for {len(tweets)} tweets")
    counts = _count_matrix([span_counts(gated(pred, gate), tweet.gold) for tweet, pred in zip(tweets, predictions)])
    return _StreamWeights(tweets, rate).scores(counts)


# The fields of `span_counts`, the columns of a count matrix (one row per tweet)
COUNT_KEYS = tuple(span_counts([], []))


def _count_matrix(per_doc: Sequence[Dict[str, int]]) -> numpy.ndarray:
    return numpy.array([[counts[key] for key in COUNT_KEYS] for counts in per_doc], dtype=float).reshape(-1, len(COUNT_KEYS))


class _StreamWeights:
    """How much each tweet of a stream counts at an ADR rate (0: left out), and the scores of a
    count matrix so weighted."""

    def __init__(self, tweets: Sequence[StreamTweet], rate: Optional[float]) -> None:
        if rate is not None and not 0.0 < rate < 1.0:
            raise ValueError(f"an ADR rate is in (0, 1), got {rate}")
        included = numpy.array([rate is not None or t.source == "spans" for t in tweets], dtype=bool)
        adr = numpy.array([bool(t.gold) for t in tweets], dtype=bool)
        self.n_adr = int((included & adr).sum())
        self.n_noadr = int((included & ~adr).sum())
        if rate is None:
            self.weight = 1.0
        elif not self.n_adr or not self.n_noadr:
            raise ValueError(f"a stream needs ADR and NoADR tweets; it has {self.n_adr} and {self.n_noadr}")
        else:
            self.weight = noadr_weight(self.n_adr, self.n_noadr, rate)
        self.noadr = included & ~adr
        self.weights = numpy.where(included, numpy.where(adr, 1.0, self.weight), 0.0)
        self.adr_rate = self.n_adr / (self.n_adr + self.n_noadr) if rate is None else rate

    def scores(self, counts: numpy.ndarray) -> Dict[str, float]:
        """`stream_scores`' row from a count matrix (`_count_matrix`) of the same tweets."""
        scores = scores_from_counts(dict(zip(COUNT_KEYS, (self.weights @ counts).tolist())))
        false_on_noadr = float(counts[self.noadr, COUNT_KEYS.index("n_pred")].sum())
        row = {key: scores["ner"][key] for key in ("strict_p", "strict_r", "strict_f", "relaxed_p", "relaxed_r", "relaxed_f")}
        row.update({f"e2e_{key}": scores["e2e"][key] for key in ("relaxed_p", "relaxed_r", "relaxed_f")})
        row.update({
            "false_spans_per_1000_noadr": 1000.0 * false_on_noadr / self.n_noadr if self.n_noadr else 0.0,
            "adr_rate": self.adr_rate,
            "noadr_weight": self.weight,
            "n_adr_tweets": self.n_adr,
            "n_noadr_tweets": self.n_noadr,
            "n_pred": scores["ner"]["n_pred"],
            "n_gold": scores["ner"]["n_gold"],
        })
        return row


def tune_gate(
    tweets: Sequence[StreamTweet], predictions: Sequence[PredictedTweet], *, rate: float,
    step: float = 0.01, max_task3_drop: Optional[float] = None,
    min_span_scores: Sequence[float] = (0.0,),
) -> Tuple[GateRule, List[Dict[str, float]]]:
    """The gate with the best relaxed span F1 on the stream at `rate`: every threshold (at
    `step`) with every minimum span score given.

    Ties go to the lowest threshold and span score (the most spans kept). With
    `max_task3_drop`, only the gates that keep the relaxed F1 of the span tweets alone (the
    enriched Task 3 setting) within that distance of no gate are candidates.

    tweets (Sequence[StreamTweet]): The stream (`read_stream`).
    predictions (Sequence[PredictedTweet]): The pipeline's, gate open (`predict_stream`).
    rate (float): The ADR rate of the stream, e.g. the natural Task 2 rate.
    step (float): Spacing of the thresholds tried in [0, 1).
    max_task3_drop (Optional[float]): The largest loss of Task 3 relaxed F1 allowed; None: any.
    min_span_scores (Sequence[float]): The span scores tried.
    RETURNS (Tuple[GateRule, List[Dict[str, float]]]): The gate and the curve: per gate, its
        settings, the stream scores, the relaxed recall, F1 and strict F1 on the span tweets
        alone, and whether `max_task3_drop` allows it ("allowed").
    """
    if len(tweets) != len(predictions):
        raise ValueError(f"{len(predictions)} predictions for {len(tweets)} tweets")
    stream, enriched = _StreamWeights(tweets, rate), _StreamWeights(tweets, None)
    closed = _count_matrix([span_counts([], tweet.gold) for tweet in tweets])
    ungated = enriched.scores(_count_matrix([span_counts(p.spans, t.gold) for t, p in zip(tweets, predictions)]))
    # A tweet without a probability keeps its spans at any threshold, as `gated` does
    probabilities = numpy.array([numpy.inf if p.probability is None else p.probability for p in predictions], dtype=float)
    curve = []
    for min_span_score in min_span_scores:
        # A tweet counts its kept spans (gate open) or none (closed): counted once per span
        # score, then picked per threshold.
        kept = _count_matrix([span_counts(gated(pred, GateRule(0.0, min_span_score)), tweet.gold)
                              for tweet, pred in zip(tweets, predictions)])
        for i in range(int(round(1 / step))):
            gate = GateRule(round(i * step, 6), min_span_score)
            counts = numpy.where((probabilities >= gate.threshold)[:, None], kept, closed)
            task3 = enriched.scores(counts)
            curve.append({**gate.row(), **stream.scores(counts), "task3_relaxed_r": task3["relaxed_r"],
                          "task3_relaxed_f": task3["relaxed_f"], "task3_strict_f": task3["strict_f"]})
    floor = ungated["relaxed_f"] - max_task3_drop if max_task3_drop is not None else -1.0
    for row in curve:
        row["allowed"] = row["task3_relaxed_f"] >= floor
    best = best_gate([row for row in curve if row["allowed"]])
    return GateRule(best["gate_threshold"], best["min_span_score"]), curve


def best_gate(rows: Sequence[Dict[str, float]]) -> Dict[str, float]:
    """The row of `tune_gate`'s curve with the best stream relaxed F1; ties go to the lowest
    threshold and span score (the most spans kept)."""
    return max(rows, key=lambda row: (row["relaxed_f"], -row["gate_threshold"], -row["min_span_score"]))


def best_by_setting(curve: Sequence[Dict[str, float]]) -> List[Dict[str, float]]:
    """The best allowed row of `tune_gate`'s curve at each span score (in the curve's order; a
    span score with no allowed threshold has none): what holding back doubtful spans adds."""
    groups: Dict[float, List[Dict[str, float]]] = {}
    for row in curve:
        if row["allowed"]:
            groups.setdefault(row["min_span_score"], []).append(row)
    return [best_gate(rows) for rows in groups.values()]


def save_gate_rule(model_dir: Union[str, Path], gate: GateRule) -> str:
    """Store a gate's threshold and span score in a saved pipeline's config.cfg.

    model_dir (Union[str, Path]): The pipeline folder, changed in place.
    gate (GateRule): The settings.
    RETURNS (str): The name of the gate component.
    """
    return save_gate_settings(model_dir, {"threshold": float(gate.threshold), "min_span_score": float(gate.min_span_score)})


def save_gate_settings(model_dir: Union[str, Path], settings: Dict[str, object]) -> str:
    """Store settings of the gate in a saved pipeline's config.cfg, where the gate reads them
    (the gate has no files of its own: `nlp.to_disk` writes the settings it was created with).

    model_dir (Union[str, Path]): The pipeline folder, changed in place.
    settings (Dict[str, object]): Setting -> new value, e.g. {"threshold": 0.4}.
    RETURNS (str): The name of the gate component.
    """
    with edited_config(model_dir) as config:
        names = [name for name, component in config["components"].items() if component.get("factory") == GATE_FACTORY]
        if not names:
            raise ValueError(f"{Path(model_dir) / 'config.cfg'}: no {GATE_FACTORY} component to store the gate's {', '.join(settings)} in")
        config["components"][names[0]].update(settings)
    return names[0]


def stream_rows(
    tweets: Sequence[StreamTweet], predictions: Sequence[PredictedTweet], *, variant: str,
    splits: Dict[str, Optional[float]], gate: Optional[GateRule], linked: bool = True,
) -> List[Dict]:
    """Metrics rows (task "stream") of one gate setting, one per split.

    tweets (Sequence[StreamTweet]): The stream (`read_stream`).
    predictions (Sequence[PredictedTweet]): The pipeline's, gate open (`predict_stream`).
    variant (str): The variant named in the rows.
    splits (Dict[str, Optional[float]]): Split name -> ADR rate (None: the span tweets alone).
    gate (Optional[GateRule]): The gate; None: all spans kept.
    linked (bool): The pipeline links spans to codes; False leaves the e2e_* scores out.
    RETURNS (List[Dict]): The rows, with the gate's settings (`gate_threshold` None: no gate).
    """
    rows = []
    for split, rate in splits.items():
        scores = stream_scores(tweets, predictions, rate=rate, gate=gate)
        if not linked:
            scores = {key: value for key, value in scores.items() if not key.startswith("e2e_")}
        settings = gate.row() if gate is not None else {"gate_threshold": None}
        rows.append({"task": "stream", "variant": variant, "split": split, **settings, **scores})
    return rows


def split_name(rate: Optional[float], natural: float, *, spans: str = "task3_dev", stream: str = "en_dev") -> str:
    """The metrics split of a stream figure: `spans` ("task3_dev") for the span tweets alone,
    then "en_dev_stream_natural", "en_dev_stream_3pct" (`stream` names the NoADR corpus)."""
    if rate is None:
        return spans
    if abs(rate - natural) < 1e-9:
        return f"{stream}_stream_natural"
    return f"{stream}_stream_{rate * 100:g}pct"


def precision_by_score(
    tweets: Sequence[StreamTweet], predictions: Sequence[PredictedTweet], *, rate: float,
    edges: Sequence[float] = (0.0, 0.5, 0.9, 1.0),
) -> List[Dict[str, float]]:
    """How precise the spans of each `span._.adr_score` band are on the stream (gate open):
    what a user gets by cutting spans at a score.

    tweets (Sequence[StreamTweet]): The stream (`read_stream`).
    predictions (Sequence[PredictedTweet]): The pipeline's, gate open (`predict_stream`).
    rate (float): The ADR rate the NoADR tweets are weighted to.
    edges (Sequence[float]): Band edges; the last band includes its upper edge.
    RETURNS (List[Dict[str, float]]): Per band: score_min, score_max, n_spans (unweighted),
        relaxed_p (weighted); empty when the pipeline wrote no scores.
    """
    if not any(score is not None for pred in predictions for score in pred.scores):
        return []
    n_adr = sum(1 for tweet in tweets if tweet.gold)
    weight = noadr_weight(n_adr, len(tweets) - n_adr, rate)
    bands = []
    for low, high in zip(edges[:-1], edges[1:]):
        last = high == edges[-1]
        n_spans = hits = weighted = 0.0
        for tweet, pred in zip(tweets, predictions, strict=True):
            for span, score in zip(pred.spans, pred.scores):
                if score is None or not (low <= score < high or (last and score == high)):
                    continue
                hit = any(span[0] < end and start < span[1] for start, end, _ in tweet.gold)
                w = 1.0 if tweet.gold else weight
                n_spans += 1
                weighted += w
                hits += w * hit
        bands.append({"score_min": low, "score_max": high, "n_spans": int(n_spans),
                      "relaxed_p": hits / weighted if weighted else 0.0})
    return bands
