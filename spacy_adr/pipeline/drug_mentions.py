"""`adr_drug_mentions`: drug mentions in `doc.spans["drugs"]`, and the drug of each ADR span.

Each mention is a span labelled "DRUG" whose `kb_id_` is the normalised drug name from the
drug lexicon (`spacy_adr.kb.drugs`): "Seroquel XR" and "quetiapine" both get "quetiapine" when
the lexicon says so. Each ADR span of `doc.ents` then gets `span._.drug`: the normalised name
of the drug mention that the component's rule picks (`spacy_adr.drug_attribution`;
"preceding" by default, chosen on Task 3 dev), None when the tweet names no drug. It never
changes `doc.ents`, and runs last: after the NER, and after the span gate, which may remove
ADR spans.

Names match case-insensitively as whole words, leftmost-longest (`spacy_adr.kb.drug_matcher`):
"#Humira", "xanax's", "SEROQUEL" and "trazodone,1pill" are mentions, "ciprofloxacin" holds
no "ofloxacin". A mention inside a token ("trazodone" of the token "trazodone,1pill") is
widened to whole tokens; its `kb_id_` still names the drug matched.

The lexicon enters at `initialize` through `[initialize.components.adr_drug_mentions.lexicon]`
(`spacy-adr.drug_lexicon.v1`: the lexicon the project built, then a user's own list) and
leaves through `to_disk` as `lexicon.tsv`.
"""
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Union

import srsly
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import ensure_path

from .. import extensions  # noqa: F401  (installs Span._.drug)
from ..drug_attribution import DEFAULT_RULE, Mention, get_rule
from ..kb.drug_matcher import DrugMatcher
from ..kb.drugs import DrugLexicon, read_drug_lexicon

FACTORY = "adr_drug_mentions"
DRUGS_KEY = "drugs"
LEXICON_FILE = "lexicon.tsv"
CFG_FILE = "cfg"


@Language.factory(
    FACTORY,
    requires=["doc.ents"],
    assigns=["doc.spans", "span._.drug"],
    default_config={"spans_key": DRUGS_KEY, "label": "DRUG", "rule": DEFAULT_RULE, "adr_labels": ["ADR"]},
)
def make_drug_mentions(
    nlp: Language, name: str, *, spans_key: str, label: str, rule: str, adr_labels: List[str]
) -> "DrugMentions":
    """Create the `adr_drug_mentions` component (without a lexicon; it comes at `initialize`).

    nlp (Language): The pipeline.
    name (str): The component name.
    spans_key (str): The `doc.spans` key of the drug mentions.
    label (str): The label of the drug mentions.
    rule (str): How an ADR span's drug is chosen (`spacy_adr.drug_attribution.RULES`).
    adr_labels (List[str]): Labels of the `doc.ents` spans that get `span._.drug`.
    RETURNS (DrugMentions): The component.
    """
    return DrugMentions(nlp, name, spans_key=spans_key, label=label, rule=rule, adr_labels=adr_labels)


