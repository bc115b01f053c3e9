"""Training the linker (`adr_meddra_linker`, `adr_concept_linker`) as plain functions. The
steps are written for MedDRA; `fit_linker` runs steps 2-5 on any KB (`spacy_adr.kb.concepts`),
with the KB's parent in the place of the PT: `train_linker --kb tsv:PATH` for a user's dictionary.

1. Training pairs (`spacy_adr_builder.training.linker_data`).
2. Metric learning (`train_metric_encoder`): the sentence transformer is fine-tuned with a
   triplet loss (Euclidean distance between unit vectors, margin 1 as in the KFU paper):
   anchor = mention, positive = the name of its LLT, negatives = an LLT name sharing a word
   with the positive (a lexical hard negative) or a random one, plus the hardest positive of
   another PT in the batch. Mentions and names share the encoder.
3. Classifier (`train_classifier`): a softmax layer over the LLTs seen in training, on the
   fine-tuned encoder's (frozen) mention vectors; one encoder serves both paths, so the
   pipeline carries one model.
4. Mention memory (`index_mentions`): the Task 3 train mentions join the LLT names in the
   metric path's index, each as an extra name of its code, so a new mention near an annotated
   one gets that annotation's code (the annotators' choice among close LLTs, which MedDRA's
   names alone do not show). Only the target corpus: CADEC and SMM4H 2017 annotate other
   LLTs of the same PTs and lowered dev accuracy when added (an exploratory check).
5. The threshold between the metric path and the classifier is chosen on dev (`choose_threshold`).

Evaluation: `spacy_adr_builder.evaluation.linker`.
"""
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy
from wasabi import msg

from spacy_adr.kb.concepts import KnowledgeBase
from spacy_adr.kb.meddra import load_meddra
from spacy_adr.linker_scoring import Mention, accuracy_rows, choose_threshold
from spacy_adr.pipeline.concept_linker import ClassifierHead, ConceptLinker, embedding_width, load_encoder

from .linker_data import MENTION_SOURCES, default_encoder_path, load_training_pairs, read_mentions


def _name_word_index(kb: KnowledgeBase) -> Tuple[List[str], List[str], Dict[str, List[int]]]:
    codes = kb.codes
    names = [kb.name(c) for c in codes]
    index: Dict[str, List[int]] = {}
    for i, name in enumerate(names):
        for word in set(name.lower().split()):
            if len(word) > 2:
                index.setdefault(word, []).append(i)
    return codes, names, index


