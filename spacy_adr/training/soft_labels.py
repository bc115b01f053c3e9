"""Training a classifier on soft labels: `[initialize.before_init]` callback
`spacy-adr.soft_labels.v1`.

spaCy's `textcat_multilabel` refuses any gold category other than 0 or 1 (E851), although its
loss (squared error against `doc.cats`) is defined for any target in [0, 1]. A student that
learns a teacher's probabilities (`spacy-adr label-soft`) needs exactly those targets, so this
callback lets the named classifiers accept them during training. It runs at `initialize`
only: a trained pipeline loads as a plain `textcat_multilabel`.
"""
from typing import Callable, Iterable, List

import spacy
from spacy.language import Language
from spacy.training import Example


@spacy.registry.callbacks("spacy-adr.soft_labels.v1")
def soft_labels_v1(components: List[str] = ["textcat"]) -> Callable[[Language], Language]:
    """Let the named classifiers train on categories anywhere in [0, 1].

    components (List[str]): `textcat_multilabel` components of the pipeline.
    RETURNS (Callable[[Language], Language]): The callback.
    """

    def allow_soft_labels(nlp: Language) -> Language:
        for name in components:
            if name not in nlp.pipe_names:
                raise ValueError(f"spacy-adr.soft_labels.v1: no component {name!r} in {nlp.pipe_names}")
            nlp.get_pipe(name)._validate_categories = check_soft_categories
        return nlp

    return allow_soft_labels


def check_soft_categories(examples: Iterable[Example]) -> None:
    """Raise on a gold category outside [0, 1], naming the document."""
    for eg in examples:
        for label, value in eg.reference.cats.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"soft label {label}={value} outside [0, 1] in: {eg.reference.text[:80]!r}")
