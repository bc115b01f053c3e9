"""`adr_textcat_ensemble`: vote over K trained tweet classifiers, as the paper's 10-model ensemble.

The members are ordinary text classifiers (`textcat_multilabel` on a transformer or a CNN)
living in the same pipeline under their own names, e.g. `textcat_0` ... `textcat_4`, and
*disabled*, so that they do not each run and overwrite `doc.cats`: the ensemble asks each of
them for its scores (`member.predict(docs)`) and writes the vote into `doc.cats[label]`.
A member must therefore not need another component's output beyond what runs before the
ensemble: a CNN classifier carries its own tok2vec, and a transformer classifier gets its own
copy of its transformer when it is assembled (`replace_listeners`, see `spacy-adr
assemble-ensemble`).

Voting:
- "mean": `doc.cats[label]` is the mean of the members' probabilities;
- "majority": each member votes ADR when its probability reaches its own `threshold`;
  `doc.cats[label]` is the fraction of members voting ADR.
The ensemble's own `threshold` turns `doc.cats[label]` into the decision (0.5 with
"majority" is a majority, ties counting as ADR); `spacy-adr tune-threshold` chooses it on dev.
"""
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Union

import numpy
import srsly
from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import ensure_path, minibatch
from wasabi import msg

VOTING = ("mean", "majority")
CFG_FILE = "cfg"


@Language.factory(
    "adr_textcat_ensemble",
    assigns=["doc.cats"],
    default_config={"members": [], "voting": "mean", "threshold": 0.5, "label": "ADR"},
    default_score_weights={"cats_score": 1.0},
)
def make_textcat_ensemble(
    nlp: Language, name: str, *, members: List[str], voting: str, threshold: float, label: str
) -> "TextcatEnsemble":
    """Create the `adr_textcat_ensemble` component.

    members (List[str]): Names of the member classifiers in the same pipeline.
    voting (str): "mean" (mean probability) or "majority" (fraction of members voting ADR).
    threshold (float): Decision threshold on the combined `doc.cats[label]`.
    label (str): The category voted on.
    RETURNS (TextcatEnsemble): The component.
    """
    return TextcatEnsemble(nlp, name, members=members, voting=voting, threshold=threshold, label=label)


class TextcatEnsemble(Pipe):
    """Combines the scores of member text classifiers into `doc.cats[label]`."""

    def __init__(
        self, nlp: Language, name: str = "adr_textcat_ensemble", *, members: List[str],
        voting: str = "mean", threshold: float = 0.5, label: str = "ADR",
    ) -> None:
        """Initialize the component.

        nlp (Language): The pipeline the members live in.
        name (str): The component's name.
        members (List[str]): Names of the member classifiers.
        voting (str): "mean" or "majority".
        threshold (float): Decision threshold on the combined score.
        label (str): The category voted on.
        """
        if voting not in VOTING:
            raise ValueError(f"adr_textcat_ensemble: voting must be one of {VOTING}, got {voting!r}")
        if not members:
            raise ValueError("adr_textcat_ensemble: give at least one member classifier")
        if name in members:
            raise ValueError(f"adr_textcat_ensemble: {name!r} cannot be its own member")
        self.nlp = nlp
        self.name = name
        self.cfg: Dict[str, Any] = {
            "members": list(members), "voting": voting, "threshold": float(threshold), "label": label,
        }
        self._warned_enabled = False

    @property
    def labels(self) -> tuple:
        """RETURNS (tuple): The one category this component writes."""
        return (self.cfg["label"],)

    @property
    def members(self) -> List[str]:
        """RETURNS (List[str]): Names of the member classifiers."""
        return list(self.cfg["members"])

    def __call__(self, doc: Doc) -> Doc:
        """Write the combined score of one Doc into `doc.cats`."""
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Write the combined score of each Doc of a stream into `doc.cats`."""
        for docs in minibatch(stream, size=batch_size):
            self.set_annotations(docs, self.predict(docs))
            yield from docs

    def member_scores(self, docs: List[Doc]) -> numpy.ndarray:
        """Each member's probability of the label for each Doc.

        docs (List[Doc]): The Docs.
        RETURNS (numpy.ndarray): Shape (members, docs).
        """
        label = self.cfg["label"]
        rows = []
        for name in self.members:
            member = self._member(name)
            scores = member.model.ops.to_numpy(member.predict(docs))
            rows.append(numpy.asarray(scores)[:, list(member.labels).index(label)])
        return numpy.vstack(rows) if rows else numpy.zeros((0, len(docs)))

    def predict(self, docs: Iterable[Doc]) -> numpy.ndarray:
        """The combined score of each Doc.

        docs (Iterable[Doc]): The Docs.
        RETURNS (numpy.ndarray): One score per Doc.
        """
        docs = list(docs)
        if not docs:
            return numpy.zeros((0,), dtype="f")
        scores = self.member_scores(docs)
        if self.cfg["voting"] == "mean":
            return scores.mean(axis=0)
        thresholds = numpy.asarray(
            [[float(self._member(name).cfg.get("threshold", 0.5))] for name in self.members]
        )
        return (scores >= thresholds).mean(axis=0)

    def set_annotations(self, docs: Iterable[Doc], scores: numpy.ndarray) -> None:
        """Write `doc.cats[label]`."""
        label = self.cfg["label"]
        for doc, score in zip(docs, scores):
            doc.cats[label] = float(score)

    def _member(self, name: str):
        if name not in self.nlp.component_names:
            raise ValueError(
                f"adr_textcat_ensemble {self.name!r}: member {name!r} is not in the pipeline "
                f"{self.nlp.component_names}"
            )
        member = self.nlp.get_pipe(name)
        label = self.cfg["label"]
        if label not in getattr(member, "labels", ()) or not hasattr(member, "predict"):
            raise ValueError(
                f"adr_textcat_ensemble {self.name!r}: member {name!r} is not a classifier of {label!r}"
            )
        if name in self.nlp.pipe_names and not self._warned_enabled:
            # It still works (the ensemble writes last), but the member runs twice.
            msg.warn(f"adr_textcat_ensemble: member {name!r} is enabled; disable it to run it once")
            self._warned_enabled = True
        return member

    def initialize(self, get_examples=None, *, nlp: Optional[Language] = None) -> None:
        """Check that every member is in the pipeline and classifies the label."""
        for name in self.members:
            self._member(name)

    def score(self, examples: Iterable[Example], **kwargs) -> Dict[str, Any]:
        """P/R/F1 of the label at the ensemble's threshold, as spaCy's textcat_multilabel."""
        return Scorer.score_cats(
            examples, "cats", labels=self.labels, multi_label=True,
            threshold=self.cfg["threshold"], **kwargs,
        )

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        """Save the settings (the threshold may have been tuned after creation)."""
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / CFG_FILE, self.cfg)

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> "TextcatEnsemble":
        """Load the settings written by `to_disk`."""
        path = ensure_path(path)
        if (path / CFG_FILE).exists():
            self.cfg.update(srsly.read_json(path / CFG_FILE))
        return self

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        """Serialize the settings."""
        return srsly.msgpack_dumps(self.cfg)

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = tuple()) -> "TextcatEnsemble":
        """Load the settings written by `to_bytes`."""
        self.cfg.update(srsly.msgpack_loads(data))
        return self
