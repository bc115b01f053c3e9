"""A terminology-neutral knowledge base: concepts with a code, names and an optional parent.

The linker (`adr_concept_linker`, `adr_meddra_linker`) links to anything that offers the
`KnowledgeBase` protocol below. Two classes do:

- `MeddraKB` (`spacy_adr.kb.meddra`): one name per LLT, the PT as parent.
- `ConceptKB` (here): any terminology. A concept has a code, a preferred name, synonyms and
  an optional parent code (nothing for a flat list), loaded from a plain TSV
  (`read_concept_tsv`).

The plain TSV, UTF-8, one row per name (several rows per code give synonyms; the first
row of a code gives its preferred name):

    code<TAB>name[<TAB>parent]

An optional header `code name [parent]`, blank lines and lines starting with `#` are
skipped. `ConceptKB.to_disk` writes this format, so a trained linker's `kb.tsv` is also a
valid input file.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Protocol, Sequence, Tuple, Union, runtime_checkable

import spacy

from ..errors import InputError

TSV_HEADER = ("code", "name", "parent")


# Runtime-checkable: spaCy validates `initialize` arguments against their annotations.
@runtime_checkable
class KnowledgeBase(Protocol):
    """What the linker and its training need of a terminology."""

    label: str  # e.g. "MedDRA", "SNOMED CT": used in messages

    def __len__(self) -> int: ...

    def __contains__(self, code: object) -> bool: ...

    @property
    def codes(self) -> List[str]: ...

    def name(self, code: str) -> str:
        """The preferred name of a concept."""

    def names_of(self, code: str) -> List[str]:
        """All names of a concept, the preferred one first."""

    def parent(self, code: str) -> str:
        """The parent's code (the code itself for a top concept or a flat list)."""

    def entries(self) -> Tuple[List[str], List[str]]:
        """(names, codes) to embed for the metric path, one row per name, in KB order."""

    def to_disk(self, path: Union[str, Path]) -> None: ...


@dataclass(frozen=True)
class Concept:
    """One concept of a terminology.

    code (str): The concept's code (any string without whitespace).
    name (str): Preferred name.
    synonyms (Tuple[str, ...]): Other names.
    parent (Optional[str]): Code of the parent concept; None for a flat list.
    """

    code: str
    name: str
    synonyms: Tuple[str, ...] = ()
    parent: Optional[str] = None

    @property
    def names(self) -> List[str]:
        """RETURNS (List[str]): The preferred name, then the synonyms."""
        return [self.name, *self.synonyms]


class ConceptKB:
    """Concepts of any terminology, indexed by code, in the order they were added."""

    def __init__(self, concepts: Iterable[Concept] = (), *, label: str = "concept") -> None:
        """Create a knowledge base.

        concepts (Iterable[Concept]): Concepts; codes must be unique.
        label (str): The terminology's name, for messages (e.g. "SNOMED CT").
        """
        self.label = label
        self._concepts: Dict[str, Concept] = {}
        for concept in concepts:
            self.add(concept)

    def add(self, concept: Concept) -> None:
        """Add a concept; its code must not be in the KB yet."""
        if concept.code in self._concepts:
            raise ValueError(f"Code {concept.code} is already in the {self.label} KB")
        self._concepts[concept.code] = concept

    def __len__(self) -> int:
        return len(self._concepts)

    def __contains__(self, code: object) -> bool:
        return code in self._concepts

    def __getitem__(self, code: str) -> Concept:
        return self._concepts[code]

    def __iter__(self) -> Iterator[Concept]:
        return iter(self._concepts.values())

    @property
    def codes(self) -> List[str]:
        """RETURNS (List[str]): All codes, in KB order."""
        return list(self._concepts)

    def name(self, code: str) -> str:
        """RETURNS (str): The preferred name of `code`."""
        return self._concepts[code].name

    def names_of(self, code: str) -> List[str]:
        """RETURNS (List[str]): All names of `code`, the preferred one first."""
        return self._concepts[code].names

    def parent(self, code: str) -> str:
        """RETURNS (str): The parent's code, or `code` itself when it has none."""
        return self._concepts[code].parent or code

    def entries(self) -> Tuple[List[str], List[str]]:
        """RETURNS (Tuple[List[str], List[str]]): One (name, code) row per name, in KB order."""
        names: List[str] = []
        codes: List[str] = []
        for concept in self._concepts.values():
            names += concept.names
            codes += [concept.code] * len(concept.names)
        return names, codes

    def to_bytes(self) -> bytes:
        """Serialize as the plain TSV (header `code name parent`, one row per name)."""
        lines = ["\t".join(TSV_HEADER)]
        for c in self._concepts.values():
            for name in c.names:
                fields = (c.code, name, c.parent or "")
                if any("\t" in f or "\n" in f or "\r" in f for f in fields):
                    raise ValueError(f"{self.label} concept {c.code} has a tab or newline in a field")
                lines.append("\t".join(fields))
        return ("\n".join(lines) + "\n").encode("utf8")

    def from_bytes(self, bytes_data: bytes) -> "ConceptKB":
        """Load concepts written by `to_bytes`, replacing the current ones."""
        self._concepts = {c.code: c for c in _parse_tsv(bytes_data, "<bytes>")}
        return self

    def to_disk(self, path: Union[str, Path]) -> None:
        """Write the KB as the plain TSV; parent folders are created."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.to_bytes())

    def from_disk(self, path: Union[str, Path]) -> "ConceptKB":
        """Load a TSV written by `to_disk` (or any valid TSV), replacing the current concepts."""
        path = Path(path)
        self._concepts = {c.code: c for c in _parse_tsv(path.read_bytes(), path)}
        return self

    def __repr__(self) -> str:
        return f"ConceptKB({self.label!r}, {len(self)} concepts)"


def read_concept_tsv(path: Union[str, Path], *, label: str = "concept") -> ConceptKB:
    """Read a terminology from the plain TSV (`code<TAB>name[<TAB>parent]`, see the module
    docstring).

    path (Union[str, Path]): The UTF-8 file.
    label (str): The terminology's name, for messages.
    RETURNS (ConceptKB): The concepts, in file order of their first row.
    RAISES (InputError): Naming file and line, for a row with the wrong number of fields, an
        empty code or name, a code with whitespace, a code whose rows name different parents,
        a parent that is not a code of the file, or bytes that are not UTF-8.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Terminology TSV {path} not found")
    return ConceptKB(_parse_tsv(path.read_bytes(), path), label=label)


