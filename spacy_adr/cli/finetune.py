"""`spacy-adr finetune-config`: a config that continues training a trained pipeline."""
from pathlib import Path

import typer
from wasabi import msg

from . import app


@app.command("finetune-config")
def finetune_config_cli(
    config_path: Path = typer.Argument(..., help="Training config, e.g. configs/ner.cfg."),
    base_model: Path = typer.Argument(..., help="Trained pipeline to continue from."),
    output_path: Path = typer.Argument(..., help="Config to write."),
) -> None:
    """Write a config that fine-tunes the transformer and NER of a trained pipeline."""
    from ..training.finetune import make_finetune_config

    make_finetune_config(config_path, base_model, output_path)
    msg.good(f"Wrote {output_path}")
