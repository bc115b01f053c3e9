"""One transformer shared by the NER (with gazetteer features) and the tweet classifier:
the multi-task reader and training on documents that carry only one of the two annotations."""
import numpy
import pytest
import spacy
from spacy.tokens import DocBin
from spacy.training import Example
from thinc.api import fix_random_seed

from spacy_adr.tokenizer import make_blank
from test_models import (  # noqa: F401 (fixture)
    LISTENER_GAZ_CFG, TRAIN, ents_of, make_examples, ner_cfg, norm_transformer_cfg, tiny_bert,
)
from test_textcat import LISTENER, textcat_cfg, write_corpus


def write_span_corpus(path, marked):
    nlp = make_blank("en")
    docs = [eg.reference for eg in make_examples(nlp, marked)]
    DocBin(docs=docs).to_disk(path)
    return path


def read_all(reader):
    return [(eg.reference.text, dict(eg.reference.cats), eg.reference.has_annotation("ENT_IOB"))
            for eg in reader(spacy.blank("en"))]


def test_multitask_corpus_labels_span_docs_and_balances_class_docs(tmp_path):
    spans = write_span_corpus(tmp_path / "spans.spacy", ["[sick] from pill", "dose felt fine"])
    classes = write_corpus(tmp_path / "classes.spacy",
                           [("pos tweet", 1.0)] + [(f"neg {i}", 0.0) for i in range(10)])
    reader = spacy.registry.readers.get("spacy-adr.MultiTaskCorpus.v1")(
        [spans], [classes], span_repeats=2, negative_ratio=2.0, seed=0)
    rows = read_all(reader)
    assert len(rows) == 2 * 2 + 1 + 2
    by_text = {text: (cats, has_ents) for text, cats, has_ents in rows}
    # Span documents: tweet label from their mentions, entity annotation present (also "none")
    assert by_text["sick from pill"] == ({"ADR": 1.0}, True)
    assert by_text["dose felt fine"] == ({"ADR": 0.0}, True)
    # Classification documents: their own label, entity annotation missing (no NER loss)
    assert by_text["pos tweet"] == ({"ADR": 1.0, "NoADR": 0.0}, False)
    assert sum(text.startswith("neg") for text, _, _ in rows) == 2
    # As a dev corpus, negative_ratio 0 keeps every document once
    dev = spacy.registry.readers.get("spacy-adr.MultiTaskCorpus.v1")([spans], [classes], negative_ratio=0)
    assert len(read_all(dev)) == 2 + 11


def test_multitask_corpus_draws_span_documents_without_mentions(tmp_path):
    marked = ["[sick] from pill", "[rash] again"] + [f"fine day {i}" for i in range(10)]
    spans = write_span_corpus(tmp_path / "spans.spacy", marked)
    make = spacy.registry.readers.get("spacy-adr.MultiTaskCorpus.v1")
    reader = make([spans], [], span_repeats=3, span_negative_ratio=1.5, seed=0)
    passes = [read_all(reader) for _ in range(3)]
    for rows in passes:
        texts = [text for text, _, _ in rows]
        # both documents with a mention, three without, each three times
        assert texts.count("sick from pill") == texts.count("rash again") == 3
        assert len(texts) == 3 * (2 + 3) and len(set(texts)) == 5
    assert len({tuple(sorted(text for text, _, _ in rows)) for rows in passes}) > 1  # re-drawn
    # the default keeps every span document
    assert len(read_all(make([spans], []))) == 12
    # span documents that are not tweets can stay out of the classifier's loss
    rows = read_all(make([spans], [], span_classes=False))
    assert all("ADR" not in cats and has_ents for _, cats, has_ents in rows)


def test_multitask_corpus_never_trains_on_excluded_tweets(tmp_path):
    spans = write_span_corpus(tmp_path / "spans.spacy", ["[sick] from pill", "dose felt fine"])
    classes = write_corpus(tmp_path / "classes.spacy", [("Pos  tweet", 1.0), ("neg tweet", 0.0)])
    # The same tweets in another release: other case, CSV quotes, other spacing
    dev = write_corpus(tmp_path / "dev.spacy", [('"Sick from pill"', 1.0), ("pos tweet", 1.0)])
    reader = spacy.registry.readers.get("spacy-adr.MultiTaskCorpus.v1")(
        [spans], [classes], negative_ratio=0, exclude=[dev])
    for _ in range(2):
        assert sorted(text for text, _, _ in read_all(reader)) == ["dose felt fine", "neg tweet"]


def test_multitask_corpus_errors(tmp_path):
    make = spacy.registry.readers.get("spacy-adr.MultiTaskCorpus.v1")
    with pytest.raises(ValueError, match="not found: .*missing.spacy"):
        make([tmp_path / "missing.spacy"], [])
    with pytest.raises(ValueError, match="not found: .*dev.spacy"):
        make([], [], exclude=[tmp_path / "dev.spacy"])
    spans = write_span_corpus(tmp_path / "spans.spacy", ["[sick] from pill"])
    with pytest.raises(ValueError, match="span_repeats must be >= 1"):
        make([spans], [], span_repeats=0)


def shared_pipeline(tiny_bert):
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_test_url_norm")
    nlp.add_pipe("adr_test_gaz_tagger")
    nlp.add_pipe("transformer", config=norm_transformer_cfg(tiny_bert))
    nlp.add_pipe("ner", config=ner_cfg(LISTENER_GAZ_CFG))
    nlp.add_pipe("textcat_multilabel", name="textcat", config=textcat_cfg(LISTENER))
    nlp.get_pipe("textcat").add_label("ADR")
    return nlp


