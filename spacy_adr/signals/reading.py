"""Streaming `spacy-adr annotate` JSONL outputs: one record a line, plain or compressed.

Files are opened as `annotate` opens its inputs (`spacy_adr.annotate.sources`): gzip, bzip2
and xz are read whatever the file is called, a byte order mark is dropped, and damage in a
compressed file stops that file where it is found. Nothing about one bad line or file stops
the others: a line that is not JSON, a record that is not an object or has no `spans` list (a
line of an `.errors.jsonl` file, say), an over-long line, an unreadable or damaged file each
become a problem with file and line, and reading goes on.
"""
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Tuple, Union

from ..annotate.sources import COMPRESSION_SUFFIXES, InputFailure, iter_lines, open_input
from ..errors import InputError
from .problems import ProblemLog

# A record holds one tweet (at most `annotate --max-chars`, 5,000 characters by default) and
# its spans: a line longer than this is not a record of annotate's.
MAX_LINE_BYTES = 16 << 20
_RECORD_SUFFIXES = (".jsonl", ".ndjson", ".json")
_ERRORS_SUFFIX = ".errors.jsonl"


@dataclass
class ReadStats:
    """What was read.

    files (int): Files opened.
    files_failed (int): Files that could not be opened or were damaged (read up to the damage).
    lines (int): Lines read, blank ones included.
    blank_lines (int): Blank lines (no record, not a problem).
    records (int): Records read.
    skipped (int): Non-blank lines that gave no record (each a problem).
    """

    files: int = 0
    files_failed: int = 0
    lines: int = 0
    blank_lines: int = 0
    records: int = 0
    skipped: int = 0

    def to_dict(self) -> Dict[str, int]:
        """RETURNS (Dict[str, int]): The counts."""
        return asdict(self)


def input_files(paths: Iterable[Union[str, Path]]) -> List[Path]:
    """The files to read: each file given, and the annotate outputs inside each folder given.

    A folder contributes its `*.jsonl` (also `.ndjson`, `.json`, each optionally `.gz`, `.bz2`,
    `.xz`) files in name order, without annotate's `*.errors.jsonl` reports.

    paths (Iterable[Union[str, Path]]): Files and folders.
    RETURNS (List[Path]): The files, in order, each once.
    RAISES (InputError): A path that does not exist, or a folder without outputs.
    """
    files: List[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and _is_output(p))
            if not found:
                raise InputError(path, 0, f"no annotate outputs ({', '.join('*' + s for s in _RECORD_SUFFIXES)}) in this folder")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise InputError(path, 0, "no such file or folder")
    return list(dict.fromkeys(files))


def _is_output(path: Path) -> bool:
    name = path.name.lower()
    for suffix in COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.endswith(_RECORD_SUFFIXES) and not name.endswith(_ERRORS_SUFFIX)


def read_records(
    path: Union[str, Path], *, problems: ProblemLog, stats: ReadStats, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[Tuple[int, Dict[str, Any]]]:
    """Stream the records of one annotate output in constant memory.

    path (Union[str, Path]): A JSONL file, plain or compressed.
    problems (ProblemLog): Receives every line that gives no record, and file failures.
    stats (ReadStats): Counts what is read.
    max_line_bytes (int): Longer lines are reported without being read into memory.
    YIELDS (Tuple[int, Dict[str, Any]]): (line number, record) of each record with a `spans`
        list; its spans are not checked here.
    """
    stats.files += 1
    try:
        stream = open_input(path)
    except InputError as err:
        stats.files_failed += 1
        problems.add(path, err.line, "file not read", err.problem)
        return
    line_no = 0
    with stream:
        try:
            for line_no, raw, size in iter_lines(stream, limit=max_line_bytes):
                stats.lines += 1
                if raw is None:
                    stats.skipped += 1
                    problems.add(path, line_no, f"line longer than {max_line_bytes:,} bytes", f"{size:,} bytes")
                    continue
                record, problem = _parse(raw)
                if record is not None:
                    stats.records += 1
                    yield line_no, record
                elif problem is None:
                    stats.blank_lines += 1
                else:
                    stats.skipped += 1
                    problems.add(path, line_no, *problem)
        except InputFailure as err:
            stats.files_failed += 1
            problems.add(path, line_no + 1, "file damaged: read up to here", err.bare_problem)


def _parse(raw: bytes) -> Tuple[Any, Any]:
    # (record, None) for a record; (None, None) for a blank line; (None, (kind, detail)) else.
    if not raw.strip():
        return None, None
    try:
        record = json.loads(raw)
    except ValueError as err:  # UnicodeDecodeError and JSONDecodeError both
        return None, ("not a JSON line", str(err))
    if not isinstance(record, dict):
        return None, ("not a JSON object", type(record).__name__)
    if not isinstance(record.get("spans"), list):
        if "reason" in record and "spans" not in record:
            return None, ("no spans: a line of an annotate errors file?", str(record.get("reason"))[:200])
        return None, ("no spans list", f"keys {sorted(record)[:8]}")
    return record, None
