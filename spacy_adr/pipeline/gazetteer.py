"""`adr_gazetteer`: dictionary (gazetteer) B/I/O tags from ADR lexicons and MedDRA names.

The KFU system concatenates these tags to the transformer output of its NER model; the
component writes them to `token._.adr_gaz` ("B", "I" or "O").

Matching rules:
- Case-insensitive, on the lowercased `token.text` (not `token.norm_`), so the tags do not
  depend on whether `adr_tweet_normalizer` runs first. Exception (config
  `case_sensitive_acronyms`, on by default): a term written all in capitals, such as the
  MedDRA LLTs "ALL" (acute lymphoblastic leukaemia), "GOT", "ADD" or "TOP", matches only in
  capitals; case-insensitively these were the most frequent matches in tweets ("all", "got"). Tokens are joined with one space where
  the text has any whitespace between them (whitespace tokens are skipped), else with
  nothing: "Weight  Gain" matches "weight gain", "weight-gain" matches "weight-gain".
- A match must start at a token start and end at a token end: "pain" does not match in
  "painting", but does in "pain." and "pain-killer".
- Leftmost-longest, non-overlapping: "weight gain" wins over "gain".
- The first token of a match is "B", the others (a whitespace token inside it too) "I".

Terms enter at `initialize` (through a `[initialize.components.adr_gazetteer.terms]` loader
such as `spacy-adr.gazetteer_terms.v1`) and leave through `to_disk` as `terms.txt`; the
Aho-Corasick automaton (pyahocorasick) is rebuilt from them on load, like spaCy's span_ruler
rebuilds its matchers.
"""
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple, Union

import ahocorasick
import srsly
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import ensure_path, registry

from .. import extensions  # noqa: F401  (installs Token._.adr_gaz)
from ..kb.lexicon import normalize_term

TERMS_FILE = "terms.txt"
CFG_FILE = "cfg"


@Language.factory(
    "adr_gazetteer",
    assigns=["token._.adr_gaz"],
    default_config={"case_sensitive_acronyms": True},
)
def make_gazetteer(nlp: Language, name: str, *, case_sensitive_acronyms: bool) -> "AdrGazetteer":
    """Create the `adr_gazetteer` component (without terms; they come at `initialize`).

    nlp (Language): The pipeline.
    name (str): The component name.
    case_sensitive_acronyms (bool): Terms written all in capitals match only in capitals.
    RETURNS (AdrGazetteer): The component.
    """
    return AdrGazetteer(nlp, name, case_sensitive_acronyms=case_sensitive_acronyms)


@registry.misc("spacy-adr.gazetteer_terms.v1")
def gazetteer_terms_v1(
    lexicons: List[Path] = [],
    meddra: Optional[Path] = None,
    min_length: int = 3,
) -> List[str]:
    """Config loader of gazetteer terms: plain term lists and MedDRA LLT names.

    Use it as `[initialize.components.adr_gazetteer.terms] @misc = "spacy-adr.gazetteer_terms.v1"`.

    lexicons (List[Path]): Term lists, one term a line (e.g. `adr_lexicon.txt`).
    meddra (Optional[Path]): MedDRA in a format `spacy_adr.kb.meddra.load_meddra` reads
        (e.g. `llt.tsv`); all its LLT names are added.
    min_length (int): Leave out terms shorter than this many characters (after whitespace
        normalisation): one- and two-letter entries would match everywhere.
    RETURNS (List[str]): The terms, deduplicated ignoring case and whitespace, in input order.
    """
    # Imported here so that loading the component (e.g. from disk) never needs the kb code.
    from ..kb.lexicon import read_lexicon
    from ..kb.meddra import load_meddra

    terms: Dict[str, str] = {}

    def add(term: str) -> None:
        key = normalize_term(term)
        if len(key) >= min_length and key not in terms:
            terms[key] = term

    for path in lexicons:
        for term in read_lexicon(path, min_length=min_length):
            add(term)
    if meddra is not None:
        for name in load_meddra(meddra).names():
            add(name)
    return list(terms.values())


