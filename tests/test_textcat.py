"""Tweet classification: the balanced reader, binary scores and thresholds, the transformer
and CNN classifiers (overfit and reload), freezing."""
import json
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from thinc.api import fix_random_seed

from spacy_adr.classification import adr_classifier_name, adr_threshold
from spacy_adr.scoring import best_threshold, score_binary
from spacy_adr.tokenizer import make_blank
from spacy_adr_builder.evaluation.textcat import evaluate_textcat, save_threshold, write_task2_predictions

TWEETS = [
    ("this cipro gave me a terrible headache", 1.0),
    ("vyvanse keeps me awake all night, cant sleep", 1.0),
    ("seroquel made me gain so much weight", 1.0),
    ("picked up my prescription at the pharmacy today", 0.0),
    ("does anyone know if advil is safe with coffee", 0.0),
    ("new study on aspirin https://t.co/abc", 0.0),
]


def cats(value: float) -> dict:
    return {"ADR": value, "NoADR": 1.0 - value}


def write_corpus(path: Path, items) -> Path:
    nlp = make_blank("en")
    docs = []
    for i, (text, value) in enumerate(items):
        doc = nlp.make_doc(text)
        doc.cats = cats(value)
        doc.user_data["id"] = f"t{i}"
        docs.append(doc)
    DocBin(docs=docs, store_user_data=True).to_disk(path)
    return path


# ---- reader -------------------------------------------------------------------------------

def test_balanced_corpus_keeps_positives_and_redraws_negatives(tmp_path):
    items = [(f"pos {i}", 1.0) for i in range(3)] + [(f"neg {i}", 0.0) for i in range(30)]
    path = write_corpus(tmp_path / "train.spacy", items)
    reader = spacy.registry.readers.get("spacy-adr.BalancedCorpus.v1")([path], negative_ratio=2.0, seed=1)
    nlp = spacy.blank("en")
    passes = [[eg.reference.text for eg in reader(nlp)] for _ in range(3)]
    for texts in passes:
        assert sorted(t for t in texts if t.startswith("pos")) == ["pos 0", "pos 1", "pos 2"]
        assert len([t for t in texts if t.startswith("neg")]) == 6
    assert len({tuple(sorted(texts)) for texts in passes}) > 1  # a fresh sample each pass
    everything = spacy.registry.readers.get("spacy-adr.BalancedCorpus.v1")([path], negative_ratio=0)
    assert len(list(everything(nlp))) == 33


def test_balanced_corpus_repeats_weight_the_files(tmp_path):
    en = write_corpus(tmp_path / "en.spacy", [("en pos", 1.0)] + [(f"en neg {i}", 0.0) for i in range(20)])
    ru = write_corpus(tmp_path / "ru.spacy", [("ru pos", 1.0)] + [(f"ru neg {i}", 0.0) for i in range(20)])
    make = spacy.registry.readers.get("spacy-adr.BalancedCorpus.v1")
    nlp = spacy.blank("xx")
    for seed in range(5):
        texts = [eg.reference.text for eg in make([en, ru], negative_ratio=3.0, seed=seed, repeats=[1, 2])(nlp)]
        assert texts.count("en pos") == 1 and texts.count("ru pos") == 2
        # the six negatives are drawn once from both files; each Russian one then comes twice
        en_negatives = [t for t in texts if t.startswith("en neg")]
        ru_negatives = [t for t in texts if t.startswith("ru neg")]
        assert len(en_negatives) + len(ru_negatives) // 2 == 6
        assert all(ru_negatives.count(t) == 2 for t in ru_negatives)
    with pytest.raises(ValueError, match="one number >= 1 per path"):
        make([en, ru], repeats=[1])
    with pytest.raises(ValueError, match="one number >= 1 per path"):
        make([en, ru], repeats=[1, 0])


def test_balanced_corpus_errors(tmp_path):
    make = spacy.registry.readers.get("spacy-adr.BalancedCorpus.v1")
    with pytest.raises(ValueError, match="missing.spacy"):
        make([tmp_path / "missing.spacy"])
    path = write_corpus(tmp_path / "a.spacy", TWEETS)
    with pytest.raises(ValueError, match="negative_ratio"):
        make([path], negative_ratio=-1)


# ---- scores -------------------------------------------------------------------------------

def test_score_binary_and_best_threshold():
    probabilities = [0.9, 0.6, 0.4, 0.3, 0.1]
    gold = [True, False, True, False, False]
    scores = score_binary(probabilities, gold, 0.5)
    assert (scores["p"], scores["r"], scores["n_pred_pos"], scores["n_pos"]) == (0.5, 0.5, 2, 2)
    assert scores["f"] == pytest.approx(0.5)
    # 0.4 recalls both positives with one false positive: F1 0.8
    threshold, f = best_threshold(probabilities, gold)
    assert f == pytest.approx(0.8) and 0.3 < threshold <= 0.4
    with pytest.raises(ValueError, match="3 predictions for 2"):
        score_binary([0.1, 0.2, 0.3], [True, False], 0.5)


