"""Reading text files line by line with line numbers, as every reader of line-based data does."""
import codecs
from pathlib import Path
from typing import Iterator, Tuple, Union

from .errors import InputError


def numbered_lines(path: Union[str, Path], *, encoding: str = "utf-8") -> Iterator[Tuple[int, str]]:
    """The lines of a file, numbered from 1, without their line ends (LF or CRLF).

    Lines are split on b"\\n" only: str.splitlines() would also split inside a tweet at U+2028
    and friends, and the line numbers would no longer be the file's. A UTF-8 byte order mark is
    dropped.

    path (Union[str, Path]): The file.
    encoding (str): Its encoding.
    YIELDS (Tuple[int, str]): (line number, line).
    RAISES (InputError): For bytes the encoding cannot decode, naming file, line and byte.
    """
    name = codecs.lookup(encoding).name.upper()
    with Path(path).open("rb") as file_:
        for line_no, raw in enumerate(file_, start=1):
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError as err:
                bad = raw[max(0, err.start - 10) : err.end + 10]
                problem = f"not {name}: {err.reason} at byte {err.start}: {bad!r}"
                raise InputError(path, line_no, problem) from None
            if line_no == 1 and line.startswith("\ufeff"):
                line = line[1:]
            yield line_no, line.rstrip("\r\n")