def encoder_weights(nlp):
    hf = nlp.get_pipe("transformer").model.transformer
    return next(p for n, p in hf.named_parameters() if "encoder" in n).detach().numpy().copy()


def test_one_transformer_learns_from_both_heads(tiny_bert, tmp_path):
    fix_random_seed(0)
    nlp = shared_pipeline(tiny_bert)
    span_examples = make_examples(nlp, TRAIN[:4])  # mentions, no tweet label
    class_examples = [Example.from_dict(nlp.make_doc(text), {"cats": {"ADR": value}})
                      for text, value in [("pill made me sick", 1.0), ("bought pills today", 0.0)]]
    optimizer = nlp.initialize(lambda: span_examples + class_examples)
    annotates = ["adr_test_url_norm", "adr_test_gaz_tagger"]
    # A first update, since the NER's output layer starts at zero and passes no gradient back
    nlp.update(span_examples + class_examples, sgd=optimizer, annotates=annotates)
    # Each head takes loss only from the documents that carry its annotation, and each one's
    # gradient reaches the shared transformer.
    for examples, learning, idle in [(span_examples, "ner", "textcat"), (class_examples, "textcat", "ner")]:
        before = encoder_weights(nlp)
        losses = {}
        nlp.update(examples, sgd=optimizer, losses=losses, annotates=annotates)
        assert losses[learning] > 0 and losses[idle] == 0, losses
        assert not numpy.allclose(before, encoder_weights(nlp))
    # Mixed batches, as the multi-task reader gives them
    for _ in range(3):
        losses = {}
        nlp.update(span_examples + class_examples, sgd=optimizer, losses=losses, annotates=annotates)
        assert numpy.isfinite(losses["ner"]) and numpy.isfinite(losses["textcat"])
    texts = [eg.reference.text for eg in span_examples + class_examples]
    docs = list(nlp.pipe(texts))
    nlp.to_disk(tmp_path / "pipeline")
    docs2 = list(spacy.load(tmp_path / "pipeline").pipe(texts))
    assert ents_of(docs2) == ents_of(docs)
    for doc, doc2 in zip(docs, docs2):
        assert doc2.cats["ADR"] == pytest.approx(doc.cats["ADR"], abs=1e-5)


def test_ner_negatives_are_noadr_tweets_with_no_entities(tmp_path):
    spans = write_span_corpus(tmp_path / "spans.spacy", ["[sick] from pill", "dose felt fine"])
    classes = write_corpus(tmp_path / "classes.spacy",
                           [("pos tweet", 1.0)] + [(f"neg {i}", 0.0) for i in range(10)])
    make = spacy.registry.readers.get("spacy-adr.MultiTaskCorpus.v1")
    reader = make([spans], [classes], span_repeats=2, negative_ratio=5.0, ner_negative_ratio=0.75)
    rows = read_all(reader)
    # 4 span documents in a pass -> 3 of the 5 drawn negatives get entities "none"; the ADR
    # tweet of the classification corpus keeps its entities missing
    negatives = [has_ents for text, _, has_ents in rows if text.startswith("neg")]
    assert len(negatives) == 5 and sum(negatives) == 3
    assert [has_ents for text, _, has_ents in rows if text == "pos tweet"] == [False]
    marked = [eg.reference for eg in reader(spacy.blank("en")) if eg.reference.text.startswith("neg")
              and eg.reference.has_annotation("ENT_IOB")]
    assert all(token.ent_iob_ == "O" for doc in marked for token in doc)
    with pytest.raises(ValueError, match="ner_negative_ratio must be >= 0"):
        make([spans], [classes], ner_negative_ratio=-1)


def train_ner_from(reader, steps=50):
    """A fast NER (shape + lowercase features, no transformer) trained on a reader's passes."""
    from test_models import lower_shape_ner_cfg

    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("ner", config=lower_shape_ner_cfg())
    optimizer = nlp.initialize(lambda: reader(nlp))
    for _ in range(steps):
        nlp.update(list(reader(nlp)), sgd=optimizer)
    return nlp


def test_ner_negatives_teach_the_ner_silence_on_noadr_tweets(tmp_path):
    spans = write_span_corpus(tmp_path / "spans.spacy", [
        "[sick] from this pill", "that drug made me [sick]", "[sick] and [dizzy] after dose",
        "the pill left me [dizzy]", "took my dose today",
    ])
    noadr = ["sick of this rain", "so sick of traffic", "sick of work already", "dizzy heights of fame"]
    classes = write_corpus(tmp_path / "classes.spacy", [(text, 0.0) for text in noadr])
    make = spacy.registry.readers.get("spacy-adr.MultiTaskCorpus.v1")
    unseen = ["sick of this traffic", "so sick of rain"]
    without = train_ner_from(make([spans], [classes], negative_ratio=0))
    # The control: taught by Task-3-like documents only, the NER marks "sick" on NoADR tweets
    assert any(doc.ents for doc in without.pipe(unseen))
    with_negatives = train_ner_from(make([spans], [classes], negative_ratio=0, ner_negative_ratio=1.0))
    assert not any(doc.ents for doc in with_negatives.pipe(unseen))
    # ... and still finds the mentions of ADR tweets
    assert [e.text for e in with_negatives("sick from that pill").ents] == ["sick"]
