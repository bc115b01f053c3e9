"""Counts that describe a converted corpus, to compare with the data's own documentation."""
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, Union

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab


def describe_docs(docs: Iterable[Doc]) -> Dict[str, int]:
    """Count docs, entities per label, distinct concept codes and positive categories.

    docs (Iterable[Doc]): The Docs.
    RETURNS (Dict[str, int]): e.g. {"docs": 1862, "ents_ADR": 1454, "codes": 416, "cats_ADR": 0}.
    """
    counts: Counter = Counter()
    codes = set()
    for doc in docs:
        counts["docs"] += 1
        for ent in doc.ents:
            counts[f"ents_{ent.label_}"] += 1
            if ent.kb_id_:
                codes.add(ent.kb_id_)
        for label, value in doc.cats.items():
            counts[f"cats_{label}"] += int(value >= 0.5)
        if doc.cats:
            counts["labelled"] += 1
    counts["codes"] = len(codes)
    return dict(counts)


def describe_docbin(path: Union[str, Path]) -> Dict[str, int]:
    """`describe_docs` over the Docs of a `.spacy` file."""
    doc_bin = DocBin().from_disk(path)
    return describe_docs(doc_bin.get_docs(Vocab()))
