"""`annotate`: run a pipeline over a tweet dump, streaming from file to file with progress.

Memory stays constant whatever the size of the dump: records are read lazily, batches are
annotated inside `nlp.memory_zone()` (in this process or in `n_process` worker processes, see
`annotators`), and output goes to disk chunk by chunk (see `chunks`). An interrupted run,
started again with the same arguments, resumes after its last committed chunk and writes the
same bytes as an uninterrupted one. Everything that can refuse a run (options, output path,
header, a resume with other settings, a damaged compressed input) is checked before the model
loads, except the model's own hash. A compressed input is decompressed once before annotating,
because its checksum is mostly the only sign of damage (see `sources`); damage stops the run
there, and a read error found later stops it where it is, with the file, line and byte, keeping
what is committed (`AnnotateStopped`). A failing write (a full disk) stops it keeping what is
committed (`OutputStopped`). Progress is shown in bytes of the input file. A record the pipeline
raises on becomes an error record; a pipeline that raises on every record (a broken model) stops
the run after `max_consecutive_failures` records in a row, keeping what is committed
(`PipelineFailing`).
"""
import itertools
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from spacy.language import Language

from ..classification import adr_threshold
from .annotators import LocalAnnotator, ProcessAnnotator, Result, units
from .chunks import (
    ChunkCounts, ChunkedOutput, OutputWriteError, ResumeError, check_output, check_resume, committed_counts,
    parts_dir_for,
)
from .fingerprints import folder_hash, input_fingerprint, model_hash
from .loading import load_pipeline
from .inputs import DEFAULT_MAX_CHARS, InputRecord, detect_format, read_records
from .outputs import OUTPUT_FORMATS, RECORD_KEYS, RecordOptions, detect_output_format, header_for, serialize_error
from .sources import InputFailure, ReadCounter, check_input, track_reads
from .summary import AnnotateStopped, AnnotateSummary, OutputStopped, PipelineFailing

