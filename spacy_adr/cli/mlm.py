"""`spacy-adr mlm-corpus` and `spacy-adr pretrain-mlm`: domain-adaptive masked-LM pre-training
of an encoder on the unlabelled health text of the data folder."""
import json
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from . import app


@app.command("mlm-corpus")
def mlm_corpus_cli(
    output: Path = typer.Argument(..., help="Text file to write, one text a line."),
    sources: List[Path] = typer.Option(..., "--from", help="Corpora to read (.spacy or .txt; repeatable)."),
    exclude: List[Path] = typer.Option([], "--exclude", help="Dev corpora whose texts are left out (repeatable)."),
    min_chars: int = typer.Option(10, "--min-chars", help="Skip shorter texts."),
) -> None:
    """Collect distinct unlabelled texts, every dev text left out, into one file."""
    from ..corpora.unlabelled import unlabelled_texts

    try:
        texts, counts = unlabelled_texts(sources, exclude, min_chars=min_chars)
    except FileNotFoundError as error:
        msg.fail(str(error), exits=1)
    output.parent.mkdir(parents=True, exist_ok=True)
    # One text a line: line breaks inside a text (reviews, posts) become spaces
    output.write_text("".join(" ".join(t.split()) + "\n" for t in texts), encoding="utf8")
    columns = ("read", "kept", "dev", "repeated", "short")
    rows = [(source, *(tally[c] for c in columns)) for source, tally in counts.items()]
    msg.table(rows, header=("source", *columns))
    msg.good(f"Wrote {len(texts):,} texts to {output}")


@app.command("pretrain-mlm")
def pretrain_mlm_cli(
    encoder: str = typer.Argument(..., help="Encoder folder (or hub name) to continue from."),
    output_dir: Path = typer.Argument(..., help="Encoder folder to write."),
    texts_path: Path = typer.Option(..., "--texts", help="Text file from mlm-corpus, one text a line."),
    steps: int = typer.Option(500, "--steps", help="Optimiser steps."),
    batch_size: int = typer.Option(32, "--batch-size", help="Texts per step."),
    learn_rate: float = typer.Option(5e-5, "--learn-rate", help="Peak learning rate."),
    max_length: int = typer.Option(64, "--max-length", help="Word pieces kept per text."),
    freeze_layers: int = typer.Option(0, "--freeze-layers", help="Freeze the embeddings and this many lower layers."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    summary_path: Optional[Path] = typer.Option(None, "--summary", help="Also copy mlm_summary.json here (e.g. metrics/)."),
) -> None:
    """Continue masked-LM training of an encoder; the result loads as spacy-transformers `name`."""
    from ..training.mlm import pretrain_mlm

    if not texts_path.exists():
        msg.fail(f"{texts_path}: no such file (write it with spacy-adr mlm-corpus)", exits=1)
    texts = [line.strip() for line in texts_path.read_text(encoding="utf8").splitlines() if line.strip()]
    try:
        summary = pretrain_mlm(
            encoder, texts, output_dir, steps=steps, batch_size=batch_size, learn_rate=learn_rate,
            max_length=max_length, freeze_layers=freeze_layers, seed=seed, log=msg.text,
        )
    except (OSError, ValueError) as error:
        msg.fail(str(error), exits=1)
    if summary_path:
        summary_path.parent.mkdir(parents=True, exist_ok=True)
        summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf8")
    msg.good(
        f"Wrote {output_dir}: held-out masked-LM loss {summary['held_out_loss_before']} -> "
        f"{summary['held_out_loss_after']} in {summary['seconds']} s"
    )
