"""Drug lexicons: the names a drug goes by (brand, generic, common misspellings), each with the
normalised name of the drug it stands for.

The file format, UTF-8, one name a line:

    name[<TAB>drug]

`drug` is the normalised name the mentions of `name` get ("seroquel<TAB>quetiapine" counts
Seroquel under quetiapine); without it (or empty) the name is its own drug. An optional
header `name drug`, blank lines and lines starting with `#` are skipped. Names and drugs are
compared as `normalize_term` writes them (lowercased, whitespace runs as one space), so the
normalised names users see are lowercase.

`spacy-adr-builder drug-lexicon` writes this format from the training data; a user's own list
in the same format (or a plain list of names) extends it: in `drug_lexicon_v1`, a later file's
entry for a name replaces an earlier one.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Tuple, Union

import spacy

from ..errors import ConversionReport, InputError
from ..lines import numbered_lines
from .lexicon import normalize_term

HEADER = ("name", "drug")
# Names shorter than this match everywhere in a tweet ("ha", "rx"); a loader leaves them out.
DEFAULT_MIN_LENGTH = 3


@dataclass(frozen=True)
class DrugEntry:
    """One name of a drug.

    name (str): The name as matched (normalised: lowercase, single spaces).
    drug (str): The normalised name of the drug it stands for.
    """

    name: str
    drug: str


class DrugLexicon:
    """Drug names with the normalised drug name of each; a later entry for a name replaces an
    earlier one."""

    def __init__(self, entries: Iterable[Tuple[str, Optional[str]]] = ()) -> None:
        """Create a lexicon.

        entries (Iterable[Tuple[str, Optional[str]]]): (name, drug) pairs; a drug of None or ""
            makes the name its own drug.
        """
        self._drugs: Dict[str, str] = {}
        self.update(entries)

    def add(self, name: str, drug: Optional[str] = None) -> None:
        """Add a name, replacing an entry for the same name.

        name (str): A drug name.
        drug (Optional[str]): The drug it stands for; None or "": the name itself.
        RAISES (ValueError): The name is blank.
        """
        key = normalize_term(name)
        if not key:
            raise ValueError(f"blank drug name {name!r}")
        self._drugs[key] = normalize_term(drug or "") or key

    def update(self, entries: Iterable[Tuple[str, Optional[str]]]) -> None:
        """Add (name, drug) pairs in order (see `add`).

        entries (Iterable[Tuple[str, Optional[str]]]): The pairs.
        """
        for name, drug in entries:
            self.add(name, drug)

    def drug_of(self, name: str) -> Optional[str]:
        """The normalised drug of a name, compared as `normalize_term` writes it.

        name (str): A name, e.g. a mention's text ("Seroquel", "seroquel XR").
        RETURNS (Optional[str]): The drug; None when the name is not in the lexicon.
        """
        return self._drugs.get(normalize_term(name))

    def names(self) -> List[str]:
        """RETURNS (List[str]): The (normalised) names, in the order they were added."""
        return list(self._drugs)

    def drugs(self) -> List[str]:
        """RETURNS (List[str]): The distinct normalised drug names, sorted."""
        return sorted(set(self._drugs.values()))

    def __len__(self) -> int:
        """RETURNS (int): The number of names."""
        return len(self._drugs)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalize_term(name) in self._drugs

    def __iter__(self) -> Iterator[DrugEntry]:
        for name, drug in self._drugs.items():
            yield DrugEntry(name, drug)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DrugLexicon) and self._drugs == other._drugs

    def __repr__(self) -> str:
        return f"DrugLexicon({len(self)} names, {len(self.drugs())} drugs)"

    def to_disk(self, path: Union[str, Path]) -> None:
        """Write the lexicon in the file format of this module, with its header.

        path (Union[str, Path]): The TSV file.
        """
        write_drug_lexicon(path, self)

    def from_disk(self, path: Union[str, Path]) -> "DrugLexicon":
        """Replace the entries by those of a file.

        path (Union[str, Path]): A file in the format of this module.
        RETURNS (DrugLexicon): The lexicon itself.
        """
        self._drugs = {}
        self.update(read_drug_lexicon(path))
        return self


def read_drug_lexicon(
    path: Union[str, Path],
    *,
    min_length: int = 1,
    report: Optional[ConversionReport] = None,
) -> List[Tuple[str, Optional[str]]]:
    """Read a drug lexicon file (see the module docstring): a TSV or a plain list of names.

    path (Union[str, Path]): The file.
    min_length (int): Leave out names shorter than this many characters; each one left out
        is added to `report`, if given.
    report (Optional[ConversionReport]): Receives counts (records: entries read, docs: kept).
    RETURNS (List[Tuple[str, Optional[str]]]): (name, drug or None) in file order.
    RAISES (InputError): A line with more than two fields, or the problems
        `numbered_lines` names (undecodable bytes, UTF-16).
    """
    entries: List[Tuple[str, Optional[str]]] = []
    for line_no, line in numbered_lines(path):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [field.strip() for field in line.split("\t")]
        if line_no == 1 and tuple(f.lower() for f in fields) in (HEADER, HEADER[:1]):
            continue
        if len(fields) > 2:
            raise InputError(path, line_no, f"{len(fields)} tab-separated fields: expected name[<TAB>drug]")
        name = normalize_term(fields[0])
        if not name:
            raise InputError(path, line_no, "a drug without a name")
        if report is not None:
            report.records += 1
        if len(name) < min_length:
            if report is not None:
                report.add_problem(path, line_no, f"name shorter than {min_length} characters left out", name)
            continue
        drug = fields[1] if len(fields) == 2 and fields[1] else None
        entries.append((name, drug))
        if report is not None:
            report.docs += 1
    return entries


def write_drug_lexicon(path: Union[str, Path], entries: Iterable[DrugEntry]) -> None:
    """Write a drug lexicon file with its header, one `name<TAB>drug` line per entry.

    path (Union[str, Path]): The file (its folder is created).
    entries (Iterable[DrugEntry]): The entries, e.g. a `DrugLexicon`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as file_:
        file_.write("\t".join(HEADER) + "\n")
        for entry in entries:
            file_.write(f"{entry.name}\t{entry.drug}\n")


@spacy.registry.misc("spacy-adr.drug_lexicon.v1")
def drug_lexicon_v1(paths: List[Path] = [], min_length: int = DEFAULT_MIN_LENGTH) -> DrugLexicon:
    """Config loader of the drug lexicon: files in the format of this module, in order.

    Use it as `[initialize.components.adr_drug_mentions.lexicon]
    @misc = "spacy-adr.drug_lexicon.v1"`, with `paths` naming the lexicon the project built
    and, after it, a user's own list (whose entries then replace the built ones).

    paths (List[Path]): Lexicon files; a later file's entry for a name wins.
    min_length (int): Leave out names shorter than this many characters.
    RETURNS (DrugLexicon): The lexicon.
    """
    lexicon = DrugLexicon()
    for path in paths:
        lexicon.update(read_drug_lexicon(path, min_length=min_length))
    return lexicon