def train_metric_encoder(
    mentions: Sequence[Mention],
    kb: KnowledgeBase,
    *,
    base_model: Union[str, Path],
    epochs: float = 1.0,
    batch_size: int = 32,
    learning_rate: float = 3e-5,
    margin: float = 1.0,
    hard_negative_rate: float = 0.5,
    task3_repeat: int = 2,
    class_weight: float = 0.0,
    seed: int = 0,
    steps: Optional[int] = None,
    progress: bool = True,
) -> Any:
    """Fine-tune a sentence transformer with a triplet loss, mentions against LLT names, and
    optionally a softmax over the codes seen, so that the encoder also learns what the
    classifier path needs (the paper fine-tunes its classifier's BERT end to end).

    mentions (Sequence[Mention]): Training mentions; (lowercased text, code) duplicates are
        merged.
    kb (KnowledgeBase): The terminology, for concept names and negatives ("PT" below: a
        concept's parent). A concept with synonyms gets one of its names at random as the
        positive.
    base_model (Union[str, Path]): The sentence-transformers folder to start from.
    epochs (float): Passes over the (deduplicated) mentions; fractions allowed.
    batch_size (int): Triplets per step.
    learning_rate (float): AdamW learning rate (linear decay to 0 after 10% warm-up).
    margin (float): Triplet margin on the Euclidean distance of unit vectors (0-2).
    hard_negative_rate (float): Share of negatives drawn among LLTs sharing a word with the
        positive name (and of another PT); the rest are random LLTs of another PT.
    task3_repeat (int): Times each Task 3 mention is seen per epoch (the target domain).
    class_weight (float): Weight of the cross-entropy of a softmax over the seen codes on the
        mention vectors, added to the triplet loss; 0 trains the triplet loss alone. The
        softmax layer itself is discarded: `train_classifier` fits the head afterwards.
    seed (int): Random seed.
    steps (Optional[int]): Train this many steps instead of `epochs` (a time budget).
    progress (bool): Show a progress bar.
    RETURNS (SentenceTransformer): The fine-tuned model, in eval mode.
    """
    import torch
    import torch.nn.functional as F

    rng = random.Random(seed)
    torch.manual_seed(seed)
    unique: Dict[Tuple[str, str], Mention] = {}
    for m in mentions:
        unique.setdefault((m.text.lower().strip(), m.code), m)
    pairs = [(m.text, m.code) for m in unique.values()]
    pairs += [(m.text, m.code) for m in unique.values() if m.source == "task3"] * max(0, task3_repeat - 1)
    codes, names, word_index = _name_word_index(kb)
    n_steps = steps if steps is not None else max(1, int(len(pairs) * epochs / batch_size))
    model = load_encoder(base_model)
    model.train()
    param_groups = [{"params": list(model.parameters()), "lr": learning_rate}]
    if class_weight > 0:
        class_ids = {code: i for i, code in enumerate(sorted({code for _, code in pairs}))}
        softmax = torch.nn.Linear(embedding_width(model), len(class_ids))
        # Unit vectors have small dot products: a learnable scale lets the softmax sharpen.
        scale = torch.nn.Parameter(torch.tensor(10.0))
        # A fresh layer needs a far larger step than the pre-trained encoder.
        param_groups.append({"params": [*softmax.parameters(), scale], "lr": 1e-2})
    optimizer = torch.optim.AdamW(param_groups)
    warmup = max(1, n_steps // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (n_steps - s) / max(1, n_steps - warmup)))
    )

    def negative(code: str) -> str:
        pt = kb.parent(code)
        if rng.random() < hard_negative_rate:
            words = [w for w in kb.name(code).lower().split() if w in word_index]
            if words:
                pool = word_index[rng.choice(words)]
                for _ in range(5):
                    i = rng.choice(pool)
                    if kb.parent(codes[i]) != pt:
                        return names[i]
        while True:
            i = rng.randrange(len(codes))
            if kb.parent(codes[i]) != pt:
                return names[i]

    def positive(code: str) -> str:
        # Only a concept with synonyms draws: MedDRA runs keep their random sequence.
        options = kb.names_of(code)
        return options[0] if len(options) == 1 else rng.choice(options)

    order: List[int] = []
    steps: Iterable[int] = range(n_steps)
    if progress:
        from tqdm import tqdm

        steps = tqdm(steps, desc="Triplet fine-tuning", unit="step")
    losses = []
    for step in steps:
        if len(order) < batch_size:
            more = list(range(len(pairs)))
            rng.shuffle(more)
            order += more
        batch = [pairs[i] for i in order[:batch_size]]
        del order[:batch_size]
        anchors = [text for text, _ in batch]
        positives = [positive(code) for _, code in batch]
        negatives = [negative(code) for _, code in batch]
        # sentence-transformers 5 renamed `tokenize` to `preprocess`.
        prepare = getattr(model, "preprocess", None) or model.tokenize
        features = prepare(anchors + positives + negatives)
        vectors = model(dict(features))["sentence_embedding"]
        vectors = F.normalize(vectors, dim=1)
        a, p, n = vectors.split(len(batch))
        loss = F.triplet_margin_loss(a, p, n, margin=margin)
        # Batch-hard: the nearest positive name of another PT in the batch as a second negative.
        pts = [kb.parent(code) for _, code in batch]
        other = torch.tensor([[pi != pj for pj in pts] for pi in pts])
        if other.any():
            dist = torch.cdist(a, p)
            hardest = dist.masked_fill(~other, float("inf")).min(dim=1).values
            has = other.any(dim=1)
            d_ap = (a - p).norm(dim=1)
            loss = loss + F.relu(d_ap - hardest + margin)[has].mean()
        if class_weight > 0:
            gold = torch.tensor([class_ids[code] for _, code in batch])
            loss = loss + class_weight * F.cross_entropy(softmax(a * scale), gold)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(float(loss.detach()))
        if progress and step % 20 == 0:
            steps.set_postfix(loss=f"{numpy.mean(losses[-50:]):.3f}")
    model.eval()
    return model


