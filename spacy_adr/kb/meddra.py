"""MedDRA concepts: Lowest Level Terms (LLTs) with their Preferred Terms (PTs).

The linker predicts LLT codes; the PT is kept beside each LLT because the SMM4H 2017 data and
many evaluations are at PT level. Two source formats are read:

- `llt.tsv` as found in the development data: four tab-separated columns
  `llt_code llt_name pt_code llt_currency` under a mislabelled header (`PT Label LLT IDK`).
  PT names are not in a column of their own: a PT is the LLT whose code equals its PT code.
- The official MedDRA ASCII release (`MedAscii/llt.asc` and `pt.asc`) that MSSO subscribers
  download: `$`-separated fields with a trailing `$`. English releases are "extended ASCII"
  (Windows-1252), other languages UTF-8.

`MeddraKB.to_disk` writes a small TSV with the PT name in its own column, so a packaged
pipeline carries its concepts and never needs the licensed release again.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Tuple, Union

import spacy

from wasabi import msg

from ..errors import ConversionReport, InputError

# Header of the TSV that `MeddraKB.to_disk` writes; `read_llt_tsv` recognises it.
KB_TSV_HEADER = ("llt_code", "llt_name", "pt_code", "pt_name", "llt_currency")

# Fields of the official ASCII release (MedDRA distribution file format document).
LLT_ASC_FIELDS = (
    "llt_code", "llt_name", "pt_code", "llt_whoart_code", "llt_harts_code", "llt_costart_sym",
    "llt_icd9_code", "llt_icd9cm_code", "llt_icd10_code", "llt_currency", "llt_jart_code",
)
PT_ASC_FIELDS = (
    "pt_code", "pt_name", "null_field", "pt_soc_code", "pt_whoart_code", "pt_harts_code",
    "pt_costart_sym", "pt_icd9_code", "pt_icd9cm_code", "pt_icd10_code", "pt_jart_code",
)
# English ASCII releases are Windows-1252; tried when a file is not valid UTF-8.
ASC_FALLBACK_ENCODING = "cp1252"


@dataclass(frozen=True)
class MeddraConcept:
    """One Lowest Level Term and the Preferred Term it belongs to.

    llt_code (str): LLT code, 8 digits (e.g. "10019211").
    llt_name (str): LLT name as MedDRA spells it.
    pt_code (str): Code of the PT; equal to `llt_code` when the LLT is the PT itself.
    pt_name (str): Name of the PT.
    current (bool): False for non-current LLTs (kept by MedDRA for legacy codings).
    """

    llt_code: str
    llt_name: str
    pt_code: str
    pt_name: str
    current: bool

    @property
    def is_pt(self) -> bool:
        """Whether this LLT is its own Preferred Term."""
        return self.llt_code == self.pt_code


class MeddraKB:
    """MedDRA concepts indexed by LLT code, in the order they were added. Satisfies
    `spacy_adr.kb.concepts.KnowledgeBase`: an LLT's name is its only name, its PT its parent."""

    label = "MedDRA"

    def __init__(self, concepts: Iterable[MeddraConcept] = ()) -> None:
        """Create a knowledge base.

        concepts (Iterable[MeddraConcept]): Concepts to add; LLT codes must be unique.
        """
        self._concepts: Dict[str, MeddraConcept] = {}
        for concept in concepts:
            self.add(concept)

    def add(self, concept: MeddraConcept) -> None:
        """Add a concept.

        concept (MeddraConcept): The concept; its LLT code must not be in the KB yet.
        """
        if concept.llt_code in self._concepts:
            raise ValueError(f"LLT code {concept.llt_code} is already in the MedDRA KB")
        self._concepts[concept.llt_code] = concept

    def __len__(self) -> int:
        return len(self._concepts)

    def __contains__(self, llt_code: object) -> bool:
        return llt_code in self._concepts

    def __getitem__(self, llt_code: str) -> MeddraConcept:
        return self._concepts[llt_code]

    def __iter__(self) -> Iterator[MeddraConcept]:
        return iter(self._concepts.values())

    def get(self, llt_code: str, default: Optional[MeddraConcept] = None) -> Optional[MeddraConcept]:
        """The concept of an LLT code, or `default`."""
        return self._concepts.get(llt_code, default)

    @property
    def codes(self) -> List[str]:
        """All LLT codes, in KB order."""
        return list(self._concepts)

    def name(self, code: str) -> str:
        """RETURNS (str): The LLT name of `code`."""
        return self._concepts[code].llt_name

    def names_of(self, code: str) -> List[str]:
        """RETURNS (List[str]): The LLT name of `code` (MedDRA has one name per LLT)."""
        return [self._concepts[code].llt_name]

    def parent(self, code: str) -> str:
        """RETURNS (str): The PT code of `code`."""
        return self._concepts[code].pt_code

    def entries(self) -> Tuple[List[str], List[str]]:
        """RETURNS (Tuple[List[str], List[str]]): One (LLT name, LLT code) row per LLT."""
        concepts = list(self._concepts.values())
        return [c.llt_name for c in concepts], [c.llt_code for c in concepts]

    def pt_of(self, code: str) -> MeddraConcept:
        """The Preferred Term of an LLT (a PT is its own PT).

        code (str): An LLT code in the KB.
        RETURNS (MeddraConcept): The PT as a concept (`llt_code == pt_code`).
        """
        concept = self._concepts[code]
        pt = self._concepts.get(concept.pt_code)
        if pt is None:
            # A KB filtered to some LLTs may lack the PT's own row; its name is still known.
            pt = MeddraConcept(concept.pt_code, concept.pt_name, concept.pt_code, concept.pt_name, True)
        return pt

    def pts(self) -> List[MeddraConcept]:
        """One concept per distinct Preferred Term, in KB order."""
        seen = {}
        for concept in self._concepts.values():
            if concept.pt_code not in seen:
                seen[concept.pt_code] = self.pt_of(concept.llt_code)
        return list(seen.values())

    def names(self, *, current_only: bool = False) -> List[str]:
        """Distinct LLT names, in KB order (a name can belong to more than one LLT).

        current_only (bool): Leave out non-current LLTs.
        RETURNS (List[str]): The names, spelled as in MedDRA.
        """
        names: Dict[str, None] = {}
        for concept in self._concepts.values():
            if concept.current or not current_only:
                names.setdefault(concept.llt_name)
        return list(names)

    def codes_by_name(self, *, current_only: bool = False, lower: bool = True) -> Dict[str, List[str]]:
        """Map each LLT name to the LLT codes that carry it.

        current_only (bool): Leave out non-current LLTs.
        lower (bool): Key the map by lowercased names.
        RETURNS (Dict[str, List[str]]): Name -> LLT codes, in KB order.
        """
        index: Dict[str, List[str]] = {}
        for concept in self._concepts.values():
            if concept.current or not current_only:
                key = concept.llt_name.lower() if lower else concept.llt_name
                index.setdefault(key, []).append(concept.llt_code)
        return index

    def to_bytes(self) -> bytes:
        """Serialize as UTF-8 TSV (see `to_disk`)."""
        lines = ["\t".join(KB_TSV_HEADER)]
        for c in self._concepts.values():
            fields = (c.llt_code, c.llt_name, c.pt_code, c.pt_name, "Y" if c.current else "N")
            if any("\t" in f or "\n" in f or "\r" in f for f in fields):
                raise ValueError(f"MedDRA concept {c.llt_code} has a tab or newline in a field")
            lines.append("\t".join(fields))
        return ("\n".join(lines) + "\n").encode("utf8")

    def from_bytes(self, bytes_data: bytes) -> "MeddraKB":
        """Load concepts written by `to_bytes`, replacing the current ones.

        bytes_data (bytes): The data.
        RETURNS (MeddraKB): The KB itself.
        """
        return self._replace(_read_kb_tsv(bytes_data, "<bytes>"))

    def to_disk(self, path: Union[str, Path]) -> None:
        """Write the KB to one readable TSV file with the header
        `llt_code llt_name pt_code pt_name llt_currency`.

        path (Union[str, Path]): Output file; parent folders are created.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.to_bytes())

    def from_disk(self, path: Union[str, Path]) -> "MeddraKB":
        """Load a file written by `to_disk`, replacing the current concepts.

        path (Union[str, Path]): The file.
        RETURNS (MeddraKB): The KB itself.
        """
        path = Path(path)
        return self._replace(_read_kb_tsv(path.read_bytes(), path))

    def _replace(self, concepts: Iterable[MeddraConcept]) -> "MeddraKB":
        self._concepts = {}
        for concept in concepts:
            self.add(concept)
        return self

    def __repr__(self) -> str:
        return f"MeddraKB({len(self)} LLTs, {len({c.pt_code for c in self})} PTs)"


def read_llt_tsv(path: Union[str, Path], *, encoding: str = "utf-8") -> MeddraKB:
    """Read a MedDRA LLT table in TSV form.

    Reads the development data's `llt.tsv` (columns `llt_code llt_name pt_code
    llt_currency` under any header, PT names taken from the rows with llt_code == pt_code) and
    the TSV that `MeddraKB.to_disk` writes (recognised by its header).

    path (Union[str, Path]): The TSV file.
    encoding (str): Its encoding.
    RETURNS (MeddraKB): The concepts.
    """
    path = Path(path)
    lines = _decode_lines(path.read_bytes(), path, encoding, None)
    first = next(lines, None)
    if first is None:
        raise InputError(path, 1, "empty MedDRA file")
    if tuple(first[1].split("\t")) == KB_TSV_HEADER:
        return MeddraKB(_read_kb_tsv_lines(lines, path, header_seen=True))
    rows: List[Tuple[int, str, str, str, bool]] = []
    pt_names: Dict[str, str] = {}
    for line_no, line in _chain_first(first, lines):
        if not line.strip():
            continue
        fields = line.split("\t")
        # A header, whatever it says, is a first line whose code column is not a code.
        if line_no == first[0] and not fields[0].strip().isdigit():
            continue
        if len(fields) != 4:
            problem = f"expected 4 tab-separated fields (llt_code llt_name pt_code llt_currency), found {len(fields)}"
            raise InputError(path, line_no, problem)
        llt_code, llt_name, pt_code, currency = (f.strip() for f in fields)
        _check_code(path, line_no, "llt_code", llt_code)
        _check_code(path, line_no, "pt_code", pt_code)
        if not llt_name:
            raise InputError(path, line_no, f"empty LLT name for {llt_code}")
        rows.append((line_no, llt_code, llt_name, pt_code, _currency(path, line_no, currency)))
        if llt_code == pt_code:
            pt_names[pt_code] = llt_name
    return MeddraKB(_join_pts(path, rows, pt_names))


def read_meddra_ascii(folder: Union[str, Path], *, encoding: Optional[str] = None) -> MeddraKB:
    """Read the official MedDRA ASCII release (`llt.asc` and `pt.asc`).

    folder (Union[str, Path]): The `MedAscii` folder, or its `llt.asc` file.
    encoding (Optional[str]): Encoding of the files. None: UTF-8, and Windows-1252 (the
        "extended ASCII" of English releases) for a file that is not valid UTF-8.
    RETURNS (MeddraKB): The concepts.
    """
    folder = Path(folder)
    if folder.is_file():
        folder = folder.parent
    llt_path, pt_path = folder / "llt.asc", folder / "pt.asc"
    for required in (llt_path, pt_path):
        if not required.is_file():
            raise FileNotFoundError(f"MedDRA ASCII release: {required} not found (needs llt.asc and pt.asc)")
    fallback = ASC_FALLBACK_ENCODING if encoding is None else None
    pt_names: Dict[str, str] = {}
    for line_no, fields in _asc_rows(pt_path, encoding or "utf-8", fallback, len(PT_ASC_FIELDS)):
        pt_code, pt_name = fields[0].strip(), fields[1].strip()
        _check_code(pt_path, line_no, "pt_code", pt_code)
        if not pt_name:
            raise InputError(pt_path, line_no, f"empty PT name for {pt_code}")
        if pt_code in pt_names:
            raise InputError(pt_path, line_no, f"PT code {pt_code} appears twice")
        pt_names[pt_code] = pt_name
    rows: List[Tuple[int, str, str, str, bool]] = []
    currency_at = LLT_ASC_FIELDS.index("llt_currency")
    for line_no, fields in _asc_rows(llt_path, encoding or "utf-8", fallback, len(LLT_ASC_FIELDS)):
        llt_code, llt_name, pt_code = (f.strip() for f in fields[:3])
        _check_code(llt_path, line_no, "llt_code", llt_code)
        _check_code(llt_path, line_no, "pt_code", pt_code)
        if not llt_name:
            raise InputError(llt_path, line_no, f"empty LLT name for {llt_code}")
        current = _currency(llt_path, line_no, fields[currency_at].strip())
        rows.append((line_no, llt_code, llt_name, pt_code, current))
    return MeddraKB(_join_pts(llt_path, rows, pt_names))


def load_meddra(path: Union[str, Path]) -> MeddraKB:
    """Read MedDRA in whichever supported format `path` holds.

    path (Union[str, Path]): A `.tsv` file (`llt.tsv` or a `MeddraKB.to_disk` file), an
        `llt.asc` file, or a folder holding `llt.asc` + `pt.asc` or `llt.tsv`.
    RETURNS (MeddraKB): The concepts.
    """
    path = Path(path)
    if path.is_dir():
        if (path / "llt.asc").is_file():
            return read_meddra_ascii(path)
        if (path / "llt.tsv").is_file():
            return read_llt_tsv(path / "llt.tsv")
        raise FileNotFoundError(f"No MedDRA files in {path}: expected llt.asc + pt.asc or llt.tsv")
    if not path.exists():
        raise FileNotFoundError(f"MedDRA path {path} does not exist")
    if path.suffix.lower() == ".asc":
        return read_meddra_ascii(path.parent)
    if path.suffix.lower() == ".tsv":
        return read_llt_tsv(path)
    raise ValueError(f"Unknown MedDRA format: {path} (expected a .tsv file, llt.asc or a folder)")


@spacy.registry.misc("spacy-adr.meddra_kb.v1")
def meddra_kb_v1(path: Path) -> MeddraKB:
    """Config loader: `[initialize.components.X.kb] @misc = "spacy-adr.meddra_kb.v1"`.

    path (Path): What `load_meddra` accepts.
    RETURNS (MeddraKB): The concepts.
    """
    return load_meddra(path)


def _decode_lines(
    data: bytes, path: Union[str, Path], encoding: str, fallback: Optional[str]
) -> Iterator[Tuple[int, str]]:
    """Yield (line number, line without its line end)."""
    return _numbered(_decode(data, path, encoding, fallback))


def _decode(data: bytes, path: Union[str, Path], encoding: str, fallback: Optional[str]) -> str:
    """Decode a whole file; `fallback` is tried for the whole file when `encoding` fails.
    Undecodable bytes raise InputError naming their line."""
    if data.startswith(b"\xef\xbb\xbf") and encoding.replace("-", "").lower() in ("utf8", "utf8sig"):
        data = data[3:]
    for candidate in (encoding, fallback):
        if candidate is None:
            continue
        try:
            return data.decode(candidate)
        except UnicodeDecodeError:
            pass
    tried = encoding + (f" or {fallback}" if fallback else "")
    # The line to blame is one the last encoding tried cannot decode.
    last = fallback or encoding
    for line_no, raw in enumerate(data.split(b"\n"), start=1):
        try:
            raw.decode(last)
        except UnicodeDecodeError as err:
            bad = raw[max(0, err.start - 10) : err.end + 10]
            problem = f"bytes not valid {tried} at column {err.start + 1}: {bad!r}"
            raise InputError(path, line_no, problem) from None
    raise InputError(path, 1, f"file is not valid {tried}")


def _numbered(text: str) -> Iterator[Tuple[int, str]]:
    # split("\n") rather than splitlines(): a stray \x0b or \x1c inside a name is not a line end.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for line_no, line in enumerate(lines, start=1):
        yield line_no, line.rstrip("\r")


def _chain_first(first: Tuple[int, str], rest: Iterator[Tuple[int, str]]) -> Iterator[Tuple[int, str]]:
    yield first
    yield from rest


def _asc_rows(
    path: Path, encoding: str, fallback: Optional[str], n_fields: int
) -> Iterator[Tuple[int, List[str]]]:
    for line_no, line in _decode_lines(path.read_bytes(), path, encoding, fallback):
        if not line.strip():
            continue
        # Every record ends with "$", so splitting leaves one empty field at the end.
        fields = line[:-1].split("$") if line.endswith("$") else line.split("$")
        if len(fields) < n_fields:
            raise InputError(path, line_no, f"expected {n_fields} '$'-separated fields, found {len(fields)}")
        yield line_no, fields


def _read_kb_tsv(data: bytes, path: Union[str, Path]) -> Iterator[MeddraConcept]:
    return _read_kb_tsv_lines(_decode_lines(data, path, "utf-8", None), path)


def _read_kb_tsv_lines(
    lines: Iterator[Tuple[int, str]], path: Union[str, Path], header_seen: bool = False
) -> Iterator[MeddraConcept]:
    for line_no, line in lines:
        if not header_seen:
            if tuple(line.split("\t")) != KB_TSV_HEADER:
                raise InputError(path, line_no, f"expected the header {' '.join(KB_TSV_HEADER)}")
            header_seen = True
            continue
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != len(KB_TSV_HEADER):
            problem = f"expected {len(KB_TSV_HEADER)} tab-separated fields, found {len(fields)}"
            raise InputError(path, line_no, problem)
        llt_code, llt_name, pt_code, pt_name, currency = fields
        _check_code(path, line_no, "llt_code", llt_code)
        _check_code(path, line_no, "pt_code", pt_code)
        yield MeddraConcept(llt_code, llt_name, pt_code, pt_name, _currency(path, line_no, currency))


def _join_pts(
    path: Path, rows: List[Tuple[int, str, str, str, bool]], pt_names: Dict[str, str]
) -> Iterator[MeddraConcept]:
    seen = set()
    for line_no, llt_code, llt_name, pt_code, current in rows:
        if llt_code in seen:
            raise InputError(path, line_no, f"LLT code {llt_code} appears twice")
        seen.add(llt_code)
        if pt_code not in pt_names:
            raise InputError(path, line_no, f"LLT {llt_code} points to PT {pt_code}, which has no entry")
        yield MeddraConcept(llt_code, llt_name, pt_code, pt_names[pt_code], current)


def _check_code(path: Union[str, Path], line_no: int, column: str, value: str) -> None:
    if not (value.isascii() and value.isdigit()):
        raise InputError(path, line_no, f"{column} is not a MedDRA code: {value!r}")


def _currency(path: Union[str, Path], line_no: int, value: str) -> bool:
    if value not in ("Y", "N"):
        raise InputError(path, line_no, f"llt_currency must be Y or N, found {value!r}")
    return value == "Y"


def convert_meddra(input_path: Union[str, Path], output_path: Union[str, Path]) -> ConversionReport:
    """Read MedDRA in either format and write the knowledge base as one TSV file.

    input_path (Union[str, Path]): `llt.tsv`, `llt.asc`, or a folder holding either.
    output_path (Union[str, Path]): The TSV to write (`MeddraKB.to_disk` format).
    RETURNS (ConversionReport): records = LLTs read; docs = LLTs written.
    """
    kb = load_meddra(input_path)
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    kb.to_disk(output_path)
    report = ConversionReport(source=f"MedDRA {input_path}", records=len(kb), docs=len(kb))
    current = sum(concept.current for concept in kb)
    msg.info(f"{len(kb):,} LLTs, {len(kb.pts()):,} PTs, {current:,} current")
    return report
