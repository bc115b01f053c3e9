"""`adr_span_gate`: a confidence on every ADR span, and ADR spans only on ADR tweets.

On a real tweet stream only a few percent of tweets report an ADR, and the NER, trained on
the enriched Task 3 (about half its tweets have a mention), still marks symptom words on
tweets that report none. The pipeline's tweet classifier knows better: the gate keeps the ADR
spans of a tweet in `doc.ents` only when `doc.cats[category]` reaches `threshold`, which
`spacy-adr-builder tune-gate` chooses on a stream of dev tweets at the natural ADR rate. Spans it
holds back are not lost: they go to `doc.spans[candidates_key]` (the tweet's probability stays
in `doc.cats`), where `spacy-adr annotate --candidates` writes them.

Each ADR span also gets `span._.adr_score`: the probability the NER gave to the transitions
that made it, i.e. the product over its tokens of the chosen action's softmax probability
among the valid actions (the NER is trained with a softmax over its actions, one token at a
time). The gate replays the NER's greedy parse to read them, so the spans are exactly those in
`doc.ents`. (The NER's beam scores, softmaxed over whole parses of a greedily trained model,
put every span at 0.99 or more on the dev stream: useless for ranking, measured.)

A second opinion (`verifier`): the gate can ask another tweet classifier in the same
pipeline, e.g. one on a larger encoder, instead of `doc.cats[category]`. The verifier is a
disabled component with its own encoder (`spacy-adr-builder add-verifier` puts one in), and the gate
calls it only on the tweets that have ADR spans, a small share of a real stream, so a slow,
accurate classifier costs little. Its probability opens the gate and is written to
`doc.cats[category + "_verified"]` (e.g. "ADR_verified"); `doc.cats[category]` stays the
pipeline's own classifier's, the tweet-level answer for every tweet. Two classifiers on
different encoders err on different tweets, so the gate can also open on a weighted mean of
the two (`verifier_weight`: 1 the verifier alone, 0.5 the plain mean). With a mean, a tweet
whose own probability already settles the decision (shut even if the verifier said 1, or open
even if it said 0) is not verified: the spans come out the same and the verifier, the gate's
largest cost, runs less (`verify_all = true` asks it about every tweet with spans anyway).

A span that the NER itself doubts can be held back on an open tweet too: `min_span_score`
sends the spans scored under it to the candidates (0 keeps every span of an open tweet).
`spacy-adr-builder tune-gate` chooses the threshold, the weight and the span score together.

Every setting lives in the pipeline's config, so one override switches the gate off:
`spacy.load("en_adr_smm4h", config={"components": {"adr_span_gate": {"gate": False}}})`.
"""
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

import numpy
from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.tokens import Doc
from spacy.util import minibatch

from .. import extensions  # noqa: F401  (installs Span._.adr_score)

GATE_FACTORY = "adr_span_gate"
CANDIDATES_KEY = "adr_candidates"
VERIFIED_SUFFIX = "_verified"


@Language.factory(
    GATE_FACTORY,
    requires=["doc.ents", "doc.cats"],
    assigns=["doc.ents", "doc.spans"],
    default_config={
        "threshold": 0.5,
        "gate": True,
        "label": "ADR",
        "category": "ADR",
        "ner": "ner",
        "score_spans": True,
        "candidates_key": CANDIDATES_KEY,
        "verifier": None,
        "verifier_weight": 1.0,
        "min_span_score": 0.0,
        "verify_all": False,
    },
)
def make_span_gate(
    nlp: Language, name: str, *, threshold: float, gate: bool, label: str, category: str,
    ner: str, score_spans: bool, candidates_key: str, verifier: Optional[str],
    verifier_weight: float, min_span_score: float, verify_all: bool,
) -> "SpanGate":
    """Create the `adr_span_gate` component.

    threshold (float): Keep a tweet's ADR spans when `doc.cats[category] >= threshold`.
    gate (bool): False keeps every span (scores are still written).
    label (str): The entity label gated and scored.
    category (str): The tweet category whose probability opens the gate.
    ner (str): The name of the entity recognizer whose transitions score the spans.
    score_spans (bool): Write `span._.adr_score`; False saves the replay of the parse.
    candidates_key (str): The `doc.spans` key of the spans held back.
    verifier (Optional[str]): The name of a disabled tweet classifier in the pipeline whose
        probability of `category` opens the gate instead of `doc.cats[category]`; it runs only
        on tweets with ADR spans. None: the pipeline's own classifier decides.
    verifier_weight (float): The verifier's share in the probability that opens the gate, the
        rest being `doc.cats[category]`'s: 1.0 the verifier alone, 0.5 the mean of the two.
    min_span_score (float): On an open tweet, spans whose `span._.adr_score` is under it go to
        the candidates too; 0 keeps them all. Needs score_spans.
    verify_all (bool): Ask the verifier about every tweet with ADR spans; False skips those
        whose own probability settles the gate whatever the verifier says (`verifier_decides`).
    RETURNS (SpanGate): The component.
    """
    return SpanGate(
        nlp, name, threshold=threshold, gate=gate, label=label, category=category, ner=ner,
        score_spans=score_spans, candidates_key=candidates_key, verifier=verifier,
        verifier_weight=verifier_weight, min_span_score=min_span_score, verify_all=verify_all,
    )


