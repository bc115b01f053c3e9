"""Reading tweet dumps to annotate: JSON lines, TSV or CSV, plain or compressed, streamed.

Every record of the input becomes one `InputRecord`, in file order: a readable one carries its
text, an unreadable one (bad JSON, no text field, undecodable bytes, empty or over-long text,
an id that cannot be written back, a TSV/CSV row that cannot be split) carries the reason
instead, so that the caller can report it and nothing is lost silently. Texts with code points
that cannot be annotated are cleaned (see `cleaning`). Problems of the whole file raise
`InputError`: before the first record when the file cannot be opened or its header has no
text column, or an `InputFailure` (see `sources`) where the file turns out to be damaged,
after the records before it.

Formats (lines end at `\\n`; `\\r\\n` is read as a line end too, a bare `\\r` is text; a UTF-8
byte order mark at the start of the file, and of any JSON line, is dropped):
- `jsonl`: one JSON object a line; blank lines are not records and are skipped. Control
  characters inside strings (a raw tab or carriage return) are accepted.
- `tsv`: a header line, then one record a line; see `tables`.
- `csv`: a header line, then records as Python's `csv` module reads them; see `tables`. The
  line of a record is the line it starts on.
"""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

from ..errors import InputError
from .cleaning import clean_text, id_problem, printable_id
from .sources import COMPRESSION_SUFFIXES, InputFailure, iter_lines, open_input
from .tables import Line, Row, csv_rows, tsv_rows

FORMATS = ("jsonl", "tsv", "csv")
_SUFFIX_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".tsv": "tsv", ".csv": "csv"}
DEFAULT_MAX_CHARS = 5000


@dataclass
class InputRecord:
    """One record of the input.

    number (int): 1-based position among the records of the file (header and blank lines not
        counted); the id when the record has none.
    line (int): 1-based line of the file the record starts on.
    id (Any): The value of the id field, else `number`.
    text (Optional[str]): The text to annotate; None when the record is an error.
    error (Optional[str]): Why the record cannot be annotated; None when it can.
    cleaned (int): Code points of the text replaced by U+FFFD (see `cleaning`).
    """

    number: int
    line: int
    id: Any
    text: Optional[str] = None
    error: Optional[str] = None
    cleaned: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


def detect_format(path: Union[str, Path]) -> str:
    """The input format named by a file's extension (`.gz`, `.bz2`, `.xz` are looked through).

    path (Union[str, Path]): The input file.
    RETURNS (str): "jsonl", "tsv" or "csv".
    """
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes = suffixes[:-1]
    fmt = _SUFFIX_FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise InputError(
            path, 0, f"cannot tell the format from the extension; name one of {', '.join(FORMATS)}"
        )
    return fmt


def line_limit(max_chars: int) -> int:
    """The most bytes one input line (or CSV row) may have: room for a text of `max_chars`
    characters written as JSON escapes (12 bytes for a character outside the BMP) and 1 MiB
    of other fields. Longer lines are reported without being read into memory.
    """
    return 12 * max_chars + (1 << 20)


