"""Loading the pipeline to annotate with, in the caller and in each worker: an installed
package, a path or a loaded pipeline, after the user's `--code` file."""
import sys
from pathlib import Path
from typing import Union

from spacy.language import Language

_IMPORTED_CODE = set()


def import_code(path: Union[str, Path, None]) -> None:
    """Import a Python file that registers functions or components (like `spacy train --code`).

    Importing the same file twice is a no-op, so that workers and callers may all call it.

    path (Union[str, Path, None]): The file; None does nothing.
    """
    if path is None:
        return
    path = Path(path).resolve()
    if path in _IMPORTED_CODE:
        return
    # Already imported as an ordinary module: registering its factories again would clash.
    for module in list(sys.modules.values()):
        module_file = getattr(module, "__file__", None)
        if module_file and Path(module_file).resolve() == path:
            _IMPORTED_CODE.add(path)
            return
    from spacy.util import import_file

    import_file(f"spacy_adr_code_{len(_IMPORTED_CODE)}", path)
    _IMPORTED_CODE.add(path)


def load_pipeline(model: Union[str, Path, Language], *, code: Union[str, Path, None] = None) -> Language:
    """Load the pipeline to annotate with.

    model (Union[str, Path, Language]): An installed package name, a path `spacy.load` reads, or
        a loaded pipeline.
    code (Union[str, Path, None]): A Python file to import first (registered components).
    RETURNS (Language): The pipeline.
    """
    if isinstance(model, Language):
        return model
    import spacy

    import_code(code)
    return spacy.load(model)
