"""`annotate`: run a pipeline over a tweet dump, streaming from file to file with progress.

Memory stays constant whatever the size of the dump: records are read lazily, `nlp.pipe`
batches them (optionally over `n_process` processes), and output goes to disk chunk by chunk
(see `outputs`). An interrupted run, started again with the same arguments, resumes after its
last committed chunk.
"""
import itertools
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Deque, Dict, Iterator, Optional, Union

from spacy.language import Language

from .inputs import DEFAULT_MAX_CHARS, InputRecord, count_lines, detect_format, read_records
from .outputs import (
    ChunkCounts,
    ChunkedOutput,
    ChunkWriter,
    ResumeError,
    adr_threshold,
    build_record,
    detect_output_format,
    error_record,
    format_record,
)

DEFAULT_BATCH_SIZE = 256
DEFAULT_CHUNK_SIZE = 10_000
_IMPORTED_CODE = set()


@dataclass
class AnnotateSummary:
    """The counts of an annotation run.

    records (int): Input records, committed by earlier runs of a resumed run included.
    annotated (int): Records annotated (one output record each).
    errors (int): Records reported as errors instead.
    spans (int): Spans (entities) found.
    seconds (float): Wall time of this run.
    load_seconds (float): The part of it spent loading the pipeline.
    processed (int): Records this run processed itself (less than `records` when resumed).
    output (str): The output file(s).
    errors_output (str): The error report file(s).
    """

    records: int = 0
    annotated: int = 0
    errors: int = 0
    spans: int = 0
    seconds: float = 0.0
    load_seconds: float = 0.0
    processed: int = 0
    output: str = ""
    errors_output: str = ""

    @property
    def tweets_per_s(self) -> float:
        seconds = self.seconds - self.load_seconds
        return self.processed / seconds if seconds > 0 else 0.0

    def summary(self) -> str:
        return f"{self.records:,} records: {self.annotated:,} annotated, {self.errors:,} errors"

    def to_dict(self) -> Dict[str, Any]:
        return {**asdict(self), "tweets_per_s": round(self.tweets_per_s, 2)}


def import_code(path: Union[str, Path, None]) -> None:
    """Import a Python file that registers functions or components (like `spacy train --code`).

    Importing the same file twice is a no-op, so that workers and callers may all call it.

    path (Union[str, Path, None]): The file; None does nothing.
    """
    if path is None:
        return
    path = Path(path).resolve()
    if path in _IMPORTED_CODE:
        return
    # Already imported as an ordinary module: registering its factories again would clash.
    for module in list(sys.modules.values()):
        module_file = getattr(module, "__file__", None)
        if module_file and Path(module_file).resolve() == path:
            _IMPORTED_CODE.add(path)
            return
    from spacy.util import import_file

    import_file(f"spacy_adr_code_{len(_IMPORTED_CODE)}", path)
    _IMPORTED_CODE.add(path)


def load_pipeline(model: Union[str, Path, Language], *, code: Union[str, Path, None] = None) -> Language:
    """Load the pipeline to annotate with.

    model (Union[str, Path, Language]): An installed package name, a path `spacy.load` reads, or
        a loaded pipeline.
    code (Union[str, Path, None]): A Python file to import first (registered components).
    RETURNS (Language): The pipeline.
    """
    if isinstance(model, Language):
        return model
    import spacy

    import_code(code)
    return spacy.load(model)


def model_name(model: Union[str, Path, Language]) -> str:
    """How a model is named in the resume manifest."""
    if isinstance(model, Language):
        return f"{model.lang}_{model.meta.get('name', '')}-{model.meta.get('version', '')}"
    path = Path(model)
    return str(path.resolve()) if path.exists() else str(model)