def _parse_tsv(data: bytes, path: Union[str, Path]) -> List[Concept]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    names: Dict[str, List[str]] = {}
    parents: Dict[str, Tuple[Optional[str], int]] = {}
    for line_no, raw in enumerate(data.split(b"\n"), start=1):
        try:
            line = raw.decode("utf8").rstrip("\r")
        except UnicodeDecodeError as err:
            raise InputError(path, line_no, f"not UTF-8 at column {err.start + 1}: {raw[:60]!r}") from None
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if line_no == 1 and tuple(f.strip().lower() for f in fields) in (TSV_HEADER, TSV_HEADER[:2]):
            continue
        if len(fields) not in (2, 3):
            raise InputError(path, line_no, f"expected 2 or 3 tab-separated fields (code, name[, parent]), found {len(fields)}")
        code, name = fields[0].strip(), " ".join(fields[1].split())
        parent = fields[2].strip() if len(fields) == 3 and fields[2].strip() else None
        if not code or any(ch.isspace() for ch in code):
            raise InputError(path, line_no, f"code {fields[0]!r} is empty or has whitespace")
        if not name:
            raise InputError(path, line_no, f"empty name for code {code}")
        if code in parents and parents[code][0] != parent:
            first_parent, first_line = parents[code]
            raise InputError(
                path, line_no, f"code {code} has parent {parent!r} here but {first_parent!r} on line {first_line}"
            )
        parents.setdefault(code, (parent, line_no))
        known = names.setdefault(code, [])
        if name not in known:
            known.append(name)
    for code, (parent, line_no) in parents.items():
        if parent is not None and parent not in names:
            raise InputError(path, line_no, f"parent {parent} of {code} is not a code of this file")
    return [Concept(code, found[0], tuple(found[1:]), parents[code][0]) for code, found in names.items()]


def load_kb(spec: Union[str, Path]) -> KnowledgeBase:
    """Load a terminology from a `format:path` string.

    spec (Union[str, Path]): "tsv:PATH" (the plain TSV), "meddra:PATH" (what `load_meddra`
        reads), or a bare path: a `.tsv` whose first line is the `ConceptKB` header is read as
        the plain TSV, anything else as MedDRA (older configs pass MedDRA paths).
    RETURNS (KnowledgeBase): The concepts.
    """
    from .meddra import load_meddra

    text = str(spec)
    kind, sep, rest = text.partition(":")
    if sep and kind.lower() in ("tsv", "meddra"):
        return read_concept_tsv(rest) if kind.lower() == "tsv" else load_meddra(rest)
    path = Path(text)
    if path.is_file() and path.suffix.lower() == ".tsv":
        with path.open("rb") as file:
            first = file.readline().decode("utf8", errors="replace").lstrip("\ufeff").rstrip("\r\n")
        if tuple(first.lower().split("\t")) in (TSV_HEADER, TSV_HEADER[:2]):
            return read_concept_tsv(path)
    return load_meddra(path)


@spacy.registry.misc("spacy-adr.concept_kb.v1")
def concept_kb_v1(path: str, label: str = "concept") -> KnowledgeBase:
    """Config loader: `[initialize.components.X.kb] @misc = "spacy-adr.concept_kb.v1"`.

    path (str): What `load_kb` accepts ("tsv:PATH", "meddra:PATH" or a path).
    label (str): The terminology's name for a plain TSV.
    RETURNS (KnowledgeBase): The concepts.
    """
    kb = load_kb(path)
    if isinstance(kb, ConceptKB):
        kb.label = label
    return kb


def check_codes(kb: KnowledgeBase, codes: Sequence[str]) -> List[str]:
    """RETURNS (List[str]): The distinct codes of `codes` not in `kb`, sorted."""
    return sorted({code for code in codes if code not in kb})