class SpanGate(Pipe):
    """Scores ADR spans by the NER's transitions and keeps them only on tweets the classifier
    calls ADR."""

    def __init__(
        self, nlp: Language, name: str = "adr_span_gate", *, threshold: float = 0.5,
        gate: bool = True, label: str = "ADR", category: str = "ADR", ner: str = "ner",
        score_spans: bool = True, candidates_key: str = CANDIDATES_KEY,
        verifier: Optional[str] = None, verifier_weight: float = 1.0, min_span_score: float = 0.0,
        verify_all: bool = False,
    ) -> None:
        """Initialize the gate; see `make_span_gate` for the settings."""
        for setting, value in [("threshold", threshold), ("verifier_weight", verifier_weight), ("min_span_score", min_span_score)]:
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}: {setting} must be in [0, 1], got {value}")
        if min_span_score > 0.0 and not score_spans:
            raise ValueError(f"{name}: min_span_score = {min_span_score} needs the span scores (score_spans = true)")
        self.nlp = nlp
        self.name = name
        self.threshold = float(threshold)
        self.gate = gate
        self.label = label
        self.category = category
        self.ner = ner
        self.score_spans = score_spans
        self.candidates_key = candidates_key
        self.verifier = verifier or None
        self.verifier_weight = float(verifier_weight)
        self.min_span_score = float(min_span_score)
        self.verify_all = verify_all

    @property
    def verified_category(self) -> str:
        """RETURNS (str): The `doc.cats` key of the verifier's probability, e.g. "ADR_verified"."""
        return self.category + VERIFIED_SUFFIX

    def __call__(self, doc: Doc) -> Doc:
        """Score and gate the ADR spans of one tweet.

        doc (Doc): A tweet with entities and `doc.cats[category]`.
        RETURNS (Doc): The same tweet.
        """
        return next(self.pipe([doc]))

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Score and gate the ADR spans of a stream of tweets, a batch at a time.

        stream (Iterable[Doc]): Tweets with entities and `doc.cats[category]`.
        batch_size (int): Tweets scored together.
        YIELDS (Doc): The tweets, in order.
        """
        for batch in minibatch(stream, size=batch_size):
            if self.score_spans:
                self.write_scores(batch)
            if self.gate and self.verifier is not None:
                self.write_verified(batch)
            for doc in batch:
                self.apply_gate(doc)
            yield from batch

    def write_scores(self, docs: List[Doc]) -> None:
        """Write `span._.adr_score` on the ADR entities (see the module docstring).

        docs (List[Doc]): Tweets that went through the NER (and its transformer) in this run.
        """
        with_spans = [doc for doc in docs if any(ent.label_ == self.label for ent in doc.ents)]
        if not with_spans:
            return
        if self.ner not in self.nlp.pipe_names:
            raise ValueError(
                f"{self.name}: no component {self.ner!r} in the pipeline {self.nlp.pipe_names} "
                f"to score spans with (set score_spans = false to write no scores)"
            )
        # The NER treats entities already on a doc as given (only the move that keeps them is
        # valid), so the parse is replayed on the docs as the NER saw them: entities missing.
        found = [list(doc.ents) for doc in with_spans]
        for doc in with_spans:
            doc.set_ents([], default="missing")
        try:
            confidences = greedy_span_confidences(self.nlp.get_pipe(self.ner), with_spans)
        finally:
            for doc, ents in zip(with_spans, found):
                doc.ents = ents
        for doc, scores in zip(with_spans, confidences):
            for ent in doc.ents:
                if ent.label_ == self.label:
                    ent._.adr_score = scores.get((ent.start, ent.end, ent.label_))

    def write_verified(self, docs: List[Doc]) -> None:
        """Ask the verifier about the tweets with ADR spans: `doc.cats[verified_category]`.

        docs (List[Doc]): Tweets that went through the pipeline up to the gate.
        """
        with_spans = [doc for doc in docs if any(ent.label_ == self.label for ent in doc.ents) and self._asks(doc)]
        if not with_spans:
            return
        verifier = self._verifier()
        scores = verifier.model.ops.to_numpy(verifier.predict(with_spans))
        column = list(verifier.labels).index(self.category)
        for doc, row in zip(with_spans, scores):
            doc.cats[self.verified_category] = float(row[column])

    def _asks(self, doc: Doc) -> bool:
        """Whether the verifier is asked about this tweet: always with `verify_all`, else only
        where its answer can change the gate's decision (`verifier_decides`)."""
        return self.verify_all or verifier_decides(doc.cats.get(self.category), self.threshold, self.verifier_weight)

    def _verifier(self):
        if self.verifier not in self.nlp.component_names:
            raise ValueError(
                f"{self.name}: no verifier {self.verifier!r} in the pipeline "
                f"{self.nlp.component_names} (set verifier = null to gate by doc.cats[{self.category!r}])"
            )
        verifier = self.nlp.get_pipe(self.verifier)
        if self.category not in getattr(verifier, "labels", ()) or not hasattr(verifier, "predict"):
            raise ValueError(f"{self.name}: the verifier {self.verifier!r} does not classify {self.category!r}")
        return verifier

    def apply_gate(self, doc: Doc) -> None:
        """Move the ADR entities of a tweet under the threshold, and those scored under
        `min_span_score`, to `doc.spans[candidates_key]`; the decision goes to
        `doc._.adr_gate_open` (None where there was nothing to decide).

        doc (Doc): A tweet with entities and `doc.cats[category]`.
        """
        spans = [ent for ent in doc.ents if ent.label_ == self.label]
        doc._.adr_gate_open = None
        if not self.gate or not spans:
            doc.spans[self.candidates_key] = []
            return
        doc._.adr_gate_open = self.tweet_probability(doc) >= self.threshold
        if not doc._.adr_gate_open:
            held = spans
        else:
            held = [ent for ent in spans if not keeps_span_score(ent._.adr_score, self.min_span_score)]
        doc.spans[self.candidates_key] = held
        if held:
            held_offsets = {(ent.start, ent.end) for ent in held}
            doc.ents = [ent for ent in doc.ents if ent.label_ != self.label or (ent.start, ent.end) not in held_offsets]

    def tweet_probability(self, doc: Doc) -> float:
        """The probability that opens the gate: `doc.cats[category]` mixed with the verifier's
        by `verifier_weight` (see `gate_probability`), with a clear error when nothing wrote it."""
        verified: Optional[float] = None
        own: Optional[float] = doc.cats.get(self.category)
        if self.verifier is not None and (self.verified_category in doc.cats or self._asks(doc)):
            if self.verified_category not in doc.cats:
                # A tweet that got its spans after the gate's batch was verified (e.g. a user
                # calling apply_gate alone): ask now.
                self.write_verified([doc])
            verified = doc.cats[self.verified_category]
            if self.verifier_weight == 1.0:
                return float(verified)
        # A verifier not asked: own settles the gate, on the side of the threshold the mixed
        # probability would be on whatever the verifier said (see verifier_decides).
        if own is None:
            raise ValueError(
                f"{self.name}: doc.cats has no {self.category!r}: the gate needs a tweet classifier "
                f"before it in the pipeline ({self.nlp.pipe_names}), or gate = false"
            )
        return gate_probability(own, verified, self.verifier_weight)