DEFAULT_BATCH_SIZE = 256
DEFAULT_CHUNK_SIZE = 10_000
# A pipeline that raises on this many readable records in a row is taken for broken: enough
# for a run of bad records to pass, few enough that a broken model writes few error lines.
DEFAULT_MAX_CONSECUTIVE_FAILURES = 100
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
    keep_fields: Sequence[str] = (),
    include_text: bool = False,
    candidates: bool = False,
    max_chars: int = DEFAULT_MAX_CHARS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    n_process: int = 1,
    torch_threads: Optional[int] = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    threshold: Optional[float] = None,
    code: Union[str, Path, None] = None,
    restart: bool = False,
    max_consecutive_failures: int = DEFAULT_MAX_CONSECUTIVE_FAILURES,
    quiet: bool = False,
    total: Optional[int] = None,
    on_commit: Optional[Callable[[ChunkCounts], None]] = None,
) -> AnnotateSummary:
    """Annotate every record of a tweet dump and write one output record or error for each.

    model (Union[str, Path, Language]): Package name, path or loaded pipeline.
    input_path (Union[str, Path]): A `.jsonl`, `.tsv` or `.csv` file, plain or compressed.
    output_path (Union[str, Path]): The output file; errors go to `<stem>.errors.jsonl` beside it.
    fmt (Optional[str]): Input format ("jsonl", "tsv", "csv"); None: from the extension.
    output_format (Optional[str]): "jsonl" or "smm4h-tsv"; None: `.tsv` outputs are SMM4H TSV.
    text_field (str): The field holding the tweet text.
    id_field (str): The field holding the tweet id (the record number when absent).
    keep_fields (Sequence[str]): Input fields (e.g. a date) copied into each JSONL record,
        after `id`, under their own names; null where a record lacks one.
    include_text (bool): Put the text into each JSONL record.
    candidates (bool): Add the ADR spans a gate held back (`doc.spans["adr_candidates"]`) to
        each JSONL record.
    max_chars (int): Longer texts are reported as errors; `nlp.max_length` is raised to it.
    batch_size (int): Readable records per `nlp.pipe` batch (part of the resume settings:
        batches decide the last digits of a transformer's floats).
    n_process (int): Worker processes (spawned, each loading the pipeline); 1: this process.
    torch_threads (Optional[int]): torch threads per annotating process (this one when n_process
        is 1, set for the whole process); None: torch's default here, cpu_count // n_process
        in workers. The output is the same for any n_process at the same threads.
    chunk_size (int): Input records per committed output chunk (the unit of resuming).
    threshold (Optional[float]): ADR decision threshold; None: the ADR textcat's own.
    code (Union[str, Path, None]): Python file to import first (registered components).
    restart (bool): Discard chunks of an interrupted run instead of resuming it.
    max_consecutive_failures (int): Stop when the pipeline raised on this many readable records
        in a row (one error record each; a record it does not raise on resets the count).
    quiet (bool): No progress bar.
    total (Optional[int]): Number of records for the progress bar; None: the bar shows bytes
        of the input file read (compressed bytes for a compressed file).
    on_commit (Optional[Callable[[ChunkCounts], None]]): Called with the running totals after
        each committed chunk (progress reports, memory checks).
    RETURNS (AnnotateSummary): The counts.
    RAISES (InputError): The input cannot be opened, has no usable header or is a damaged
        compressed file (`InputFailure`; nothing done); `AnnotateStopped` when it turns out
        damaged with chunks committed (kept).
    RAISES (ResumeError): Chunks of an earlier run with other settings exist.
    RAISES (OutputStopped): Writing the output failed, e.g. the disk is full (committed chunks
        kept); `OutputWriteError` when it failed before the first chunk.
    RAISES (PipelineFailing): The pipeline raised on `max_consecutive_failures` records in a
        row (committed chunks kept).
    """
    start_time = time.perf_counter()
    input_path = Path(input_path)
    output_path = Path(output_path)
    fmt = fmt or detect_format(input_path)
    output_format = output_format or detect_output_format(output_path)
    keep_fields = list(dict.fromkeys(keep_fields))
    _check_options(output_format=output_format, candidates=candidates, keep_fields=keep_fields, chunk_size=chunk_size,
                   batch_size=batch_size, n_process=n_process, max_consecutive_failures=max_consecutive_failures)
    check_output(output_path, input_path=input_path)
    records = read_records(
        input_path, fmt=fmt, text_field=text_field, id_field=id_field, keep_fields=keep_fields, max_chars=max_chars
    )
    # The first record is read now, so that a missing file or a header without the text
    # column fails before the model loads. The file is opened here: it counts its bytes for
    # the progress bar.
    with track_reads() as read:
        first = list(itertools.islice(records, 1))
    records = itertools.chain(first, records)
    # Every setting but those the model decides, so that a refused resume costs no loading.
    settings = {
        "input": str(input_path.resolve()),
        "input_fingerprint": input_fingerprint(input_path),
        "format": fmt,
        "text_field": text_field,
        "id_field": id_field,
        **({"keep_fields": keep_fields} if keep_fields else {}),
        "max_chars": max_chars,
        "chunk_size": chunk_size,
        # Batches decide the last digits of a transformer's floats.
        "batch_size": batch_size,
        "model": model_name(model),
    }
    before_loading = {
        **settings, "output_format": output_format, "include_text": include_text, "candidates": candidates,
        **({} if threshold is None else {"threshold": threshold}),
    }
    check_resume(output_path, before_loading, restart=restart)
    _check_damage(input_path, output_path, quiet=quiet, restart=restart)
    load_start = time.perf_counter()
    annotator, loaded = _start(
        model, code=code, n_process=n_process, torch_threads=torch_threads, batch_size=batch_size, max_chars=max_chars
    )
    load_seconds = time.perf_counter() - load_start
    try:
        options = RecordOptions(
            output_format=output_format, include_text=include_text,
            threshold=loaded["threshold"] if threshold is None else threshold, candidates=candidates,
        )
        settings = {
            **settings,
            **asdict(options),
            "model_hash": loaded["hash"],
            "pipeline": loaded["pipe_names"],
        }
        chunks = ChunkedOutput(output_path, settings=settings, header=header_for(output_format), restart=restart)
        counts = ChunkCounts()
        counts.add(chunks.done_counts)
        run = _Run(
            chunks, counts, input_path=input_path, chunk_size=chunk_size, on_commit=on_commit,
            max_consecutive_failures=max_consecutive_failures,
        )
        try:
            skipped = _skip(records, chunks, input_path=input_path)
            progress = _Progress(input_path, read, total=total, initial=skipped, quiet=quiet)
            batches = units(_until_failure(records, run), chunk_size=chunk_size, batch_size=batch_size)
            run.write(annotator.map_units(batches, options), progress)
        except InputFailure as failure:
            summary = _summary(counts, run.processed, start_time, load_seconds, chunks)
            raise AnnotateStopped(failure, summary, chunks.parts_dir) from None
        except OutputWriteError as failure:
            summary = _summary(counts, run.processed, start_time, load_seconds, chunks)
            raise OutputStopped(failure, summary, chunks.parts_dir) from None
        except PipelineFailing as failing:
            failing.summary = _summary(counts, run.processed, start_time, load_seconds, chunks)
            failing.summary.stopped = failing.problem
            failing.parts_dir = chunks.parts_dir
            raise
    finally:
        annotator.close()
    return _summary(counts, run.processed, start_time, load_seconds, chunks)


