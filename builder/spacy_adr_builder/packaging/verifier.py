"""A second tweet classifier as the span gate's verifier: `spacy-adr-builder add-verifier`.

The shipped pipeline's own classifier shares its small encoder with the NER; a classifier on
a larger encoder (e.g. `train-textcat-base`) separates ADR from NoADR tweets better and is
what the stream's precision needs, but running it on every tweet would cost its full price.
`add_verifier` copies that classifier, with its own copy of its encoder
(`replace_listeners`), into the pipeline as a disabled component and names it in the gate's
`verifier` setting, so it runs only on the tweets that have ADR spans (see
`spacy_adr.pipeline.span_gate`).
"""
from pathlib import Path
from typing import Union

import spacy
from spacy.language import Language

from spacy_adr.classification import ADR_LABEL, adr_classifier_name

from ..evaluation.stream import find_gate, save_gate_settings

VERIFIER_NAME = "adr_verifier"


def make_self_contained(nlp: Language, classifier: str) -> None:
    """Give `classifier` its own copy of every upstream component it listens to.

    nlp (Language): The pipeline, changed in place.
    classifier (str): The name of the component that gets its own copies.
    """
    for name, pipe in nlp.pipeline:
        if classifier in getattr(pipe, "listening_components", ()):
            nlp.replace_listeners(name, classifier, ["model.tok2vec"])


def check_same_annotators(nlp: Language, classifier_nlp: Language, classifier: str) -> None:
    """The verifier reads what the pipeline's annotators (e.g. `adr_tweet_normalizer`'s
    `token.norm_`) wrote, so they must be the ones it was trained behind, with the same settings.

    nlp (Language): The pipeline that gets the verifier.
    classifier_nlp (Language): The classifier's pipeline, its classifier self-contained.
    classifier (str): The name of the classifier in `classifier_nlp`.
    """
    if nlp.config["nlp"]["tokenizer"] != classifier_nlp.config["nlp"]["tokenizer"]:
        raise ValueError(
            f"the classifier's tokenizer {dict(classifier_nlp.config['nlp']['tokenizer'])} is not the "
            f"pipeline's {dict(nlp.config['nlp']['tokenizer'])}"
        )
    for name, _component in classifier_nlp.pipeline:
        if name == classifier:
            continue
        config = classifier_nlp.config["components"][name]
        if not any(nlp.config["components"][other] == config for other in nlp.pipe_names):
            raise ValueError(
                f"the classifier ran behind {name!r} ({config.get('factory')}, {dict(config)}), and "
                f"the pipeline {nlp.pipe_names} has no component with those settings: its docs would "
                f"not be what the classifier was trained on"
            )


def add_verifier(
    nlp: Language, classifier_nlp: Language, *, name: str = VERIFIER_NAME, label: str = ADR_LABEL,
) -> str:
    """Copy the ADR classifier of `classifier_nlp` into `nlp` as its gate's verifier.

    nlp (Language): A pipeline with an `adr_span_gate`, changed in place.
    classifier_nlp (Language): A trained pipeline whose enabled component writes
        `doc.cats[label]` (e.g. training/textcat-en-base-bf16); changed (self-contained).
    name (str): The verifier's name in `nlp`; one already there is replaced.
    label (str): The category the gate reads.
    RETURNS (str): The name of the gate that now asks the verifier.
    """
    gate = find_gate(nlp)
    if gate is None:
        raise ValueError(f"the pipeline {nlp.pipe_names} has no adr_span_gate to give a verifier")
    classifier = adr_classifier_name(classifier_nlp, label)
    if classifier is None:
        raise ValueError(f"no enabled component of {classifier_nlp.pipe_names} writes doc.cats[{label!r}] with a threshold")
    upstream = [n for n, c in classifier_nlp.pipeline if classifier in getattr(c, "listening_components", ())]
    make_self_contained(classifier_nlp, classifier)
    # What is left besides the classifier are annotators (the encoder is inside it now).
    for other in upstream:
        classifier_nlp.remove_pipe(other)
    check_same_annotators(nlp, classifier_nlp, classifier)
    if name in nlp.component_names:
        nlp.remove_pipe(name)
    nlp.add_pipe(classifier, name=name, source=classifier_nlp, before=gate)
    nlp.disable_pipe(name)
    nlp.get_pipe(gate).verifier = name
    return gate


def save_verifier(
    model_dir: Union[str, Path], classifier: Union[str, Path], *, name: str = VERIFIER_NAME,
    label: str = ADR_LABEL,
) -> str:
    """`add_verifier` on a saved pipeline, written back in place (the gate's setting included).

    model_dir (Union[str, Path]): The pipeline folder, e.g. training/en_adr_smm4h.
    classifier (Union[str, Path]): The classifier's pipeline (folder or package name).
    name (str): The verifier's name.
    label (str): The category the gate reads.
    RETURNS (str): The name of the gate.
    """
    model_dir = Path(model_dir)
    if not (model_dir / "config.cfg").is_file():
        raise ValueError(f"{model_dir}: not a saved pipeline (no config.cfg)")
    nlp = spacy.load(model_dir)
    gate = add_verifier(nlp, spacy.load(classifier), name=name, label=label)
    nlp.to_disk(model_dir)
    save_gate_settings(model_dir, {"verifier": name})
    return gate
