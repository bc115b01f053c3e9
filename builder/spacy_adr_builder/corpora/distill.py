"""Distillation data: Task 2 tweets as the accurate package sees them, for the fast core.

The fast package's MiniLM core learns mentions from Task 3's 1,200 tweets only; the accurate
package (a base-size encoder) knows more, and can tell it on the ~25,000 Task 2 tweets that
no one marked mentions on. Each tweet becomes a training document with:

- `cats[label]`: the gold label, or the teacher's decision at its own threshold where there
  is no gold label (a test set's tweets). spaCy's `textcat_multilabel` takes only 0 or 1 as
  gold (E851), so the teacher's probability itself is not passed on;
- entities: the teacher's (gated) ADR spans, every other token outside, on tweets that are
  ADR by gold or, without gold, by the teacher's own threshold. Other tweets keep their
  entities missing: `spacy-adr.MultiTaskCorpus.v1` turns some of the NoADR ones into
  known-empty NER negatives, as it does for gold tweets, and a gold ADR tweet on which the
  teacher found nothing teaches nothing wrong.

Dev tweets must not be labelled (their answers would leak into training): `exclude` drops
every text of the given corpora, by `tweet_key`.
"""
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from spacy_adr.classification import adr_threshold
from .multitask import read_tweet_keys, tweet_key

DISTILLED_KEY = "distilled"


def read_texts(paths: Sequence[Union[str, Path]], label: str = "ADR") -> List[Tuple[str, Union[float, None]]]:
    """(text, gold `cats[label]` or None) of every document of some `.spacy` files.

    paths (Sequence[Union[str, Path]]): Corpora, labelled (Task 2 train) or not (Task 2 test).
    label (str): The tweet category.
    RETURNS (List[Tuple[str, Optional[float]]]): One pair per document, in file order.
    """
    vocab = spacy.blank("xx").vocab
    return [
        (doc.text, float(doc.cats[label]) if label in doc.cats else None)
        for path in paths for doc in DocBin().from_disk(path).get_docs(vocab)
    ]


def label_distill(
    teacher: Language,
    texts: Sequence[Tuple[str, Union[float, None]]],
    *,
    exclude: Sequence[Union[str, Path]] = (),
    label: str = "ADR",
    batch_size: int = 64,
) -> Tuple[List[Doc], Dict[str, float]]:
    """Documents carrying the teacher's tweet labels (where gold has none) and its ADR spans.

    teacher (Language): The accurate pipeline: writes `doc.cats[label]` and `doc.ents`.
    texts (Sequence[Tuple[str, Optional[float]]]): (text, gold label or None), `read_texts`.
    exclude (Sequence[Union[str, Path]]): `.spacy` corpora (the dev sets) whose tweets are
        left out.
    label (str): The tweet category and entity label.
    batch_size (int): Batch size of the teacher's `nlp.pipe`.
    RETURNS (Tuple[List[Doc], Dict[str, float]]): The documents (tokenised by the teacher) and
        counts: texts read, left out, with gold, with spans, spans, seconds.
    """
    threshold = adr_threshold(teacher, label)
    threshold = 0.5 if threshold is None else threshold
    excluded = read_tweet_keys(list(exclude))
    kept = [(text, gold) for text, gold in texts if tweet_key(text) not in excluded]
    start = time.perf_counter()
    docs: List[Doc] = []
    n_spans = n_with_spans = 0
    for (_, gold), predicted in zip(kept, teacher.pipe((text for text, _ in kept), batch_size=batch_size)):
        probability = float(predicted.cats.get(label, 0.0))
        is_adr = probability >= threshold if gold is None else gold >= 0.5
        doc = teacher.make_doc(predicted.text)
        doc.cats = {label: 1.0 if is_adr else 0.0}
        spans = [(ent.start_char, ent.end_char) for ent in predicted.ents if ent.label_ == label]
        if is_adr and spans:
            ents = [doc.char_span(start, end, label=label, alignment_mode="expand") for start, end in spans]
            doc.set_ents([ent for ent in ents if ent is not None], default="outside")
            n_with_spans += 1
            n_spans += len(doc.ents)
        doc.user_data[DISTILLED_KEY] = True
        docs.append(doc)
    counts = {
        "texts": len(texts), "left_out": len(texts) - len(kept),
        "with_gold": sum(gold is not None for _, gold in kept), "teacher_threshold": threshold,
        "with_spans": n_with_spans, "spans": n_spans, "seconds": round(time.perf_counter() - start, 1),
    }
    return docs, counts


def save_docs(docs: Sequence[Doc], path: Union[str, Path]) -> None:
    """Write documents with their cats, entities and user data to a `.spacy` file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=docs, store_user_data=True).to_disk(path)
