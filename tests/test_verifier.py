"""The span gate's verifier: a second classifier, with its own encoder, asked only about the
tweets with ADR spans (`spacy-adr-builder add-verifier`)."""
import pytest
import spacy
from spacy.language import Language

from spacy_adr.annotate.outputs import build_record
from spacy_adr.inference_settings import inference_settings, save_inference, set_inference
from spacy_adr_builder.packaging.verifier import add_verifier, save_verifier
from spacy_adr.pipeline.span_gate import CANDIDATES_KEY, gate_probability, verifier_decides
from spacy_adr.tokenizer import make_blank
from test_textcat import TWEETS, transformer_pipeline

# Words the stand-in NER marks: two in ADR tweets, two in NoADR tweets; one ADR tweet has none.
MARKED = {"headache": 0, "weight": 2, "pharmacy": 3, "coffee": 4}
UNMARKED = 1
TEXTS = [text for text, _ in TWEETS]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from tiny_transformer import build_tiny_bert

    return str(build_tiny_bert(tmp_path_factory.mktemp("tiny_bert")))


@pytest.fixture(scope="module")
def classifier(tiny_bert, tmp_path_factory):
    """A tiny transformer classifier that learned the six tweets, and its probabilities."""
    path = tmp_path_factory.mktemp("classifier") / "model"
    nlp = transformer_pipeline(tiny_bert)
    nlp.to_disk(path)
    return path, [doc.cats["ADR"] for doc in nlp.pipe(TEXTS)]


def gated_pipeline(tokenizer: str = "tweet") -> Language:
    """Normaliser, a rule NER and a pipeline classifier that calls every tweet ADR, then the gate."""
    nlp = make_blank("en") if tokenizer == "tweet" else spacy.blank("en")
    nlp.add_pipe("adr_tweet_normalizer")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "ADR", "pattern": [{"LOWER": word}]} for word in MARKED])
    nlp.add_pipe("adr_test_always_adr")
    nlp.add_pipe("adr_span_gate", config={"score_spans": False, "threshold": 0.5})
    return nlp


@Language.component("adr_test_always_adr")
def adr_test_always_adr(doc):
    doc.cats["ADR"] = 0.99
    return doc


def check_gated_by_the_verifier(nlp: Language, probabilities) -> None:
    docs = list(nlp.pipe(TEXTS))
    assert "ADR_verified" not in docs[UNMARKED].cats  # no spans: the verifier never ran
    for word, i in MARKED.items():
        doc = docs[i]
        assert doc.cats["ADR"] == 0.99  # the pipeline's own answer stays
        assert doc.cats["ADR_verified"] == pytest.approx(probabilities[i], abs=1e-5)
        kept = probabilities[i] >= 0.5
        assert [ent.text for ent in doc.ents] == ([word] if kept else [])
        assert [span.text for span in doc.spans[CANDIDATES_KEY]] == ([] if kept else [word])


def test_verifier_gates_spans_and_runs_on_tweets_with_spans_only(classifier):
    path, probabilities = classifier
    # The toy classifier separates the tweets: the ADR ones keep their spans, the others not
    assert [probabilities[i] >= 0.5 for i in MARKED.values()] == [True, True, False, False]
    nlp = gated_pipeline()
    assert add_verifier(nlp, spacy.load(path)) == "adr_span_gate"
    assert "adr_verifier" in nlp.disabled and "transformer" not in nlp.component_names
    check_gated_by_the_verifier(nlp, probabilities)
    # annotate --candidates writes what opened (or shut) the gate
    records = [build_record(doc, record_id=i, candidates=True) for i, doc in enumerate(nlp.pipe(TEXTS))]
    assert records[UNMARKED]["verified_probability"] is None
    assert records[3]["verified_probability"] == pytest.approx(probabilities[3], abs=1e-5)
    assert [c["text"] for c in records[3]["candidates"]] == ["pharmacy"]
    # Gate off: no verifier run, every span kept
    nlp.get_pipe("adr_span_gate").gate = False
    docs = list(nlp.pipe(TEXTS))
    assert all("ADR_verified" not in doc.cats for doc in docs)
    assert sum(len(doc.ents) for doc in docs) == len(MARKED)


