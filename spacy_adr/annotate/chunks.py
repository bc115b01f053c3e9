"""Chunked output that survives a crash, and resuming it.

A run writes its output in chunks of a fixed number of input records under `OUTPUT.parts/`.
Each chunk is written to temporary files, flushed to disk (fsync) and renamed into place; a
`NNNNNN.done.json` marker, renamed last, is the chunk's commit point. A crash therefore leaves
only whole chunks behind, and a rerun with the same settings skips the input records of the
committed chunks and annotates the rest in the same batches (every batch starts at a chunk
boundary): its output is byte-identical to an uninterrupted run. `manifest.json` holds the
settings, including a fingerprint of the input and a hash of the model: chunks of a run with
another input, model or setting are never mixed into the output. At the end the chunks are
concatenated into OUTPUT and `OUTPUT-stem.errors.jsonl` (each written to a temporary file and
renamed) and `OUTPUT.parts/` is removed; the merge needs room for a second copy of the output
while the chunks still exist, which is checked before it starts. A write that fails (a full
disk) raises `OutputWriteError` and leaves the committed chunks, which a rerun resumes after.
"""
import errno
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Dict, List, Tuple, Union

MANIFEST_FILE = "manifest.json"
# What a changed setting means for the user, in the resume error.
_CHANGED = {
    "input_fingerprint": "the input file changed (size or content)",
    "model_hash": "the model's files changed",
}


class ResumeError(ValueError):
    """Leftover chunks of an earlier run were written with other settings."""


class OutputPathError(ValueError):
    """The output cannot be written where it was asked to go."""


