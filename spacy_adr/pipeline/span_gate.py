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

A span that the NER itself doubts can be held back on an open tweet too: `min_span_score`
sends the spans scored under it to the candidates (0 keeps every span of an open tweet).
`spacy-adr-builder tune-gate` chooses the threshold and the span score together.

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
        "min_span_score": 0.0,
    },
)
def make_span_gate(
    nlp: Language, name: str, *, threshold: float, gate: bool, label: str, category: str,
    ner: str, score_spans: bool, candidates_key: str, min_span_score: float,
) -> "SpanGate":
    """Create the `adr_span_gate` component.

    threshold (float): Keep a tweet's ADR spans when `doc.cats[category] >= threshold`.
    gate (bool): False keeps every span (scores are still written).
    label (str): The entity label gated and scored.
    category (str): The tweet category whose probability opens the gate.
    ner (str): The name of the entity recognizer whose transitions score the spans.
    score_spans (bool): Write `span._.adr_score`; False saves the replay of the parse.
    candidates_key (str): The `doc.spans` key of the spans held back.
    min_span_score (float): On an open tweet, spans whose `span._.adr_score` is under it go to
        the candidates too; 0 keeps them all. Needs score_spans.
    RETURNS (SpanGate): The component.
    """
    return SpanGate(
        nlp, name, threshold=threshold, gate=gate, label=label, category=category, ner=ner,
        score_spans=score_spans, candidates_key=candidates_key, min_span_score=min_span_score,
    )


class SpanGate(Pipe):
    """Scores ADR spans by the NER's transitions and keeps them only on tweets the classifier
    calls ADR."""

    def __init__(
        self, nlp: Language, name: str = "adr_span_gate", *, threshold: float = 0.5,
        gate: bool = True, label: str = "ADR", category: str = "ADR", ner: str = "ner",
        score_spans: bool = True, candidates_key: str = CANDIDATES_KEY, min_span_score: float = 0.0,
    ) -> None:
        """Initialize the gate; see `make_span_gate` for the settings."""
        for setting, value in [("threshold", threshold), ("min_span_score", min_span_score)]:
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
        self.min_span_score = float(min_span_score)

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
        """The probability that opens the gate, `doc.cats[category]`, with a clear error when
        nothing wrote it."""
        own: Optional[float] = doc.cats.get(self.category)
        if own is None:
            raise ValueError(
                f"{self.name}: doc.cats has no {self.category!r}: the gate needs a tweet classifier "
                f"before it in the pipeline ({self.nlp.pipe_names}), or gate = false"
            )
        return float(own)


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
