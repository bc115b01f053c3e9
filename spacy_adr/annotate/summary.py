"""What an annotation run did: its counts, and the report of a run the input, a failing
pipeline or a failing write (a full disk) stopped."""
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Optional

from ..errors import InputError


@dataclass
class AnnotateSummary:
    """The counts of an annotation run.

    records (int): Input records, committed by earlier runs of a resumed run included.
    annotated (int): Records annotated (one output record each).
    errors (int): Records reported as errors instead.
    raised (int): The errors that are records the pipeline raised on.
    spans (int): Spans (entities) found.
    cleaned (int): Annotated records whose text had invalid code points replaced by U+FFFD.
    seconds (float): Wall time of this run.
    load_seconds (float): The part of it spent loading the pipeline.
    processed (int): Records this run processed itself (less than `records` when resumed).
    output (str): The output file(s).
    errors_output (str): The error report file(s).
    stopped (Optional[str]): Why the input or the pipeline stopped the run before its end; None
        when complete.
    """

    records: int = 0
    annotated: int = 0
    errors: int = 0
    raised: int = 0
    spans: int = 0
    cleaned: int = 0
    seconds: float = 0.0
    load_seconds: float = 0.0
    processed: int = 0
    output: str = ""
    errors_output: str = ""
    stopped: Optional[str] = None

    @property
    def tweets_per_s(self) -> float:
        seconds = self.seconds - self.load_seconds
        return self.processed / seconds if seconds > 0 else 0.0

    def summary(self) -> str:
        text = f"{self.records:,} records: {self.annotated:,} annotated, {self.errors:,} errors"
        if self.raised:
            text += f" ({self.raised:,} raised in the pipeline)"
        if self.cleaned:
            text += f" ({self.cleaned:,} texts had invalid code points replaced by U+FFFD)"
        return text

    def to_dict(self) -> Dict[str, Any]:
        return {**asdict(self), "tweets_per_s": round(self.tweets_per_s, 2)}


class AnnotateStopped(InputError):
    """The input could not be read to its end: the run stopped, its committed chunks are kept.

    failure (InputError): Where and why the input stopped (file, line, byte).
    summary (AnnotateSummary): What is committed (`records`...) and what this run did.
    parts_dir (Path): The folder that keeps the committed chunks.
    """

    def __init__(self, failure: InputError, summary: AnnotateSummary, parts_dir: Path) -> None:
        self.failure = failure
        self.summary = summary
        self.parts_dir = parts_dir
        summary.stopped = str(failure)
        super().__init__(failure.path, failure.line, failure.problem)

    @property
    def rerun(self) -> str:
        """How a rerun behaves, for the user."""
        done = self.summary.records
        return (
            f"Kept: the {done:,} records of the committed chunks in {self.parts_dir} (no output "
            f"file is written until the whole input is read). While the file stays as it is, "
            f"rerunning the same command stops the same way. Repair or replace the file, then "
            f"rerun: a file repaired in place (same size, same "
            f"first and last MiB) resumes after record {done:,}; any other is refused as a "
            f"changed input, and --restart starts over."
        )


class PipelineFailing(RuntimeError):
    """The pipeline raised on many records in a row (a broken model or component, not bad
    records): the run stopped, its committed chunks are kept.

    problem (str): How many records, which, and the last error.
    summary (Optional[AnnotateSummary]): What is committed (`records`...) and what this run did.
    parts_dir (Optional[Path]): The folder that keeps the committed chunks.
    """

    def __init__(
        self, problem: str, summary: Optional[AnnotateSummary] = None, parts_dir: Optional[Path] = None
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.summary = summary
        self.parts_dir = parts_dir

    @property
    def rerun(self) -> str:
        """How a rerun behaves, for the user."""
        done = self.summary.records if self.summary is not None else 0
        return (
            f"Kept: the {done:,} records of the committed chunks in {self.parts_dir}. Rerunning "
            f"the same command resumes after record {done:,} and stops again while the pipeline "
            f"raises; once it is repaired, rerun (with --restart if its files changed: a changed "
            f"model is never resumed)."
        )


class OutputStopped(RuntimeError):
    """Writing the output failed (a full disk): the run stopped, its committed chunks are kept.

    failure (Exception): The write that failed (`OutputWriteError`: the file and the reason).
    summary (AnnotateSummary): What is committed (`records`...) and what this run did.
    parts_dir (Path): The folder that keeps the committed chunks.
    """

    def __init__(self, failure: Exception, summary: AnnotateSummary, parts_dir: Path) -> None:
        super().__init__(str(failure))
        self.failure = failure
        self.summary = summary
        self.parts_dir = parts_dir
        summary.stopped = str(failure)

    @property
    def rerun(self) -> str:
        """How a rerun behaves, for the user."""
        done = self.summary.records
        return (
            f"Kept: the {done:,} records of the committed chunks in {self.parts_dir}; the chunk "
            f"being written was dropped. Free space on that disk (or mend what failed), then "
            f"rerun the same command: it resumes after record {done:,}."
        )