def read_records(
    path: Union[str, Path],
    *,
    fmt: Optional[str] = None,
    text_field: str = "text",
    id_field: str = "id",
    max_chars: int = DEFAULT_MAX_CHARS,
    encoding: str = "utf-8",
) -> Iterator[InputRecord]:
    """Stream the records of a tweet dump in constant memory.

    path (Union[str, Path]): A `.jsonl`, `.tsv` or `.csv` file, plain or compressed (gzip,
        bzip2, xz; told by its first bytes).
    fmt (Optional[str]): "jsonl", "tsv" or "csv"; None to take it from the extension.
    text_field (str): The field (JSON key or header column) holding the text.
    id_field (str): The field holding the record id; records without it get their number.
    max_chars (int): Texts longer than this are reported as errors, not annotated.
    encoding (str): The text encoding of the file (one that keeps `\\n` a single byte).
    YIELDS (InputRecord): Each record, readable or with the reason it is not, in file order.
    RAISES (InputError): The file cannot be opened, or has no usable header; an
        `InputFailure` where it is damaged, after the records before the damage.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, 0, "input not found")
    if not path.is_file():
        raise InputError(path, 0, "input is not a file")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise InputError(path, 0, f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    checker = _RecordChecker(text_field=text_field, id_field=id_field, max_chars=max_chars)
    limit = line_limit(max_chars)
    with open_input(path) as stream:
        position = _Position()
        lines = position.track(iter_lines(stream, limit=limit), encoding)
        if fmt == "jsonl":
            records = _read_jsonl(lines, checker)
        else:
            rows = tsv_rows(lines) if fmt == "tsv" else csv_rows(lines, limit=limit)
            records = _read_table(path, rows, checker, fmt=fmt)
        n_records = 0
        try:
            for record in records:
                yield record
                n_records += 1
        except InputFailure as err:
            raise err.located(line=position.line + 1, records=n_records) from None


class _Position:
    """Decodes lines and remembers the last line read, to say where a damaged file stopped."""

    def __init__(self) -> None:
        self.line = 0

    def track(self, lines: Iterator, encoding: str) -> Iterator[Line]:
        for number, data, size in lines:
            self.line = number
            # Bad bytes become lone surrogates ("surrogateescape") instead of failing the whole
            # file; each record that holds one is reported on its own.
            text = None if data is None else data.decode(encoding, errors="surrogateescape")
            yield number, text, size


class _RecordChecker:
    """Turns the fields of one record into an `InputRecord`, deciding whether it is readable."""

    def __init__(self, *, text_field: str, id_field: str, max_chars: int) -> None:
        self.text_field = text_field
        self.id_field = id_field
        self.max_chars = max_chars

    def __call__(self, number: int, line: int, fields: Any, raw: str) -> InputRecord:
        record = InputRecord(number=number, line=line, id=number)
        if not isinstance(fields, dict):
            record.error = f"not a JSON object but {type(fields).__name__}"
            return record
        record_id = fields.get(self.id_field)
        if record_id not in (None, ""):
            record.id = record_id
        if _has_bad_bytes(raw):
            record.error = "undecodable bytes"
            if isinstance(record.id, str) and _has_bad_bytes(record.id):
                record.id = number
            return record
        problem = id_problem(record.id)
        if problem is not None:
            record.error = problem
            record.id = printable_id(record.id)
            return record
        text = fields.get(self.text_field)
        if text is None:
            record.error = f"missing text field {self.text_field!r}"
        elif not isinstance(text, str):
            record.error = f"text field {self.text_field!r} is {type(text).__name__}, not a string"
        elif not text.strip():
            record.error = "empty text"
        elif len(text) > self.max_chars:
            record.error = f"text too long: {len(text):,} characters > max {self.max_chars:,}"
        else:
            record.text, record.cleaned = clean_text(text)
        return record


def _has_bad_bytes(text: str) -> bool:
    # surrogateescape maps each undecodable byte to U+DC80..U+DCFF.
    return any("\udc80" <= char <= "\udcff" for char in text)


def _read_jsonl(lines: Iterator[Line], checker: _RecordChecker) -> Iterator[InputRecord]:
    number = 0
    for line_number, line, size in lines:
        if line is not None:
            # A byte order mark can only be a leftover of concatenated files: never JSON.
            line = line.lstrip("\ufeff")
            if not line.strip():
                continue
        number += 1
        if line is None:
            yield InputRecord(number, line_number, number, error=f"line of {size:,} bytes: text too long")
            continue
        try:
            fields = json.loads(line, strict=False)
        except json.JSONDecodeError as err:
            reason = "undecodable bytes" if _has_bad_bytes(line) else f"bad JSON: {err.msg} at column {err.colno}"
            yield InputRecord(number, line_number, number, error=reason)
            continue
        except (ValueError, RecursionError) as err:  # e.g. an int of 5,000 digits, [[[[...]]]]
            yield InputRecord(number, line_number, number, error=f"bad JSON: {type(err).__name__}: {str(err)[:100]}")
            continue
        yield checker(number, line_number, fields, line)


def _read_table(path: Path, rows: Iterator[Row], checker: _RecordChecker, *, fmt: str) -> Iterator[InputRecord]:
    header_row = next(rows, None)
    if header_row is None:
        return
    line, header, header_raw = header_row
    if header is None:
        raise InputError(path, line, f"the header cannot be read: {header_raw}")
    if _has_bad_bytes(header_raw):
        raise InputError(path, line, "undecodable bytes in the header")
    header = [name.strip("\ufeff") for name in header]
    if checker.text_field not in header:
        raise InputError(
            path, line, f"no column {checker.text_field!r} in the header (columns: {', '.join(header)})"
        )
    number = 0
    for line_number, row, raw in rows:
        if row is None:
            number += 1
            yield InputRecord(number, line_number, number, error=raw)
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        number += 1
        # A short row lacks its trailing fields; those fields are then missing, not empty.
        fields: Dict[str, Any] = {name: value for name, value in zip(header, row)}
        record = checker(number, line_number, fields, raw)
        if len(row) > len(header):
            separator = "a tab" if fmt == "tsv" else "an unquoted comma"
            record.text, record.cleaned = None, 0
            record.error = (
                f"row has {len(row)} fields but the header {len(header)} ({separator} inside a field?)"
            )
        yield record


def list_inputs(patterns: Union[str, Path, List[Union[str, Path]]]) -> List[Path]:
    """Expand files, folders and glob patterns into a sorted list of input files.

    patterns (Union[str, Path, List[Union[str, Path]]]): Paths, folders (all files in them with
        a known extension) or glob patterns such as "dump/part-*.jsonl.gz".
    RETURNS (List[Path]): The input files, sorted, without duplicates.
    """
    import glob

    if isinstance(patterns, (str, Path)):
        patterns = [patterns]
    found: List[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            found.extend(p for p in path.iterdir() if p.is_file() and _known_format(p))
        elif path.is_file():
            found.append(path)
        else:
            matches = [Path(p) for p in glob.glob(str(pattern), recursive=True)]
            if not matches:
                raise InputError(path, 0, "no input file matches")
            found.extend(p for p in matches if p.is_file())
    return sorted(set(found))


def _known_format(path: Path) -> bool:
    try:
        detect_format(path)
    except InputError:
        return False
    return True
