"""Annotating tweet dumps with an ADR pipeline: open (`sources`), read (`inputs`, `tables`,
`cleaning`), annotate (`annotators`, `run`), write (`outputs`, `chunks`), resume safely
(`fingerprints`). `spacy_adr.distributed` maps the same over the partitions of a dump with Dask.
"""
from .chunks import ChunkCounts, OutputPathError, OutputWriteError, ResumeError, errors_path_for
from .inputs import InputRecord, detect_format, list_inputs, read_records
from .outputs import (
    OUTPUT_FORMATS,
    SMM4H_COLUMNS,
    RecordOptions,
    adr_threshold,
    build_record,
    format_record,
    read_jsonl,
)
from .loading import import_code, load_pipeline
from .run import annotate
from .sources import InputFailure
from .summary import AnnotateStopped, AnnotateSummary, OutputStopped, PipelineFailing

__all__ = [
    "AnnotateStopped",
    "AnnotateSummary",
    "ChunkCounts",
    "InputFailure",
    "InputRecord",
    "OUTPUT_FORMATS",
    "OutputPathError",
    "OutputStopped",
    "OutputWriteError",
    "PipelineFailing",
    "RecordOptions",
    "ResumeError",
    "SMM4H_COLUMNS",
    "adr_threshold",
    "annotate",
    "build_record",
    "detect_format",
    "errors_path_for",
    "format_record",
    "import_code",
    "list_inputs",
    "load_pipeline",
    "read_jsonl",
    "read_records",
]
