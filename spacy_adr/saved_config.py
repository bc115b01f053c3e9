"""Changing a saved pipeline's settings where `spacy.load` reads them: its config.cfg.

`nlp.to_disk` writes the settings each component was created with, so a setting chosen after
training (a threshold, the gate's rule, an inference precision) goes into config.cfg; spaCy's
`find-threshold` works the same way, through config overrides at load.
"""
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

from thinc.api import Config


@contextmanager
def edited_config(model_dir: Union[str, Path]) -> Iterator[Config]:
    """Read a saved pipeline's config.cfg (not interpolated), yield it to be changed, and write
    it back; nothing is written when the block raises.

    model_dir (Union[str, Path]): The pipeline folder.
    YIELDS (Config): The config, to change in place.
    """
    config_path = Path(model_dir) / "config.cfg"
    if not config_path.is_file():
        raise ValueError(f"{model_dir}: not a saved pipeline (no config.cfg)")
    config = Config().from_disk(config_path, interpolate=False)
    yield config
    config.to_disk(config_path)
