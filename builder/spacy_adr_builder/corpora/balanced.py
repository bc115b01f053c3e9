"""A training corpus that re-draws its negatives every epoch, for 11:1 imbalanced tweet labels.

SMM4H Task 2 has about one ADR tweet for every eleven others. Training on all of them spends
most steps on easy negatives and pushes the classifier towards the prior; this reader keeps
every positive and a fresh random sample of negatives on each pass, so that over several
epochs the classifier still sees most negatives. The decision threshold is then chosen on
dev (`spacy-adr-builder tune-threshold`), which also undoes the shift of the prior.

spaCy calls a training corpus once per epoch only when `[training] max_epochs = -1`
(streaming); with `max_epochs >= 1` it reads the corpus once and reshuffles that list, so
the sample would never change. Use this reader with `max_epochs = -1` and `max_steps`.
"""
import random
from pathlib import Path
from typing import Callable, Iterator, List

import spacy
from spacy.language import Language
from spacy.training import Corpus, Example


@spacy.registry.readers("spacy-adr.BalancedCorpus.v1")
def balanced_corpus_v1(
    paths: List[Path],
    *,
    label: str = "ADR",
    negative_ratio: float = 3.0,
    seed: int = 0,
    limit: int = 0,
    repeats: List[int] = [],
) -> Callable[[Language], Iterator[Example]]:
    """Every positive of `label` and `negative_ratio` negatives per positive, re-drawn and
    shuffled on every call.

    `repeats` weights the files in the mix: with [1, 2, 1] for the en, ru and fr train sets,
    every Russian document of a pass (its positives and the negatives drawn from it) comes
    twice, so Russian has more weight in a bilingual classifier than its size gives it.

    A document is positive when `doc.cats[label] >= 0.5`; documents without the label in
    `doc.cats` count as negatives.

    paths (List[Path]): `.spacy` files (or folders of them), e.g. the en, ru and fr train sets.
    label (str): The positive category.
    negative_ratio (float): Negatives drawn per positive on each pass; 0 keeps all negatives.
    seed (int): Seed of the sampler; pass i draws from `Random(seed + i)`.
    limit (int): Read at most this many documents from each file; 0 reads all.
    repeats (List[int]): How often each file's documents of a pass appear, one number per
        path; empty: once each.
    RETURNS (Callable[[Language], Iterator[Example]]): The corpus reader.
    """
    missing = [str(path) for path in paths if not Path(path).exists()]
    if missing:
        raise ValueError(f"spacy-adr.BalancedCorpus.v1: corpus not found: {', '.join(missing)}")
    if negative_ratio < 0:
        raise ValueError(f"spacy-adr.BalancedCorpus.v1: negative_ratio must be >= 0, got {negative_ratio}")
    if repeats and (len(repeats) != len(paths) or min(repeats) < 1):
        raise ValueError(f"spacy-adr.BalancedCorpus.v1: repeats needs one number >= 1 per path "
                         f"({len(paths)} paths), got {repeats}")
    corpora = [Corpus(path, limit=limit) for path in paths]
    copies = list(repeats) or [1] * len(paths)
    passes = 0

    def read(nlp: Language) -> Iterator[Example]:
        nonlocal passes
        rng = random.Random(seed + passes)
        passes += 1
        positives: List[Example] = []
        negatives: List[Example] = []
        # (example, its file's number of copies): the sample is drawn once, then repeated
        for corpus, n_copies in zip(corpora, copies):
            for eg in corpus(nlp):
                is_positive = eg.reference.cats.get(label, 0.0) >= 0.5
                (positives if is_positive else negatives).append((eg, n_copies))
        if negative_ratio and positives:
            wanted = min(len(negatives), round(negative_ratio * len(positives)))
            negatives = rng.sample(negatives, wanted)
        examples = [eg for eg, n_copies in positives + negatives for _ in range(n_copies)]
        rng.shuffle(examples)
        yield from examples

    return read
