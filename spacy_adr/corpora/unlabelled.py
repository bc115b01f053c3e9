"""Unlabelled text for domain-adaptive pre-training and for a teacher to label: the texts of
corpora (`.spacy`, or `.txt` with one text a line), each once, with every dev tweet left out.

A dev tweet seen in pre-training or as a silver example would leak into the figures measured
on it; the SMM4H releases share tweets (see `multitask`), so texts are compared by `tweet_key`.
"""
from pathlib import Path
from typing import Dict, Iterable, List, Set, Tuple, Union

import spacy
from spacy.tokens import DocBin

from .multitask import read_tweet_keys, tweet_key


def _texts_of(path: Path) -> Iterable[str]:
    if path.suffix == ".spacy":
        for doc in DocBin().from_disk(path).get_docs(spacy.blank("xx").vocab):
            yield doc.text
    else:
        with path.open(encoding="utf8") as lines:
            for line in lines:
                yield line.rstrip("\n")


def unlabelled_texts(
    paths: Iterable[Union[str, Path]], exclude: Iterable[Union[str, Path]] = (), *,
    min_chars: int = 10, held_out: Set[str] = frozenset(),
) -> Tuple[List[str], Dict[str, int]]:
    """The distinct texts of `paths`, minus those of the `exclude` corpora.

    paths (Iterable[Union[str, Path]]): `.spacy` or `.txt` files to read, in order.
    exclude (Iterable[Union[str, Path]]): `.spacy` files (the dev sets) whose texts are left out.
    min_chars (int): Shorter texts (after stripping) are skipped.
    held_out (Set[str]): More `tweet_key`s to leave out.
    RETURNS (Tuple[List[str], Dict[str, int]]): The texts, and counts per file of what was
        read, kept, left out as dev text, repeated or too short.
    """
    paths, exclude = [Path(p) for p in paths], [Path(p) for p in exclude]
    missing = [str(p) for p in [*paths, *exclude] if not p.exists()]
    if missing:
        raise FileNotFoundError(f"no such corpus: {', '.join(missing)}")
    excluded = read_tweet_keys(exclude) | set(held_out)
    seen: Set[str] = set()
    texts: List[str] = []
    counts: Dict[str, int] = {}
    for path in paths:
        read = kept = dev = repeated = short = 0
        for text in _texts_of(path):
            read += 1
            key = tweet_key(text)
            if len(text.strip()) < min_chars:
                short += 1
            elif key in excluded:
                dev += 1
            elif key in seen:
                repeated += 1
            else:
                seen.add(key)
                texts.append(text.strip())
                kept += 1
        counts.update({f"{path}:read": read, f"{path}:kept": kept, f"{path}:dev": dev,
                       f"{path}:repeated": repeated, f"{path}:short": short})
    return texts, counts
