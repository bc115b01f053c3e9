"""Choosing, saving and scoring a pipeline's ADR decision threshold on gold corpora, and the
SMM4H Task 2 submission file."""
import csv
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from spacy_adr.classification import ADR_LABEL, adr_classifier_name, adr_threshold, gold_labels
from spacy_adr.saved_config import edited_config
from spacy_adr.scoring import best_threshold, score_binary


def required_threshold(nlp: Language, label: str) -> float:
    threshold = adr_threshold(nlp, label)
    if threshold is None:
        raise ValueError(f"the pipeline {nlp.pipe_names} has no {label!r} classifier with a threshold")
    return threshold


def save_threshold(model_dir: Union[str, Path], threshold: float, label: str = ADR_LABEL) -> str:
    """Store a decision threshold in a saved pipeline: its config.cfg and the component's cfg.

    model_dir (Union[str, Path]): The pipeline folder, changed in place.
    threshold (float): The new threshold.
    label (str): The category whose classifier gets it.
    RETURNS (str): The name of the component changed.
    """
    model_dir = Path(model_dir)
    nlp = spacy.load(model_dir)
    name = adr_classifier_name(nlp, label)
    if name is None:
        raise ValueError(f"{model_dir}: no enabled component writes doc.cats[{label!r}] with a threshold")
    nlp.get_pipe(name).cfg["threshold"] = float(threshold)
    nlp.to_disk(model_dir)
    # nlp.to_disk writes the config the component was created with: update it as well, so
    # that the setting and the component agree.
    with edited_config(model_dir) as config:
        config["components"][name]["threshold"] = float(threshold)
    return name


def read_gold(nlp: Language, path: Union[str, Path]) -> List[Doc]:
    """The Docs of a converted corpus (e.g. corpus/task2/en/dev.spacy)."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: no such corpus")
    return list(DocBin().from_disk(path).get_docs(nlp.vocab))


def predict_probabilities(
    nlp: Language, texts: Iterable[str], *, label: str = ADR_LABEL, batch_size: int = 64
) -> List[float]:
    """`doc.cats[label]` of each text.

    nlp (Language): The pipeline.
    texts (Iterable[str]): The tweets.
    label (str): The category.
    batch_size (int): Batch size of nlp.pipe.
    RETURNS (List[float]): One probability per text.
    """
    probabilities = []
    for doc in nlp.pipe(texts, batch_size=batch_size):
        if label not in doc.cats:
            raise ValueError(f"the pipeline {nlp.pipe_names} does not write doc.cats[{label!r}]")
        probabilities.append(float(doc.cats[label]))
    return probabilities


def tune_threshold(
    nlp: Language, paths: Sequence[Union[str, Path]], *, label: str = ADR_LABEL, batch_size: int = 64
) -> Tuple[float, float]:
    """The threshold with the best F1 of `label` over the Docs of all `paths` together.

    RETURNS (Tuple[float, float]): The threshold and its F1.
    """
    probabilities: List[float] = []
    gold: List[bool] = []
    for path in paths:
        docs = read_gold(nlp, path)
        gold.extend(gold_labels(docs, path, label))
        probabilities.extend(predict_probabilities(nlp, (d.text for d in docs), label=label, batch_size=batch_size))
    return best_threshold(probabilities, gold)


def evaluate_textcat(
    nlp: Language, path: Union[str, Path], *, label: str = ADR_LABEL, batch_size: int = 64,
    threshold: Optional[float] = None,
) -> Dict[str, float]:
    """P/R/F1 of `label` on a gold corpus at the pipeline's own threshold (or `threshold`).

    RETURNS (Dict[str, float]): p, r, f, threshold, n, n_pos, n_pred_pos.
    """
    if threshold is None:
        threshold = required_threshold(nlp, label)
    docs = read_gold(nlp, path)
    gold = gold_labels(docs, path, label)
    probabilities = predict_probabilities(nlp, (d.text for d in docs), label=label, batch_size=batch_size)
    return score_binary(probabilities, gold, threshold)


def write_task2_predictions(
    nlp: Language, path: Union[str, Path], output: Union[str, Path], *, label: str = ADR_LABEL,
    batch_size: int = 64,
) -> int:
    """Classify a converted Task 2 file and write the SMM4H submission TSV: a `tweet_id label`
    header, then one line per tweet with label 1 (ADR) or 0, in the input order.

    RETURNS (int): The number of tweets written.
    """
    threshold = required_threshold(nlp, label)
    docs = read_gold(nlp, path)
    probabilities = predict_probabilities(nlp, (d.text for d in docs), label=label, batch_size=batch_size)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, delimiter="\t", lineterminator="\n")
        writer.writerow(["tweet_id", "label"])
        for i, (doc, probability) in enumerate(zip(docs, probabilities)):
            tweet_id = doc.user_data.get("id")
            if tweet_id is None:
                raise ValueError(f"{path}: document {i} has no tweet id in user_data['id']")
            writer.writerow([tweet_id, int(probability >= threshold)])
    return len(docs)
