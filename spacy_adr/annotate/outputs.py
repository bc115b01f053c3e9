"""Writing annotations: output records and the JSONL and SMM4H TSV formats.

Output is strict JSON in UTF-8: numbers JSON cannot hold (a NaN probability or score) are
written as null, and a record that still cannot be written becomes an error record.
`chunks` commits the serialized records to disk.
"""
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from spacy.tokens import Doc, Span

from .. import extensions  # noqa: F401  (installs Span._.meddra_term, Span._.adr_score)
from ..classification import adr_threshold  # noqa: F401  (part of this module's API)
from .chunks import errors_path_for  # noqa: F401  (part of this module's API)
from ..pipeline.drug_mentions import DRUGS_KEY
from ..pipeline.span_gate import CANDIDATES_KEY
from .cleaning import clean_text, printable_id
from .inputs import InputRecord

OUTPUT_FORMATS = ("jsonl", "smm4h-tsv")
# The columns of the SMM4H 2020 Task 3 files (task3_training.tsv, task3_validation.tsv).
SMM4H_COLUMNS = [
    "tweet_id", "begin", "end", "type", "extraction", "drug", "tweet", "meddra_code", "meddra_term"
]


@dataclass(frozen=True)
class RecordOptions:
    """What goes into each output record (travels to worker processes).

    output_format (str): "jsonl" or "smm4h-tsv".
    include_text (bool): Put the text into each JSONL record.
    threshold (Optional[float]): ADR decision threshold; None: no `adr_label`.
    candidates (bool): Add the spans of `doc.spans["adr_candidates"]` to each JSONL record.
    """

    output_format: str = "jsonl"
    include_text: bool = False
    threshold: Optional[float] = None
    candidates: bool = False


# The keys `build_record` writes: a kept input field may not take one of these names.
RECORD_KEYS = ("id", "text", "adr_probability", "adr_label", "spans", "gate_open", "candidates")


def detect_output_format(output: Union[str, Path]) -> str:
    """The output format named by an extension: `.tsv` is the SMM4H TSV, anything else JSONL."""
    return "smm4h-tsv" if Path(output).suffix.lower() == ".tsv" else "jsonl"


