"""`spacy-adr set-inference`: int8 or fp32 encoders, and length-sorted groups, in a saved pipeline."""
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from . import app


@app.command("set-inference")
def set_inference_cli(
    model_dir: Path = typer.Argument(..., help="A saved pipeline folder, e.g. training/en_adr_smm4h."),
    quantize: Optional[str] = typer.Option(None, "--quantize", help="mixed (int8 with bf16 down-projections), int8, bf16 (CPU) or fp32, for the shared transformer and the linker's encoder."),
    length_groups: Optional[int] = typer.Option(None, "--length-groups", help="The transformer runs a batch's tweets sorted by length, this many at a time; 0: the whole batch at once."),
) -> None:
    """Write the encoders' inference settings into a saved pipeline's config.cfg, where
    `spacy.load` reads them. Weights stay fp32; int8 copies are made at prediction."""
    from ..inference_settings import save_inference

    if quantize is None and length_groups is None:
        msg.fail("Nothing to set: give --quantize and/or --length-groups", exits=1)
    try:
        changed = save_inference(model_dir, quantize=quantize, length_groups=length_groups)
    except ValueError as error:
        msg.fail(str(error), exits=1)
    settings = ", ".join(f"{key}={value}" for key, value in (("quantize", quantize), ("length_groups", length_groups)) if value is not None)
    msg.good(f"{model_dir}/config.cfg: {settings} for {', '.join(changed)}")