def verifier_decides(own: Optional[float], threshold: float, verifier_weight: float) -> bool:
    """Whether the verifier's answer can change the gate's decision on a tweet.

    With its share `verifier_weight` under 1 the mixed probability lies between its values for
    a verifier saying 0 and saying 1; when both sides of the threshold are out of reach, `own`
    decides, and it is on the same side of the threshold as the mixed probability would be
    (under it: `(1 - w) * own + w < threshold` implies `own < threshold`; at or over it:
    `(1 - w) * own >= threshold` implies `own >= threshold`).

    own (Optional[float]): The pipeline's classifier's probability; None: ask the verifier.
    threshold (float): The gate's threshold.
    verifier_weight (float): The verifier's share, in [0, 1].
    RETURNS (bool): True when the verifier must be asked.
    """
    if own is None or verifier_weight >= 1.0:
        return True
    return gate_probability(own, 0.0, verifier_weight) < threshold <= gate_probability(own, 1.0, verifier_weight)


def gate_probability(own: float, verified: Optional[float], verifier_weight: float) -> float:
    """The tweet probability a gate compares with its threshold.

    own (float): The pipeline's classifier's probability, `doc.cats[category]`.
    verified (Optional[float]): The verifier's; None: the tweet was not verified.
    verifier_weight (float): The verifier's share, in [0, 1].
    RETURNS (float): `verifier_weight * verified + (1 - verifier_weight) * own`, or `own`.
    """
    if verified is None:
        return float(own)
    return float(verifier_weight * verified + (1.0 - verifier_weight) * own)


