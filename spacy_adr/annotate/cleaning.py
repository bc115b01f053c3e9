"""Code points that cannot go through the pipeline or into a UTF-8 output, and JSON-safe ids.

Valid JSON can hold what UTF-8 cannot: `"\\ud83d"` decodes to a lone surrogate, which spaCy's
tokenizer (and any UTF-8 writer) refuses with a UnicodeEncodeError. The rule, applied to every
text before annotation:

- each lone surrogate (U+D800-U+DFFF), NUL (U+0000) and Unicode noncharacter (U+FDD0-U+FDEF
  and the last two code points of every plane, U+FFFE, U+FFFF, U+1FFFE ...) is replaced by
  U+FFFD REPLACEMENT CHARACTER, one for one, so that every character offset stays valid;
- the record is annotated, and counted as `cleaned` in the summary.

Ids are not cleaned but checked: an id is written back as it came, so an id that has such a
code point, or a float JSON cannot hold (NaN, Infinity), makes its record an error, reported
with a cleaned, printable form of the id.
"""
import json
import math
import re
from typing import Any, Optional, Tuple

REPLACEMENT = "\ufffd"
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17)
)
_BAD_CODE_POINT = re.compile(f"[\x00\ud800-\udfff{_NONCHARACTERS}]")


def clean_text(text: str) -> Tuple[str, int]:
    """Replace every code point that cannot be annotated or written by U+FFFD, one for one.

    text (str): A text as decoded from the input.
    RETURNS (Tuple[str, int]): The text, of the same length, and how many code points were
        replaced.
    """
    cleaned, n_replaced = _BAD_CODE_POINT.subn(REPLACEMENT, text)
    return cleaned, n_replaced


def first_bad_code_point(text: str) -> Optional[Tuple[int, str]]:
    """Where the first code point `clean_text` would replace is.

    text (str): The text.
    RETURNS (Optional[Tuple[int, str]]): (0-based character offset, "U+XXXX"), or None.
    """
    match = _BAD_CODE_POINT.search(text)
    return None if match is None else (match.start(), f"U+{ord(match.group()):04X}")


def id_problem(value: Any) -> Optional[str]:
    """Why an id cannot be written back into a UTF-8 JSON output as it is; None when it can.

    value (Any): The id, as read from the input (a JSON value or a table cell).
    RETURNS (Optional[str]): The problem, e.g. "id is NaN, which JSON cannot hold".
    """
    if isinstance(value, float) and not math.isfinite(value):
        name = "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
        return f"id is {name}, which JSON cannot hold"
    if isinstance(value, str):
        bad = first_bad_code_point(value)
        if bad is not None:
            return f"id has the invalid code point {bad[1]} at character {bad[0] + 1}"
        return None
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, TypeError) as err:  # UnicodeEncodeError is a ValueError
        return f"id cannot be written as JSON: {_short(err)}"
    return None


def printable_id(value: Any) -> Any:
    """A form of an id that always goes into a UTF-8 JSON error report.

    value (Any): The id, possibly one that `id_problem` rejects.
    RETURNS (Any): The id itself when it can be written; else a cleaned string of it.
    """
    if id_problem(value) is None:
        return value
    if isinstance(value, str):
        return clean_text(value)[0]
    return clean_text(json.dumps(value, ensure_ascii=False, default=repr))[0]


def _short(err: Exception) -> str:
    text = str(err)
    return text if len(text) <= 120 else text[:117] + "..."
