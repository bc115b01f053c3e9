"""`spacy-adr annotate` and `spacy-adr annotate-distributed`: annotate tweet dumps."""
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from ..errors import InputError
from . import app


class InputFormat(str, Enum):
    auto = "auto"
    jsonl = "jsonl"
    tsv = "tsv"
    csv = "csv"


class OutputFormat(str, Enum):
    auto = "auto"
    jsonl = "jsonl"
    smm4h_tsv = "smm4h-tsv"


def _fmt(value: Enum) -> Optional[str]:
    return None if value.value == "auto" else value.value


@app.command("annotate")
def annotate_cli(
    model: str = typer.Argument(..., help="Installed pipeline package name or path."),
    input_path: Path = typer.Argument(..., help="Tweets: .jsonl, .tsv or .csv, optionally .gz."),
    output_path: Path = typer.Argument(..., help="Output: .jsonl records, or .tsv in the SMM4H format."),
    input_format: InputFormat = typer.Option(InputFormat.auto, "--format", "-f", help="Input format (auto: from the extension)."),
    output_format: OutputFormat = typer.Option(OutputFormat.auto, "--output-format", "-F", help="Output format (auto: .tsv is SMM4H TSV, else JSONL)."),
    text_field: str = typer.Option("text", "--text-field", help="Field or column holding the tweet."),
    id_field: str = typer.Option("id", "--id-field", help="Field or column holding the tweet id (else the record number)."),
    keep_fields: List[str] = typer.Option([], "--keep-field", "-k", help="Input field or column to copy into each JSONL record under its own name (a date for `spacy-adr signals --date-field`); repeat for more."),
    include_text: bool = typer.Option(False, "--include-text", help="Put the text into each JSONL record."),
    candidates: bool = typer.Option(False, "--candidates", help="Add the ADR spans a gate held back (doc.spans['adr_candidates']) to each JSONL record."),
    max_chars: int = typer.Option(5000, "--max-chars", help="Report longer texts as errors (nlp.max_length is raised to it)."),
    batch_size: int = typer.Option(256, "--batch-size", "-b", help="nlp.pipe batch size."),
    n_process: int = typer.Option(1, "--n-process", "-n", help="Worker processes, each loading the pipeline (1: this process)."),
    torch_threads: Optional[int] = typer.Option(None, "--torch-threads", help="torch threads per annotating process (default: torch's own with -n 1, else CPUs // n-process)."),
    chunk_size: int = typer.Option(10_000, "--chunk-size", help="Records per committed chunk (the unit of resuming)."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Threshold of adr_label, the tweet classifier's decision (default: the classifier's own). The spans follow the span gate (gate_open), which this does not change."),
    code: Optional[Path] = typer.Option(None, "--code", "-c", help="Python file with registered components to import."),
    restart: bool = typer.Option(False, "--restart", help="Discard an interrupted run's chunks instead of resuming."),
    max_consecutive_failures: int = typer.Option(100, "--max-consecutive-failures", help="Stop when the pipeline raised on this many records in a row (a broken model)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Annotate a tweet dump: ADR probability, ADR spans and MedDRA codes for every tweet.

    Streams in constant memory, writes in committed chunks and resumes an interrupted run.
    Records that cannot be annotated, or that a pipeline component raises on, go to
    <OUTPUT stem>.errors.jsonl with line and reason.
    """
    from ..annotate import AnnotateStopped, InputFailure, OutputPathError, PipelineFailing, ResumeError, annotate
    from ..annotate.chunks import OutputWriteError
    from ..annotate.summary import OutputStopped

    try:
        summary = annotate(
            model, input_path, output_path, fmt=_fmt(input_format), output_format=_fmt(output_format),
            text_field=text_field, id_field=id_field, keep_fields=keep_fields, include_text=include_text,
            candidates=candidates, max_chars=max_chars, batch_size=batch_size, n_process=n_process, torch_threads=torch_threads, chunk_size=chunk_size,
            threshold=threshold, code=code, restart=restart, quiet=quiet,
            max_consecutive_failures=max_consecutive_failures,
        )
    except (AnnotateStopped, PipelineFailing, OutputStopped) as stopped:
        msg.fail(f"stopped: {stopped}")
        if stopped.summary is not None:
            msg.info(f"done before it: {stopped.summary.summary()}")
        msg.info(stopped.rerun, exits=1)
    except InputFailure as err:
        msg.fail(str(err))
        msg.info(err.rerun, exits=1)
    except InputError as err:
        msg.fail(str(err))
        msg.info("Nothing was annotated.", exits=1)
    except OutputWriteError as err:
        msg.fail(str(err))
        msg.info("Nothing was committed: free space on that disk (or mend what failed), then rerun the same command.", exits=1)
    except (ResumeError, OutputPathError, ValueError) as err:
        msg.fail(str(err), exits=1)
    _report(summary)


@app.command("annotate-distributed")
def annotate_distributed_cli(
    model: str = typer.Argument(..., help="Pipeline package name or path, as the workers see it."),
    inputs: str = typer.Argument(..., help="Partitions: a file, a folder or a quoted glob ('dump/*.jsonl.gz')."),
    output_dir: Path = typer.Argument(..., help="Folder for one output per partition and summary.json."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", "-s", help="Dask scheduler address (default: a local cluster)."),
    n_workers: int = typer.Option(2, "--n-workers", "-w", help="Workers of the local cluster."),
    threads: bool = typer.Option(False, "--threads", help="Local workers as threads instead of processes."),
    input_format: InputFormat = typer.Option(InputFormat.auto, "--format", "-f", help="Input format (auto: from the extension)."),
    output_format: OutputFormat = typer.Option(OutputFormat.jsonl, "--output-format", "-F", help="jsonl or smm4h-tsv."),
    text_field: str = typer.Option("text", "--text-field", help="Field or column holding the tweet."),
    id_field: str = typer.Option("id", "--id-field", help="Field or column holding the tweet id."),
    keep_fields: List[str] = typer.Option([], "--keep-field", "-k", help="Input field or column to copy into each JSONL record under its own name (a date for `spacy-adr signals --date-field`); repeat for more."),
    include_text: bool = typer.Option(False, "--include-text", help="Put the text into each JSONL record."),
    candidates: bool = typer.Option(False, "--candidates", help="Add the ADR spans a gate held back to each JSONL record."),
    max_chars: int = typer.Option(5000, "--max-chars", help="Report longer texts as errors."),
    batch_size: int = typer.Option(256, "--batch-size", "-b", help="nlp.pipe batch size."),
    chunk_size: int = typer.Option(10_000, "--chunk-size", help="Records per committed chunk."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Threshold of adr_label, the tweet classifier's decision (default: the classifier's own). The spans follow the span gate (gate_open), which this does not change."),
    code: Optional[Path] = typer.Option(None, "--code", "-c", help="Python file the workers import first."),
    restart: bool = typer.Option(False, "--restart", help="Redo partitions that are already done."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Annotate the partitions of a tweet dump on a Dask cluster, one output per partition."""
    from ..distributed import annotate_partitions

    output = OutputFormat.jsonl if output_format is OutputFormat.auto else output_format
    try:
        summary = annotate_partitions(
            model, inputs, output_dir, scheduler=scheduler, n_workers=n_workers,
            processes=not threads, code=code, fmt=_fmt(input_format), output_format=output.value,
            text_field=text_field, id_field=id_field, keep_fields=keep_fields, include_text=include_text,
            candidates=candidates, max_chars=max_chars, batch_size=batch_size, chunk_size=chunk_size,
            threshold=threshold, restart=restart, quiet=quiet,
        )
    except (InputError, ValueError, FileNotFoundError) as err:
        msg.fail(str(err), exits=1)
    for failure in summary.failed:
        msg.fail(f"{failure['input']}: {failure['error']}")
    _report(summary)
    if summary.failed:
        raise typer.Exit(1)


def _report(summary) -> None:  # type: ignore[no-untyped-def]
    msg.good(summary.summary())
    msg.info(
        f"{summary.processed:,} records in {summary.seconds:.1f} s, of which loading "
        f"{summary.load_seconds:.1f} s ({summary.tweets_per_s:,.1f} tweets/s annotating); "
        f"output {summary.output}, errors {summary.errors_output}"
    )
