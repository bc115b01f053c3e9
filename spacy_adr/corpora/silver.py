"""Distillation data: tweets a teacher (one NER, or K voting) marked, and the reader that trains
a student on gold plus those silver tweets; tweets a teacher classifier scored (soft labels).

The fast package's MiniLM cannot match a base-size encoder or an ensemble, but it can learn
from their output on tweets no annotator marked: Task 2 tweets labelled ADR have mentions
that Task 3 never spelled out. Silver documents carry the teacher's spans as entities (every
other token outside) and `user_data["silver"] = True`.

A silver tweet that is also a dev tweet would leak the dev answers into training, so both the
labeller and the reader leave out every text of the `exclude` corpora (by `tweet_key`).
"""
import random
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Corpus, Example
from wasabi import msg

from ..classification import adr_threshold, predict_probabilities
from ..training.ner_ensemble import ensemble_spans, member_predictions
from .multitask import read_tweet_keys, tweet_key
from .unlabelled import unlabelled_texts

SILVER_KEY = "silver"


def label_silver(
    teachers: Sequence[Union[str, Path, Language]], texts: Sequence[str], *, min_votes: int = 1,
    label: str = "ADR", keep_empty: bool = False,
) -> Tuple[List[Doc], Dict[str, float]]:
    """Silver documents: the spans `min_votes` of the `teachers` agree on, as entities.

    teachers (Sequence[Union[str, Path, Language]]): One or more NER pipelines.
    texts (Sequence[str]): Texts to label (leave dev texts out before: `unlabelled_texts`).
    min_votes (int): Votes a span needs (1 with a single teacher).
    label (str): Entity label.
    keep_empty (bool): Keep texts on which the teachers agree on no span.
    RETURNS (Tuple[List[Doc], Dict[str, float]]): The documents (tokenised by the first
        teacher) and counts: texts, docs, spans, seconds of the teachers.
    """
    teachers = [t if isinstance(t, Language) else spacy.load(t) for t in teachers]
    predictions, seconds = member_predictions(teachers, texts, label=label)
    docs = []
    n_spans = 0
    for text, spans in zip(texts, ensemble_spans(predictions, min_votes)):
        if not spans and not keep_empty:
            continue
        doc = teachers[0].make_doc(text)
        ents = [doc.char_span(start, end, label=label, alignment_mode="expand") for start, end in spans]
        doc.set_ents([ent for ent in ents if ent is not None], default="outside")
        doc.user_data[SILVER_KEY] = True
        n_spans += len(doc.ents)
        docs.append(doc)
    return docs, {"texts": len(texts), "docs": len(docs), "spans": n_spans, "seconds": round(sum(seconds), 1)}


def label_soft(
    teacher: Union[str, Path, Language], texts: Sequence[str], gold: Dict[str, float], *,
    label: str = "ADR", gold_weight: float = 0.5, batch_size: int = 64,
) -> Tuple[List[Doc], Dict[str, float]]:
    """Documents whose `doc.cats[label]` is a teacher classifier's probability, mixed with the
    gold class where one is known: `gold_weight * gold + (1 - gold_weight) * teacher`.

    A student classifier trained on these targets learns how sure the teacher is, not only its
    decisions (soft labels); texts without gold (e.g. a test set's tweets) add what the teacher
    knows about tweets nobody labelled.

    teacher (Union[str, Path, Language]): A pipeline that writes `doc.cats[label]`.
    texts (Sequence[str]): Texts to score (leave dev texts out before: `unlabelled_texts`).
    gold (Dict[str, float]): Gold `doc.cats[label]` by `tweet_key`, where known.
    label (str): The category.
    gold_weight (float): Weight of the gold class in the target, in [0, 1].
    batch_size (int): Batch size of the teacher's `nlp.pipe`.
    RETURNS (Tuple[List[Doc], Dict[str, float]]): The documents (tokenised by the teacher) and
        counts: texts, with_gold, teacher_positive (probability >= the teacher's threshold),
        agreement with gold at that threshold, seconds of the teacher.
    """
    if not 0.0 <= gold_weight <= 1.0:
        raise ValueError(f"gold_weight must be in [0, 1], got {gold_weight}")
    nlp = teacher if isinstance(teacher, Language) else spacy.load(teacher)
    threshold = adr_threshold(nlp, label)
    threshold = 0.5 if threshold is None else threshold
    start = time.perf_counter()
    probabilities = predict_probabilities(nlp, texts, label=label, batch_size=batch_size)
    seconds = time.perf_counter() - start
    docs, n_gold, n_agree = [], 0, 0
    for text, probability in zip(texts, probabilities):
        doc = nlp.make_doc(text)
        known = gold.get(tweet_key(text))
        target = probability
        if known is not None:
            n_gold += 1
            n_agree += (probability >= threshold) == (known >= 0.5)
            target = gold_weight * known + (1.0 - gold_weight) * probability
        doc.cats = {label: float(target)}
        docs.append(doc)
    counts = {
        "texts": len(texts), "with_gold": n_gold, "teacher_threshold": threshold,
        "teacher_positive": sum(p >= threshold for p in probabilities),
        "agreement_with_gold": round(n_agree / n_gold, 4) if n_gold else None,
        "gold_weight": gold_weight, "seconds": round(seconds, 1),
    }
    return docs, counts


