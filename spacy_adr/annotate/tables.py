"""Splitting TSV and CSV lines into rows, so that one broken row never takes others with it.

- TSV: one row a line, split on tabs with no unquoting (as the SMM4H files are read: a quote
  character is part of the tweet), so a stray quote cannot swallow the lines after it.
- CSV: rows as Python's `csv` module reads them in strict mode (quoted fields may hold commas
  and line breaks). A row whose quotes do not add up (a quote left open to the end of the file
  or for more than `limit` bytes, a quote followed by something else than a comma or a line
  end) is reported as one bad row at the line it starts on, and the lines it had taken are
  read again as rows of their own.

A bare `\r` (old Mac line ends) is no line end: in TSV it is text, and in CSV outside quotes it
makes its row a bad row whose reason names bare-CR line ends (csv's own message speaks of
Python's universal-newline mode, which means nothing to whoever made the file).

Each row comes as `(line, fields, raw)`: the 1-based line it starts on, its fields, and its
text; or `(line, None, reason)` for a row that cannot be split.
"""
import csv
from collections import deque
from typing import Deque, Iterator, List, Optional, Tuple

from ..lines import BARE_CR_ADVICE

Line = Tuple[int, Optional[str], int]  # (line number, text or None when over-long, bytes)
Row = Tuple[int, Optional[List[str]], str]


def tsv_rows(lines: Iterator[Line]) -> Iterator[Row]:
    """Split tab-separated lines, one row each.

    lines (Iterator[Line]): Decoded lines with their line ends.
    YIELDS (Row): One row per line.
    """
    for number, line, size in lines:
        if line is None:
            yield number, None, f"line of {size:,} bytes, longer than any record may be"
            continue
        text = line.rstrip("\r\n")
        yield number, text.split("\t"), text


def csv_rows(lines: Iterator[Line], *, limit: int) -> Iterator[Row]:
    """Split comma-separated lines into rows, reporting each row whose quotes do not add up.

    lines (Iterator[Line]): Decoded lines with their line ends.
    limit (int): Bytes one row may span; a quote still open after that is a broken row.
    YIELDS (Row): One row per record, or per bad row.
    """
    source = _PushBack(lines)
    while True:
        taken: List[Line] = []
        try:
            row = next(csv.reader(_feed(source, taken, limit), strict=True))
        except StopIteration:
            return
        except (csv.Error, _RunawayQuote) as err:
            start = taken[0][0]
            # The lines after the first are read again: rows a stray quote had swallowed.
            source.push_back(taken[1:])
            yield start, None, _reason(err, start, taken)
            continue
        yield taken[0][0], row, "".join(line or "" for _, line, _ in taken)


class _RunawayQuote(Exception):
    pass


def _feed(source: "_PushBack", taken: List[Line], limit: int) -> Iterator[str]:
    size = 0
    for item in source:
        taken.append(item)
        _, line, length = item
        size += length
        if line is None or (size > limit and len(taken) > 1):
            raise _RunawayQuote()
        yield line


def _reason(err: Exception, start: int, taken: List[Line]) -> str:
    if isinstance(err, _RunawayQuote):
        if len(taken) == 1:
            return f"bad CSV: line of {taken[0][2]:,} bytes, longer than any record may be"
        return (
            f"bad CSV: a quote opened in the row starting on line {start} is still open "
            f"{len(taken)} lines later (line {taken[-1][0]}); the lines after line {start} are "
            "read as rows of their own"
        )
    if "unexpected end of data" in str(err):
        reason = f"bad CSV: a quote opened in the row starting on line {start} is never closed"
        if len(taken) > 1:
            reason += f"; the lines after line {start} are read as rows of their own"
        return reason
    if "new-line character seen in unquoted field" in str(err):
        # csv meets a bare \r outside quotes (one inside quotes is part of the field).
        reason = f"bad CSV in the row starting on line {start}: a bare CR (\\r) outside quotes; {BARE_CR_ADVICE}"
        if len(taken) > 1:
            reason += f"; the lines after line {start} are read as rows of their own"
        return reason
    if len(taken) > 1:
        return (
            f"bad CSV: the row starting on line {start} has a quote that runs to line "
            f"{taken[-1][0]} ({err}); the lines after line {start} are read as rows of their own"
        )
    return f"bad CSV in the row starting on line {start}: {err}"


class _PushBack:
    """An iterator of lines that can take lines back, to read them again."""

    def __init__(self, lines: Iterator[Line]) -> None:
        self._lines = lines
        self._back: Deque[Line] = deque()

    def __iter__(self) -> "_PushBack":
        return self

    def __next__(self) -> Line:
        return self._back.popleft() if self._back else next(self._lines)

    def push_back(self, lines: List[Line]) -> None:
        self._back.extendleft(reversed(lines))
