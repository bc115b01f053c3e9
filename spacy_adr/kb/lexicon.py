"""Plain term lists (lexicons) for the gazetteer: one term a line, no ids.

The KFU chemtextmining vocabularies (`adr_lexicon.txt`, `dict_*.txt`, `webmd_conditions.txt`)
are UTF-8 with LF line ends. Their quirks, all handled here: leading/trailing spaces (813
lines of `adr_lexicon.txt`), doubled inner spaces ("av junctional  tachycardia"), blank lines,
repeated terms (235 in `adr_lexicon.txt`, ~2,000 in `dict_do.txt`), a few capitalised terms
("Discontinuation") and one- or two-letter entries ("g", "r", "do", "th" in `dict_wiki.txt`)
that would match everywhere in a tweet. There are no comment lines, and a `#` starts a
hashtag-like term rather than a comment, so it is kept.

Source annotations such as "[d]jaw pain" (Read codes) or "thinness [disease/finding]"
(SNOMED CT semantic tags) are kept verbatim: they never match a tweet but removing them
would be a guess about what the list author meant.
"""
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Union

from ..lines import numbered_lines
from ..errors import ConversionReport


def normalize_term(term: str, *, keep_acronyms: bool = False) -> str:
    """The form a term is matched in: lowercased, whitespace runs as one space, stripped.

    term (str): A term.
    keep_acronyms (bool): Keep the case of a term written all in capitals ("ALL").
    RETURNS (str): The normalised term.
    """
    term = " ".join(term.split())
    return term if keep_acronyms and term.isupper() else term.lower()


def read_lexicon(
    path: Union[str, Path],
    *,
    min_length: int = 1,
    encoding: str = "utf-8",
    report: Optional[ConversionReport] = None,
) -> List[str]:
    """Read a term list, one term a line.

    Each line is stripped and its inner whitespace runs become one space; blank lines are
    skipped; terms that are equal ignoring case are kept once, in the spelling seen first.

    path (Union[str, Path]): The text file.
    min_length (int): Leave out terms shorter than this many characters. Each one left out
        is added to `report`, if given.
    encoding (str): The file's encoding; a UTF-8 byte-order mark is skipped.
    report (Optional[ConversionReport]): Receives the counts (records: non-blank lines,
        docs: terms kept) and a problem per term left out for `min_length`.
    RETURNS (List[str]): The terms, in file order.
    """
    path = Path(path)
    seen: Dict[str, str] = {}
    _add_terms(path, seen, min_length=min_length, encoding=encoding, report=report)
    return list(seen.values())


def read_lexicons(
    paths: Iterable[Union[str, Path]],
    *,
    min_length: int = 1,
    encoding: str = "utf-8",
    report: Optional[ConversionReport] = None,
) -> List[str]:
    """Read several term lists into one, deduplicated across files (first spelling wins).

    paths (Iterable[Union[str, Path]]): Text files, or folders whose `*.txt` files are read
        in name order.
    min_length (int): Leave out terms shorter than this many characters.
    encoding (str): Encoding of the files.
    report (Optional[ConversionReport]): Receives counts and problems of all files.
    RETURNS (List[str]): The terms, in file order.
    """
    seen: Dict[str, str] = {}
    for path in paths:
        path = Path(path)
        files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
        for file in files:
            _add_terms(file, seen, min_length=min_length, encoding=encoding, report=report)
    return list(seen.values())


def _add_terms(
    path: Path,
    seen: Dict[str, str],
    *,
    min_length: int,
    encoding: str,
    report: Optional[ConversionReport],
) -> None:
    for line_no, line in numbered_lines(path, encoding=encoding):
        term = " ".join(line.split())
        if not term:
            continue
        if report is not None:
            report.records += 1
        if len(term) < min_length:
            if report is not None:
                report.add_problem(path, line_no, f"term shorter than {min_length} characters left out", term)
            continue
        key = term.lower()
        if key not in seen:
            seen[key] = term
            if report is not None:
                report.docs += 1
