"""Assembling K separately trained tweet classifiers into one pipeline that votes.

Each trained pipeline (e.g. `training/textcat-en-seed1/model-best`) contributes its ADR
classifier as a member `textcat_<i>`; a classifier that listens to a shared transformer or
tok2vec first gets its own copy of it (`Language.replace_listeners`), so each member carries
the weights it was trained with. The pipeline keeps the first model's tokenizer and
annotators (e.g. `adr_tweet_normalizer`), disables the members and ends with
`adr_textcat_ensemble`, which calls them.
"""
from pathlib import Path
from typing import List, Sequence, Union

import spacy
from spacy.language import Language

from ..classification import ADR_LABEL, adr_classifier_name
from ..pipeline.textcat_ensemble import TextcatEnsemble  # noqa: F401  (registers the factory)


def make_self_contained(nlp: Language, classifier: str) -> None:
    """Give `classifier` its own copy of every upstream component it listens to.

    nlp (Language): The pipeline, changed in place.
    classifier (str): The name of the component that gets its own copies.
    """
    for name, pipe in nlp.pipeline:
        if classifier in getattr(pipe, "listening_components", ()):
            nlp.replace_listeners(name, classifier, ["model.tok2vec"])


def assemble_ensemble(
    models: Sequence[Union[str, Path]], *, voting: str = "mean", threshold: float = 0.5,
    label: str = ADR_LABEL, name: str = "adr_textcat_ensemble",
) -> Language:
    """One pipeline whose `adr_textcat_ensemble` votes over the ADR classifiers of `models`.

    models (Sequence[Union[str, Path]]): Trained pipelines, each with one ADR classifier.
    voting (str): "mean" or "majority".
    threshold (float): Decision threshold of the ensemble.
    label (str): The category.
    name (str): Name of the ensemble component.
    RETURNS (Language): The assembled pipeline.
    """
    if not models:
        raise ValueError("assemble_ensemble: give at least one trained pipeline")
    members: List[Language] = []
    for model in models:
        nlp = spacy.load(model)
        classifier = adr_classifier_name(nlp, label)
        if classifier is None:
            raise ValueError(f"{model}: no component writes doc.cats[{label!r}] with a threshold")
        make_self_contained(nlp, classifier)
        members.append((model, nlp, classifier))
    base = spacy.load(models[0])
    # Keep the annotators (normaliser, gazetteer): drop the classifier and what it listened to.
    for component in list(base.pipe_names):
        pipe = base.get_pipe(component)
        if component == adr_classifier_name(base, label) or hasattr(pipe, "listening_components"):
            base.remove_pipe(component)
    with_vectors = [(model, nlp) for model, nlp, _ in members if nlp.vocab.vectors.shape[0]]
    if with_vectors:
        first_model, first = with_vectors[0]
        for model, nlp in with_vectors[1:]:
            if nlp.vocab.vectors.to_bytes() != first.vocab.vectors.to_bytes():
                raise ValueError(f"{model} and {first_model} use different static vectors")
        base.vocab.vectors = first.vocab.vectors
    member_names = []
    for i, (model, nlp, classifier) in enumerate(members):
        member_name = f"textcat_{i}"
        base.add_pipe(classifier, name=member_name, source=nlp)
        member_names.append(member_name)
    base.add_pipe(
        "adr_textcat_ensemble", name=name,
        config={"members": member_names, "voting": voting, "threshold": threshold, "label": label},
    )
    for member_name in member_names:
        base.disable_pipe(member_name)
    return base