@pytest.mark.parametrize("own,threshold,weight,asks", [
    (0.99, 0.88, 0.25, True),    # 0.7425 < 0.88 <= 0.9925: the verifier decides
    (0.80, 0.88, 0.25, False),   # 0.85 at most: shut whatever it says
    (0.99, 0.40, 0.50, False),   # 0.495 at least: open whatever it says
    (0.10, 0.50, 1.00, True),    # the verifier alone
    (0.99, 0.50, 0.00, False),   # the verifier has no share
    (None, 0.50, 0.50, True),
])
def test_verifier_decides_only_where_its_answer_can_flip_the_gate(own, threshold, weight, asks):
    assert verifier_decides(own, threshold, weight) is asks
    if own is not None and not asks:
        # own alone lands on the side of the threshold where every mixed probability lands
        sides = {gate_probability(own, v, weight) >= threshold for v in (0.0, 0.3, 1.0)}
        assert sides == {gate_probability(own, None, weight) >= threshold}


def test_settled_tweets_are_not_verified_and_keep_the_same_spans(classifier):
    path, probabilities = classifier
    nlp = gated_pipeline()
    add_verifier(nlp, spacy.load(path))
    gate = nlp.get_pipe("adr_span_gate")
    # Own probability 0.99 at weight 0.5: at least 0.495, so a 0.4 gate opens without asking
    gate.verifier_weight, gate.threshold = 0.5, 0.4
    docs = list(nlp.pipe(TEXTS))
    assert all("ADR_verified" not in doc.cats for doc in docs)
    assert sum(len(doc.ents) for doc in docs) == len(MARKED)
    gate.verify_all = True
    asked = list(nlp.pipe(TEXTS))
    assert [doc.cats["ADR_verified"] for doc in asked if doc.ents] == pytest.approx([probabilities[i] for i in MARKED.values()], abs=1e-5)
    assert [[ent.text for ent in doc.ents] for doc in asked] == [[ent.text for ent in doc.ents] for doc in docs]
    # At 0.9 the verifier's answer matters again: asked, and it shuts the NoADR tweets
    gate.verify_all, gate.threshold = False, 0.9
    docs = list(nlp.pipe(TEXTS))
    assert [i for i, doc in enumerate(docs) if "ADR_verified" in doc.cats] == sorted(MARKED.values())
    assert [i for i, doc in enumerate(docs) if doc.ents] == [i for i in MARKED.values() if gate_probability(0.99, probabilities[i], 0.5) >= 0.9]


def test_saved_verifier_survives_loading_and_takes_inference_settings(classifier, tmp_path):
    path, probabilities = classifier
    saved = tmp_path / "gated"
    gated_pipeline().to_disk(saved)
    assert save_verifier(saved, path) == "adr_span_gate"
    nlp = spacy.load(saved)
    assert nlp.get_pipe("adr_span_gate").verifier == "adr_verifier"
    check_gated_by_the_verifier(nlp, probabilities)
    # The verifier's own encoder is reached by the inference settings, live and saved
    assert inference_settings(nlp) == {"adr_verifier": {"quantize": "fp32", "length_groups": 0}}
    assert set_inference(nlp, length_groups=2) == ["adr_verifier"]
    check_gated_by_the_verifier(nlp, probabilities)
    # Its precision has a setting of its own: the shared transformer's leaves it alone
    assert set_inference(nlp, quantize="int8") == []
    assert set_inference(nlp, verifier_quantize="bf16") == ["adr_verifier"]
    assert inference_settings(nlp) == {"adr_verifier": {"quantize": "bf16", "length_groups": 2}}
    with pytest.raises(ValueError, match="no .* transformer or linker to set"):
        save_inference(saved, quantize="int8")
    assert save_inference(saved, verifier_quantize="bf16", length_groups=4) == ["adr_verifier"]
    assert inference_settings(spacy.load(saved)) == {"adr_verifier": {"quantize": "bf16", "length_groups": 4}}
    # One override drops the verifier again
    plain = spacy.load(saved, config={"components": {"adr_span_gate": {"verifier": None}}})
    assert [len(doc.ents) for doc in plain.pipe(TEXTS)] == [1, 0, 1, 1, 1, 0]


def test_verifier_errors_are_clear(classifier, tmp_path):
    path, _ = classifier
    # Docs tokenized otherwise than the classifier's would not be what it learned on
    with pytest.raises(ValueError, match="tokenizer"):
        add_verifier(gated_pipeline(tokenizer="plain"), spacy.load(path))
    no_gate = make_blank("en")
    with pytest.raises(ValueError, match="no adr_span_gate"):
        add_verifier(no_gate, spacy.load(path))
    with pytest.raises(ValueError, match="writes doc.cats"):
        add_verifier(gated_pipeline(), make_blank("en"))
    missing = gated_pipeline()
    missing.get_pipe("adr_span_gate").verifier = "adr_verifier"
    with pytest.raises(ValueError, match="no verifier 'adr_verifier'"):
        list(missing.pipe(TEXTS))
    with pytest.raises(ValueError, match="not a saved pipeline"):
        save_verifier(tmp_path, path)