class DrugMentions:
    """Marks drug mentions in `doc.spans[spans_key]` and sets `span._.drug` on ADR spans."""

    def __init__(
        self,
        nlp: Optional[Language] = None,
        name: str = FACTORY,
        *,
        spans_key: str = DRUGS_KEY,
        label: str = "DRUG",
        rule: str = DEFAULT_RULE,
        adr_labels: Iterable[str] = ("ADR",),
    ) -> None:
        """Initialize the component without a lexicon; see `make_drug_mentions`."""
        self.name = name
        self.cfg = {"spans_key": spans_key, "label": label, "rule": rule, "adr_labels": list(adr_labels)}
        self._rule = get_rule(rule)  # an unknown rule fails here, not on the first tweet
        self.lexicon = DrugLexicon()
        self._matcher: Optional[DrugMatcher] = None

    def __len__(self) -> int:
        """RETURNS (int): The number of drug names."""
        return len(self.lexicon)

    def initialize(
        self,
        get_examples: Optional[Callable[[], Iterable[Example]]] = None,
        *,
        nlp: Optional[Language] = None,
        lexicon: Optional[DrugLexicon] = None,
    ) -> None:
        """Set the lexicon, replacing any present. Called by `nlp.initialize`.

        get_examples (Optional[Callable[[], Iterable[Example]]]): Unused.
        nlp (Optional[Language]): Unused.
        lexicon (Optional[DrugLexicon]): The lexicon, e.g. from `spacy-adr.drug_lexicon.v1`
            in `[initialize.components.adr_drug_mentions.lexicon]`.
        """
        if lexicon is None:
            raise ValueError(_no_lexicon_message(self.name, "was initialized without a lexicon"))
        self.set_lexicon(lexicon)

    def set_lexicon(self, lexicon: DrugLexicon) -> None:
        """Replace the lexicon and rebuild the matcher.

        lexicon (DrugLexicon): The drug names and their normalised drugs.
        """
        if not len(lexicon):
            raise ValueError(_no_lexicon_message(self.name, "got an empty lexicon"))
        self.lexicon = lexicon
        self._matcher = DrugMatcher(lexicon)

    def __call__(self, doc: Doc) -> Doc:
        """Mark the drug mentions of a tweet and set the drug of its ADR spans.

        doc (Doc): The tweet, with its ADR spans in doc.ents.
        RETURNS (Doc): The same tweet.
        """
        offsets = self.find_offsets(doc)
        label = self.cfg["label"]
        doc.spans[self.cfg["spans_key"]] = [
            doc.char_span(start, end, label=label, kb_id=drug, alignment_mode="expand")
            for start, end, drug in offsets
        ]
        labels = self.cfg["adr_labels"]
        for ent in doc.ents:
            if ent.label_ in labels:
                ent._.drug = self._rule((ent.start_char, ent.end_char), offsets) if offsets else None
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterable[Doc]:
        """Process a stream of tweets.

        stream (Iterable[Doc]): The tweets.
        batch_size (int): Unused; the component works tweet by tweet.
        YIELDS (Doc): The tweets.
        """
        for doc in stream:
            yield self(doc)

    def find_offsets(self, doc: Doc) -> List[Mention]:
        """The drug mentions of a tweet in characters, without setting anything.

        doc (Doc): The tweet.
        RETURNS (List[Mention]): (start_char, end_char, drug) of each mention, in order: the
            name matched, which may be part of a token.
        """
        if self._matcher is None:
            raise ValueError(_no_lexicon_message(self.name, "has no lexicon"))
        return self._matcher.find(doc.text)

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        """Save the lexicon (`lexicon.tsv`) and settings to a directory.

        path (Union[str, Path]): The directory.
        exclude (Iterable[str]): Unused.
        """
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.lexicon.to_disk(path / LEXICON_FILE)
        srsly.write_json(path / CFG_FILE, {**self.cfg, "n_names": len(self.lexicon)})

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> "DrugMentions":
        """Load the lexicon from a directory written by `to_disk` and rebuild the matcher.

        The settings stay those of the config the pipeline was loaded with.

        path (Union[str, Path]): The directory.
        exclude (Iterable[str]): Unused.
        RETURNS (DrugMentions): The component.
        """
        path = ensure_path(path)
        lexicon = DrugLexicon(read_drug_lexicon(path / LEXICON_FILE))
        if len(lexicon):
            self.set_lexicon(lexicon)
        return self

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        """Serialize the lexicon.

        exclude (Iterable[str]): Unused.
        RETURNS (bytes): The serialized lexicon.
        """
        entries = [(entry.name, entry.drug) for entry in self.lexicon]
        return srsly.msgpack_dumps({"entries": entries})

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = tuple()) -> "DrugMentions":
        """Load the lexicon from bytes written by `to_bytes` and rebuild the matcher.

        data (bytes): The serialized lexicon.
        exclude (Iterable[str]): Unused.
        RETURNS (DrugMentions): The component.
        """
        lexicon = DrugLexicon(srsly.msgpack_loads(data)["entries"])
        if len(lexicon):
            self.set_lexicon(lexicon)
        return self


def _no_lexicon_message(name: str, what: str) -> str:
    return (
        f"{name} {what}: initialize the pipeline with a lexicon loader in "
        f"[initialize.components.{name}.lexicon], e.g. "
        f'@misc = "spacy-adr.drug_lexicon.v1" with paths = ["training/drug_lexicon.tsv"] '
        f"(spacy-adr-builder drug-lexicon writes it), or call "
        f"nlp.get_pipe({name!r}).initialize(lexicon=DrugLexicon([...]))."
    )
