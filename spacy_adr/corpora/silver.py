"""Distillation data: tweets a teacher (one NER, or K voting) marked, and the reader that trains
a student on gold plus those silver tweets.

The fast package's MiniLM cannot match a base-size encoder or an ensemble, but it can learn
from their output on tweets no annotator marked: Task 2 tweets labelled ADR have mentions
that Task 3 never spelled out. Silver documents carry the teacher's spans as entities (every
other token outside) and `user_data["silver"] = True`.

A silver tweet that is also a dev tweet would leak the dev answers into training, so both the
labeller and the reader leave out every text of the `exclude` corpora (by `tweet_key`).
"""
import random
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Corpus, Example
from wasabi import msg

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
