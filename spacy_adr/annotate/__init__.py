"""Annotating tweet dumps with an ADR pipeline: read (`inputs`), annotate (`run`), write
(`outputs`). `spacy_adr.distributed` maps the same over the partitions of a dump with Dask."""
from .inputs import InputRecord, count_lines, detect_format, list_inputs, read_records
from .outputs import (
    OUTPUT_FORMATS,
    SMM4H_COLUMNS,
    ResumeError,
    adr_threshold,
    build_record,
    errors_path_for,
    format_record,
    read_jsonl,
)
from .run import AnnotateSummary, annotate, import_code, load_pipeline

__all__ = [
    "AnnotateSummary",
    "InputRecord",
    "OUTPUT_FORMATS",
    "ResumeError",
    "SMM4H_COLUMNS",
    "adr_threshold",
    "annotate",
    "build_record",
    "count_lines",
    "detect_format",
    "errors_path_for",
    "format_record",
    "import_code",
    "list_inputs",
    "load_pipeline",
    "read_jsonl",
    "read_records",
]
