"""Evaluating trained pipelines on converted corpora, with the SMM4H definitions."""
from pathlib import Path
from typing import Dict, List, Tuple, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from .scoring import score_spans


def gold_offsets(doc: Doc, label: str = "ADR") -> List[Tuple[int, int]]:
    """The gold spans of a Doc as the source file gives them.

    Task 3 Docs carry the file's own offsets in user_data["gold_spans"] (spans that had to be
    trimmed or widened to fit tokens keep their original offsets there); other Docs use their
    entities.
    """
    if "gold_spans" in doc.user_data:
        return [(start, end) for start, end, _code in doc.user_data["gold_spans"]]
    return [(ent.start_char, ent.end_char) for ent in doc.ents if ent.label_ == label]


def evaluate_ner(
    nlp: Union[Language, str, Path], data_path: Union[str, Path], *, label: str = "ADR",
    batch_size: int = 64,
) -> Dict[str, float]:
    """Strict and relaxed span scores of a pipeline's entities on a `.spacy` corpus.

    nlp (Union[Language, str, Path]): The pipeline, or a name or path for spacy.load.
    data_path (Union[str, Path]): Gold Docs (e.g. corpus/task3/dev.spacy).
    label (str): Entity label scored.
    batch_size (int): Batch size of nlp.pipe.
    RETURNS (Dict[str, float]): strict_p/r/f, relaxed_p/r/f, n_pred, n_gold, n (documents).
    """
    if not isinstance(nlp, Language):
        nlp = spacy.load(nlp)
    gold_docs = list(DocBin().from_disk(data_path).get_docs(nlp.vocab))
    predicted = nlp.pipe((doc.text for doc in gold_docs), batch_size=batch_size)
    pred_offsets = [
        [(ent.start_char, ent.end_char) for ent in doc.ents if ent.label_ == label]
        for doc in predicted
    ]
    scores = score_spans(pred_offsets, [gold_offsets(doc, label) for doc in gold_docs])
    scores["n"] = len(gold_docs)
    return scores
