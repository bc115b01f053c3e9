"""Writing Docs to `.spacy` files."""
from pathlib import Path
from typing import Iterable, Union

from spacy.tokens import Doc, DocBin


def save_docs(docs: Iterable[Doc], path: Union[str, Path], *, default_name: str = "docs.spacy") -> int:
    """Write `docs` to a DocBin file, with user data so span extensions survive.

    docs (Iterable[Doc]): The Docs.
    path (Union[str, Path]): Output `.spacy` file, or a folder that receives `default_name`;
        parent folders are created.
    default_name (str): File name used when `path` is a folder.
    RETURNS (int): Number of Docs written.
    """
    path = Path(path)
    if path.suffix != ".spacy":
        path = path / default_name
    path.parent.mkdir(parents=True, exist_ok=True)
    doc_bin = DocBin(store_user_data=True)
    for doc in docs:
        doc_bin.add(doc)
    doc_bin.to_disk(path)
    return len(doc_bin)
