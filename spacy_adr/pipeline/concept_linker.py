"""`adr_concept_linker` and `adr_meddra_linker`: link ADR mentions (doc.ents) to the concepts
of a terminology: MedDRA Lowest Level Terms, SNOMED CT, or a user's own dictionary.

Both factories make the same `ConceptLinker` (`MeddraLinker` is its old name); it links to
whatever KB it was initialised with: anything with the `spacy_adr.kb.concepts.KnowledgeBase`
protocol, i.e. a `MeddraKB` or a `ConceptKB` (`spacy-adr.concept_kb.v1`, e.g. `tsv:PATH`).
Below, "LLT" stands for a concept of the KB and "PT" for its parent.

The method of the KFU NLP system at SMM4H 2020 Task 3, on a sentence-transformers encoder:

- Metric path: the encoder (fine-tuned with a triplet loss so that a mention lies near the
  name of its concept) embeds the mention; the nearest of all MedDRA LLT names by Euclidean
  distance between unit vectors (`spacy_adr.kb.candidates.ConceptIndex`) is the answer. Every
  LLT is reachable this way, also concepts never seen in training. The index may also hold
  labelled mentions as extra names of their LLTs (`add_mentions`; the training adds the Task 3
  train mentions), so a mention near one annotated before gets that annotation's code.
- Classifier path: a softmax layer over the LLTs seen in training, on the same mention vector
  (mean-pooled token vectors, unit length).
- Combination: the metric answer when its distance is below `threshold`, else the classifier's.
  The threshold is chosen on dev when the linker is trained (`spacy-adr-builder train-linker`)
  and stored with the component.

The component reads `doc.ents`, so it runs after any NER (or on entities set by hand), and
rewrites them with `kb_id_` = concept code (a Span's kb_id cannot be changed in place). Extras
go to `span._.concept_name` (preferred name), `link_score`, `link_method` ("metric" or
"classifier") and, when `top_k` > 0, `concept_candidates`; on a MedDRA KB also to
`span._.meddra_term` (LLT name), `meddra_pt`, `meddra_pt_term` and `meddra_candidates`.

Parts and where they come from:
- `initialize(kb=..., encoder=..., classifier=...)`: a KB (`spacy-adr.meddra_kb.v1`,
  `spacy-adr.concept_kb.v1`), a sentence-transformers folder, optionally a classifier head file; all LLT names are
  embedded once (minutes on a CPU).
- `initialize(trained=...)`: a folder written by `spacy-adr-builder train-linker` (the component's
  own `to_disk` format), so a config need not repeat the training.
The component's folder holds `cfg`, `kb.tsv`, `encoder/` (the fine-tuned sentence
transformer), `classifier.safetensors` and `index/` (the vectors of the LLT names and of the
added mentions in bf16, with their codes; never the mention texts, which are licensed data):
about 155 MB for MiniLM-L6 and 79,507 LLTs.
"""
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy
import srsly
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import ensure_path, minibatch

from .. import extensions  # noqa: F401  (installs the Span._ attributes)
from ..kb.candidates import ConceptIndex, cosine_to_distance
from ..kb.concepts import ConceptKB, KnowledgeBase, check_codes
from ..kb.meddra import MeddraKB
from ..models.inference import InferenceCopy, check_quantize
from ..models.onnx_encoder import ORT_MODES

# The distance used when neither the config nor the trained folder gives one.
FALLBACK_THRESHOLD = 0.6
CFG_FILE = "cfg"
KB_FILE = "kb.tsv"
ENCODER_DIR = "encoder"
INDEX_DIR = "index"
CLASSIFIER_FILE = "classifier.safetensors"

METHOD_METRIC = "metric"
METHOD_CLASSIFIER = "classifier"

