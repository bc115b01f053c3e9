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

Text that is not lines of UTF-8 is named as what it seems to be, not reported as bad JSON or
mangled columns:
- Bare-CR line ends (old Mac). A bare `\\r` is text today (inside a JSON string or a tweet it
  is one), so the file's lines are not split there. Where the first line of the file holds
  whole records (JSON objects; the first may be a broken one) or the header with the text
  column between bare `\\r`s, the file uses bare CRs as line ends: `InputError` at that
  line, before any record. Further on, a line that breaks the same way stays one error
  record (it is one line) whose reason names bare-CR line ends and how many records it seems
  to hold; the CSV reader names them for a bare `\\r` outside quotes. A table's header line
  (TSV or CSV) is never allowed a bare `\\r`: no column name holds one.
- UTF-16 without a byte order mark (a NUL byte every other byte; with one, `sources` refuses
  it), also UTF-16 of a non-Latin script, which has NULs only beside its spaces, digits and
  punctuation: `InputError` at line 1 when the file starts so; a line further on that looks
  so (or holds only NULs, or starts with one: the rest of a UTF-16 line end) is one error
  record saying so.
"""
import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from ..errors import InputError
from ..lines import BARE_CR_ADVICE, bare_cr_pieces, utf16_advice, utf16_without_bom
from .cleaning import clean_text, id_problem, printable_id
from .sources import COMPRESSION_SUFFIXES, InputFailure, iter_lines, open_input
from .tables import Line, Row, csv_rows, tsv_rows

FORMATS = ("jsonl", "tsv", "csv")
_SUFFIX_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".tsv": "tsv", ".csv": "csv"}
DEFAULT_MAX_CHARS = 5000
# Bytes of the start of a file looked at for bare-CR line ends and UTF-16: one read's worth.
_HEAD_BYTES = 1 << 16


@dataclass
class InputRecord:
    """One record of the input.

    number (int): 1-based position among the records of the file (header and blank lines not
        counted); the id when the record has none.
    line (int): 1-based line of the file the record starts on.
    id (Any): The value of the id field, else `number`. An id with undecodable bytes is kept
        with U+FFFD for each of them (and its record is an error that says so), so that it
        is never taken for a record number.
    text (Optional[str]): The text to annotate; None when the record is an error.
    error (Optional[str]): Why the record cannot be annotated; None when it can.
    cleaned (int): Code points of the text replaced by U+FFFD (see `cleaning`).
    fields (Dict[str, Any]): The fields kept for the output (`keep_fields` of `read_records`),
        None for a field the record lacks.
    """

    number: int
    line: int
    id: Any
    text: Optional[str] = None
    error: Optional[str] = None
    cleaned: int = 0
    fields: Dict[str, Any] = field(default_factory=dict)

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
    keep_fields: Sequence[str] = (),
    max_chars: int = DEFAULT_MAX_CHARS,
    encoding: str = "utf-8",
) -> Iterator[InputRecord]:
    """Stream the records of a tweet dump in constant memory.

    path (Union[str, Path]): A `.jsonl`, `.tsv` or `.csv` file, plain or compressed (gzip,
        bzip2, xz; told by its first bytes).
    fmt (Optional[str]): "jsonl", "tsv" or "csv"; None to take it from the extension.
    text_field (str): The field (JSON key or header column) holding the text.
    id_field (str): The field holding the record id; records without it get their number.
    keep_fields (Sequence[str]): Fields (JSON keys or header columns, e.g. a date) whose
        values each record carries into its output (`InputRecord.fields`).
    max_chars (int): Texts longer than this are reported as errors, not annotated.
    encoding (str): The text encoding of the file (one that keeps `\\n` a single byte).
    YIELDS (InputRecord): Each record, readable or with the reason it is not, in file order.
    RAISES (InputError): The file cannot be opened, has no usable header (or one that names
        the text or id field twice), or its first line shows bare-CR line ends or UTF-16
        without a byte order mark, or lacks a kept column; an `InputFailure` where it is
        damaged, after the records before the damage.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, 0, "input not found")
    if not path.is_file():
        raise InputError(path, 0, "input is not a file")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise InputError(path, 0, f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    checker = _RecordChecker(text_field=text_field, id_field=id_field, keep_fields=keep_fields, max_chars=max_chars)
    limit = line_limit(max_chars)
    with open_input(path) as stream:
        position = _Position()
        n_records = 0
        try:
            # peek: the start is looked at without being read twice (it may be a pipe).
            _check_start(path, stream.peek(_HEAD_BYTES)[:_HEAD_BYTES], fmt=fmt, encoding=encoding, text_field=text_field)
            lines = position.track(iter_lines(stream, limit=limit), encoding)
            if fmt == "jsonl":
                records = _read_jsonl(lines, checker)
            else:
                rows = tsv_rows(lines) if fmt == "tsv" else csv_rows(lines, limit=limit)
                records = _read_table(path, rows, checker, fmt=fmt)
            for record in records:
                yield record
                n_records += 1
        except InputFailure as err:
            raise err.located(line=position.line + 1, records=n_records) from None


def _check_start(path: Path, head: bytes, *, fmt: str, encoding: str, text_field: str) -> None:
    """Refuse a file whose start shows that its lines are not lines of UTF-8 text.

    path (Path): The file, for the message.
    head (bytes): Its first bytes (decompressed, after a byte order mark).
    fmt (str): "jsonl", "tsv" or "csv".
    encoding (str): The encoding the file is read with.
    text_field (str): The text field, which a table's header names.
    RAISES (InputError): UTF-16 without a byte order mark, or bare-CR line ends, at the line.
    """
    # The first line only: UTF-16 further on (a part appended later) is its lines' error.
    utf16 = utf16_without_bom(head.split(b"\n", 1)[0])
    if utf16 is not None:
        raise InputError(path, 1, utf16_advice(utf16))
    for number, line in enumerate(head.split(b"\n"), start=1):
        text = line.decode(encoding, errors="surrogateescape")
        pieces = bare_cr_pieces(text)
        if not pieces:
            continue
        # The first line alone decides: a bare \r further on may be a tweet's. The first line
        # of a bare-CR file holds whole records (or the header) between its \r's (the first
        # may be a broken one); a record holds a \r only inside a string, which leaves no
        # whole object on either side, unless the string holds one: then the line is one.
        if len(pieces) > 1 and not (fmt == "jsonl" and _is_json_object(text)):
            whole = sum(_is_first_record(piece, fmt=fmt, text_field=text_field) for piece in pieces)
            if whole:
                what = f"{whole} whole JSON objects" if fmt == "jsonl" else "the whole header"
                raise InputError(
                    path, number, f"the line holds {what} in {len(pieces)} pieces separated by bare "
                    f"CRs (\\r); {BARE_CR_ADVICE}"
                )
        return


def _is_first_record(piece: str, *, fmt: str, text_field: str) -> bool:
    """Whether a piece of a line is a whole JSON record, or a header with the text column."""
    piece = piece.lstrip("\ufeff")
    if fmt == "jsonl":
        return _is_json_object(piece)
    if fmt == "tsv":
        return text_field in piece.split("\t")
    try:
        return text_field in next(csv.reader([piece]))
    except (csv.Error, StopIteration):
        return False


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text, strict=False), dict)
    except (ValueError, RecursionError):
        return False


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

    def __init__(self, *, text_field: str, id_field: str, keep_fields: Sequence[str] = (), max_chars: int) -> None:
        self.text_field = text_field
        self.id_field = id_field
        self.keep_fields = tuple(keep_fields)
        self.max_chars = max_chars

    def __call__(self, number: int, line: int, fields: Any, raw: str) -> InputRecord:
        record = InputRecord(number=number, line=line, id=number)
        if not isinstance(fields, dict):
            record.error = f"not a JSON object but {json_type(fields)}"
            return record
        record.fields = {name: fields.get(name) for name in self.keep_fields}
        record_id = fields.get(self.id_field)
        if record_id not in (None, ""):
            record.id = record_id
        if _has_bad_bytes(raw):
            record.error = self._bad_bytes_reason(record, fields)
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

    def _bad_bytes_reason(self, record: InputRecord, fields: Dict[str, Any]) -> str:
        """Where a record's undecodable bytes are; an id that holds some is shown cleaned."""
        places = []
        if _has_bad_bytes(json.dumps(record.id, ensure_ascii=False, default=repr)):
            # Kept, with U+FFFD for each bad byte: the record number in its place would read
            # as a real id.
            record.id = printable_id(record.id)
            places.append("the id (shown with U+FFFD for each undecodable byte)")
        text = fields.get(self.text_field)
        if isinstance(text, str) and _has_bad_bytes(text):
            places.append(f"the text field {self.text_field!r}")
        if not places:
            places.append("another field or a field name")
        return f"undecodable bytes in {' and '.join(places)}"