def gold_categories(paths: Sequence[Union[str, Path]], label: str = "ADR") -> Dict[str, float]:
    """`doc.cats[label]` by `tweet_key` of the documents of `.spacy` files that have it."""
    vocab = spacy.blank("xx").vocab
    return {
        tweet_key(doc.text): float(doc.cats[label])
        for path in paths if Path(path).suffix == ".spacy"
        for doc in DocBin().from_disk(path).get_docs(vocab) if label in doc.cats
    }


def silver_texts(
    paths: Sequence[Union[str, Path]], exclude: Sequence[Union[str, Path]], *,
    category: Optional[str] = None, limit: int = 0, seed: int = 0,
) -> List[str]:
    """The texts a teacher should label: distinct, no dev text, optionally only those of a
    tweet category (e.g. Task 2's ADR tweets), at most `limit` of them drawn at random."""
    texts, _counts = unlabelled_texts(paths, exclude, category=category)
    if limit and len(texts) > limit:
        texts = random.Random(seed).sample(texts, limit)
    return texts


@spacy.registry.readers("spacy-adr.DistillCorpus.v1")
def distill_corpus_v1(
    paths: List[Path], *, silver: List[Path] = [], exclude: List[Path] = [],
    silver_ratio: float = 1.0, max_length: int = 0, limit: int = 0, seed: int = 0,
) -> Callable[[Language], Iterator[Example]]:
    """Gold documents, then silver ones: each pass draws `silver_ratio` silver documents per
    gold one (a new draw each pass), never a silver document whose text is a dev text.

    paths (List[Path]): Gold `.spacy` files (e.g. Task 3 train).
    silver (List[Path]): Silver `.spacy` files written by `label-silver`.
    exclude (List[Path]): Dev `.spacy` files whose texts no silver document may have.
    silver_ratio (float): Silver documents per gold document in a pass; 0 trains on gold only.
    max_length (int): Skip documents longer than this many tokens; 0 keeps all.
    limit (int): Read at most this many documents from each file; 0 reads all.
    seed (int): Seed of the silver draws.
    RETURNS (Callable[[Language], Iterator[Example]]): The corpus reader.
    """
    missing = [str(p) for p in [*paths, *silver, *exclude] if not Path(p).exists()]
    if missing:
        raise ValueError(f"spacy-adr.DistillCorpus.v1: corpus not found: {', '.join(missing)}")
    if silver_ratio < 0:
        raise ValueError(f"spacy-adr.DistillCorpus.v1: silver_ratio must be >= 0, got {silver_ratio}")
    gold_corpora = [Corpus(p, max_length=max_length, limit=limit) for p in paths]
    silver_corpora = [Corpus(p, max_length=max_length, limit=limit) for p in silver]
    excluded = read_tweet_keys([Path(p) for p in exclude])
    rng = random.Random(seed)
    cache: Dict[str, List[Example]] = {}

    def read(nlp: Language) -> Iterator[Example]:
        gold = [eg for corpus in gold_corpora for eg in corpus(nlp)]
        yield from gold
        if "silver" not in cache:
            pool = [eg for corpus in silver_corpora for eg in corpus(nlp)]
            cache["silver"] = [eg for eg in pool if tweet_key(eg.reference.text) not in excluded]
            if len(cache["silver"]) < len(pool):
                msg.warn(f"spacy-adr.DistillCorpus.v1: left out {len(pool) - len(cache['silver'])} silver documents that are dev texts")
        pool = cache["silver"]
        wanted = min(len(pool), round(silver_ratio * len(gold)))
        yield from rng.sample(pool, wanted)

    return read
