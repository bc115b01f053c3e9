"""Configs that continue training a trained pipeline: the paper's "pre-train on CADEC, then
fine-tune on SMM4H" strategy."""
from pathlib import Path
from typing import Iterable, Union

from spacy.util import load_config


def make_finetune_config(
    config_path: Union[str, Path], base_model: Union[str, Path], output_path: Union[str, Path],
    *, components: Iterable[str] = ("transformer", "ner"),
) -> Path:
    """Write a copy of a training config whose trainable components are sourced from a model.

    config_path (Union[str, Path]): The training config, e.g. configs/ner.cfg.
    base_model (Union[str, Path]): The trained pipeline to start from.
    output_path (Union[str, Path]): Where to write the new config.
    components (Iterable[str]): Components to take from `base_model` with their weights.
    RETURNS (Path): `output_path`.
    """
    config = load_config(config_path, interpolate=False)
    for name in components:
        if name not in config["components"]:
            raise ValueError(f"{config_path}: no component {name!r} to source")
        config["components"][name] = {"source": str(base_model)}
    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    config.to_disk(output_path)
    return output_path