def _check_options(
    *, output_format: str, candidates: bool, keep_fields: Sequence[str], chunk_size: int, batch_size: int,
    n_process: int, max_consecutive_failures: int,
) -> None:
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"unknown output format {output_format!r}; use one of {', '.join(OUTPUT_FORMATS)}")
    if candidates and output_format != "jsonl":
        raise ValueError("candidates are written only into JSONL output, not into the SMM4H TSV")
    if keep_fields and output_format != "jsonl":
        raise ValueError("kept fields are written only into JSONL output, not into the SMM4H TSV")
    taken = [name for name in keep_fields if name in RECORD_KEYS]
    if taken:
        raise ValueError(
            f"cannot keep {', '.join(map(repr, taken))}: output records have keys of that name "
            f"({', '.join(RECORD_KEYS)})"
        )
    for name, value in (
        ("chunk_size", chunk_size), ("batch_size", batch_size), ("n_process", n_process),
        ("max_consecutive_failures", max_consecutive_failures),
    ):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, not {value}")


def _start(
    model: Union[str, Path, Language], *, code: Union[str, Path, None], n_process: int,
    torch_threads: Optional[int], batch_size: int, max_chars: int,
) -> Tuple[Any, Dict[str, Any]]:
    """The annotator, and what the resume manifest needs of the model it loaded."""
    if n_process == 1:
        if torch_threads is not None:
            import torch

            torch.set_num_threads(torch_threads)
        nlp = load_pipeline(model, code=code)
        nlp.max_length = max(nlp.max_length, max_chars)
        loaded = {"threshold": adr_threshold(nlp), "hash": model_hash(nlp), "pipe_names": list(nlp.pipe_names)}
        return LocalAnnotator(nlp, batch_size=batch_size), loaded
    spec = model if isinstance(model, Language) else str(model)
    annotator = ProcessAnnotator(
        spec, n_process=n_process, batch_size=batch_size,
        code=str(Path(code).resolve()) if code is not None else None, max_length=max_chars,
        threads=torch_threads,
    )
    try:
        described = annotator.describe()
        if isinstance(model, Language):
            digest = model_hash(model)
        elif described["path"] is not None:
            digest = folder_hash(described["path"])
        else:
            digest = described["name"]
    except BaseException:
        annotator.close()
        raise
    loaded = {"threshold": described["threshold"], "hash": digest, "pipe_names": described["pipe_names"]}
    return annotator, loaded


def _check_damage(input_path: Path, output_path: Path, *, quiet: bool, restart: bool) -> None:
    """Read a compressed input to its end before annotating it: its checksums are mostly the
    only sign of damage, and decompressed garbage must never be annotated or committed."""
    from tqdm import tqdm

    with tqdm(
        total=input_path.stat().st_size, unit="B", unit_scale=True, desc=f"checking {input_path.name}",
        disable=quiet, dynamic_ncols=True, file=sys.stderr, leave=False,
    ) as bar:
        try:
            check_input(input_path, on_read=lambda n: bar.update(n - bar.n))
        except InputFailure as failure:
            done = ChunkCounts() if restart else committed_counts(output_path)
            if not done.records:
                raise
            summary = AnnotateSummary(
                records=done.records, annotated=done.annotated, errors=done.errors, raised=done.raised,
                spans=done.spans, cleaned=done.cleaned, output=str(output_path),
            )
            raise AnnotateStopped(failure, summary, parts_dir_for(output_path)) from None


def _skip(records: Iterator[InputRecord], chunks: ChunkedOutput, *, input_path: Path) -> int:
    """Skip the records of the committed chunks of an interrupted run."""
    skip = chunks.done_counts.records
    skipped = sum(1 for _ in itertools.islice(records, skip))
    if skipped < skip:
        raise ResumeError(
            f"{input_path} has {skipped:,} records but {chunks.parts_dir} holds {chunks.n_done} "
            f"committed chunks ({skip:,} records): rerun with --restart"
        )
    return skipped


def _until_failure(records: Iterator[InputRecord], run: "_Run") -> Iterator[InputRecord]:
    # A damaged input ends the stream here, so that the batches read before it are still
    # annotated and their complete chunks committed; the failure is raised after them.
    try:
        yield from records
    except InputFailure as failure:
        run.failure = failure