DEFAULT_CONFIG = {
    "threshold": None, "top_k": 0, "labels": ["ADR"], "batch_size": 256, "quantize": None, "cache_size": 100_000,
}
# Both factories make a `ConceptLinker`: code that looks for "the linker" in a pipeline should
# check for either.
LINKER_FACTORIES = ("adr_meddra_linker", "adr_concept_linker")
# How `kb.tsv` is written, stored in cfg; folders from before the general KB are MedDRA.
KB_FORMATS = {"meddra": MeddraKB, "concepts": ConceptKB}

# Terminology-neutral extras. They belong with the others in `spacy_adr.extensions`; they
# are installed here (idempotently) until the planned module reorganisation moves them.
for _name, _default in (("concept_name", ""), ("concept_candidates", None)):
    if not Span.has_extension(_name):
        Span.set_extension(_name, default=_default)


def make_concept_linker(
    nlp: Language,
    name: str,
    *,
    threshold: Optional[float],
    top_k: int,
    labels: List[str],
    batch_size: int,
    quantize: Optional[str] = None,
    cache_size: int = 100_000,
) -> "ConceptLinker":
    """Create the `adr_concept_linker` or `adr_meddra_linker` component (empty; its parts,
    the KB among them, come at `initialize`). Both names make the same component: the MedDRA
    one is kept for existing pipelines and configs.

    nlp (Language): The pipeline.
    name (str): The component name.
    threshold (Optional[float]): Take the metric path's answer when its distance (Euclidean,
        unit vectors, 0-2) is below this, else the classifier's. None: the value chosen on dev
        at training, stored with the trained component.
    top_k (int): Store this many candidates with scores in `span._.concept_candidates` (and
        `meddra_candidates` on MedDRA); 0: none.
    labels (List[str]): Entity labels to link; other entities are left alone.
    batch_size (int): Mentions encoded together (sentence-transformers sorts them by length).
    quantize (Optional[str]): "int8", "mixed" or "bf16" to encode mentions with a quantised copy of
        the encoder (CPU; `spacy_adr.models.inference`); None for fp32. The saved encoder
        stays fp32.
    cache_size (int): Remember the links of this many distinct mention texts (least recently
        used go first): a dump repeats its mentions ("headache", "cant sleep") over and over,
        and a remembered one costs no encoding and no search; 0 remembers none.
    RETURNS (ConceptLinker): The component.
    """
    return ConceptLinker(
        nlp, name, threshold=threshold, top_k=top_k, labels=labels, batch_size=batch_size, quantize=quantize,
        cache_size=cache_size,
    )


for _factory in LINKER_FACTORIES:
    Language.factory(
        _factory,
        requires=["doc.ents"],
        assigns=["doc.ents"],
        default_config=DEFAULT_CONFIG,
        default_score_weights={"linker_acc": 1.0},
        func=make_concept_linker,
    )
# The entry point of `adr_meddra_linker` names this.
make_meddra_linker = make_concept_linker


@dataclass
class Link:
    """The linker's answer for one mention.

    code (str): Concept code.
    score (float): Cosine similarity (metric path) or softmax probability (classifier path).
    method (str): "metric" or "classifier".
    distance (float): Distance of the nearest concept name or added mention (metric path),
        whichever path won.
    candidates (List[Tuple[str, float]]): Top-k (code, score) of the path that answered.
    """

    code: str
    score: float
    method: str
    distance: float
    candidates: List[Tuple[str, float]] = field(default_factory=list)


