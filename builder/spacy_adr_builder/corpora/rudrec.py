"""RuDReC: Russian drug reviews, one annotated sentence per line of `rudrec_annotated.json`.

Each line is a JSON object `{"file_name": "172744.tsv", "text": ..., "entities": [{"start",
"end", "entity_type", "entity_id", "entity_text", "concept_id", "concept_name"}, ...],
"sentence_id": 0}`; `file_name` identifies the review. Entity types are ADR, DI, Drugname,
Drugform, Drugclass and Finding. Quirks this reader handles:

- Missing values are written as a bare `NaN`, which is not JSON: it is read as null (by the
  parser's constant hook, so that a "NaN" inside a text is never touched).
- `concept_id` is a UMLS CUI, but also the string "None" (read as no concept), "?", several
  CUIs joined by "|" or glued together, a CUI with a leading "?", or a drug name. kb_id is the
  first CUI found (reported when the field is not exactly one CUI); without a CUI it is "".
- Sentence texts end with "\\n": `doc.text` keeps it (offsets index the original text).
"""
import json
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Sequence, Union

from spacy.language import Language
from spacy.tokens import Doc

from spacy_adr.errors import ConversionReport, InputError
from spacy_adr.lines import numbered_lines
from spacy_adr.tokenizer import make_blank

from .docbin import save_docs
from .spans import CharSpan, make_annotated_doc

RUDREC_LABELS = ("ADR", "DI", "Drugclass", "Drugform", "Drugname", "Finding")
ADR_LABEL = "ADR"

_CUI = re.compile(r"C\d{7}")
_NO_CONCEPT = ("", "None", "nan", "NaN")


def read_rudrec(
    path: Union[str, Path],
    nlp: Language,
    report: ConversionReport,
    *,
    labels: Sequence[str] = RUDREC_LABELS,
    ent_labels: Sequence[str] = (ADR_LABEL,),
) -> Iterator[Doc]:
    """Read RuDReC into one Doc per sentence.

    All entities go to doc.spans["sc"], those labelled `ent_labels` to doc.ents, with kb_id =
    UMLS CUI when the data has one. doc.cats has one category per label of `labels`: 1.0 when
    the sentence has an entity of that type, else 0.0 (multilabel sentence classification).
    user_data: "id" ("<review>:<sentence_id>", e.g. "172744:0"), "review_id", "sentence_id".

    path (Union[str, Path]): rudrec_annotated.json.
    nlp (Language): Pipeline whose tokenizer makes the Docs (e.g. spacy.blank("ru")).
    report (ConversionReport): Receives counts (records = sentences) and problems.
    labels (Sequence[str]): Entity types that become doc.cats.
    ent_labels (Sequence[str]): Entity types that become doc.ents.
    YIELDS (Doc): One Doc per sentence, in file order.
    RAISES (InputError): For a line that is not valid JSON or UTF-8, lacks `text` or
        `entities`, has an empty text or an entity without integer offsets or type.
    """
    path = Path(path)
    for line_no, line in numbered_lines(path):
        if not line.strip():
            report.add_problem(path, line_no, "blank line skipped")
            continue
        report.records += 1
        record = _parse_line(path, line_no, line)
        doc = _make_doc(path, line_no, record, nlp, report, labels, ent_labels)
        report.docs += 1
        yield doc


def _parse_line(path: Path, line_no: int, line: str) -> Dict[str, Any]:
    try:
        record = json.loads(line, parse_constant=_null)
    except json.JSONDecodeError as err:
        raise InputError(path, line_no, f"bad JSON: {err.msg} at column {err.colno}") from None
    if not isinstance(record, dict):
        raise InputError(path, line_no, f"a JSON object expected, not {type(record).__name__}")
    if not isinstance(record.get("text"), str):
        raise InputError(path, line_no, "no text")
    if not record["text"].strip():
        raise InputError(path, line_no, "empty text")
    if not isinstance(record.get("entities"), list):
        raise InputError(path, line_no, "no entities list")
    return record


def _null(constant: str) -> None:
    # Called for NaN, Infinity and -Infinity, which Python's json would read as floats.
    return None


def _make_doc(
    path: Path,
    line_no: int,
    record: Dict[str, Any],
    nlp: Language,
    report: ConversionReport,
    labels: Sequence[str],
    ent_labels: Sequence[str],
) -> Doc:
    text = record["text"]
    spans: List[CharSpan] = []
    for entity in record["entities"]:
        if not isinstance(entity, dict):
            raise InputError(path, line_no, f"entity is not an object: {entity!r}")
        start, end, label = entity.get("start"), entity.get("end"), entity.get("entity_type")
        if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool):
            raise InputError(path, line_no, f"entity offsets {start!r}-{end!r} are not integers")
        if not isinstance(label, str) or not label:
            raise InputError(path, line_no, f"entity {start}-{end} has no entity_type")
        expected = entity.get("entity_text")
        spans.append(
            CharSpan(
                start, end, label,
                kb_id=_concept(path, line_no, entity.get("concept_id"), report, expected or ""),
                expected=expected if isinstance(expected, str) else None,
            )
        )
    doc = make_annotated_doc(
        nlp, text, spans, path=path, line=line_no, report=report, ent_labels=list(ent_labels)
    )
    types = {span.label for span in spans}
    unknown = sorted(types - set(labels))
    if unknown:
        report.add_problem(path, line_no, f"entity type(s) {unknown} have no category in doc.cats")
    doc.cats = {label: float(label in types) for label in labels}
    review = str(record.get("file_name") or "")
    review_id = review[: -len(".tsv")] if review.endswith(".tsv") else review
    sentence_id = record.get("sentence_id")
    doc.user_data["id"] = f"{review_id}:{sentence_id}"
    doc.user_data["review_id"] = review_id
    doc.user_data["sentence_id"] = sentence_id
    return doc


def _concept(path: Path, line_no: int, value: Any, report: ConversionReport, mention: str) -> str:
    if value is None:
        return ""
    value = str(value).strip()
    if value in _NO_CONCEPT:
        return ""
    if _CUI.fullmatch(value):
        return value
    cuis = _CUI.findall(value)
    if cuis:
        report.add_problem(path, line_no, f"concept_id {value!r} read as {cuis[0]}", mention)
        return cuis[0]
    report.add_problem(path, line_no, f"concept_id {value!r} is not a CUI: no kb_id", mention)
    return ""


def convert_rudrec(
    input_path: Union[str, Path], output_path: Union[str, Path], *, lang: str = "ru"
) -> ConversionReport:
    """Convert RuDReC into a `.spacy` file (one Doc per sentence).

    input_path (Union[str, Path]): rudrec_annotated.json.
    output_path (Union[str, Path]): The `.spacy` file, or a folder that receives
        `rudrec.spacy`.
    lang (str): Language whose blank tokenizer makes the Docs.
    RETURNS (ConversionReport): Counts and every problem met.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    report = ConversionReport(source=f"rudrec {input_path.name}")
    save_docs(read_rudrec(input_path, make_blank(lang), report), output_path, default_name="rudrec.spacy")
    return report
