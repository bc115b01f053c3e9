"""One training corpus for a transformer shared by the NER and the tweet classifier.

The span corpus (SMM4H Task 3) has ADR mentions but no tweet labels; the classification
corpus (SMM4H Task 2) has tweet labels but no mentions. Each Task 3 tweet gets the tweet
label its mentions imply (ADR when it has one), and each Task 2 tweet keeps its entity
annotation *missing*, so that spaCy's `ner` takes no loss from it while the classifier does.
One shared transformer then learns from both, and the pipeline runs one transformer pass
instead of two.

A tweet labelled NoADR has, by the task's definition, no ADR mention, so it is also a
negative example for the NER. Task 3 alone is enriched (about half its tweets have a
mention) and the NER trained on it put 167 spans on every 1,000 NoADR tweets of Task 2 en dev
(measured). `ner_negative_ratio` therefore gives some of the NoADR tweets drawn in a pass
known-empty entities (every token outside), so the NER learns to stay silent on them; ADR
tweets of Task 2 keep their entities missing, as their mentions are not marked.

The two tasks come from different SMM4H releases that share tweets: 702 Task 3 train tweets
are Task 2 en dev tweets (a third of its ADR tweets) and 213 Task 2 en train tweets are Task 3
dev tweets. Trained on both unfiltered, the classifier read F1 0.74 on Task 2 en dev, against
0.62 with those tweets left out (both measured): it had seen the answers. `exclude` drops
every training tweet whose text is in the given corpora, so the dev sets stay unseen.

"""
import random
from pathlib import Path
from typing import Callable, Iterator, List, Set

import spacy
from spacy.language import Language
from spacy.tokens import DocBin
from spacy.training import Corpus, Example
from wasabi import msg

from .balanced import balanced_corpus_v1


def tweet_key(text: str) -> str:
    """The text two releases share for one tweet: Task 3 lowercases and may keep CSV quotes."""
    return " ".join(text.lower().strip().strip('"').split())


def read_tweet_keys(paths: List[Path]) -> Set[str]:
    """The `tweet_key` of every document of some `.spacy` files."""
    vocab = spacy.blank("xx").vocab
    return {tweet_key(doc.text) for path in paths for doc in DocBin().from_disk(path).get_docs(vocab)}


def label_from_spans(eg: Example, label: str, span_label: str) -> Example:
    """Set `cats[label]` of the reference from its entities, unless the corpus gave one."""
    if label not in eg.reference.cats:
        has_mention = any(ent.label_ == span_label for ent in eg.reference.ents)
        eg.reference.cats[label] = 1.0 if has_mention else 0.0
    return eg


def mark_ner_negatives(examples: List[Example], label: str, wanted: int) -> int:
    """Give up to `wanted` negative classification documents known-empty entities.

    examples (List[Example]): The pass, in the sampler's random order; changed in place.
    label (str): The tweet category; documents with `cats[label] < 0.5` are NoADR.
    wanted (int): How many to mark.
    RETURNS (int): How many were marked (fewer when the pass has fewer negatives).
    """
    marked = 0
    for eg in examples:
        if marked >= wanted:
            break
        reference = eg.reference
        is_negative = label in reference.cats and reference.cats[label] < 0.5
        if is_negative and not reference.has_annotation("ENT_IOB"):
            # "outside" everywhere: the NER learns that this tweet has no mention at all
            reference.set_ents([], default="outside")
            marked += 1
    return marked


def without_label(eg: Example, label: str) -> Example:
    """The example with `label` removed from the reference's cats: missing for the classifier."""
    eg.reference.cats = {key: value for key, value in eg.reference.cats.items() if key != label}
    return eg


def draw_span_negatives(examples: List[Example], label: str, ratio: float, rng: random.Random) -> List[Example]:
    """Every span document with a mention and `ratio` without one per document with one.

    examples (List[Example]): Span documents whose `cats[label]` says whether they have a mention.
    label (str): The tweet category.
    ratio (float): Documents without a mention per document with one.
    rng (random.Random): The pass's sampler.
    RETURNS (List[Example]): The documents with a mention, then the drawn ones.
    """
    with_mention = [eg for eg in examples if eg.reference.cats[label] >= 0.5]
    without = [eg for eg in examples if eg.reference.cats[label] < 0.5]
    return with_mention + rng.sample(without, min(len(without), round(ratio * len(with_mention))))