def json_type(value: Any) -> str:
    """The JSON name of a value's type, as a message says it: "null", "a number", "an array".

    value (Any): A value from `json.loads`.
    RETURNS (str): "null", "true", "false", "a number", "a string", "an array" or "an object".
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else type(value).__name__


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
            reason = _not_json_lines(line) or (
                "undecodable bytes" if _has_bad_bytes(line) else f"bad JSON: {json_error(err)}"
            )
            yield InputRecord(number, line_number, number, error=reason)
            continue
        except (ValueError, RecursionError) as err:  # e.g. an int of 5,000 digits, [[[[...]]]]
            yield InputRecord(number, line_number, number, error=f"bad JSON: {type(err).__name__}: {str(err)[:100]}")
            continue
        yield checker(number, line_number, fields, line)


def json_error(err: json.JSONDecodeError) -> str:
    """What `json` found wrong, and the column: "Unterminated string starting at column 19".

    err (json.JSONDecodeError): The error.
    RETURNS (str): Its message; some of json's messages end in "at" already.
    """
    message = err.msg[: -len(" at")] if err.msg.endswith(" at") else err.msg
    return f"{message} at column {err.colno}"


def _not_json_lines(line: str) -> Optional[str]:
    """Why a line that is not JSON is not even a line of JSON text: UTF-16, or several records
    joined by bare CRs; None when it is just bad JSON. Looked for on bad lines only."""
    utf16 = _utf16_reason(line)
    if utf16 is not None:
        return utf16
    if line.startswith("\x00"):
        # A UTF-16LE part ends in "\n\x00": the line after it starts with that NUL.
        return "not UTF-8 text: the line starts with a NUL byte (the end of a UTF-16 line end before it?)"
    pieces = bare_cr_pieces(line)
    if len(pieces) > 1:
        n_objects = sum(_is_json_object(piece) for piece in pieces)
        if n_objects:
            return (
                f"bad JSON: the line holds {n_objects} JSON objects in {len(pieces)} pieces "
                f"separated by bare CRs (\\r); {BARE_CR_ADVICE}"
            )
    return None


def _utf16_reason(line: str) -> Optional[str]:
    """Why a line seems to be UTF-16 text (None when it does not): its characters each with a
    NUL byte, or only NULs, the second byte of the LF that ended the line before it in
    UTF-16LE (the phantom record at the end of such a file)."""
    if "\x00" not in line:  # the common case, at the cost of one scan
        return None
    if not line.strip("\x00\r\n\t ,"):
        return "not UTF-8 text: a line of NUL bytes only (the end of a UTF-16 line end?)"
    if utf16_without_bom(line) is not None:
        return f"not UTF-8 text: {utf16_advice(subject='this line')}"
    return None


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
    if any("\r" in name for name in header):
        # No column is named with a line break; here one glued the rows to the header.
        raise InputError(path, line, f"the header line holds a bare CR (\\r); {BARE_CR_ADVICE}")
    if checker.text_field not in header:
        raise InputError(
            path, line, f"no column {checker.text_field!r} in the header (columns: {', '.join(header)}); "
            f"name the tweets' column with --text-field"
        )
    missing = [name for name in checker.keep_fields if name not in header]
    if missing:
        raise InputError(
            path, line, f"no column {', '.join(map(repr, missing))} in the header (columns: {', '.join(header)}); "
            f"--keep-field names columns to carry into the output"
        )
    _check_repeated_columns(path, line, header, (checker.text_field, checker.id_field, *checker.keep_fields))
    number = 0
    for line_number, row, raw in rows:
        if row is None:
            number += 1
            yield InputRecord(number, line_number, number, error=raw)
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        number += 1
        utf16 = _utf16_reason(raw)
        if utf16 is not None:
            # Its NULs would be cleaned and the rest annotated: garbage, not the tweet.
            yield InputRecord(number, line_number, number, error=utf16)
            continue
        # A short row lacks its trailing fields; those fields are then missing, not empty.
        fields: Dict[str, Any] = {name: value for name, value in zip(header, row)}
        record = checker(number, line_number, fields, raw)
        if len(row) > len(header):
            record.text, record.cleaned = None, 0
            record.error = f"row has {len(row)} fields but the header {len(header)}{_why_too_many(raw, fmt)}"
        yield record


def _check_repeated_columns(path: Path, line: int, header: List[str], used: Tuple[str, ...]) -> None:
    """Refuse a header that names the text, the id or a kept column more than once: which one
    holds the tweet cannot be told, and taking either would annotate a whole dump from the wrong
    column without a word. Other names may repeat (exports often have two "user" columns):
    they are never read, so they mislead nothing.

    path (Path): The file.
    line (int): The header's line.
    header (List[str]): The column names.
    used (Tuple[str, ...]): The names the reader takes fields from.
    RAISES (InputError): Naming each repeated name and its 1-based column numbers.
    """
    repeated = []
    for name in dict.fromkeys(used):
        columns = [i for i, column in enumerate(header, start=1) if column == name]
        if len(columns) > 1:
            repeated.append(f"{name!r} (columns {', '.join(map(str, columns[:-1]))} and {columns[-1]})")
    if repeated:
        raise InputError(
            path, line, f"the header repeats {' and '.join(repeated)}: which one to read cannot be "
            "told; rename the others, or name another column with --text-field / --id-field"
        )


def _why_too_many(raw: str, fmt: str) -> str:
    """The likely cause of a row with more fields than the header, to end its message."""
    pieces = bare_cr_pieces(raw)
    if len(pieces) > 1:
        return f": the line holds {len(pieces)} rows joined by bare CRs (\\r); {BARE_CR_ADVICE}"
    return f" ({'a tab' if fmt == 'tsv' else 'an unquoted comma'} inside a field?)"


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
