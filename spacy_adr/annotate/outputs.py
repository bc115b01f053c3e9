"""Writing annotations: output records, the JSONL and SMM4H TSV formats, and chunked output
that survives a crash.

A run writes its output in chunks of a fixed number of input records under `OUTPUT.parts/`.
Each chunk is written to temporary files, flushed to disk (fsync) and renamed into place; a
`NNNNNN.done.json` marker, renamed last, is the chunk's commit point. A crash therefore leaves
only whole chunks behind, and a rerun with the same settings skips the input records of the
committed chunks and rewrites the rest: its output is byte-identical to an uninterrupted run.
At the end the chunks are concatenated into OUTPUT and `OUTPUT-stem.errors.jsonl` (each
written to a temporary file and renamed) and `OUTPUT.parts/` is removed.
"""
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, TextIO, Union

from spacy.language import Language
from spacy.tokens import Doc, Span

from .. import extensions  # noqa: F401  (installs Span._.meddra_term)
from ..classification import adr_threshold  # noqa: F401  (part of this module's API)
from .inputs import InputRecord

OUTPUT_FORMATS = ("jsonl", "smm4h-tsv")
# The columns of the SMM4H 2020 Task 3 files (task3_training.tsv, task3_validation.tsv).
SMM4H_COLUMNS = [
    "tweet_id", "begin", "end", "type", "extraction", "drug", "tweet", "meddra_code", "meddra_term"
]
MANIFEST_FILE = "manifest.json"


class ResumeError(ValueError):
    """Leftover chunks of an earlier run were written with other settings."""


def errors_path_for(output: Union[str, Path]) -> Path:
    """Where the errors of a run writing `output` go: `out.jsonl` -> `out.errors.jsonl`."""
    output = Path(output)
    return output.with_name(f"{output.stem}.errors.jsonl")


def parts_dir_for(output: Union[str, Path]) -> Path:
    """The folder of the chunks of a run writing `output`: `out.jsonl` -> `out.jsonl.parts`."""
    output = Path(output)
    return output.with_name(f"{output.name}.parts")


def detect_output_format(output: Union[str, Path]) -> str:
    """The output format named by an extension: `.tsv` is the SMM4H TSV, anything else JSONL."""
    return "smm4h-tsv" if Path(output).suffix.lower() == ".tsv" else "jsonl"


def build_record(
    doc: Doc, *, record_id: Any, include_text: bool = False, threshold: Optional[float] = None
) -> Dict[str, Any]:
    """The output record of one annotated tweet.

    doc (Doc): The annotated tweet.
    record_id (Any): The id of the input record.
    include_text (bool): Put the text into the record.
    threshold (Optional[float]): ADR decision threshold; None when the pipeline has no ADR
        classifier, and then `adr_label` is None.
    RETURNS (Dict[str, Any]): {id, text?, adr_probability, adr_label, spans}; span offsets are
        character offsets into the text.
    """
    record: Dict[str, Any] = {"id": record_id}
    if include_text:
        record["text"] = doc.text
    probability = doc.cats.get("ADR")
    record["adr_probability"] = probability
    if threshold is None or probability is None:
        record["adr_label"] = None
    else:
        record["adr_label"] = bool(probability >= threshold)
    record["spans"] = [_span_record(ent) for ent in doc.ents]
    return record


def _span_record(ent: Span) -> Dict[str, Any]:
    span = {
        "start": ent.start_char,
        "end": ent.end_char,
        "text": ent.text,
        "label": ent.label_,
        "meddra_code": ent.kb_id_ or None,
        "meddra_term": ent._.meddra_term or None,
    }
    # Set by the MedDRA linker, which may be absent from a pipeline (and from this install).
    if Span.has_extension("link_method"):
        span["link_method"] = ent._.link_method or None
    return span


def error_record(record: InputRecord, *, path: Union[str, Path]) -> Dict[str, Any]:
    """The error report of an input record that could not be annotated."""
    return {"path": str(path), "line": record.line, "id": record.id, "reason": record.error}


def format_record(record: Dict[str, Any], text: str, *, output_format: str) -> str:
    """Serialize one output record.

    record (Dict[str, Any]): A record from `build_record`.
    text (str): The tweet (the SMM4H TSV always carries it).
    output_format (str): "jsonl" (one line) or "smm4h-tsv" (one row per span; a tweet without
        spans gets one row with empty span fields, as in the SMM4H data).
    RETURNS (str): The lines, each ending in "\\n".
    """
    if output_format == "jsonl":
        return json.dumps(record, ensure_ascii=False) + "\n"
    # A tab or line break would break the row; one space each keeps every offset.
    tweet = text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    tweet_id = str(record["id"])
    if not record["spans"]:
        return "\t".join([tweet_id, "", "", "", "", "", tweet, "", ""]) + "\n"
    rows = []
    for span in record["spans"]:
        extraction = tweet[span["start"] : span["end"]]
        row = [
            tweet_id, str(span["start"]), str(span["end"]), span["label"], extraction, "", tweet,
            span["meddra_code"] or "", span["meddra_term"] or "",
        ]
        rows.append("\t".join(row) + "\n")
    return "".join(rows)


def header_for(output_format: str) -> str:
    """The first line of an output file ("" for JSONL)."""
    return "\t".join(SMM4H_COLUMNS) + "\n" if output_format == "smm4h-tsv" else ""


