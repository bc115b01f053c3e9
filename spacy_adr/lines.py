"""Reading text files line by line with line numbers, as every reader of line-based data does,
and telling two kinds of file that only look like lines of text: bare-CR line ends and UTF-16
without a byte order mark.
"""
import codecs
import re
from pathlib import Path
from typing import Iterator, List, Optional, Tuple, Union

from .errors import InputError

# What the messages tell a user to do about each of the two.
BARE_CR_ADVICE = (
    "the file seems to use bare CR line ends (old Mac): annotate ends lines at LF or CRLF; "
    "convert with `tr '\\r' '\\n' < IN > OUT` (or mac2unix)"
)
_BARE_CR = re.compile("\r(?!\n)")
# Bytes looked at to tell UTF-16: enough for a few dozen characters, little to count.
_UTF16_SAMPLE = 1024
# UTF-16 of a non-Latin script has a NUL only beside its spaces, digits and punctuation: one
# NUL byte in this many still tells it, when the bytes also read as UTF-16. UTF-8 text with
# that many NULs on one side is not text anyway.
_UTF16_FEW_NULS = 32


def bare_cr_pieces(line: str) -> List[str]:
    """The pieces of a line between its bare carriage returns (a `\\r` not followed by `\\n`).

    line (str): One line, with or without its line end (LF or CRLF, which are dropped).
    RETURNS (List[str]): The non-blank pieces; one piece when the line holds no bare CR.
    """
    line = line.rstrip("\n")
    if line.endswith("\r"):
        line = line[:-1]
    if "\r" not in line:  # the common case, without a regex
        return [line] if line.strip() else []
    return [piece for piece in _BARE_CR.split(line) if piece.strip()]


def utf16_without_bom(data: Union[bytes, str]) -> Optional[str]:
    """Whether text looks like UTF-16 read as UTF-8: NUL bytes, nearly all on one side.

    UTF-8 text (JSON, TSV, CSV) practically never holds NUL bytes; UTF-16 holds one beside
    every ASCII character: after it (little endian) or before it (big endian). Text in other
    scripts has fewer (Cyrillic in UTF-16 is "43 04", no NUL): only its spaces, digits and
    the JSON or tab around it bring NULs, a few in a hundred bytes.

    data (Union[bytes, str]): The first bytes of a file, or one line (a str is looked at as
        the bytes it was decoded from with "surrogateescape", else as UTF-8).
    RETURNS (Optional[str]): "UTF-16LE" or "UTF-16BE" when there are at least 4 NUL bytes,
        nearly all on one side, and either they are a quarter of the bytes (mostly ASCII) or
        at least one in `_UTF16_FEW_NULS` and the bytes decode as UTF-16 of that byte order;
        else None, also for bytes that decode as UTF-8 with non-ASCII characters (UTF-8 text
        with stray NULs). The byte order is right only for `data` that starts where the file
        does: a line that starts inside UTF-16LE text (its LF was the first byte of a
        character) looks like UTF-16BE.
    """
    if isinstance(data, str):
        try:  # a line the reader decoded: its bad bytes back as they were
            data = data.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            data = data.encode("utf-8", "surrogatepass")
    data = data[:_UTF16_SAMPLE]
    n_nul = data.count(0)
    if n_nul < 4 or n_nul * _UTF16_FEW_NULS < len(data):
        return None
    even = data[0::2].count(0)
    odd = n_nul - even
    if max(even, odd) < 0.9 * n_nul:
        return None
    # ASCII "a" is 61 00 in UTF-16LE: its NUL is at an odd offset.
    encoding = "UTF-16LE" if odd > even else "UTF-16BE"
    if _reads_as(data, "utf-8") and not data.isascii():
        return None
    if n_nul * 4 >= len(data) or _reads_as(data, encoding):
        return encoding
    return None


def _reads_as(data: bytes, encoding: str) -> bool:
    """Whether bytes decode without error (the sample may end inside a character)."""
    try:
        codecs.getincrementaldecoder(encoding)().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def utf16_advice(encoding: str = "UTF-16", *, subject: str = "the file") -> str:
    """What to do about a file (or line) that `utf16_without_bom` recognised.

    encoding (str): "UTF-16LE" or "UTF-16BE" where the start of the file told it; "UTF-16".
    subject (str): What seems to be UTF-16: "the file", "this line".
    RETURNS (str): The message.
    """
    return (
        f"{subject} seems to be {encoding} without a byte order mark (a NUL byte every other "
        f"byte): re-encode it as UTF-8 (iconv -f {encoding} -t UTF-8 IN > OUT)"
    )


def numbered_lines(path: Union[str, Path], *, encoding: str = "utf-8") -> Iterator[Tuple[int, str]]:
    """The lines of a file, numbered from 1, without their line ends (LF or CRLF).

    Lines are split on b"\\n" only: str.splitlines() would also split inside a tweet at U+2028
    and friends, and the line numbers would no longer be the file's. A bare `\\r` is text; but
    a file whose one line holds bare CRs (old Mac line ends) is refused, and so is a first
    line that looks like UTF-16 without a byte order mark (both would otherwise give lines
    that are garbage, or one line for the whole file). A UTF-8 byte order mark is dropped.

    path (Union[str, Path]): The file.
    encoding (str): Its encoding.
    YIELDS (Tuple[int, str]): (line number, line).
    RAISES (InputError): For bytes the encoding cannot decode, naming file, line and byte; for
        bare-CR line ends or UTF-16 text, naming file and line 1.
    """
    name = codecs.lookup(encoding).name.upper()
    with Path(path).open("rb") as file_:
        for line_no, raw in enumerate(file_, start=1):
            if line_no == 1 and not name.startswith("UTF-16"):
                utf16 = utf16_without_bom(raw)
                if utf16 is not None:
                    raise InputError(path, 1, utf16_advice(utf16))
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError as err:
                bad = raw[max(0, err.start - 10) : err.end + 10]
                problem = f"not {name}: {err.reason} at byte {err.start}: {bad!r}"
                raise InputError(path, line_no, problem) from None
            if line_no == 1 and line.startswith("\ufeff"):
                line = line[1:]
            # The first line without a line end is the whole file: its bare CRs are line ends.
            if line_no == 1 and not line.endswith("\n") and len(bare_cr_pieces(line)) > 1:
                raise InputError(path, 1, f"{BARE_CR_ADVICE} (the file has no LF at all)")
            yield line_no, line.rstrip("\r\n")
