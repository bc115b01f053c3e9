"""Reading tweet dumps to annotate: JSON lines, TSV or CSV, optionally gzipped, streamed.

Every record of the input becomes one `InputRecord`, in file order: a readable one carries its
text, an unreadable one (bad JSON, no text field, undecodable bytes, empty or over-long text)
carries the reason instead, so that the caller can report it and nothing is lost silently.
Problems of the whole file (it does not exist, its header has no text column) raise
`InputError` before the first record.

Formats:
- `jsonl`: one JSON object a line; blank lines are not records and are skipped.
- `tsv`: a header line, then one record a line, split on tabs with no unquoting (as the SMM4H
  files are read: a quote character is part of the tweet), so one stray quote can never swallow
  the lines after it. Line ends `\\n` or `\\r\\n`.
- `csv`: a header line, then records as Python's `csv` module reads them (quoted fields may hold
  commas and line breaks). The line of a record is the line it starts on.
"""
import csv
import gzip
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator, List, Optional, Union

from ..corpora.problems import InputError

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
    """

    number: int
    line: int
    id: Any
    text: Optional[str] = None
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.error is None


def detect_format(path: Union[str, Path]) -> str:
    """The input format named by a file's extension (`.gz` is looked through).

    path (Union[str, Path]): The input file.
    RETURNS (str): "jsonl", "tsv" or "csv".
    """
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = _SUFFIX_FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise InputError(
            path, 0, f"cannot tell the format from the extension; name one of {', '.join(FORMATS)}"
        )
    return fmt


def open_binary(path: Union[str, Path]) -> BinaryIO:
    """Open a file for reading bytes, decompressing it when its name ends in `.gz`."""
    path = Path(path)
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def count_lines(path: Union[str, Path]) -> int:
    """Count the lines of a (possibly gzipped) file in one pass over its bytes.

    Used only for the progress bar's total and ETA: for JSON lines and TSV it is the number of
    records (plus the header and blank lines), for CSV with line breaks inside fields an upper
    bound. Cheap next to annotation: a few hundred MB/s.
    """
    count = 0
    last = b"\n"
    with open_binary(path) as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


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

    path (Union[str, Path]): A `.jsonl`, `.tsv` or `.csv` file, optionally ending in `.gz`.
    fmt (Optional[str]): "jsonl", "tsv" or "csv"; None to take it from the extension.
    text_field (str): The field (JSON key or header column) holding the text.
    id_field (str): The field holding the record id; records without it get their number.
    max_chars (int): Texts longer than this are reported as errors, not annotated.
    encoding (str): The text encoding of the file.
    YIELDS (InputRecord): Each record, readable or with the reason it is not, in file order.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, 0, "input not found")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise InputError(path, 0, f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    checker = _RecordChecker(text_field=text_field, id_field=id_field, max_chars=max_chars)
    with open_binary(path) as raw:
        # Bad bytes become lone surrogates ("surrogateescape") instead of failing the whole
        # file; each record that holds one is reported on its own.
        lines = io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline="")
        if fmt == "jsonl":
            yield from _read_jsonl(lines, checker)
        else:
            yield from _read_table(path, lines, checker, delimiter="\t" if fmt == "tsv" else ",")


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
            record.text = text
        return record


def _has_bad_bytes(text: str) -> bool:
    # surrogateescape maps each undecodable byte to U+DC80..U+DCFF.
    return any("\udc80" <= char <= "\udcff" for char in text)


def _read_jsonl(lines: io.TextIOWrapper, checker: _RecordChecker) -> Iterator[InputRecord]:
    number = 0
    for line_number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        number += 1
        line = line.rstrip("\r\n")
        try:
            fields = json.loads(line)
        except json.JSONDecodeError as err:
            if _has_bad_bytes(line):
                yield InputRecord(number, line_number, number, error="undecodable bytes")
            else:
                yield InputRecord(number, line_number, number, error=f"bad JSON: {err.msg} at column {err.colno}")
            continue
        yield checker(number, line_number, fields, line)


def _read_table(
    path: Path, lines: io.TextIOWrapper, checker: _RecordChecker, *, delimiter: str
) -> Iterator[InputRecord]:
    if delimiter == "\t":
        rows = _split_tsv(lines)
    else:
        rows = _split_csv(lines)
    header_row = next(rows, None)
    if header_row is None:
        return
    _, header, header_raw = header_row
    if header is None:
        raise InputError(path, 1, header_raw)
    if _has_bad_bytes(header_raw):
        raise InputError(path, 1, "undecodable bytes in the header")
    if checker.text_field not in header:
        raise InputError(
            path, 1, f"no column {checker.text_field!r} in the header (columns: {', '.join(header)})"
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
        fields = {name: value for name, value in zip(header, row)}
        yield checker(number, line_number, fields, raw)


def _split_tsv(lines: io.TextIOWrapper) -> Iterator[tuple]:
    for line_number, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        yield line_number, line.split("\t"), line


def _split_csv(lines: io.TextIOWrapper) -> Iterator[tuple]:
    reader = csv.reader(lines)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            # e.g. a field over csv.field_size_limit(); the reader goes on after that line.
            yield start, None, f"bad CSV: {err}"
        else:
            # The reader counts the physical lines it consumed: a record spans start..line_num.
            yield start, row, ",".join(row)
        start = reader.line_num + 1


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