class _Run:
    """Writes annotated batches into chunks, committing each full chunk."""

    def __init__(
        self, chunks: ChunkedOutput, counts: ChunkCounts, *, input_path: Path, chunk_size: int,
        on_commit: Optional[Callable[[ChunkCounts], None]], max_consecutive_failures: int,
    ) -> None:
        self.chunks = chunks
        self.counts = counts
        self.input_path = input_path
        self.chunk_size = chunk_size
        self.on_commit = on_commit
        self.index = chunks.n_done
        self.processed = 0
        self.failure: Optional[InputFailure] = None
        self.max_consecutive_failures = max_consecutive_failures
        # Records in a row the pipeline raised on, and the first of them.
        self.failing = 0
        self.first_failing: Optional[InputRecord] = None

    def write(self, annotated: Iterator[Tuple[List[InputRecord], List[Result]]], progress: Any) -> None:
        """Write every batch in order; merge the chunks when the input was read to its end."""
        writer = None
        try:
            for unit, results in annotated:
                outcomes = iter(results)
                for record in unit:
                    if writer is None:
                        writer = self.chunks.new_chunk(self.index)
                    self._write_one(writer, record, next(outcomes) if record.ok else None)
                    progress.advance()
                    if writer.counts.records == self.chunk_size:
                        self._commit(writer)
                        writer = None
            if self.failure is not None:
                raise self.failure
            if writer is not None:
                self._commit(writer)
                writer = None
        finally:
            if writer is not None:
                writer.abort()
            progress.close()
        self.chunks.merge(self.index)

    def _write_one(self, writer: Any, record: InputRecord, result: Optional[Result]) -> None:
        self.processed += 1
        if result is None:  # not readable: its error is the reader's
            writer.write_error(serialize_error(record, path=self.input_path))
            return
        self._check_pipeline(record, result)
        if result.data is not None:
            writer.write(result.data, n_spans=result.n_spans, cleaned=record.cleaned > 0)
            return
        # The pipeline raised on it, or its output record cannot be written.
        record.error = result.error
        writer.write_error(serialize_error(record, path=self.input_path), raised=result.raised)

    def _check_pipeline(self, record: InputRecord, result: Result) -> None:
        if not result.raised:
            self.failing = 0
            return
        if self.failing == 0:
            self.first_failing = record
        self.failing += 1
        if self.failing >= self.max_consecutive_failures:
            first = self.first_failing or record
            raise PipelineFailing(
                f"the pipeline raised on {self.failing:,} records in a row (records "
                f"{first.number:,} to {record.number:,} of {self.input_path}, lines {first.line:,} "
                f"to {record.line:,}), the last with: {result.error}. It fails on every text, so "
                f"the run stops instead of writing an error for each"
            )

    def _commit(self, writer: Any) -> None:
        self.counts.add(writer.commit())
        self.index += 1
        if self.on_commit is not None:
            self.on_commit(self.counts)


def _summary(
    counts: ChunkCounts, processed: int, start_time: float, load_seconds: float, chunks: ChunkedOutput
) -> AnnotateSummary:
    return AnnotateSummary(
        records=counts.records,
        annotated=counts.annotated,
        errors=counts.errors,
        raised=counts.raised,
        spans=counts.spans,
        cleaned=counts.cleaned,
        seconds=time.perf_counter() - start_time,
        load_seconds=load_seconds,
        processed=processed,
        output=str(chunks.output),
        errors_output=str(chunks.errors_output),
    )


class _Progress:
    """The progress bar: bytes of the input read (compressed bytes for a compressed file), so
    that no pass counts the records first; records when their number is given."""

    def __init__(
        self, input_path: Path, read: ReadCounter, *, total: Optional[int], initial: int, quiet: bool
    ) -> None:
        from tqdm import tqdm

        self.read = None if total is not None else read
        self.bar = tqdm(
            total=total if total is not None else input_path.stat().st_size,
            initial=initial if total is not None else read.bytes,
            unit="tweet" if total is not None else "B",
            unit_scale=total is None,
            desc=input_path.name,
            disable=quiet,
            dynamic_ncols=True,
            # A resumed run's rate should count only what this run does.
            smoothing=0.1,
            file=sys.stderr,
        )

    def advance(self) -> None:
        """One more record written."""
        if self.read is None:
            self.bar.update(1)
        elif self.read.bytes > self.bar.n:
            self.bar.update(self.read.bytes - self.bar.n)

    def close(self) -> None:
        self.bar.close()

