"""A training corpus made of several `.spacy` files, e.g. Task 3 plus CADEC."""
from pathlib import Path
from typing import Callable, Iterable, Iterator, List

import spacy
from spacy.language import Language
from spacy.training import Corpus, Example


@spacy.registry.readers("spacy-adr.MultiCorpus.v1")
def multi_corpus_v1(
    paths: List[Path], *, max_length: int = 0, limit: int = 0
) -> Callable[[Language], Iterator[Example]]:
    """The Examples of several DocBin files, one file after another.

    spaCy shuffles training batches itself, so order does not matter for training.

    paths (List[Path]): `.spacy` files (or folders of them).
    max_length (int): Skip documents longer than this many tokens; 0 keeps all.
    limit (int): Read at most this many documents from each file; 0 reads all.
    RETURNS (Callable[[Language], Iterator[Example]]): The corpus reader.
    """
    missing = [str(path) for path in paths if not Path(path).exists()]
    if missing:
        raise ValueError(f"spacy-adr.MultiCorpus.v1: corpus not found: {', '.join(missing)}")
    corpora = [Corpus(path, max_length=max_length, limit=limit) for path in paths]

    def read(nlp: Language) -> Iterable[Example]:
        for corpus in corpora:
            yield from corpus(nlp)

    return read
