"""`adr_span_gate`: span confidences from the NER's transitions, and ADR spans only on ADR tweets."""
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc
from thinc.api import fix_random_seed

from spacy_adr.pipeline.span_gate import CANDIDATES_KEY
from test_models import TRAIN, lower_shape_ner_cfg, make_examples

# Stand-in tweet probabilities: the classifier of a real pipeline writes doc.cats["ADR"].
TWEET_PROBABILITY = {
    "took pill then head ache came": 0.9,
    "felt numb from that dose": 0.4,
    "have skin rash from drug": 0.1,
}


@Language.component("adr_test_tweet_probability")
def adr_test_tweet_probability(doc: Doc) -> Doc:
    doc.cats["ADR"] = TWEET_PROBABILITY.get(doc.text, 0.0)
    return doc


@pytest.fixture(scope="module")
def trained_ner_pipeline():
    """A fast NER (lowercase + shape features) that learned the toy mentions, then the stand-in
    classifier; the gate is added by each test."""
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("ner", config=lower_shape_ner_cfg())
    examples = make_examples(nlp, TRAIN)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(80):
        nlp.update(examples, sgd=optimizer)
    nlp.add_pipe("adr_test_tweet_probability")
    return nlp


def spans_of(spans):
    return [(span.text, span.label_) for span in spans]


def test_gate_keeps_spans_of_adr_tweets_and_holds_back_the_rest(trained_ner_pipeline, tmp_path):
    nlp = trained_ner_pipeline
    nlp.add_pipe("adr_span_gate", config={"threshold": 0.5})
    try:
        docs = list(nlp.pipe(TWEET_PROBABILITY))
        # The NER finds a mention in every tweet; only the tweet at 0.9 keeps it
        assert spans_of(docs[0].ents) == [("head ache", "ADR")]
        assert spans_of(docs[0].spans[CANDIDATES_KEY]) == []
        assert docs[0]._.adr_gate_open is True
        for doc, mention in [(docs[1], "numb"), (docs[2], "skin rash")]:
            assert spans_of(doc.ents) == []
            assert spans_of(doc.spans[CANDIDATES_KEY]) == [(mention, "ADR")]
            assert doc.cats["ADR"] < 0.5
            assert doc._.adr_gate_open is False  # the record says why it has no spans
        # Nothing to decide: a tweet without ADR spans
        assert nlp("fine")._.adr_gate_open is None
        # The threshold is stored with the pipeline and honoured after loading it
        nlp.get_pipe("adr_span_gate")  # exists
        nlp.to_disk(tmp_path / "gated")
    finally:
        nlp.remove_pipe("adr_span_gate")
    for config, kept in [
        ({}, ["head ache"]),
        ({"components": {"adr_span_gate": {"threshold": 0.3}}}, ["head ache", "numb"]),
        ({"components": {"adr_span_gate": {"gate": False}}}, ["head ache", "numb", "skin rash"]),
    ]:
        loaded = spacy.load(tmp_path / "gated", config=config)
        assert [ent.text for doc in loaded.pipe(TWEET_PROBABILITY) for ent in doc.ents] == kept


def test_spans_carry_the_ner_confidence(trained_ner_pipeline):
    nlp = trained_ner_pipeline
    nlp.add_pipe("adr_span_gate", config={"gate": False})
    try:
        docs = list(nlp.pipe(TWEET_PROBABILITY))
        scores = [ent._.adr_score for doc in docs for ent in doc.ents]
        assert len(scores) == 3 and all(0.0 < score <= 1.0 for score in scores)
        # The replayed parse makes exactly the NER's spans
        from spacy_adr.pipeline.span_gate import greedy_span_confidences

        unmarked = [doc.copy() for doc in docs]
        for doc in unmarked:
            doc.set_ents([], default="missing")
        replayed = greedy_span_confidences(nlp.get_pipe("ner"), unmarked)
        assert any(score < 0.99 for spans in replayed for score in spans.values())
        assert [sorted(spans) for spans in replayed] == [
            sorted((e.start, e.end, e.label_) for e in doc.ents) for doc in docs
        ]
        # One tweet at a time gives the same scores as a batch
        assert [ent._.adr_score for text in TWEET_PROBABILITY for ent in nlp(text).ents] == pytest.approx(scores)
    finally:
        nlp.remove_pipe("adr_span_gate")
    nlp.add_pipe("adr_span_gate", config={"gate": False, "score_spans": False})
    try:
        assert [ent._.adr_score for ent in nlp("felt numb from that dose").ents] == [None]
    finally:
        nlp.remove_pipe("adr_span_gate")


def test_gate_errors_are_clear():
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="threshold must be in"):
        nlp.add_pipe("adr_span_gate", config={"threshold": 1.5})
    with pytest.raises(ValueError, match="min_span_score must be in"):
        nlp.add_pipe("adr_span_gate", config={"min_span_score": -0.1})
    with pytest.raises(ValueError, match="needs the span scores"):
        nlp.add_pipe("adr_span_gate", config={"min_span_score": 0.5, "score_spans": False})
    nlp.add_pipe("adr_span_gate", config={"score_spans": False})
    doc = nlp.make_doc("pill made me sick")
    doc.ents = [doc.char_span(13, 17, label="ADR")]
    with pytest.raises(ValueError, match="needs a tweet classifier"):
        nlp.get_pipe("adr_span_gate")(doc)
    scored = spacy.blank("en")
    scored.add_pipe("adr_span_gate")
    with pytest.raises(ValueError, match="no component 'ner'"):
        scored.get_pipe("adr_span_gate")(doc)


def test_a_minimum_span_score_holds_back_doubtful_spans_of_open_tweets(trained_ner_pipeline):
    nlp = trained_ner_pipeline
    nlp.add_pipe("adr_span_gate", config={"gate": False})
    try:
        scores = {ent.text: ent._.adr_score for doc in nlp.pipe(TWEET_PROBABILITY) for ent in doc.ents}
    finally:
        nlp.remove_pipe("adr_span_gate")
    cut = sorted(scores.values())[1]  # the least sure span falls under it, the others reach it
    nlp.add_pipe("adr_span_gate", config={"threshold": 0.0, "min_span_score": cut})
    try:
        docs = list(nlp.pipe(TWEET_PROBABILITY))
        kept = [ent.text for doc in docs for ent in doc.ents]
        held = [span.text for doc in docs for span in doc.spans[CANDIDATES_KEY]]
        assert sorted(kept) == sorted(text for text, score in scores.items() if score >= cut)
        assert held == [text for text, score in scores.items() if score < cut]
    finally:
        nlp.remove_pipe("adr_span_gate")


def test_the_gate_opens_at_the_threshold_on_the_classifier_probability():
    nlp = spacy.blank("en")
    gate = nlp.add_pipe("adr_span_gate", config={"score_spans": False, "threshold": 0.5})
    for probability, kept in [(0.5, True), (0.75, True), (0.49, False), (0.0, False)]:
        doc = nlp.make_doc("pill made me sick")
        doc.ents = [doc.char_span(13, 17, label="ADR")]
        doc.cats = {"ADR": probability}
        gate.apply_gate(doc)
        assert doc._.adr_gate_open is kept
        assert spans_of(doc.ents) == ([("sick", "ADR")] if kept else [])
        assert spans_of(doc.spans[CANDIDATES_KEY]) == ([] if kept else [("sick", "ADR")])
        assert doc.cats == {"ADR": probability}  # the gate writes no category of its own
