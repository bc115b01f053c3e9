"""adapt-encoder: masked-LM training of an encoder on unlabelled texts from .spacy corpora."""
import json

import pytest
import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner

torch = pytest.importorskip("torch")

from spacy_adr_builder.cli import app  # noqa: E402
from spacy_adr_builder.training.masked_lm import (  # noqa: E402
    ADAPTATION_FILE,
    adapt_encoder,
    mask_tokens,
    read_texts,
)

from tiny_transformer import build_tiny_bert  # noqa: E402

TRAIN = [
    "после этих таблеток болит голова",
    "купила витамины в аптеке",
    "от амоксициллина сыпь по всему телу",
    "после этих таблеток болит голова",  # a repeat: read once
    "   ",
]
DEV = ["купила витамины в аптеке"]


def write_corpus(path, texts):
    nlp = spacy.blank("xx")
    doc_bin = DocBin()
    for text in texts:
        doc_bin.add(nlp.make_doc(text))
    doc_bin.to_disk(path)
    return path


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory):
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


def test_read_texts_distinct_and_excluded(tmp_path):
    train = write_corpus(tmp_path / "train.spacy", TRAIN)
    dev = write_corpus(tmp_path / "dev.spacy", DEV)
    assert read_texts([train], [dev]) == [
        "после этих таблеток болит голова",
        "от амоксициллина сыпь по всему телу",
    ]
    with pytest.raises(FileNotFoundError, match="missing.spacy"):
        read_texts([tmp_path / "missing.spacy"])


def test_mask_tokens_leaves_special_positions():
    ids = torch.tensor([[101, 5, 6, 7, 102, 0], [101, 8, 102, 0, 0, 0]])
    special = torch.tensor([[1, 0, 0, 0, 1, 1], [1, 0, 1, 1, 1, 1]]).bool()
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        masked, chosen = mask_tokens(ids, special, mask_id=103, vocab_size=200, generator=generator)
        assert chosen.any()
        assert not (chosen & special).any()
        assert torch.equal(masked[~chosen], ids[~chosen])
    # With every real token chosen, about 80 % of them become the mask token
    masked, chosen = mask_tokens(ids, special, 103, 200, generator, share=1.0)
    assert chosen.sum() == 4
    assert (masked[chosen] == 103).sum() >= 1


def test_adapt_encoder_trains_layers_not_embeddings(tiny_encoder, tmp_path):
    from transformers import AutoModel

    texts = read_texts([write_corpus(tmp_path / "train.spacy", TRAIN)])
    records = []
    summary = adapt_encoder(tiny_encoder, tmp_path / "adapted", texts, steps=6, head_steps=2,
                            batch_size=2, learn_rate=1e-2, log_every=2, on_log=records.append)
    assert [r["step"] for r in records] == [2, 4, 6]
    assert [r["encoder_trained"] for r in records] == [False, True, True]
    before = AutoModel.from_pretrained(str(tiny_encoder)).state_dict()
    after = AutoModel.from_pretrained(str(tmp_path / "adapted")).state_dict()
    assert before.keys() == after.keys()  # the pooler is kept
    assert torch.equal(before["embeddings.word_embeddings.weight"], after["embeddings.word_embeddings.weight"])
    assert not torch.equal(before["encoder.layer.0.output.dense.weight"], after["encoder.layer.0.output.dense.weight"])
    assert torch.equal(before["pooler.dense.weight"], after["pooler.dense.weight"])
    stored = json.loads((tmp_path / "adapted" / ADAPTATION_FILE).read_text())
    assert stored["texts"] == 3 and stored["steps"] == 6 and stored["last_loss"] == records[-1]["loss"]
    assert summary["output"] == str(tmp_path / "adapted")


def test_adapt_encoder_head_only_keeps_encoder(tiny_encoder, tmp_path):
    from transformers import AutoModel

    adapt_encoder(tiny_encoder, tmp_path / "adapted", ["болит голова"], steps=2, head_steps=2, batch_size=1)
    before = AutoModel.from_pretrained(str(tiny_encoder)).state_dict()
    after = AutoModel.from_pretrained(str(tmp_path / "adapted")).state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_adapt_encoder_cli_names_missing_corpus(tiny_encoder, tmp_path):
    result = CliRunner().invoke(app, [
        "adapt-encoder", str(tiny_encoder), str(tmp_path / "out"), "--texts", str(tmp_path / "none.spacy"),
    ])
    assert result.exit_code == 1
    assert "none.spacy" in result.output
    assert not (tmp_path / "out").exists()


def test_adapt_encoder_rejects_bad_settings(tiny_encoder, tmp_path):
    with pytest.raises(ValueError, match="no texts"):
        adapt_encoder(tiny_encoder, tmp_path / "out", [])
    with pytest.raises(ValueError, match="head_steps"):
        adapt_encoder(tiny_encoder, tmp_path / "out", ["a"], steps=2, head_steps=3)
