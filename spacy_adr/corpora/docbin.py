"""Writing Docs to `.spacy` files."""
from pathlib import Path
from typing import Iterable, Union

from spacy.tokens import Doc, DocBin


def save_docs(docs: Iterable[Doc], path: Union[str, Path]) -> int:
    """Write `docs` to a DocBin file, with user data so span extensions survive.

    docs (Iterable[Doc]): The Docs.
    path (Union[str, Path]): Output `.spacy` file; parent folders are created.
    RETURNS (int): Number of Docs written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc_bin = DocBin(store_user_data=True)
    for doc in docs:
        doc_bin.add(doc)
    doc_bin.to_disk(path)
    return len(doc_bin)
