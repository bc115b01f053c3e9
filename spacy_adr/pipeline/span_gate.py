"""`adr_span_gate`: a confidence on every ADR span, and ADR spans only on ADR tweets.

On a real tweet stream only a few percent of tweets report an ADR, and the NER, trained on
the enriched Task 3 (about half its tweets have a mention), still marks symptom words on
tweets that report none. The pipeline's tweet classifier knows better: the gate keeps the ADR
spans of a tweet in `doc.ents` only when `doc.cats[category]` reaches `threshold`, which
`spacy-adr tune-gate` chooses on a stream of dev tweets at the natural ADR rate. Spans it
holds back are not lost: they go to `doc.spans[candidates_key]` (the tweet's probability stays
in `doc.cats`), where `spacy-adr annotate --candidates` writes them.

Each ADR span also gets `span._.adr_score`: the share of the NER's beam (`beam_width` parses
of the same trained model) that proposes exactly this span, so users can rank and cut spans.
The spans themselves stay those of the NER's greedy parse.

Every setting lives in the pipeline's config, so one override switches the gate off:
`spacy.load("en_adr_smm4h", config={"components": {"adr_span_gate": {"gate": False}}})`.
"""
from typing import Iterable, Iterator, List, Optional

from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.tokens import Doc
from spacy.util import minibatch

from .. import extensions  # noqa: F401  (installs Span._.adr_score)

CANDIDATES_KEY = "adr_candidates"


@Language.factory(
    "adr_span_gate",
    requires=["doc.ents", "doc.cats"],
    assigns=["doc.ents", "doc.spans"],
    default_config={
        "threshold": 0.5,
        "gate": True,
        "label": "ADR",
        "category": "ADR",
        "ner": "ner",
        "beam_width": 8,
        "candidates_key": CANDIDATES_KEY,
    },
)
def make_span_gate(
    nlp: Language, name: str, *, threshold: float, gate: bool, label: str, category: str,
    ner: str, beam_width: int, candidates_key: str,
) -> "SpanGate":
    """Create the `adr_span_gate` component.

    threshold (float): Keep a tweet's ADR spans when `doc.cats[category] >= threshold`.
    gate (bool): False keeps every span (scores are still written).
    label (str): The entity label gated and scored.
    category (str): The tweet category whose probability opens the gate.
    ner (str): The name of the entity recognizer whose beam scores the spans.
    beam_width (int): Parses in the beam; 1 or less writes no scores.
    candidates_key (str): The `doc.spans` key of the spans held back.
    RETURNS (SpanGate): The component.
    """
    return SpanGate(
        nlp, name, threshold=threshold, gate=gate, label=label, category=category, ner=ner,
        beam_width=beam_width, candidates_key=candidates_key,
    )


class SpanGate(Pipe):
    """Scores ADR spans by the NER's beam and keeps them only on tweets the classifier calls ADR."""

    def __init__(
        self, nlp: Language, name: str = "adr_span_gate", *, threshold: float = 0.5,
        gate: bool = True, label: str = "ADR", category: str = "ADR", ner: str = "ner",
        beam_width: int = 8, candidates_key: str = CANDIDATES_KEY,
    ) -> None:
        """Initialize the gate; see `make_span_gate` for the settings."""
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"{name}: threshold must be in [0, 1], got {threshold}")
        self.nlp = nlp
        self.name = name
        self.threshold = float(threshold)
        self.gate = gate
        self.label = label
        self.category = category
        self.ner = ner
        self.beam_width = beam_width
        self.candidates_key = candidates_key

    def __call__(self, doc: Doc) -> Doc:
        """Score and gate the ADR spans of one tweet.

        doc (Doc): A tweet with entities and `doc.cats[category]`.
        RETURNS (Doc): The same tweet.
        """
        return next(self.pipe([doc]))

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Score and gate the ADR spans of a stream of tweets, a batch at a time.

        stream (Iterable[Doc]): Tweets with entities and `doc.cats[category]`.
        batch_size (int): Tweets per beam parse.
        YIELDS (Doc): The tweets, in order.
        """
        for batch in minibatch(stream, size=batch_size):
            self.score_spans(batch)
            for doc in batch:
                self.apply_gate(doc)
            yield from batch

    def score_spans(self, docs: List[Doc]) -> None:
        """Write `span._.adr_score` on the ADR entities: the beam's probability of the span.

        docs (List[Doc]): Tweets that went through the NER (and its transformer) in this run.
        """
        if self.beam_width <= 1:
            return
        with_spans = [doc for doc in docs if any(ent.label_ == self.label for ent in doc.ents)]
        if not with_spans:
            return
        if self.ner not in self.nlp.pipe_names:
            raise ValueError(
                f"{self.name}: no component {self.ner!r} in the pipeline {self.nlp.pipe_names} "
                f"to score spans with (set beam_width = 1 to write no scores)"
            )
        recognizer = self.nlp.get_pipe(self.ner)
        beams = recognizer.beam_parse(with_spans, beam_width=self.beam_width)
        for doc, scores in zip(with_spans, recognizer.scored_ents(beams)):
            for ent in doc.ents:
                if ent.label_ == self.label:
                    # Summed over a beam's final parses, rounding can pass 1 by a hair
                    ent._.adr_score = min(1.0, float(scores.get((ent.start, ent.end, ent.label_), 0.0)))

    def apply_gate(self, doc: Doc) -> None:
        """Move the ADR entities of a tweet under the threshold to `doc.spans[candidates_key]`.

        doc (Doc): A tweet with entities and `doc.cats[category]`.
        """
        spans = [ent for ent in doc.ents if ent.label_ == self.label]
        if not self.gate or not spans:
            doc.spans[self.candidates_key] = []
            return
        probability = self.tweet_probability(doc)
        if probability >= self.threshold:
            doc.spans[self.candidates_key] = []
        else:
            doc.spans[self.candidates_key] = spans
            doc.ents = [ent for ent in doc.ents if ent.label_ != self.label]

    def tweet_probability(self, doc: Doc) -> float:
        """`doc.cats[category]`, with a clear error when no classifier wrote it."""
        probability: Optional[float] = doc.cats.get(self.category)
        if probability is None:
            raise ValueError(
                f"{self.name}: doc.cats has no {self.category!r}: the gate needs a tweet classifier "
                f"before it in the pipeline ({self.nlp.pipe_names}), or gate = false"
            )
        return float(probability)
