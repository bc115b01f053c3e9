"""A pipeline's tweet-level ADR classifier and its decision threshold.

The probability lives in `doc.cats["ADR"]`; the decision threshold is the `threshold` setting
of the component that writes it (`textcat_multilabel`), so it is saved with the pipeline (its
config and the component's `cfg`) and every tool reads it the same way. Choosing, saving and
scoring it is the build's (`spacy_adr_builder.evaluation.textcat`).
"""
from pathlib import Path
from typing import List, Optional, Sequence, Union

from spacy.language import Language
from spacy.tokens import Doc

ADR_LABEL = "ADR"


def adr_classifier_name(nlp: Language, label: str = ADR_LABEL) -> Optional[str]:
    """The name of the enabled component that writes `doc.cats[label]` and owns its threshold.

    nlp (Language): The pipeline.
    label (str): The category.
    RETURNS (Optional[str]): The last enabled component with `label` among its labels and a
        `threshold` in its cfg; None when there is none.
    """
    found = None
    for name, pipe in nlp.pipeline:
        cfg = getattr(pipe, "cfg", None)
        if isinstance(cfg, dict) and cfg.get("threshold") is not None and label in getattr(pipe, "labels", ()):
            found = name
    return found


def adr_threshold(nlp: Language, label: str = ADR_LABEL) -> Optional[float]:
    """The decision threshold of the pipeline's ADR classifier; None when it has none.

    nlp (Language): The pipeline.
    label (str): The category.
    RETURNS (Optional[float]): The threshold.
    """
    name = adr_classifier_name(nlp, label)
    return None if name is None else float(nlp.get_pipe(name).cfg["threshold"])


def gold_labels(docs: Sequence[Doc], path: Union[str, Path], label: str = ADR_LABEL) -> List[bool]:
    """The gold class of each Doc; a Doc without the category is an error naming the file."""
    labels = []
    for i, doc in enumerate(docs):
        if label not in doc.cats:
            raise ValueError(f"{path}: document {i} ({doc.user_data.get('id')}) has no gold {label!r} category")
        labels.append(doc.cats[label] >= 0.5)
    return labels
