"""`spacy-adr set-inference`: quantised or fp32 encoders, and length-sorted groups, in a saved pipeline."""
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from . import app


@app.command("set-inference")
def set_inference_cli(
    model_dir: Path = typer.Argument(..., help="A saved pipeline folder, e.g. training/en_adr_smm4h."),
    quantize: Optional[str] = typer.Option(None, "--quantize", help="The shared transformer: bf16, mixed (int8 with bf16 down-projections), int8 (CPU), ort, ort-int8 or ort-mixed (ONNX Runtime: fp32, int8, int8 with fp32 down-projections) or fp32."),
    length_groups: Optional[int] = typer.Option(None, "--length-groups", help="The transformer runs a batch's tweets sorted by length, this many at a time; 0: the whole batch at once."),
    linker_quantize: Optional[str] = typer.Option(None, "--linker-quantize", help="The linker's sentence encoder: bf16, mixed, int8 or fp32."),
) -> None:
    """Write the encoders' inference settings into a saved pipeline's config.cfg, where
    `spacy.load` reads them. Weights stay fp32; quantised copies are made at prediction."""
    from ..inference_settings import save_inference

    given = (("quantize", quantize), ("length_groups", length_groups), ("linker_quantize", linker_quantize))
    if all(value is None for _, value in given):
        msg.fail("Nothing to set: give --quantize, --length-groups and/or --linker-quantize", exits=1)
    try:
        changed = save_inference(model_dir, **{key: value for key, value in given})
    except ValueError as error:
        msg.fail(str(error), exits=1)
    settings = ", ".join(f"{key}={value}" for key, value in given if value is not None)
    msg.good(f"{model_dir}/config.cfg: {settings} for {', '.join(changed)}")
