"""Unlabelled text for domain-adaptive pre-training and for a teacher to label: the texts of
corpora (`.spacy`, or `.txt` with one text a line), each once, with every dev tweet left out.

A dev tweet seen in pre-training or as a silver example would leak into the figures measured
on it; the SMM4H releases share tweets (see `multitask`), so texts are compared by `tweet_key`.
"""
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Set, Tuple, Union

import spacy
from spacy.tokens import DocBin

from .multitask import read_tweet_keys, tweet_key


def _texts_of(path: Path, category: Optional[str]) -> Iterator[Optional[str]]:
    """The texts of a file in order; None for a document outside `category`."""
    if path.suffix == ".spacy":
        for doc in DocBin().from_disk(path).get_docs(spacy.blank("xx").vocab):
            in_category = category is None or doc.cats.get(category, 0.0) >= 0.5
            yield doc.text if in_category else None
    else:
        with path.open(encoding="utf8") as lines:
            for line in lines:
                yield line.rstrip("\n")


def unlabelled_texts(
    paths: Iterable[Union[str, Path]], exclude: Iterable[Union[str, Path]] = (), *,
    min_chars: int = 10, category: Optional[str] = None,
) -> Tuple[List[str], Dict[str, Dict[str, int]]]:
    """The distinct texts of `paths`, minus those of the `exclude` corpora.

    paths (Iterable[Union[str, Path]]): `.spacy` or `.txt` files to read, in order.
    exclude (Iterable[Union[str, Path]]): `.spacy` files (the dev sets) whose texts are left out.
    min_chars (int): Shorter texts (after stripping) are skipped.
    category (Optional[str]): Keep only documents with `doc.cats[category]` >= 0.5 (e.g. Task
        2's ADR tweets); needs `.spacy` files.
    RETURNS (Tuple[List[str], Dict[str, Dict[str, int]]]): The texts, and per file the counts
        of what was read, kept, outside the category, left out as dev text, repeated or too short.
    """
    paths, exclude = [Path(p) for p in paths], [Path(p) for p in exclude]
    missing = [str(p) for p in [*paths, *exclude] if not p.exists()]
    if missing:
        raise FileNotFoundError(f"no such corpus: {', '.join(missing)}")
    untyped = [str(p) for p in paths if p.suffix != ".spacy"]
    if category is not None and untyped:
        raise ValueError(f"a tweet category needs .spacy corpora with doc.cats; got {', '.join(untyped)}")
    excluded = read_tweet_keys(exclude)
    seen: Set[str] = set()
    texts: List[str] = []
    counts: Dict[str, Dict[str, int]] = {}
    for path in paths:
        tally = counts[str(path)] = dict.fromkeys(("read", "kept", "other", "dev", "repeated", "short"), 0)
        for text in _texts_of(path, category):
            tally["read"] += 1
            if text is None:
                tally["other"] += 1
                continue
            key = tweet_key(text)
            if len(text.strip()) < min_chars:
                tally["short"] += 1
            elif key in excluded:
                tally["dev"] += 1
            elif key in seen:
                tally["repeated"] += 1
            else:
                seen.add(key)
                texts.append(text.strip())
                tally["kept"] += 1
    return texts, counts
