"""Cross-validation folds that keep groups together.

RuDReC's sentences come from 500 drug reviews; the sentences of one review share its drug,
its author and often its words. Folds split by sentence would let a model see the review it
is tested on, so the folds here split by a group key stored in `doc.user_data` (RuDReC's
"review_id"): every document of a group lands in the same fold.
"""
import random
from pathlib import Path
from typing import Dict, List, Union

import spacy
from spacy.tokens import Doc, DocBin

from .docbin import save_docs


def assign_folds(groups: List[str], n_folds: int, *, seed: int = 0) -> Dict[str, int]:
    """Spread the groups over `n_folds` folds of near-equal group counts.

    groups (List[str]): The group of each document (repeats allowed).
    n_folds (int): Number of folds, at least 2 and at most the number of groups.
    seed (int): Seed of the shuffle, so the folds are the same on every machine.
    RETURNS (Dict[str, int]): Fold number of each group.
    """
    unique = sorted(set(groups))
    if n_folds < 2 or n_folds > len(unique):
        raise ValueError(f"need 2 to {len(unique)} folds for {len(unique)} groups, got {n_folds}")
    random.Random(seed).shuffle(unique)
    return {group: index % n_folds for index, group in enumerate(unique)}


def write_folds(
    corpus_path: Union[str, Path], output_dir: Union[str, Path], *,
    key: str, n_folds: int = 5, seed: int = 0,
) -> List[Dict[str, int]]:
    """Write `output_dir/fold{k}/train.spacy` and `test.spacy` for each fold k.

    corpus_path (Union[str, Path]): The `.spacy` corpus, e.g. corpus/rudrec.spacy.
    output_dir (Union[str, Path]): Folder that receives one sub-folder per fold.
    key (str): The `doc.user_data` key naming each document's group, e.g. "review_id".
    n_folds (int): Number of folds.
    seed (int): Seed of the group shuffle.
    RETURNS (List[Dict[str, int]]): Per fold: "fold", "train" and "test" document counts,
        "test_groups".
    """
    vocab = spacy.blank("xx").vocab
    docs: List[Doc] = list(DocBin().from_disk(corpus_path).get_docs(vocab))
    missing = [index for index, doc in enumerate(docs) if key not in doc.user_data]
    if missing:
        raise ValueError(f"{corpus_path}: {len(missing)} documents have no user_data[{key!r}] "
                         f"(the first is document {missing[0]})")
    groups = [str(doc.user_data[key]) for doc in docs]
    fold_of = assign_folds(groups, n_folds, seed=seed)
    summary = []
    for fold in range(n_folds):
        test = [doc for doc, group in zip(docs, groups) if fold_of[group] == fold]
        train = [doc for doc, group in zip(docs, groups) if fold_of[group] != fold]
        folder = Path(output_dir) / f"fold{fold}"
        save_docs(train, folder / "train.spacy")
        save_docs(test, folder / "test.spacy")
        test_groups = sum(1 for fold_number in fold_of.values() if fold_number == fold)
        summary.append({"fold": fold, "train": len(train), "test": len(test), "test_groups": test_groups})
    return summary