class OutputWriteError(RuntimeError):
    """Writing the output failed (a full disk, a lost mount): committed chunks are kept.

    path (Path): The file that could not be written.
    problem (str): What went wrong.
    """

    def __init__(self, path: Union[str, Path], problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")

    @classmethod
    def from_os_error(cls, path: Union[str, Path], err: OSError) -> "OutputWriteError":
        """The error for an `OSError` raised writing `path`."""
        problem = f"cannot write: {err.strerror or err}"
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            problem += " (the disk is full, or the quota used up)"
        return cls(path, problem)


def errors_path_for(output: Union[str, Path]) -> Path:
    """Where the errors of a run writing `output` go: `out.jsonl` -> `out.errors.jsonl`."""
    output = Path(output)
    return output.with_name(f"{output.stem}.errors.jsonl")


def parts_dir_for(output: Union[str, Path]) -> Path:
    """The folder of the chunks of a run writing `output`: `out.jsonl` -> `out.jsonl.parts`."""
    output = Path(output)
    return output.with_name(f"{output.name}.parts")


def check_output(output: Union[str, Path], *, input_path: Union[str, Path, None] = None) -> None:
    """Refuse an output that could only fail at the end of the run (before any work is done).

    output (Union[str, Path]): The output file.
    input_path (Union[str, Path, None]): The input, which the output must not overwrite.
    RAISES (OutputPathError): The output or its errors file is a folder or the input, the
        chunk folder is a file, or a parent is not a writable folder.
    """
    output = Path(output)
    for path, what in ((output, "the output"), (errors_path_for(output), "the errors file")):
        if path.is_dir():
            raise OutputPathError(f"{path}: {what} is an existing folder; name a file")
        if input_path is not None and path.resolve() == Path(input_path).resolve():
            raise OutputPathError(f"{path}: {what} would overwrite the input; name another file")
    parts = parts_dir_for(output)
    if parts.exists() and not parts.is_dir():
        raise OutputPathError(f"{parts}: the chunk folder of this output is a file; remove it")
    for parent in output.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputPathError(f"{parent}: is a file, so {output} cannot be written")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise OutputPathError(f"{parent}: no permission to write {output} there")
            break


@dataclass
class ChunkCounts:
    """What a chunk (or several) holds: input records, annotated ones, errors (of which
    `raised`: the pipeline raised on the record), spans, and texts whose invalid code points
    were replaced."""

    records: int = 0
    annotated: int = 0
    errors: int = 0
    spans: int = 0
    cleaned: int = 0
    # Last, with a default: done markers written before it existed still load.
    raised: int = 0

    def add(self, other: "ChunkCounts") -> None:
        self.records += other.records
        self.annotated += other.annotated
        self.errors += other.errors
        self.spans += other.spans
        self.cleaned += other.cleaned
        self.raised += other.raised


class ChunkWriter:
    """Writes one chunk to temporary files; `commit` makes it permanent, atomically."""

    def __init__(self, parts_dir: Path, index: int) -> None:
        self.index = index
        self.data_path = parts_dir / f"{index:06d}.out"
        self.errors_path = parts_dir / f"{index:06d}.errors.jsonl"
        self.done_path = parts_dir / f"{index:06d}.done.json"
        self.counts = ChunkCounts()
        self._data: BinaryIO = _open_new(_tmp(self.data_path))
        try:
            self._errors: BinaryIO = _open_new(_tmp(self.errors_path))
        except OutputWriteError:
            self._data.close()
            raise

    def write(self, data: bytes, *, n_spans: int, cleaned: bool = False) -> None:
        """Add the serialized output of one annotated input record."""
        try:
            self._data.write(data)
        except OSError as err:
            raise OutputWriteError.from_os_error(_tmp(self.data_path), err) from None
        self.counts.records += 1
        self.counts.annotated += 1
        self.counts.spans += n_spans
        self.counts.cleaned += cleaned

    def write_error(self, data: bytes, *, raised: bool = False) -> None:
        """Add the serialized error report of one input record (`raised`: the pipeline raised
        on it)."""
        try:
            self._errors.write(data)
        except OSError as err:
            raise OutputWriteError.from_os_error(_tmp(self.errors_path), err) from None
        self.counts.records += 1
        self.counts.errors += 1
        self.counts.raised += raised

    def commit(self) -> ChunkCounts:
        """Flush the chunk to disk and rename it into place; the done marker goes last."""
        for file, final in ((self._data, self.data_path), (self._errors, self.errors_path)):
            try:
                _close_synced(file)
                os.replace(_tmp(final), final)
            except OSError as err:
                raise OutputWriteError.from_os_error(_tmp(final), err) from None
        _write_atomic(self.done_path, json.dumps(self.counts.__dict__) + "\n")
        _sync_dir(self.done_path.parent)
        return self.counts

    def abort(self) -> None:
        """Drop the uncommitted chunk (a crash leaves its temporary files, which the next
        run overwrites)."""
        for file, final in ((self._data, self.data_path), (self._errors, self.errors_path)):
            # Closing flushes what is buffered, which fails again on a full disk: the chunk
            # is dropped anyway, and the first error is the one to report.
            try:
                file.close()
            except OSError:
                pass
            try:
                _tmp(final).unlink(missing_ok=True)
            except OSError:
                pass


class ChunkedOutput:
    """The chunk folder of one run: which chunks are committed, new chunks, the final merge.

    output (Path): The final output file.
    settings (Dict[str, Any]): Everything that decides the output (input file and its
        fingerprint, fields, chunk size, model and its hash, format...): chunks left by a run
        with other settings are not reused.
    header (str): The first line of the output file ("" for JSONL).
    restart (bool): Discard the chunks of an earlier run instead of resuming.
    """

    def __init__(
        self,
        output: Union[str, Path],
        *,
        settings: Dict[str, Any],
        header: str = "",
        restart: bool = False,
    ) -> None:
        self.output = Path(output)
        self.errors_output = errors_path_for(self.output)
        self.parts_dir = parts_dir_for(self.output)
        self.header = header
        manifest_path = self.parts_dir / MANIFEST_FILE
        settings = json.loads(json.dumps(settings, default=str))
        if restart and self.parts_dir.exists():
            shutil.rmtree(self.parts_dir)
        if manifest_path.exists():
            previous = json.loads(manifest_path.read_text(encoding="utf-8"))
            if previous != settings:
                raise ResumeError(_resume_refusal(self.parts_dir, previous, settings))
        else:
            try:
                self.parts_dir.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise OutputWriteError.from_os_error(self.parts_dir, err) from None
            _write_atomic(manifest_path, json.dumps(settings, indent=2, sort_keys=True) + "\n")
        self.n_done, self.done_counts = self._committed()

    def _committed(self) -> Tuple[int, ChunkCounts]:
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
        """Concatenate chunks 0..n_chunks-1 into the output and errors files; remove the parts.

        n_chunks (int): The committed chunks.
        RAISES (OutputWriteError): There is not room for the merged files beside the chunks,
            or writing them failed (the chunks are kept: a rerun merges them again).
        """
        files = (
            (self.output, "out", self.header),
            (self.errors_output, "errors.jsonl", ""),
        )
        self._check_room(n_chunks, [suffix for _, suffix, _ in files])
        for final, suffix, header in files:
            try:
                final.parent.mkdir(parents=True, exist_ok=True)
                with open(_tmp(final), "wb") as merged:
                    merged.write(header.encode("utf-8"))
                    for index in range(n_chunks):
                        with open(self.parts_dir / f"{index:06d}.{suffix}", "rb") as part:
                            shutil.copyfileobj(part, merged, 1 << 20)
                    merged.flush()
                    os.fsync(merged.fileno())
                os.replace(_tmp(final), final)
            except OSError as err:
                # A half-merged file would only take the room a rerun needs.
                _tmp(final).unlink(missing_ok=True)
                raise OutputWriteError.from_os_error(_tmp(final), err) from None
        _sync_dir(self.output.parent)
        shutil.rmtree(self.parts_dir)

    def _check_room(self, n_chunks: int, suffixes: List[str]) -> None:
        # The merged files are written while every chunk still exists (so that a crash in the
        # merge loses nothing): their size must be free on the output's disk.
        needed = len(self.header.encode("utf-8")) + sum(
            (self.parts_dir / f"{index:06d}.{suffix}").stat().st_size
            for index in range(n_chunks) for suffix in suffixes
        )
        self.output.parent.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.output.parent).free
        if needed > free:
            raise OutputWriteError(
                self.output,
                f"merging the chunks needs {needed:,} bytes free on this disk (a second copy of "
                f"the output while the chunks in {self.parts_dir} still exist), only {free:,} are "
                f"free; free {needed - free:,} bytes more",
            )