def train_classifier(
    vectors: numpy.ndarray,
    codes: Sequence[str],
    *,
    epochs: int = 100,
    learning_rate: float = 0.03,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> ClassifierHead:
    """Train a softmax layer over the codes seen, full batch (seconds for ~10k mentions).

    vectors (numpy.ndarray): (n, width) unit mention vectors.
    codes (Sequence[str]): The gold LLT code of each vector.
    epochs (int): Full-batch Adam steps.
    learning_rate (float): Adam learning rate.
    weight_decay (float): L2 penalty (AdamW).
    seed (int): Random seed.
    RETURNS (ClassifierHead): The head, outputs in sorted code order.
    """
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    labels = sorted(set(codes))
    ids = {code: i for i, code in enumerate(labels)}
    x = torch.as_tensor(numpy.asarray(vectors, dtype="float32"))
    y = torch.tensor([ids[c] for c in codes])
    # Unit vectors have small dot products: a learnable scale lets the softmax sharpen.
    layer = torch.nn.Linear(x.shape[1], len(labels))
    scale = torch.nn.Parameter(torch.tensor(10.0))
    optimizer = torch.optim.AdamW([*layer.parameters(), scale], lr=learning_rate, weight_decay=weight_decay)
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = F.cross_entropy(layer(x * scale), y)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        weight = (layer.weight * scale).numpy().copy()
        bias = layer.bias.numpy().copy()
    return ClassifierHead(weight, bias, labels)


def index_mentions(mentions: Sequence[Mention], sources: Iterable[str]) -> Tuple[List[str], List[str]]:
    """The mentions of some sources as (texts, codes) for `MeddraLinker.add_mentions`, one per
    distinct lowercased text, labelled with its most frequent code (the first seen among ties).

    mentions (Sequence[Mention]): Training mentions.
    sources (Iterable[str]): The sources to take ("task3", "cadec", "smm4h2017").
    RETURNS (Tuple[List[str], List[str]]): Texts and codes, in first-seen order.
    """
    sources = set(sources)
    codes_of: Dict[str, Counter] = {}
    text_of: Dict[str, str] = {}
    for m in mentions:
        if m.source in sources:
            key = m.text.lower().strip()
            text_of.setdefault(key, m.text)
            codes_of.setdefault(key, Counter())[m.code] += 1
    texts = [text_of[key] for key in codes_of]
    return texts, [counts.most_common(1)[0][0] for counts in codes_of.values()]


@dataclass(frozen=True)
class LinkerSettings:
    """How `fit_linker` trains: the arguments of `train_linker` of the same names.

    epochs (float): Triplet fine-tuning passes; 0 (and no `steps`) keeps the base encoder.
    steps (Optional[int]): Fine-tuning steps instead of `epochs` (a time budget).
    batch_size (int): Triplets per step.
    learning_rate (float): Fine-tuning learning rate.
    margin (float): Triplet margin.
    class_weight (float): Weight of the softmax loss added to the triplet fine-tuning.
    classifier_epochs (int): Full-batch steps of the classifier.
    memory_sources (Sequence[str]): Sources whose training mentions join the names in the
        metric path's index.
    seed (int): Random seed.
    """

    epochs: float = 0.5
    steps: Optional[int] = None
    batch_size: int = 32
    learning_rate: float = 3e-5
    margin: float = 1.0
    class_weight: float = 1.0
    classifier_epochs: int = 100
    memory_sources: Sequence[str] = ("task3",)
    seed: int = 0


def fit_linker(
    kb: KnowledgeBase,
    mentions: Sequence[Mention],
    dev: Sequence[Mention],
    *,
    base_model: Optional[Path] = None,
    settings: LinkerSettings = LinkerSettings(),
    split: str = "task3_dev",
    command: str = "spacy-adr-builder train-linker",
    progress: bool = True,
) -> Tuple[ConceptLinker, Dict[str, Any]]:
    """Train both parts on mentions of any KB and choose the threshold on dev mentions.

    kb (KnowledgeBase): The terminology.
    mentions (Sequence[Mention]): Training mentions; every code in `kb`.
    dev (Sequence[Mention]): Mentions to choose the threshold on.
    base_model (Optional[Path]): Sentence-transformers folder; None: all-MiniLM-L6-v2.
    settings (LinkerSettings): Training settings.
    split (str): Name of the dev data in the returned rows.
    command (str): The command, recorded in the rows.
    progress (bool): Show progress bars.
    RETURNS (Tuple[ConceptLinker, Dict[str, Any]]): The linker (threshold set) and timings,
        counts, the chosen threshold and the dev rows.
    """
    memory_sources = settings.memory_sources
    unknown = sorted(set(memory_sources) - set(MENTION_SOURCES))
    if unknown:
        raise ValueError(f"Unknown mention sources {unknown} for the linker's index (--memory); choose from {list(MENTION_SOURCES)}")
    timings: Dict[str, float] = {}
    base_model = base_model or default_encoder_path()
    t = time.perf_counter()
    if settings.epochs > 0 or settings.steps:
        encoder = train_metric_encoder(
            mentions, kb, base_model=base_model, epochs=settings.epochs, batch_size=settings.batch_size,
            learning_rate=settings.learning_rate, margin=settings.margin, class_weight=settings.class_weight,
            seed=settings.seed, steps=settings.steps, progress=progress,
        )
    else:
        encoder = load_encoder(base_model)
    timings["metric_s"] = time.perf_counter() - t
    linker = ConceptLinker()
    linker.encoder = encoder
    t = time.perf_counter()
    # The classifier also learns each seen concept's own name.
    seen = sorted({m.code for m in mentions})
    texts = [m.text for m in mentions] + [kb.name(c) for c in seen]
    labels = [m.code for m in mentions] + seen
    head = train_classifier(linker.encode(texts), labels, epochs=settings.classifier_epochs, seed=settings.seed)
    timings["classifier_s"] = time.perf_counter() - t
    t = time.perf_counter()
    linker.set_parts(kb=kb, encoder=encoder, classifier=head, progress=progress)
    linker.add_mentions(*index_mentions(mentions, memory_sources))
    timings["index_s"] = time.perf_counter() - t
    rows = accuracy_rows(linker, dev, split=split, command=command)
    threshold = choose_threshold(rows)
    linker.cfg["trained_threshold"] = threshold
    return linker, {
        "threshold": threshold,
        "n_mentions": len(mentions),
        "n_classes": len(head.codes),
        "n_index_mentions": linker.n_mentions,
        "timings": timings,
        "dev_rows": rows,
    }


def train_linker(
    output_dir: Path,
    *,
    meddra: Optional[Path] = None,
    kb: Optional[str] = None,
    task3_train: Path,
    task3_dev: Path,
    cadec: Optional[Path] = None,
    smm4h2017: Optional[Path] = None,
    base_model: Optional[Path] = None,
    epochs: float = 0.5,
    batch_size: int = 32,
    learning_rate: float = 3e-5,
    margin: float = 1.0,
    class_weight: float = 1.0,
    classifier_epochs: int = 100,
    memory_sources: Sequence[str] = ("task3",),
    seed: int = 0,
    max_mentions: Optional[int] = None,
) -> Dict[str, Any]:
    """Train both parts, choose the threshold on dev and write the component folder.

    output_dir (Path): Folder to write (`ConceptLinker.to_disk` format; usable as
        `[initialize.components.adr_meddra_linker] trained = ...`, or adr_concept_linker).
    meddra (Optional[Path]): MedDRA in a format `load_meddra` reads (e.g. `corpus/meddra.tsv`).
    kb (Optional[str]): Instead of `meddra`, any KB `spacy_adr.kb.concepts.load_kb` reads,
        e.g. "tsv:my_terms.tsv" (`code<TAB>name[<TAB>parent]`).
    task3_train (Path): Training mentions: `corpus/task3/train.spacy`, any `.spacy` with
        coded ADR spans, or a `mention<TAB>code` TSV.
    task3_dev (Path): Dev mentions in the same forms, for the threshold.
    cadec (Optional[Path]): `corpus/cadec.spacy`.
    smm4h2017 (Optional[Path]): `corpus/smm4h2017_train.jsonl`.
    base_model (Optional[Path]): Sentence-transformers folder; None: all-MiniLM-L6-v2.
    epochs (float): Triplet fine-tuning passes; 0 keeps the base encoder.
    batch_size (int): Triplets per step.
    learning_rate (float): Fine-tuning learning rate.
    margin (float): Triplet margin.
    class_weight (float): Weight of the softmax loss added to the triplet fine-tuning.
    classifier_epochs (int): Full-batch steps of the classifier.
    memory_sources (Sequence[str]): Sources whose training mentions join the LLT names in the
        metric path's index (`index_mentions`); empty: the names alone.
    seed (int): Random seed.
    max_mentions (Optional[int]): Use only this many training mentions (quick runs).
    RETURNS (Dict[str, Any]): Timings, counts, the chosen threshold and the dev rows.
    """
    from spacy_adr.kb.concepts import load_kb

    if (meddra is None) == (kb is None):
        raise ValueError("Give the terminology as either --meddra PATH or --kb FORMAT:PATH (e.g. tsv:terms.tsv)")
    start = time.perf_counter()
    terminology = load_meddra(meddra) if meddra is not None else load_kb(kb)
    mentions = load_training_pairs(terminology, task3_train=task3_train, cadec=cadec, smm4h2017=smm4h2017)
    if not mentions:
        raise ValueError(f"No training mention of {task3_train} has a code of the {terminology.label} KB")
    if max_mentions is not None:
        mentions = random.Random(seed).sample(mentions, min(max_mentions, len(mentions)))
    # Dev codes missing from the KB stay in: they count as errors, as they would in use.
    dev = read_mentions(task3_dev, source="task3_dev")
    settings = LinkerSettings(
        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, margin=margin,
        class_weight=class_weight, classifier_epochs=classifier_epochs, memory_sources=memory_sources, seed=seed,
    )
    linker, result = fit_linker(terminology, mentions, dev, base_model=base_model, settings=settings)
    linker.to_disk(output_dir)
    result["timings"]["total_s"] = time.perf_counter() - start
    threshold = result["threshold"]
    best = {r["variant"]: r["acc1"] for r in result["dev_rows"]}
    msg.good(
        f"Linker written to {output_dir}: threshold {threshold:.2f}, dev acc@1 classifier "
        f"{best['classifier']:.4f}, metric {best['metric']:.4f}, combined {best[f'combined@{threshold:.2f}']:.4f}"
    )
    return result