class ClassifierHead:
    """Softmax over the LLT codes seen in training: `softmax(W x + b)` on the mention vector."""

    def __init__(self, weight: numpy.ndarray, bias: numpy.ndarray, codes: Sequence[str]) -> None:
        """Create the head.

        weight (numpy.ndarray): (n_codes, width).
        bias (numpy.ndarray): (n_codes,).
        codes (Sequence[str]): The LLT code of each output.
        """
        weight = numpy.asarray(weight, dtype="float32")
        bias = numpy.asarray(bias, dtype="float32")
        if weight.shape[0] != len(codes) or bias.shape != (len(codes),):
            raise ValueError(f"ClassifierHead: weight {weight.shape}, bias {bias.shape} for {len(codes)} codes")
        self.weight, self.bias, self.codes = weight, bias, list(codes)

    def predict(self, vectors: numpy.ndarray, k: int = 1) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """The k most probable codes of each vector.

        vectors (numpy.ndarray): (n, width) mention vectors.
        k (int): Number of outputs.
        RETURNS (Tuple[numpy.ndarray, numpy.ndarray]): Probabilities (n, k), best first, and
            indices into `codes` (n, k).
        """
        logits = vectors @ self.weight.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        probs = numpy.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        k = min(k, len(self.codes))
        top = numpy.argsort(-probs, axis=1)[:, :k]
        return numpy.take_along_axis(probs, top, axis=1), top

    def to_disk(self, path: Union[str, Path]) -> None:
        """Write the head (weights in safetensors, codes in its metadata)."""
        import torch
        from safetensors.torch import save_file

        tensors = {"weight": torch.from_numpy(self.weight), "bias": torch.from_numpy(self.bias)}
        save_file(tensors, str(path), metadata={"codes": " ".join(self.codes)})

    @classmethod
    def from_disk(cls, path: Union[str, Path]) -> "ClassifierHead":
        """Load a head written by `to_disk`."""
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as file:
            codes = (file.metadata() or {}).get("codes", "").split()
            return cls(file.get_tensor("weight"), file.get_tensor("bias"), codes)


