"""Evaluating trained pipelines on converted corpora, with the SMM4H definitions."""
from pathlib import Path
from typing import Dict, List, Tuple, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from spacy_adr.pipeline.concept_linker import LINKER_FACTORIES
from spacy_adr.scoring import gold_linked_offsets, gold_offsets, score_linked_spans, score_spans


def evaluate_ner(
    nlp: Union[Language, str, Path], data_path: Union[str, Path], *, label: str = "ADR",
    batch_size: int = 64, linked: bool = False,
) -> Dict[str, Dict[str, float]]:
    """Strict and relaxed span scores of a pipeline's entities on a `.spacy` corpus and, for a
    pipeline that links them, the end-to-end score (relaxed match and the same MedDRA code).

    nlp (Union[Language, str, Path]): The pipeline, or a name or path for spacy.load.
    data_path (Union[str, Path]): Gold Docs (e.g. corpus/task3/dev.spacy).
    label (str): Entity label scored.
    batch_size (int): Batch size of nlp.pipe.
    linked (bool): Also score `ent.kb_id_` against the gold codes.
    RETURNS (Dict[str, Dict[str, float]]): "ner": strict_p/r/f, relaxed_p/r/f, n_pred,
        n_gold, n (documents); with `linked`, "e2e": relaxed_p/r/f, n_pred, n_gold, n.
    """
    if not isinstance(nlp, Language):
        nlp = spacy.load(nlp)
    if linked and not any(nlp.get_pipe_meta(name).factory in LINKER_FACTORIES for name in nlp.pipe_names):
        raise ValueError(f"End-to-end scores need a linker ({', '.join(LINKER_FACTORIES)}); the pipeline has {nlp.pipe_names}")
    gold_docs = list(DocBin().from_disk(data_path).get_docs(nlp.vocab))
    predicted = nlp.pipe((doc.text for doc in gold_docs), batch_size=batch_size)
    pred_linked = [
        [(ent.start_char, ent.end_char, ent.kb_id_) for ent in doc.ents if ent.label_ == label]
        for doc in predicted
    ]
    gold_linked = [gold_linked_offsets(doc, label) for doc in gold_docs]
    scores = {"ner": score_spans(
        [[span[:2] for span in doc] for doc in pred_linked],
        [[span[:2] for span in doc] for doc in gold_linked],
    )}
    if linked:
        scores["e2e"] = score_linked_spans(pred_linked, gold_linked)
    for task_scores in scores.values():
        task_scores["n"] = len(gold_docs)
    return scores