# ---- classifiers ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from tiny_transformer import build_tiny_bert

    return str(build_tiny_bert(tmp_path_factory.mktemp("tiny_bert")))


def transformer_cfg(name: str) -> dict:
    return {"model": {
        "@architectures": "spacy-adr.NormTransformerModel.v1", "name": name,
        "get_spans": {"@span_getters": "spacy-transformers.strided_spans.v1", "window": 128, "stride": 96},
        "tokenizer_config": {"use_fast": True},
    }}


LISTENER = {
    "@architectures": "spacy-transformers.TransformerListener.v1",
    "grad_factor": 1.0,
    "upstream": "*",
    "pooling": {"@layers": "reduce_mean.v1"},
}


def textcat_cfg(tok2vec: dict) -> dict:
    return {
        "threshold": 0.5,
        "model": {
            "@architectures": "spacy.TextCatReduce.v1",
            "exclusive_classes": False,
            "use_reduce_first": False,
            "use_reduce_last": False,
            "use_reduce_max": True,
            "use_reduce_mean": True,
            "tok2vec": tok2vec,
        },
    }


CNN_TOK2VEC = {
    "@architectures": "spacy.Tok2Vec.v2",
    "embed": {
        "@architectures": "spacy.MultiHashEmbed.v2",
        "width": 32,
        "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
        "rows": [500, 100, 100, 50],
        "include_static_vectors": False,
    },
    "encode": {
        "@architectures": "spacy.MaxoutWindowEncoder.v2",
        "width": 32, "depth": 2, "window_size": 1, "maxout_pieces": 3,
    },
}


def train_classifier(nlp: Language, n_updates: int = 40) -> Language:
    examples = [Example.from_dict(nlp.make_doc(t), {"cats": {"ADR": v}}) for t, v in TWEETS]
    fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(n_updates):
        nlp.update(examples, sgd=optimizer, annotates=["adr_tweet_normalizer"])
    return nlp


def cnn_pipeline() -> Language:
    nlp = make_blank("en")
    nlp.add_pipe("adr_tweet_normalizer")
    nlp.add_pipe("textcat_multilabel", name="textcat", config=textcat_cfg(CNN_TOK2VEC))
    nlp.get_pipe("textcat").add_label("ADR")
    return train_classifier(nlp)


def transformer_pipeline(tiny_bert: str) -> Language:
    nlp = make_blank("en")
    nlp.add_pipe("adr_tweet_normalizer")
    nlp.add_pipe("transformer", config=transformer_cfg(tiny_bert))
    nlp.add_pipe("textcat_multilabel", name="textcat", config=textcat_cfg(LISTENER))
    nlp.get_pipe("textcat").add_label("ADR")
    return train_classifier(nlp, n_updates=30)


def probabilities(nlp: Language) -> numpy.ndarray:
    return numpy.asarray([doc.cats["ADR"] for doc in nlp.pipe(t for t, _ in TWEETS)])


def assert_overfits(nlp: Language) -> numpy.ndarray:
    scores = probabilities(nlp)
    gold = numpy.asarray([v for _, v in TWEETS]) > 0.5
    assert scores[gold].min() > scores[~gold].max(), scores
    return scores


@pytest.fixture(scope="module")
def cnn_model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cnn") / "model"
    cnn_pipeline().to_disk(path)
    return path


@pytest.fixture(scope="module")
def trf_model(tmp_path_factory, tiny_bert) -> Path:
    path = tmp_path_factory.mktemp("trf") / "model"
    transformer_pipeline(tiny_bert).to_disk(path)
    return path


@pytest.mark.parametrize("which", ["cnn", "transformer"])
def test_classifier_overfits_and_reloads(which, tiny_bert, tmp_path):
    nlp = cnn_pipeline() if which == "cnn" else transformer_pipeline(tiny_bert)
    scores = assert_overfits(nlp)
    nlp.to_disk(tmp_path / "model")
    numpy.testing.assert_allclose(probabilities(spacy.load(tmp_path / "model")), scores, rtol=1e-4, atol=1e-6)