class AdrGazetteer:
    """Tag tokens covered by a gazetteer term with B/I in `token._.adr_gaz` (else "O")."""

    def __init__(
        self,
        nlp: Optional[Language] = None,
        name: str = "adr_gazetteer",
        *,
        case_sensitive_acronyms: bool = True,
    ) -> None:
        """Initialize the gazetteer without terms.

        nlp (Optional[Language]): The pipeline (unused; kept for the factory signature).
        name (str): The component name.
        case_sensitive_acronyms (bool): Terms written all in capitals match only in capitals.
        """
        self.name = name
        self.cfg = {"case_sensitive_acronyms": case_sensitive_acronyms}
        self.terms: List[str] = []
        self._automaton: Optional[ahocorasick.Automaton] = None

    def __len__(self) -> int:
        """RETURNS (int): The number of (normalised, distinct) terms."""
        return len(self.terms)

    def initialize(
        self,
        get_examples: Optional[Callable[[], Iterable[Example]]] = None,
        *,
        nlp: Optional[Language] = None,
        terms: Optional[Iterable[str]] = None,
    ) -> None:
        """Set the terms, replacing any present. Called by `nlp.initialize`.

        get_examples (Optional[Callable[[], Iterable[Example]]]): Unused.
        nlp (Optional[Language]): Unused.
        terms (Optional[Iterable[str]]): The terms, e.g. from `spacy-adr.gazetteer_terms.v1`
            in `[initialize.components.adr_gazetteer.terms]`.
        """
        if terms is None:
            raise ValueError(_no_terms_message(self.name, "was initialized without terms"))
        self.set_terms(terms)

    def set_terms(self, terms: Iterable[str]) -> None:
        """Replace the terms and rebuild the automaton.

        terms (Iterable[str]): The terms; matched after `normalize_term`, duplicates dropped.
        """
        keep = self.cfg["case_sensitive_acronyms"]
        normalized = {normalize_term(term, keep_acronyms=keep) for term in terms}
        normalized.discard("")
        if not normalized:
            raise ValueError(_no_terms_message(self.name, "got an empty term list"))
        self.terms = sorted(normalized)
        # Key: the lowercased term; value: (length, the exact spelling required or None).
        # A term present both in capitals and not is matched case-insensitively.
        entries: Dict[str, Tuple[int, Optional[str]]] = {}
        for term in self.terms:
            key = term.lower()
            exact = term if term != key else None
            if key not in entries or exact is None:
                entries[key] = (len(key), exact)
        automaton = ahocorasick.Automaton()
        for key, value in entries.items():
            automaton.add_word(key, value)
        automaton.make_automaton()
        self._automaton = automaton

    def __call__(self, doc: Doc) -> Doc:
        """Set `token._.adr_gaz` of every token of `doc`.

        doc (Doc): The document.
        RETURNS (Doc): The same document.
        """
        if self._automaton is None:
            raise ValueError(_no_terms_message(self.name, "has no terms"))
        spans = self.match(doc)
        # Setting an extension costs ~3 µs a token, more than the matching: "O" is the
        # attribute's default, so only B/I tokens are written unless the doc was tagged before.
        if _has_gazetteer_tags(doc):
            for token in doc:
                token._.adr_gaz = "O"
        for start, end in spans:
            doc[start]._.adr_gaz = "B"
            for i in range(start + 1, end):
                doc[i]._.adr_gaz = "I"
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterable[Doc]:
        """Tag a stream of documents.

        stream (Iterable[Doc]): The documents.
        batch_size (int): Unused; the component works doc by doc.
        YIELDS (Doc): The tagged documents.
        """
        for doc in stream:
            yield self(doc)

    def match(self, doc: Doc) -> List[Tuple[int, int]]:
        """The token ranges of the gazetteer matches in `doc`, leftmost-longest, non-overlapping.

        doc (Doc): The document.
        RETURNS (List[Tuple[int, int]]): (start, end) token indices, end exclusive, in order.
        """
        if self._automaton is None:
            raise ValueError(_no_terms_message(self.name, "has no terms"))
        # The lowercased token texts joined as described in the module docstring, with maps
        # from a character position of that string to the token starting / ending there.
        pieces: List[str] = []
        originals: List[str] = []
        starts: Dict[int, int] = {}
        ends: Dict[int, int] = {}
        pos = 0
        space_pending = False
        for token in doc:
            if token.is_space:
                space_pending = pos > 0
                continue
            if space_pending:
                pieces.append(" ")
                originals.append(" ")
                pos += 1
            text = token.lower_
            starts[pos] = token.i
            pos += len(text)
            ends[pos] = token.i + 1
            pieces.append(text)
            originals.append(token.text)
            space_pending = bool(token.whitespace_)
        string = "".join(pieces)
        original: Optional[str] = None
        candidates = []
        for last, (length, exact) in self._automaton.iter(string):
            start = last + 1 - length
            if start in starts and last + 1 in ends:
                if exact is not None:
                    # Lowercasing keeps the length of nearly all strings; where it does not
                    # (e.g. "İ"), the offsets differ and the exact comparison just fails.
                    if original is None:
                        original = "".join(originals)
                    if original[start : last + 1] != exact:
                        continue
                candidates.append((start, -length))
        if not candidates:
            return []
        candidates.sort()
        spans: List[Tuple[int, int]] = []
        taken = -1
        for start, neg_length in candidates:
            if start >= taken:
                taken = start - neg_length
                spans.append((starts[start], ends[taken]))
        return spans

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        """Save the terms (`terms.txt`, one a line) to a directory.

        path (Union[str, Path]): The directory.
        exclude (Iterable[str]): Unused.
        """
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        with (path / TERMS_FILE).open("w", encoding="utf-8") as file_:
            for term in self.terms:
                file_.write(term + "\n")
        srsly.write_json(path / CFG_FILE, {**self.cfg, "n_terms": len(self.terms)})

    def from_disk(
        self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()
    ) -> "AdrGazetteer":
        """Load the terms from a directory written by `to_disk` and rebuild the automaton.

        path (Union[str, Path]): The directory.
        exclude (Iterable[str]): Unused.
        RETURNS (AdrGazetteer): The component.
        """
        path = ensure_path(path)
        if (path / CFG_FILE).exists():
            cfg = srsly.read_json(path / CFG_FILE)
            self.cfg["case_sensitive_acronyms"] = cfg.get(
                "case_sensitive_acronyms", self.cfg["case_sensitive_acronyms"]
            )
        text = (path / TERMS_FILE).read_text(encoding="utf-8")
        terms = text.split("\n")
        if terms and terms[-1] == "":
            terms.pop()
        if terms:
            self.set_terms(terms)
        return self

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        """Serialize the terms.

        exclude (Iterable[str]): Unused.
        RETURNS (bytes): The serialized terms.
        """
        return srsly.msgpack_dumps({"cfg": self.cfg, "terms": self.terms})

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = tuple()) -> "AdrGazetteer":
        """Load the terms from bytes written by `to_bytes` and rebuild the automaton.

        data (bytes): The serialized terms.
        exclude (Iterable[str]): Unused.
        RETURNS (AdrGazetteer): The component.
        """
        msg = srsly.msgpack_loads(data)
        self.cfg.update(msg.get("cfg", {}))
        terms = msg["terms"]
        if terms:
            self.set_terms(terms)
        return self

    # Pickled with the terms only (nlp.pipe with n_process under "spawn"): smaller than the
    # automaton and rebuilt in well under a second.
    def __getstate__(self) -> dict:
        return {"name": self.name, "cfg": self.cfg, "terms": self.terms}

    def __setstate__(self, state: dict) -> None:
        self.name = state["name"]
        self.cfg = state["cfg"]
        self.terms = []
        self._automaton = None
        if state["terms"]:
            self.set_terms(state["terms"])


def _has_gazetteer_tags(doc: Doc) -> bool:
    # Token extension values live in doc.user_data under ("._.", name, token.idx, None).
    return any(
        isinstance(key, tuple) and len(key) == 4 and key[0] == "._." and key[1] == "adr_gaz"
        for key in doc.user_data
    )


def _no_terms_message(name: str, what: str) -> str:
    return (
        f"{name} {what}: initialize the pipeline with a term loader in "
        f"[initialize.components.{name}.terms], e.g. "
        f'@misc = "spacy-adr.gazetteer_terms.v1" with lexicons = ["adr_lexicon.txt"] '
        f"and meddra = llt.tsv, or call nlp.get_pipe({name!r}).initialize(terms=[...])."
    )
