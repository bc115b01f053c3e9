"""A tiny, deterministic ADR pipeline for the annotation tests (no training, no transformer).

`tweet tokenizer → adr_tweet_normalizer → adr_gazetteer → entity_ruler → test_toy_adr`, where
`test_toy_adr` gives the ruler's ADR entities a MedDRA code and term and sets
doc.cats["ADR"] from whether there is one. Dask workers in other processes import this file
by path (`code=`), so it must not import anything from the tests folder.
"""
from pathlib import Path
from typing import Dict, List, Optional

from spacy.language import Language
from spacy.tokens import Doc, Span

import spacy_adr  # noqa: F401  (installs Span._.meddra_term)
from spacy_adr.tokenizer import make_blank

# Lowercased term -> (MedDRA LLT code, LLT name); made up for the tests.
TOY_CODES: Dict[str, List[str]] = {
    "headache": ["10019211", "Headache"],
    "weight gain": ["10047896", "Weight gain"],
    "dry mouth": ["10013781", "Dry mouth"],
    "can't sleep": ["10022437", "Insomnia"],
}


@Language.factory(
    "test_toy_adr",
    default_config={"codes": TOY_CODES, "threshold": 0.5},
)
def make_toy_adr(nlp: Language, name: str, *, codes: Dict[str, List[str]], threshold: float) -> "ToyAdr":
    return ToyAdr(name, codes=codes, threshold=threshold)


class ToyAdr:
    """Links ADR entities by a lookup and sets a tweet-level ADR probability like a textcat."""

    labels = ("ADR",)

    def __init__(self, name: str, *, codes: Dict[str, List[str]], threshold: float) -> None:
        self.name = name
        self.codes = codes
        # Like spaCy's textcat, which keeps its decision threshold in cfg.
        self.cfg = {"threshold": threshold}

    def __call__(self, doc: Doc) -> Doc:
        ents = []
        for ent in doc.ents:
            code, term = self.codes.get(ent.text.lower(), ["", ""])
            span = Span(doc, ent.start, ent.end, label=ent.label_, kb_id=code)
            span._.meddra_term = term
            ents.append(span)
        doc.ents = ents
        # Deterministic and with a value on each side of the threshold.
        doc.cats["ADR"] = 0.9 if ents else 0.1 if "drug" not in doc.text.lower() else 0.4
        return doc


@Language.factory("test_toy_gate", default_config={"score": 0.75})
def make_toy_gate(nlp: Language, name: str, *, score: float) -> "ToyGate":
    return ToyGate(score)


class ToyGate:
    """Like `adr_span_gate`: a score on every ADR span, and the word "pill" held back as an
    ADR candidate with score 0.25."""

    def __init__(self, score: float) -> None:
        self.score = score

    def __call__(self, doc: Doc) -> Doc:
        for ent in doc.ents:
            ent._.adr_score = self.score
        held_back = [Span(doc, t.i, t.i + 1, label="ADR") for t in doc if t.lower_ == "pill"]
        for span in held_back:
            span._.adr_score = 0.25
        doc.spans["adr_candidates"] = held_back
        doc._.adr_gate_open = True if doc.ents else None
        return doc


@Language.factory("test_raise_on", default_config={"marker": "BOOM"})
def make_raise_on(nlp: Language, name: str, *, marker: str) -> "RaiseOn":
    return RaiseOn(marker)


class RaiseOn:
    """Raises ValueError on every text that holds `marker` ("" : on every text, like a broken
    model), in `__call__` and in `pipe`, as a component with a batch method does."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __call__(self, doc: Doc) -> Doc:
        if self.marker in doc.text:
            raise ValueError(f"marked text {doc.text[:20]!r}")
        return doc

    def pipe(self, docs, *, batch_size: int = 128):  # type: ignore[no-untyped-def]
        from spacy.util import minibatch

        for batch in minibatch(docs, size=batch_size):
            yield from [self(doc) for doc in batch]


def build_toy_pipeline(path: Path, *, gate: bool = False, raise_on: Optional[str] = None) -> Path:
    """Build the toy pipeline and save it to `path` (loadable by spacy.load with this file
    imported).

    path (Path): A new folder.
    gate (bool): Add `test_toy_gate` (span scores and held-back candidates) at the end.
    raise_on (Optional[str]): Add `test_raise_on` with this marker at the end.
    RETURNS (Path): `path`.
    """
    nlp = make_blank("en")
    nlp.add_pipe("adr_tweet_normalizer")
    gazetteer = nlp.add_pipe("adr_gazetteer")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    nlp.add_pipe("test_toy_adr")
    gazetteer.set_terms(list(TOY_CODES))
    ruler.add_patterns([{"label": "ADR", "pattern": term} for term in TOY_CODES])
    if gate:
        nlp.add_pipe("test_toy_gate")
    if raise_on is not None:  # after the patterns: the ruler runs the pipeline on them
        nlp.add_pipe("test_raise_on", config={"marker": raise_on})
    nlp.to_disk(path)
    return path


@Language.factory("test_trf_probe")
def make_trf_probe(nlp: Language, name: str) -> "TransformerProbe":
    return TransformerProbe()


class TransformerProbe:
    """A tweet classifier stand-in that shows every bit of the transformer's output.

    A trained textcat turns a change in the 7th digit of the transformer's floats (a batch
    padded differently) into a different probability; an untrained one on a tiny transformer
    rounds it away. This probe keeps it: with m the mean absolute value of the [CLS] vector,
    in float64, doc.cats["ADR"] = m / (1 + m).
    """

    def __call__(self, doc: Doc) -> Doc:
        import numpy

        cls = numpy.asarray(doc._.trf_data.tensors[0])[0, 0].astype("float64")
        magnitude = float(numpy.abs(cls).mean())
        doc.cats["ADR"] = magnitude / (1 + magnitude)
        return doc


def build_tiny_transformer_pipeline(path: Path, bert: Path) -> Path:
    """Tweet tokenizer → normaliser → a tiny BERT (`tiny_transformer.build_tiny_bert`) →
    `test_trf_probe`, saved to `path`.

    path (Path): A new folder.
    bert (Path): The tiny BERT's folder.
    RETURNS (Path): `path`.
    """
    nlp = make_blank("en")
    nlp.add_pipe("adr_tweet_normalizer")
    nlp.add_pipe("transformer", config={"model": {
        "@architectures": "spacy-adr.NormTransformerModel.v1", "name": str(bert),
        "get_spans": {"@span_getters": "spacy-transformers.strided_spans.v1", "window": 128, "stride": 96},
        "tokenizer_config": {"use_fast": True},
    }})
    nlp.add_pipe("test_trf_probe")
    nlp.initialize()
    nlp.to_disk(path)
    return path