def annotate(
    model: Union[str, Path, Language],
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    *,
    fmt: Optional[str] = None,
    output_format: Optional[str] = None,
    text_field: str = "text",
    id_field: str = "id",
    include_text: bool = False,
    max_chars: int = DEFAULT_MAX_CHARS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    n_process: int = 1,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    threshold: Optional[float] = None,
    code: Union[str, Path, None] = None,
    restart: bool = False,
    quiet: bool = False,
    total: Optional[int] = None,
) -> AnnotateSummary:
    """Annotate every record of a tweet dump and write one output record or error for each.

    model (Union[str, Path, Language]): Package name, path or loaded pipeline.
    input_path (Union[str, Path]): A `.jsonl`, `.tsv` or `.csv` file, optionally `.gz`.
    output_path (Union[str, Path]): The output file; errors go to `<stem>.errors.jsonl` beside it.
    fmt (Optional[str]): Input format ("jsonl", "tsv", "csv"); None: from the extension.
    output_format (Optional[str]): "jsonl" or "smm4h-tsv"; None: `.tsv` outputs are SMM4H TSV.
    text_field (str): The field holding the tweet text.
    id_field (str): The field holding the tweet id (the record number when absent).
    include_text (bool): Put the text into each JSONL record.
    max_chars (int): Longer texts are reported as errors.
    batch_size (int): `nlp.pipe` batch size.
    n_process (int): `nlp.pipe` processes.
    chunk_size (int): Input records per committed output chunk (the unit of resuming).
    threshold (Optional[float]): ADR decision threshold; None: the ADR textcat's own.
    code (Union[str, Path, None]): Python file to import first (registered components).
    restart (bool): Discard chunks of an interrupted run instead of resuming it.
    quiet (bool): No progress bar.
    total (Optional[int]): Number of records for the progress bar; None: count the lines.
    RETURNS (AnnotateSummary): The counts.
    """
    start_time = time.perf_counter()
    input_path = Path(input_path)
    output_path = Path(output_path)
    fmt = fmt or detect_format(input_path)
    output_format = output_format or detect_output_format(output_path)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
    records = read_records(
        input_path, fmt=fmt, text_field=text_field, id_field=id_field, max_chars=max_chars
    )
    # The first record is read now, so that a missing file or a header without the text
    # column fails before the model loads.
    first = list(itertools.islice(records, 1))
    records = itertools.chain(first, records)
    load_start = time.perf_counter()
    nlp = load_pipeline(model, code=code)
    load_seconds = time.perf_counter() - load_start
    if threshold is None:
        threshold = adr_threshold(nlp)
    stat = input_path.stat()
    settings = {
        "input": str(input_path.resolve()),
        "input_size": stat.st_size,
        "input_mtime_ns": stat.st_mtime_ns,
        "format": fmt,
        "text_field": text_field,
        "id_field": id_field,
        "max_chars": max_chars,
        "chunk_size": chunk_size,
        "output_format": output_format,
        "include_text": include_text,
        "threshold": threshold,
        "model": model_name(model),
    }
    chunks = ChunkedOutput(output_path, settings=settings, output_format=output_format, restart=restart)
    skip = chunks.n_done * chunk_size
    skipped = sum(1 for _ in itertools.islice(records, skip))
    if skipped < skip:
        raise ResumeError(
            f"{input_path} has {skipped} records but {chunks.parts_dir} holds {chunks.n_done} "
            f"committed chunks of {chunk_size}: rerun with --restart"
        )
    if total is None and not quiet:
        total = count_lines(input_path) - (fmt != "jsonl")
    counts = ChunkCounts()
    counts.add(chunks.done_counts)
    processed = _annotate_stream(
        nlp,
        records,
        chunks,
        counts,
        input_path=input_path,
        output_format=output_format,
        include_text=include_text,
        threshold=threshold,
        batch_size=batch_size,
        n_process=n_process,
        chunk_size=chunk_size,
        progress=_progress(total=total, initial=skipped, quiet=quiet, name=input_path.name),
    )
    return AnnotateSummary(
        records=counts.records,
        annotated=counts.annotated,
        errors=counts.errors,
        spans=counts.spans,
        seconds=time.perf_counter() - start_time,
        load_seconds=load_seconds,
        processed=processed,
        output=str(output_path),
        errors_output=str(chunks.errors_output),
    )


def _annotate_stream(
    nlp: Language,
    records: Iterator[InputRecord],
    chunks: ChunkedOutput,
    counts: ChunkCounts,
    *,
    input_path: Path,
    output_format: str,
    include_text: bool,
    threshold: Optional[float],
    batch_size: int,
    n_process: int,
    chunk_size: int,
    progress: Any,
) -> int:
    # Records wait here, in input order, while their texts are inside nlp.pipe; errors never
    # enter the pipeline. nlp.pipe reads ahead only a few batches, so this stays small.
    pending: Deque[InputRecord] = deque()

    def texts() -> Iterator[str]:
        for record in records:
            pending.append(record)
            if record.ok:
                yield record.text  # type: ignore[misc]

    index = chunks.n_done
    writer: Optional[ChunkWriter] = None
    processed = 0

    def emit(record: InputRecord, doc: Any = None) -> None:
        nonlocal writer, index, processed
        if writer is None:
            writer = chunks.new_chunk(index)
        if doc is None:
            writer.write_error(error_record(record, path=input_path))
        else:
            out = build_record(doc, record_id=record.id, include_text=include_text, threshold=threshold)
            writer.write(format_record(out, doc.text, output_format=output_format), n_spans=len(out["spans"]))
        processed += 1
        progress.update(1)
        if writer.counts.records == chunk_size:
            counts.add(writer.commit())
            writer = None
            index += 1

    docs = nlp.pipe(texts(), batch_size=batch_size, n_process=n_process)
    try:
        for doc in docs:
            while not pending[0].ok:
                emit(pending.popleft())
            emit(pending.popleft(), doc)
        while pending:
            emit(pending.popleft())
        if writer is not None:
            counts.add(writer.commit())
            writer = None
            index += 1
    finally:
        if writer is not None:
            writer.abort()
        close = getattr(docs, "close", None)
        if close is not None:
            close()  # stops nlp.pipe's worker processes after a crash
        progress.close()
    chunks.merge(index)
    return processed


def _progress(*, total: Optional[int], initial: int, quiet: bool, name: str) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="tweet",
        desc=name,
        disable=quiet,
        dynamic_ncols=True,
        # A resumed run's rate should count only what this run does.
        smoothing=0.1,
        file=sys.stderr,
    )