def check_resume(output: Union[str, Path], settings: Dict[str, Any], *, restart: bool = False) -> None:
    """Refuse to resume chunks left with other settings, before the model is loaded: compares
    the settings given (those known without the model) with the chunk folder's manifest.
    `ChunkedOutput` compares all of them (the model's hash too) once the model is loaded.

    output (Union[str, Path]): The output file.
    settings (Dict[str, Any]): Some of the settings `ChunkedOutput` is given.
    restart (bool): The chunks are to be discarded: nothing to compare.
    RAISES (ResumeError): A setting differs from the manifest's.
    """
    manifest_path = parts_dir_for(output) / MANIFEST_FILE
    if restart or not manifest_path.exists():
        return
    previous = json.loads(manifest_path.read_text(encoding="utf-8"))
    settings = json.loads(json.dumps(settings, default=str))
    if any(previous.get(key) != value for key, value in settings.items()):
        known = {key: previous.get(key) for key in settings}
        raise ResumeError(_resume_refusal(parts_dir_for(output), known, settings))


def committed_counts(output: Union[str, Path]) -> ChunkCounts:
    """What the committed chunks of an earlier run of `output` hold (nothing when none).

    output (Union[str, Path]): The output file.
    RETURNS (ChunkCounts): Their counts.
    """
    counts = ChunkCounts()
    parts_dir = parts_dir_for(output)
    index = 0
    while (parts_dir / f"{index:06d}.done.json").exists():
        counts.add(ChunkCounts(**json.loads((parts_dir / f"{index:06d}.done.json").read_text(encoding="utf-8"))))
        index += 1
    return counts


def _resume_refusal(parts_dir: Path, previous: Dict[str, Any], settings: Dict[str, Any]) -> str:
    changed: List[str] = sorted(k for k in set(previous) | set(settings) if previous.get(k) != settings.get(k))
    reasons = [_CHANGED.get(key, f"{key} differs") for key in changed]
    return (
        f"{parts_dir} holds chunks of a run with other settings ({'; '.join(reasons)}): rerun "
        f"with the same input, model and settings to resume, or restart (--restart) to discard them"
    )


def _tmp(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def _close_synced(file: BinaryIO) -> None:
    file.flush()
    os.fsync(file.fileno())
    file.close()


def _open_new(path: Path) -> BinaryIO:
    try:
        return open(path, "wb")
    except OSError as err:
        raise OutputWriteError.from_os_error(path, err) from None


def _write_atomic(path: Path, text: str) -> None:
    file = _open_new(_tmp(path))
    try:
        file.write(text.encode("utf-8"))
        _close_synced(file)
        os.replace(_tmp(path), path)
    except OSError as err:
        try:  # closing flushes again what the full disk refused
            file.close()
        except OSError:
            pass
        raise OutputWriteError.from_os_error(_tmp(path), err) from None


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