@dataclass
class ChunkCounts:
    """What a chunk (or several) holds: input records, annotated ones, errors, spans."""

    records: int = 0
    annotated: int = 0
    errors: int = 0
    spans: int = 0

    def add(self, other: "ChunkCounts") -> None:
        self.records += other.records
        self.annotated += other.annotated
        self.errors += other.errors
        self.spans += other.spans


class ChunkWriter:
    """Writes one chunk to temporary files; `commit` makes it permanent, atomically."""

    def __init__(self, parts_dir: Path, index: int) -> None:
        self.index = index
        self.data_path = parts_dir / f"{index:06d}.out"
        self.errors_path = parts_dir / f"{index:06d}.errors.jsonl"
        self.done_path = parts_dir / f"{index:06d}.done.json"
        self.counts = ChunkCounts()
        self._data: TextIO = open(_tmp(self.data_path), "w", encoding="utf-8", newline="")
        self._errors: TextIO = open(_tmp(self.errors_path), "w", encoding="utf-8", newline="")

    def write(self, lines: str, *, n_spans: int) -> None:
        """Add the serialized output of one annotated input record."""
        self._data.write(lines)
        self.counts.records += 1
        self.counts.annotated += 1
        self.counts.spans += n_spans

    def write_error(self, error: Dict[str, Any]) -> None:
        """Add the error report of one input record."""
        self._errors.write(json.dumps(error, ensure_ascii=False) + "\n")
        self.counts.records += 1
        self.counts.errors += 1

    def commit(self) -> ChunkCounts:
        """Flush the chunk to disk and rename it into place; the done marker goes last."""
        for file, final in ((self._data, self.data_path), (self._errors, self.errors_path)):
            _close_synced(file)
            os.replace(_tmp(final), final)
        _write_atomic(self.done_path, json.dumps(self.counts.__dict__) + "\n")
        _sync_dir(self.done_path.parent)
        return self.counts

    def abort(self) -> None:
        """Close the temporary files without committing (a crash leaves the same state)."""
        for file in (self._data, self._errors):
            if not file.closed:
                file.close()


class ChunkedOutput:
    """The chunk folder of one run: which chunks are committed, new chunks, the final merge.

    output (Path): The final output file.
    settings (Dict[str, Any]): Everything that decides the output (input file, fields, chunk
        size, model, format...): chunks left by a run with other settings are not reused.
    output_format (str): "jsonl" or "smm4h-tsv".
    restart (bool): Discard the chunks of an earlier run instead of resuming.
    """

    def __init__(
        self,
        output: Union[str, Path],
        *,
        settings: Dict[str, Any],
        output_format: str,
        restart: bool = False,
    ) -> None:
        self.output = Path(output)
        self.errors_output = errors_path_for(self.output)
        self.parts_dir = parts_dir_for(self.output)
        self.output_format = output_format
        manifest_path = self.parts_dir / MANIFEST_FILE
        settings = json.loads(json.dumps(settings, default=str))
        if restart and self.parts_dir.exists():
            shutil.rmtree(self.parts_dir)
        if manifest_path.exists():
            previous = json.loads(manifest_path.read_text(encoding="utf-8"))
            if previous != settings:
                changed = sorted(k for k in set(previous) | set(settings) if previous.get(k) != settings.get(k))
                raise ResumeError(
                    f"{self.parts_dir} holds chunks of a run with other settings "
                    f"({', '.join(changed)} differ): rerun with the same settings to resume, "
                    f"or restart (--restart) to discard them"
                )
        else:
            self.parts_dir.mkdir(parents=True, exist_ok=True)
            _write_atomic(manifest_path, json.dumps(settings, indent=2, sort_keys=True) + "\n")
        self.n_done, self.done_counts = self._committed()

    def _committed(self) -> "tuple[int, ChunkCounts]":
        counts = ChunkCounts()
        index = 0
        while True:
            done = self.parts_dir / f"{index:06d}.done.json"
            if not done.exists():
                return index, counts
            counts.add(ChunkCounts(**json.loads(done.read_text(encoding="utf-8"))))
            index += 1

    def new_chunk(self, index: int) -> ChunkWriter:
        """Start chunk `index` (overwriting what a crashed run left of it)."""
        return ChunkWriter(self.parts_dir, index)

    def merge(self, n_chunks: int) -> None:
        """Concatenate chunks 0..n_chunks-1 into the output and errors files; remove the parts."""
        for final, suffix, header in (
            (self.output, "out", header_for(self.output_format)),
            (self.errors_output, "errors.jsonl", ""),
        ):
            final.parent.mkdir(parents=True, exist_ok=True)
            with open(_tmp(final), "wb") as merged:
                merged.write(header.encode("utf-8"))
                for index in range(n_chunks):
                    with open(self.parts_dir / f"{index:06d}.{suffix}", "rb") as part:
                        shutil.copyfileobj(part, merged, 1 << 20)
                merged.flush()
                os.fsync(merged.fileno())
            os.replace(_tmp(final), final)
        _sync_dir(self.output.parent)
        shutil.rmtree(self.parts_dir)


def _tmp(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def _close_synced(file: TextIO) -> None:
    file.flush()
    os.fsync(file.fileno())
    file.close()


def _write_atomic(path: Path, text: str) -> None:
    with open(_tmp(path), "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(_tmp(path), path)


def _sync_dir(path: Path) -> None:
    # A rename is durable only once its folder is synced (POSIX); not possible on Windows.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_jsonl(path: Union[str, Path]) -> List[Dict[str, Any]]:
    """Read a JSON-lines output or errors file (a convenience for checks and tests)."""
    with open(path, encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]