def keeps_span_score(score: Optional[float], min_span_score: float) -> bool:
    """Whether a span with this `span._.adr_score` stays on an open tweet (an unscored span does)."""
    return score is None or score >= min_span_score


def greedy_span_confidences(recognizer, docs: List[Doc]) -> List[Dict[Tuple[int, int, str], float]]:
    """Replay an entity recognizer's greedy parse and score the spans it makes.

    At each step the parser scores its actions for the next token; the greedy parse takes the
    best valid one. A span's confidence is the product of the softmax probabilities (over the
    valid actions) of the actions that made it: B-, I-..., L- or U-.

    recognizer (EntityRecognizer): A trained `ner`; its tok2vec input must be available (for
        a transformer listener: the docs went through the transformer).
    docs (List[Doc]): The documents, their entities missing (preset entities would force the
        moves that keep them).
    RETURNS (List[Dict[Tuple[int, int, str], float]]): Per document, (start token, end token,
        label) -> confidence.
    """
    moves = recognizer.moves
    names = [moves.get_class_name(i) for i in range(moves.n_moves)]
    step_model = recognizer.model.predict(docs)
    states = moves.init_batch(docs)
    steps: List[List[Tuple[int, str, float]]] = [[] for _ in states]
    active = [i for i, state in enumerate(states) if not state.is_final()]
    while active:
        scores = recognizer.model.ops.to_numpy(step_model.predict([states[i] for i in active]))
        for i, row in zip(active, scores):
            state = states[i]
            valid = numpy.array([bool(moves.is_valid(state, name)) for name in names])
            logits = numpy.where(valid, row, -numpy.inf)
            best = int(numpy.argmax(logits))
            probabilities = numpy.exp(logits - logits[best])
            steps[i].append((state.B(0), names[best], float(probabilities[best] / probabilities.sum())))
            moves.apply_transition(state, names[best])
        active = [i for i in active if not states[i].is_final()]
    step_model.clear_memory()
    return [_spans_of_steps(doc_steps) for doc_steps in steps]


def _spans_of_steps(steps: List[Tuple[int, str, float]]) -> Dict[Tuple[int, int, str], float]:
    spans: Dict[Tuple[int, int, str], float] = {}
    start, confidence = -1, 1.0
    for token, move, probability in steps:
        if move.startswith("U-"):
            spans[(token, token + 1, move[2:])] = probability
        elif move.startswith("B-"):
            start, confidence = token, probability
        elif move.startswith("I-"):
            confidence *= probability
        elif move.startswith("L-") and start >= 0:
            spans[(start, token + 1, move[2:])] = confidence * probability
            start = -1
    return spans