def test_threshold_is_stored_and_honoured(cnn_model, tmp_path):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(cnn_model, model)
    dev = write_corpus(tmp_path / "dev.spacy", TWEETS)
    scores = probabilities(spacy.load(model))
    # A threshold just above the lowest positive: one positive is lost, whatever the model.
    threshold = float(numpy.sort(scores[:3])[0]) + 1e-4
    assert save_threshold(model, threshold) == "textcat"
    nlp = spacy.load(model)
    assert adr_threshold(nlp) == pytest.approx(threshold)
    assert nlp.config["components"]["textcat"]["threshold"] == pytest.approx(threshold)
    result = evaluate_textcat(nlp, dev)
    assert (result["threshold"], result["r"], result["p"]) == (pytest.approx(threshold), pytest.approx(2 / 3), 1.0)
    # and through spaCy's own scorer
    examples = [Example(nlp(doc.text), doc) for doc in DocBin().from_disk(dev).get_docs(nlp.vocab)]
    assert nlp.evaluate(examples)["cats_f_per_type"]["ADR"]["r"] == pytest.approx(2 / 3)


def test_predict_task2_writes_the_submission_format(cnn_model, tmp_path):
    test = write_corpus(tmp_path / "test.spacy", TWEETS)
    out = tmp_path / "out" / "pred.tsv"
    assert write_task2_predictions(spacy.load(cnn_model), test, out) == len(TWEETS)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "tweet_id\tlabel"
    assert [line.split("\t") for line in lines[1:]] == [[f"t{i}", str(int(v))] for i, (_, v) in enumerate(TWEETS)]


# ---- freezing ---------------------------------------------------------------------------------

def test_freeze_word_embeddings_only_freezes_the_table(tiny_bert):
    nlp = make_blank("en")
    nlp.add_pipe("adr_tweet_normalizer")
    nlp.add_pipe("transformer", config=transformer_cfg(tiny_bert))
    nlp.add_pipe("textcat_multilabel", name="textcat", config=textcat_cfg(LISTENER))
    nlp.get_pipe("textcat").add_label("ADR")
    freeze = spacy.registry.callbacks.get("spacy-adr.transformer_init.v1")(["transformer"], freeze_word_embeddings=True)
    examples = [Example.from_dict(nlp.make_doc(t), {"cats": {"ADR": v}}) for t, v in TWEETS]
    optimizer = nlp.initialize(lambda: examples)
    freeze(nlp)
    hf = nlp.get_pipe("transformer").model.transformer
    table = hf.get_input_embeddings().weight.detach().clone()
    layer = next(p for n, p in hf.named_parameters() if "encoder" in n).detach().clone()
    for _ in range(3):
        nlp.update(examples, sgd=optimizer, annotates=["adr_tweet_normalizer"])
    assert bool((hf.get_input_embeddings().weight == table).all())
    assert not bool((next(p for n, p in hf.named_parameters() if "encoder" in n) == layer).all())
    with pytest.raises(ValueError, match="no component 'missing'"):
        spacy.registry.callbacks.get("spacy-adr.transformer_init.v1")(["missing"])(nlp)


def test_freeze_lower_layers_trains_the_upper_layers_only():
    import torch
    from transformers import BertConfig, BertModel

    from spacy_adr_builder.training.transformer_init import freeze_lower_layers

    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=3, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32)
    model = BertModel(config)
    frozen = freeze_lower_layers(model, 2)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith(("encoder.layer.2.", "pooler.")) for n in trainable)
    assert frozen == sum(p.numel() for p in model.parameters() if not p.requires_grad)
    model(torch.tensor([[1, 5, 7, 2]])).last_hidden_state.sum().backward()
    assert model.encoder.layer[1].output.dense.weight.grad is None
    assert model.encoder.layer[2].output.dense.weight.grad is not None
    with pytest.raises(ValueError, match="between 0 and 3"):
        freeze_lower_layers(model, 4)


def test_transformer_init_from_a_trained_pipeline(trf_model, tiny_bert, tmp_path):
    trained = spacy.load(trf_model)
    text = "this cipro gave me a terrible headache"
    expected = trained(text)._.trf_data.model_output.last_hidden_state
    nlp = make_blank("en")
    nlp.add_pipe("adr_tweet_normalizer")
    nlp.add_pipe("transformer", config=transformer_cfg(tiny_bert))
    nlp.initialize()
    before = nlp(text)._.trf_data.model_output.last_hidden_state
    assert not numpy.allclose(before, expected, atol=1e-4)
    spacy.registry.callbacks.get("spacy-adr.transformer_init.v1")(init_from=str(trf_model))(nlp)
    numpy.testing.assert_allclose(nlp(text)._.trf_data.model_output.last_hidden_state, expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="is not a saved 'transformer' component"):
        spacy.registry.callbacks.get("spacy-adr.transformer_init.v1")(init_from=str(tmp_path))(nlp)