def build_record(
    doc: Doc,
    *,
    record_id: Any,
    include_text: bool = False,
    threshold: Optional[float] = None,
    candidates: bool = False,
    fields: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """The output record of one annotated tweet.

    doc (Doc): The annotated tweet.
    record_id (Any): The id of the input record.
    fields (Optional[Dict[str, Any]]): Fields of the input record carried into the output
        (`annotate --keep-field`, e.g. a date), after `id`.
    include_text (bool): Put the text into the record.
    threshold (Optional[float]): Threshold of `adr_label`, the tweet classifier's decision;
        None when the pipeline has no ADR classifier, and then `adr_label` is None. The spans
        do not follow it: they are those the pipeline's span gate kept (`gate_open`).
    candidates (bool): Add `candidates`: the ADR spans a gate held back because the tweet's
        probability was under its threshold or their score under its `min_span_score`
        (`doc.spans["adr_candidates"]`).
    RETURNS (Dict[str, Any]): {id, kept fields?, text?, adr_probability, adr_label, spans,
        gate_open, candidates?}; span offsets are character offsets into the text;
        `gate_open` is True when the gate kept the tweet's spans, False when it held them
        back, None when it decided nothing (no ADR span found, or no gate).
    """
    record: Dict[str, Any] = {"id": record_id, **(fields or {})}
    if include_text:
        record["text"] = doc.text
    probability = _finite(doc.cats.get("ADR"))
    record["adr_probability"] = probability
    if threshold is None or probability is None:
        record["adr_label"] = None
    else:
        record["adr_label"] = bool(probability >= threshold)
    record["spans"] = [span_record(ent) for ent in doc.ents]
    # The spans follow the span gate, not adr_label: say which way it decided
    record["gate_open"] = doc._.adr_gate_open
    if candidates:
        held_back = doc.spans.get(CANDIDATES_KEY, [])
        record["candidates"] = [_candidate_record(span) for span in held_back]
    return record


def span_record(ent: Span) -> Dict[str, Any]:
    """The record of one ADR span: offsets, text, label, confidence, MedDRA code and term;
    `meddra_pt` and `meddra_pt_term` (the LLT's Preferred Term) when the MedDRA linker gave
    them; `drug` (the normalised name of the drug it is about, None when the tweet names
    none) when the pipeline has `adr_drug_mentions`, which always sets doc.spans["drugs"]."""
    span = _candidate_record(ent)
    span["meddra_code"] = ent.kb_id_ or None
    span["meddra_term"] = ent._.meddra_term or None
    # Set by the MedDRA linker, which may be absent from a pipeline (and from this install).
    if Span.has_extension("link_method"):
        span["link_method"] = ent._.link_method or None
    # Only where set, so that records of pipelines without them keep their keys; a missing
    # key tells "not looked for" from None's "none found".
    if ent._.meddra_pt:
        span["meddra_pt"] = ent._.meddra_pt
        span["meddra_pt_term"] = ent._.meddra_pt_term or None
    if DRUGS_KEY in ent.doc.spans:
        span["drug"] = ent._.drug
    return span


def _candidate_record(span: Span) -> Dict[str, Any]:
    return {
        "start": span.start_char,
        "end": span.end_char,
        "text": span.text,
        "label": span.label_,
        "score": _finite(span._.adr_score),
    }


def _finite(value: Any) -> Optional[float]:
    # numpy floats are not JSON; NaN and infinities are not strict JSON.
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def serialize_doc(
    doc: Doc, record_id: Any, options: RecordOptions, fields: Optional[Dict[str, Any]] = None
) -> Tuple[bytes, int]:
    """The output lines of one annotated tweet, encoded.

    doc (Doc): The annotated tweet.
    record_id (Any): The id of its input record.
    options (RecordOptions): What goes into the record.
    fields (Optional[Dict[str, Any]]): Its kept input fields (JSONL output only).
    RETURNS (Tuple[bytes, int]): The UTF-8 lines and the number of spans.
    RAISES (ValueError): The record cannot be written as strict JSON in UTF-8.
    """
    record = build_record(
        doc, record_id=record_id, include_text=options.include_text,
        threshold=options.threshold, candidates=options.candidates, fields=fields,
    )
    lines = format_record(record, doc.text, output_format=options.output_format)
    return lines.encode("utf-8"), len(record["spans"])


def error_record(record: InputRecord, *, path: Union[str, Path]) -> Dict[str, Any]:
    """The error report of an input record that could not be annotated: file, line, record
    number, id and reason."""
    return {
        "path": clean_text(str(path))[0],
        "line": record.line,
        "record": record.number,
        "id": printable_id(record.id),
        "reason": clean_text(record.error or "")[0],
    }


def serialize_error(record: InputRecord, *, path: Union[str, Path]) -> bytes:
    """The error report of an input record as one UTF-8 JSON line."""
    return json_line(error_record(record, path=path)).encode("utf-8")


def json_line(value: Any) -> str:
    """One line of strict JSON, non-ASCII characters as they are, ending in "\\n".

    The three line separators JSON leaves raw (U+0085, U+2028, U+2029) are escaped, so that
    readers that split on any line break (`str.splitlines`, old JavaScript) see one line.
    RAISES (ValueError): NaN or infinity somewhere in `value`.
    """
    return json.dumps(value, ensure_ascii=False, allow_nan=False).translate(_JSON_LINE_BREAKS) + "\n"


_JSON_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})
# Everything a TSV reader may take for the end of a row or cell; one space each keeps offsets.
_CELL_BREAKS = str.maketrans({char: " " for char in "\t\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"})


def format_record(record: Dict[str, Any], text: str, *, output_format: str) -> str:
    """Serialize one output record.

    record (Dict[str, Any]): A record from `build_record`.
    text (str): The tweet (the SMM4H TSV always carries it).
    output_format (str): "jsonl" (one line) or "smm4h-tsv" (one row per span; a tweet without
        spans gets one row with empty span fields, as in the SMM4H data).
    RETURNS (str): The lines, each ending in "\\n".
    """
    if output_format == "jsonl":
        return json_line(record)
    # A tab or line break would break the row; one space each keeps every offset.
    tweet = _one_cell(text)
    tweet_id = _one_cell(str(record["id"]))
    if not record["spans"]:
        return "\t".join([tweet_id, "", "", "", "", "", tweet, "", ""]) + "\n"
    rows = []
    for span in record["spans"]:
        extraction = tweet[span["start"] : span["end"]]
        row = [
            # `drug`: the drug the span is about, from adr_drug_mentions (empty without it)
            tweet_id, str(span["start"]), str(span["end"]), span["label"], extraction, span.get("drug") or "",
            tweet, span["meddra_code"] or "", span["meddra_term"] or "",
        ]
        rows.append("\t".join(row) + "\n")
    return "".join(rows)


def _one_cell(text: str) -> str:
    return text.translate(_CELL_BREAKS)


def header_for(output_format: str) -> str:
    """The first line of an output file ("" for JSONL)."""
    return "\t".join(SMM4H_COLUMNS) + "\n" if output_format == "smm4h-tsv" else ""


def read_jsonl(path: Union[str, Path]) -> List[Dict[str, Any]]:
    """Read a JSON-lines output or errors file (a convenience for checks and tests)."""
    with open(path, encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]
