"""What a resumed run must find unchanged: the input file and the model.

Size and modification time are not enough (an edit of the same size with its mtime restored,
a model retrained into the same folder), and hashing a whole dump of many GB on every resume
is too slow. So:
- the input: its size and a SHA-256 of its first and last MiB, read in a few milliseconds
  whatever its size; an edit in the middle of a large file that keeps its size is not seen;
- the model: a SHA-256 of every file in the pipeline folder (names and contents), about 1 s
  per GB, cached per process for unchanged files.
"""
import hashlib
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

from spacy.language import Language

_EDGE_BYTES = 1 << 20
_MODEL_HASHES: Dict[Tuple, str] = {}


def input_fingerprint(path: Union[str, Path]) -> str:
    """A cheap fingerprint of a file's content: size + SHA-256 of its first and last MiB.

    path (Union[str, Path]): The file.
    RETURNS (str): "SIZE:HEXDIGEST".
    """
    path = Path(path)
    size = path.stat().st_size
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        digest.update(file.read(_EDGE_BYTES))
        if size > _EDGE_BYTES:
            file.seek(max(_EDGE_BYTES, size - _EDGE_BYTES))
            digest.update(file.read(_EDGE_BYTES))
    return f"{size}:{digest.hexdigest()}"


def folder_hash(folder: Union[str, Path]) -> str:
    """A SHA-256 of the names and contents of every file under a folder.

    folder (Union[str, Path]): e.g. a saved pipeline.
    RETURNS (str): The hex digest.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    # Cached by name, size and mtime of every file: workers and repeated calls hash once.
    key = (str(folder.resolve()),) + tuple(
        (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns) for p in files
    )
    if key in _MODEL_HASHES:
        return _MODEL_HASHES[key]
    digest = hashlib.sha256()
    for path in files:
        name = path.relative_to(folder).as_posix().encode("utf-8", "surrogateescape")
        digest.update(len(name).to_bytes(8, "little") + name)
        digest.update(path.stat().st_size.to_bytes(8, "little"))
        with open(path, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    _MODEL_HASHES[key] = digest.hexdigest()
    return _MODEL_HASHES[key]


def model_hash(nlp: Language, model_path: Optional[Union[str, Path]] = None) -> str:
    """A hash of the pipeline's files, or of its serialized bytes when it was never saved.

    nlp (Language): The loaded pipeline.
    model_path (Optional[Union[str, Path]]): The folder it was loaded from, when known
        (else `nlp.path`, which spacy.load sets, also for installed packages).
    RETURNS (str): The hex digest.
    """
    folder = model_path or nlp.path
    if folder is not None and Path(folder).is_dir():
        return folder_hash(folder)
    return hashlib.sha256(nlp.to_bytes()).hexdigest()


def model_spec_hash(model: Union[str, Path]) -> Optional[str]:
    """`folder_hash` of a model named by path or installed package name, without loading it.

    model (Union[str, Path]): A pipeline folder or an installed package name.
    RETURNS (Optional[str]): The hex digest; None when no folder is found for it.
    """
    path = Path(model)
    if path.is_dir():
        return folder_hash(path)
    import spacy.util

    if spacy.util.is_package(str(model)):
        return folder_hash(spacy.util.get_package_path(str(model)))
    return None