@spacy.registry.readers("spacy-adr.MultiTaskCorpus.v1")
def multitask_corpus_v1(
    span_paths: List[Path],
    class_paths: List[Path],
    *,
    label: str = "ADR",
    span_label: str = "ADR",
    span_repeats: int = 1,
    negative_ratio: float = 3.0,
    ner_negative_ratio: float = 0.0,
    exclude: List[Path] = [],
    seed: int = 0,
    limit: int = 0,
    class_repeats: List[int] = [],
    span_negative_ratio: float = -1.0,
    span_classes: bool = True,
) -> Callable[[Language], Iterator[Example]]:
    """Every span-annotated document `span_repeats` times, plus the classification documents
    balanced as by `spacy-adr.BalancedCorpus.v1` (all positives, `negative_ratio` fresh
    negatives per positive), shuffled together on every call.

    Use it with `[training] max_epochs = -1` (see the balanced reader for why). As a dev
    corpus, `negative_ratio = 0` keeps every document.

    span_paths (List[Path]): `.spacy` files with entity annotation, e.g. Task 3 train.
    class_paths (List[Path]): `.spacy` files with `doc.cats`, e.g. Task 2 en train.
    label (str): The tweet category; span documents get 1.0 when they have a mention.
    span_label (str): The entity label that makes a span document positive.
    span_repeats (int): How often each span document appears in one pass, so that the NER
        sees enough epochs of the smaller corpus.
    negative_ratio (float): Negatives per positive of the classification documents; 0 keeps all.
    ner_negative_ratio (float): NoADR classification documents per span document of the pass
        whose entities are set to none (all tokens outside), taken from the negatives drawn
        for the classifier; 0 leaves every classification document's entities missing.
    exclude (List[Path]): `.spacy` files (the dev sets) whose tweets must not be trained on;
        documents with the same text (`tweet_key`) are dropped.
    seed (int): Seed of the sampler and of the shuffle.
    limit (int): Read at most this many documents from each file; 0 reads all.
    class_repeats (List[int]): How often each classification file's documents of a pass
        appear, one number per class path (e.g. [1, 2, 1] doubles Russian in en + ru + fr);
        empty: once each.
    span_negative_ratio (float): Span documents without a mention drawn per span document with
        one, afresh on each pass, before the repeats; negative keeps them all. RuDReC's review
        sentences are 92 % without an ADR mention (Task 3's tweets half), so that its few
        mentions are not drowned.
    span_classes (bool): Whether span documents also train the classifier, labelled by their
        mentions. True for Task 3, whose documents are tweets; False for RuDReC's review
        sentences, which are not the tweets the classifier is for (their label is left missing,
        so the classifier takes no loss from them).
    RETURNS (Callable[[Language], Iterator[Example]]): The corpus reader.
    """
    missing = [str(path) for path in [*span_paths, *exclude] if not Path(path).exists()]
    if missing:
        raise ValueError(f"spacy-adr.MultiTaskCorpus.v1: corpus not found: {', '.join(missing)}")
    if span_repeats < 1:
        raise ValueError(f"spacy-adr.MultiTaskCorpus.v1: span_repeats must be >= 1, got {span_repeats}")
    if ner_negative_ratio < 0:
        raise ValueError(f"spacy-adr.MultiTaskCorpus.v1: ner_negative_ratio must be >= 0, got {ner_negative_ratio}")
    span_corpora = [Corpus(path, limit=limit) for path in span_paths]
    classified = balanced_corpus_v1(
        class_paths, label=label, negative_ratio=negative_ratio, seed=seed, limit=limit,
        repeats=class_repeats,
    )
    excluded = read_tweet_keys(exclude)
    passes = 0

    def read(nlp: Language) -> Iterator[Example]:
        nonlocal passes
        rng = random.Random(seed + passes)
        passes += 1
        examples: List[Example] = list(classified(nlp))
        n_span_examples = 0
        for corpus in span_corpora:
            span_examples = [label_from_spans(eg, label, span_label) for eg in corpus(nlp)]
            if span_negative_ratio >= 0:
                span_examples = draw_span_negatives(span_examples, label, span_negative_ratio, rng)
            if not span_classes:
                span_examples = [without_label(eg, label) for eg in span_examples]
            examples.extend(span_examples * span_repeats)
            n_span_examples += len(span_examples) * span_repeats
        if ner_negative_ratio:
            n_marked = mark_ner_negatives(examples, label, round(ner_negative_ratio * n_span_examples))
            if passes == 1:
                msg.info(f"spacy-adr.MultiTaskCorpus.v1: {n_marked} NoADR tweets per pass are NER "
                         f"negatives (entities none), beside {n_span_examples} span documents")
        if excluded:
            kept = [eg for eg in examples if tweet_key(eg.reference.text) not in excluded]
            if passes == 1:
                msg.info(f"spacy-adr.MultiTaskCorpus.v1: {len(examples) - len(kept)} of "
                         f"{len(examples)} training examples dropped: their tweets are in {exclude}")
            examples = kept
        # spaCy does not shuffle a streamed (max_epochs = -1) corpus itself
        rng.shuffle(examples)
        yield from examples

    return read