class ConceptLinker:
    """Link entities to the concepts of a KB: metric path under a distance threshold, else
    classifier."""

    def __init__(
        self,
        nlp: Optional[Language] = None,
        name: str = "adr_meddra_linker",
        *,
        threshold: Optional[float] = None,
        top_k: int = 0,
        labels: Iterable[str] = ("ADR",),
        batch_size: int = 256,
        quantize: Optional[str] = None,
        cache_size: int = 100_000,
    ) -> None:
        """Create an empty linker. See `make_meddra_linker` for the arguments."""
        if cache_size < 0:
            raise ValueError(f"{name}: cache_size must be 0 or more, got {cache_size}")
        self.name = name
        self.cfg: Dict[str, Any] = {
            "threshold": threshold,
            "top_k": top_k,
            "labels": list(labels),
            "batch_size": batch_size,
            # Chosen on dev by the training; used when `threshold` is None.
            "trained_threshold": None,
        }
        # Not in cfg: cfg is saved with the component and would override the config on load.
        self.quantize = check_quantize(quantize, name)
        if self.quantize in ORT_MODES:
            # Its encoder is a sentence-transformers model, which the ONNX export does not cover.
            raise ValueError(f"{name}: quantize {self.quantize!r} is for the transformer; the linker takes 'int8', 'mixed', 'bf16' or null")
        self.quantized = InferenceCopy()
        self.cache_size = cache_size
        self._cache: "OrderedDict[str, Link]" = OrderedDict()
        self._cache_settings: Optional[Tuple[Any, ...]] = None
        self.kb: Optional[KnowledgeBase] = None
        self.encoder: Any = None
        self.index: Optional[ConceptIndex] = None
        self.classifier: Optional[ClassifierHead] = None

    # -- set-up ------------------------------------------------------------------------------

    def initialize(
        self,
        get_examples: Optional[Callable[[], Iterable[Example]]] = None,
        *,
        nlp: Optional[Language] = None,
        trained: Optional[Path] = None,
        kb: Optional[KnowledgeBase] = None,
        encoder: Optional[Union[str, Path]] = None,
        classifier: Optional[Path] = None,
    ) -> None:
        """Set the linker's parts. Called by `nlp.initialize`.

        get_examples (Optional[Callable[[], Iterable[Example]]]): Unused; the linker is
            trained by `spacy-adr-builder train-linker`.
        nlp (Optional[Language]): Unused.
        trained (Optional[Path]): A folder written by `spacy-adr-builder train-linker`; everything is
            loaded from it (the other arguments must then be None).
        kb (Optional[KnowledgeBase]): The terminology, e.g. from `spacy-adr.meddra_kb.v1` or
            `spacy-adr.concept_kb.v1`.
        encoder (Optional[Union[str, Path]]): A sentence-transformers model folder.
        classifier (Optional[Path]): A classifier head file (`ClassifierHead.to_disk`); None
            links by the metric path only.
        """
        if trained is not None:
            if kb is not None or encoder is not None or classifier is not None:
                raise ValueError(f"{self.name}: initialize with either `trained` or kb + encoder, not both")
            self.from_disk(trained, keep_threshold=True)
            return
        if kb is None or encoder is None:
            raise ValueError(
                f"{self.name}: initialize needs `trained` (a folder from `spacy-adr-builder train-linker`) "
                f"or `kb` and `encoder` (e.g. [initialize.components.{self.name}.kb] "
                '@misc = "spacy-adr.meddra_kb.v1" or "spacy-adr.concept_kb.v1")'
            )
        head = ClassifierHead.from_disk(classifier) if classifier is not None else None
        self.set_parts(kb=kb, encoder=load_encoder(encoder), classifier=head)

    def set_parts(
        self,
        *,
        kb: KnowledgeBase,
        encoder: Any,
        classifier: Optional[ClassifierHead] = None,
        index: Optional[ConceptIndex] = None,
        progress: bool = False,
    ) -> None:
        """Set the parts directly (used by the training).

        kb (KnowledgeBase): The terminology.
        encoder (SentenceTransformer): The mention and concept-name encoder.
        classifier (Optional[ClassifierHead]): The head; None links by the metric path only.
        index (Optional[ConceptIndex]): Vectors of the KB's names (`kb.entries()`) by this
            encoder, in KB order, then any added mentions; None embeds the names now.
        progress (bool): Show progress while embedding names.
        """
        if len(kb) == 0:
            raise ValueError(f"{self.name}: the {kb.label} KB is empty")
        if classifier is not None:
            unknown = check_codes(kb, classifier.codes)
            if unknown:
                raise ValueError(f"{self.name}: classifier codes not in the KB: {unknown[:5]}")
        self.kb, self.encoder, self.classifier = kb, encoder, classifier
        name_codes = kb.entries()[1]
        n_names = len(name_codes)
        if index is None:
            index = build_index(kb, self.encode, progress=progress)
        elif index.codes[:n_names] != name_codes or check_codes(kb, index.codes[n_names:]):
            raise ValueError(f"{self.name}: the concept index does not match the KB")
        self.index = index
        self._n_names = n_names
        self._cache.clear()

    def add_mentions(self, texts: Sequence[str], codes: Sequence[str]) -> None:
        """Add labelled mentions to the metric path's index as extra names of their concepts.

        texts (Sequence[str]): Mentions, e.g. the annotated mentions of a training corpus.
        codes (Sequence[str]): The code of each mention; every code must be in the KB.
        """
        self._require_initialized()
        if len(texts) != len(codes):
            raise ValueError(f"{self.name}: {len(texts)} mentions for {len(codes)} codes")
        unknown = check_codes(self.kb, codes)
        if unknown:
            raise ValueError(f"{self.name}: mention codes not in the {self.kb.label} KB: {unknown[:5]}")
        self.index.extend(self.encode(list(texts)), codes)
        self._cache.clear()

    @property
    def n_mentions(self) -> int:
        """RETURNS (int): Labelled mentions in the index besides the KB's names."""
        return len(self.index) - self._n_names if self.is_initialized else 0

    @property
    def is_initialized(self) -> bool:
        """RETURNS (bool): Whether the KB, encoder and index are set."""
        return self.kb is not None and self.encoder is not None and self.index is not None

    @property
    def threshold(self) -> float:
        """RETURNS (float): The distance threshold in use (config, else trained, else fallback)."""
        for value in (self.cfg["threshold"], self.cfg["trained_threshold"]):
            if value is not None:
                return float(value)
        return FALLBACK_THRESHOLD

    def _require_initialized(self) -> None:
        if not self.is_initialized:
            raise ValueError(
                f"The linker '{self.name}' is not initialized: it has no KB, encoder "
                "and concept vectors. Call nlp.initialize() with "
                f"[initialize.components.{self.name}] trained = <folder from `spacy-adr "
                "train-linker`> (or kb + encoder), or load a trained pipeline."
            )

    # -- linking -----------------------------------------------------------------------------

    def encode(self, texts: List[str]) -> numpy.ndarray:
        """Unit-length vectors of texts (mean-pooled token vectors of the encoder).

        texts (List[str]): Mentions or concept names.
        RETURNS (numpy.ndarray): (len(texts), width) float32.
        """
        if self.encoder is None:
            self._require_initialized()
        if not texts:
            return numpy.zeros((0, embedding_width(self.encoder)), dtype="float32")
        encoder = self.quantized.get(self.encoder, self.quantize) if self.quantize else self.encoder
        vectors = encoder.encode(
            texts,
            batch_size=self.cfg["batch_size"],
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return numpy.asarray(vectors, dtype="float32")

    def link_vectors(
        self, vectors: numpy.ndarray, *, threshold: Optional[float] = None, top_k: Optional[int] = None
    ) -> List[Link]:
        """Link mentions given their vectors.

        vectors (numpy.ndarray): (n, width) unit mention vectors (`encode`).
        threshold (Optional[float]): Distance threshold; None: `self.threshold`. 0 always takes
            the classifier, anything above 2 always the metric path.
        top_k (Optional[int]): Candidates to return; None: the config's `top_k`.
        RETURNS (List[Link]): One answer per mention.
        """
        self._require_initialized()
        threshold = self.threshold if threshold is None else threshold
        top_k = self.cfg["top_k"] if top_k is None else top_k
        if len(vectors) == 0:
            return []
        cosines, rows = self.index.search(vectors, k=max(1, top_k))
        distances = cosine_to_distance(cosines[:, 0])
        if self.classifier is not None:
            probs, classes = self.classifier.predict(vectors, k=max(1, top_k))
        links = []
        for i in range(len(vectors)):
            if self.classifier is None or distances[i] < threshold:
                codes = [self.index.codes[r] for r in rows[i]]
                scores, method = cosines[i], METHOD_METRIC
            else:
                codes = [self.classifier.codes[c] for c in classes[i]]
                scores, method = probs[i], METHOD_CLASSIFIER
            candidates = _dedupe(codes, scores)[:top_k] if top_k > 0 else []
            links.append(Link(codes[0], float(scores[0]), method, float(distances[i]), candidates))
        return links

    def link_texts(self, texts: List[str], **kwargs: Any) -> List[Link]:
        """Link mention strings (see `link_vectors` for the keyword arguments).

        texts (List[str]): The mentions.
        RETURNS (List[Link]): One answer per mention.
        """
        self._require_initialized()
        return self.link_vectors(self.encode(texts), **kwargs)

    def link_remembered(self, texts: List[str]) -> List[Link]:
        """`link_texts` with the component's settings, remembering the links of the last
        `cache_size` distinct texts; a text seen before is neither encoded nor searched again.

        texts (List[str]): The mentions.
        RETURNS (List[Link]): One answer per mention.
        """
        if not self.cache_size:
            return self.link_texts(texts)
        # A change of threshold, top_k or quantisation changes the answers: forget them.
        settings = (self.threshold, self.cfg["top_k"], self.quantize)
        if settings != self._cache_settings:
            self._cache.clear()
            self._cache_settings = settings
        found: Dict[str, Link] = {}
        for text in texts:
            if text in self._cache and text not in found:
                self._cache.move_to_end(text)
                found[text] = self._cache[text]
        new = list(dict.fromkeys(text for text in texts if text not in found))
        for text, link in zip(new, self.link_texts(new)):
            found[text] = self._cache[text] = link
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return [found[text] for text in texts]

    def forget_links(self) -> None:
        """Empty the memory of `link_remembered` (e.g. before timing the linker)."""
        self._cache.clear()

    def __call__(self, doc: Doc) -> Doc:
        """Link the entities of one document.

        doc (Doc): A document with `doc.ents` set.
        RETURNS (Doc): The same document, entities rewritten with kb_id_ = concept code.
        """
        return next(iter(self.pipe([doc])))

    def pipe(self, stream: Iterable[Doc], *, batch_size: Optional[int] = None) -> Iterator[Doc]:
        """Link the entities of a stream of documents, encoding mentions in batches.

        stream (Iterable[Doc]): Documents with `doc.ents` set.
        batch_size (Optional[int]): Documents per batch; None: the config's `batch_size`.
        YIELDS (Doc): The documents, in order.
        """
        self._require_initialized()
        labels = set(self.cfg["labels"])
        for docs in minibatch(stream, size=batch_size or self.cfg["batch_size"]):
            mentions = [(doc, ent) for doc in docs for ent in doc.ents if ent.label_ in labels]
            links = self.link_remembered([ent.text for _, ent in mentions])
            by_doc: Dict[int, Dict[Tuple[int, int], Link]] = {}
            for (doc, ent), link in zip(mentions, links):
                by_doc.setdefault(id(doc), {})[(ent.start, ent.end)] = link
            for doc in docs:
                if id(doc) in by_doc:
                    self._set_annotations(doc, by_doc[id(doc)])
                yield doc

    def _set_annotations(self, doc: Doc, links: Dict[Tuple[int, int], Link]) -> None:
        ents = []
        annotated = []
        for ent in doc.ents:
            link = links.get((ent.start, ent.end))
            if link is None:
                ents.append(ent)
                continue
            span = Span(doc, ent.start, ent.end, label=ent.label, kb_id=link.code)
            ents.append(span)
            annotated.append((span, link))
        doc.ents = ents
        meddra = isinstance(self.kb, MeddraKB)
        # Extension values are keyed by character offsets, so they are set on the new spans.
        for span, link in annotated:
            span._.concept_name = self.kb.name(link.code)
            span._.link_score = link.score
            span._.link_method = link.method
            if self.cfg["top_k"] > 0:
                span._.concept_candidates = [
                    {"code": code, "name": self.kb.name(code), "score": score} for code, score in link.candidates
                ]
            if meddra:
                concept = self.kb[link.code]
                span._.meddra_term = concept.llt_name
                span._.meddra_pt = concept.pt_code
                span._.meddra_pt_term = concept.pt_name
                if self.cfg["top_k"] > 0:
                    span._.meddra_candidates = [
                        {"code": c["code"], "term": c["name"], "score": c["score"]} for c in span._.concept_candidates
                    ]

    def score(self, examples: Iterable[Example], **kwargs: Any) -> Dict[str, float]:
        """Accuracy@1 of kb_id_ on the predicted entities that match a gold entity exactly.

        examples (Iterable[Example]): Predicted and gold documents.
        RETURNS (Dict[str, float]): {"linker_acc": accuracy or 0.0 when nothing matched}.
        """
        right = total = 0
        for example in examples:
            gold = {(e.start_char, e.end_char): e.kb_id_ for e in example.reference.ents if e.kb_id_}
            for ent in example.predicted.ents:
                code = gold.get((ent.start_char, ent.end_char))
                if code is not None:
                    total += 1
                    right += ent.kb_id_ == code
        return {"linker_acc": right / total if total else 0.0}

    # -- serialisation -----------------------------------------------------------------------

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        """Write the linker to a folder: cfg, kb.tsv, encoder/, classifier, index/.

        path (Union[str, Path]): The folder.
        exclude (Iterable[str]): Unused; kept for the spaCy API.
        """
        self._require_initialized()
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        kb_format = "meddra" if isinstance(self.kb, MeddraKB) else "concepts"
        cfg = {**self.cfg, "classifier": self.classifier is not None, "kb_format": kb_format}
        if kb_format == "concepts":
            cfg["kb_label"] = self.kb.label
        srsly.write_json(path / CFG_FILE, cfg)
        self.kb.to_disk(path / KB_FILE)
        self.encoder.save(str(path / ENCODER_DIR))
        self.index.to_disk(path / INDEX_DIR)
        if self.classifier is not None:
            self.classifier.to_disk(path / CLASSIFIER_FILE)

    def from_disk(
        self, path: Union[str, Path], *, exclude: Iterable[str] = tuple(), keep_threshold: bool = False
    ) -> "ConceptLinker":
        """Load a folder written by `to_disk`.

        path (Union[str, Path]): The folder.
        exclude (Iterable[str]): Unused; kept for the spaCy API.
        keep_threshold (bool): Keep this component's `threshold`, `top_k`, `labels` and
            `batch_size` (its config) and take only the trained threshold from the folder.
        RETURNS (ConceptLinker): The linker itself.
        """
        path = ensure_path(path)
        if not (path / CFG_FILE).is_file():
            raise FileNotFoundError(f"{path} is not a linker folder: {CFG_FILE} is missing")
        cfg = srsly.read_json(path / CFG_FILE)
        has_classifier = cfg.pop("classifier", False)
        kb_format = cfg.pop("kb_format", "meddra")
        kb_label = cfg.pop("kb_label", None)
        if kb_format not in KB_FORMATS:
            raise ValueError(f"{path / CFG_FILE}: unknown kb_format {kb_format!r} (expected {sorted(KB_FORMATS)})")
        if keep_threshold:
            self.cfg["trained_threshold"] = cfg.get("trained_threshold")
        else:
            self.cfg.update(cfg)
        kb = KB_FORMATS[kb_format]().from_disk(path / KB_FILE)
        if kb_label is not None:
            kb.label = kb_label
        head = ClassifierHead.from_disk(path / CLASSIFIER_FILE) if has_classifier else None
        self.set_parts(
            kb=kb,
            encoder=load_encoder(path / ENCODER_DIR),
            classifier=head,
            index=ConceptIndex.from_disk(path / INDEX_DIR),
        )
        return self


def embedding_width(encoder: Any) -> int:
    """The vector width of a sentence-transformers model (the method was renamed in 5.x)."""
    width = getattr(encoder, "get_embedding_dimension", None) or encoder.get_sentence_embedding_dimension
    return width()


def load_encoder(path: Union[str, Path]) -> Any:
    """Load a sentence-transformers model on the CPU.

    path (Union[str, Path]): Its folder.
    RETURNS (SentenceTransformer): The model, in eval mode.
    """
    from sentence_transformers import SentenceTransformer

    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"Sentence-transformers model folder {path} not found")
    model = SentenceTransformer(str(path), device="cpu")
    model.eval()
    return model


def build_index(kb: KnowledgeBase, encode: Callable[[List[str]], numpy.ndarray], *, progress: bool = False) -> ConceptIndex:
    """Embed every name of `kb` (`kb.entries()`: one per LLT for MedDRA, synonyms too for a
    `ConceptKB`), in KB order.

    kb (KnowledgeBase): The terminology.
    encode (Callable[[List[str]], numpy.ndarray]): Texts -> unit vectors.
    progress (bool): Show a progress bar.
    RETURNS (ConceptIndex): The index.
    """
    names, codes = kb.entries()
    return ConceptIndex.build(names, codes, encode, progress=progress)


def _dedupe(codes: List[str], scores: Sequence[float]) -> List[Tuple[str, float]]:
    seen = set()
    out = []
    for code, score in zip(codes, scores):
        if code not in seen:
            seen.add(code)
            out.append((code, float(score)))
    return out


# The class's name before it linked to any KB; existing code and tests import it.
MeddraLinker = ConceptLinker
