"""Turning character-offset annotations into Doc spans, reporting whatever does not fit."""
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import filter_spans

from spacy_adr.errors import ConversionReport

# All aligned gold spans, overlapping ones included; doc.ents keeps a non-overlapping subset.
SPANS_KEY = "sc"


@dataclass(frozen=True)
class CharSpan:
    """A gold annotation in character offsets of the original text.

    start (int): First character.
    end (int): One past the last character.
    label (str): Entity type, e.g. "ADR".
    kb_id (str): Concept code (MedDRA LLT code), or "".
    term (str): Concept name, or "".
    expected (Optional[str]): The annotated text, checked against text[start:end] when given.
    """

    start: int
    end: int
    label: str
    kb_id: str = ""
    term: str = ""
    expected: Optional[str] = None


def make_annotated_doc(
    nlp: Language,
    text: str,
    spans: Iterable[CharSpan],
    *,
    path: Union[str, Path],
    line: int,
    report: ConversionReport,
    ent_labels: Optional[Sequence[str]] = None,
) -> Doc:
    """Tokenize `text` and attach `spans`, counting and reporting every span left out.

    A span whose offsets fall outside the text or whose text differs from `expected` is left
    out. A span that cuts through a token is widened to token boundaries (reported too, since
    strict scoring must use the original offsets). All aligned spans go to doc.spans["sc"];
    doc.ents gets the longest non-overlapping ones whose label is in `ent_labels` (all labels
    when None), and each span dropped from doc.ents for an overlap is reported.

    nlp (Language): Pipeline whose tokenizer makes the Doc.
    text (str): The original text; never changed.
    spans (Iterable[CharSpan]): Gold annotations.
    path (Union[str, Path]): Input file, for problem reports.
    line (int): Line (or record number) in that file, for problem reports.
    report (ConversionReport): Receives counts and problems.
    ent_labels (Optional[Sequence[str]]): Labels that become doc.ents.
    RETURNS (Doc): The annotated Doc.
    """
    doc = nlp.make_doc(text)
    aligned = []
    for char_span in spans:
        report.spans += 1
        if not 0 <= char_span.start < char_span.end <= len(text):
            report.add_problem(
                path, line, f"span offsets {char_span.start}-{char_span.end} outside text of length {len(text)}",
                char_span.expected or "",
            )
            continue
        found = text[char_span.start : char_span.end]
        if char_span.expected is not None and found != char_span.expected:
            report.add_problem(
                path, line,
                f"span {char_span.start}-{char_span.end} reads {found!r}, annotation says",
                char_span.expected,
            )
            continue
        # Annotators often include a stray space ("sick "); a token span cannot hold one.
        start = char_span.start + len(found) - len(found.lstrip())
        end = char_span.end - (len(found) - len(found.rstrip()))
        if start >= end:
            report.add_problem(path, line, f"span {char_span.start}-{char_span.end} is only whitespace", found)
            continue
        span = doc.char_span(start, end, label=char_span.label, kb_id=char_span.kb_id)
        if span is not None and (start, end) != (char_span.start, char_span.end):
            report.add_problem(
                path, line,
                f"span {char_span.start}-{char_span.end} trimmed of whitespace to {start}-{end}", found,
            )
        if span is None:
            span = doc.char_span(
                start, end, label=char_span.label, kb_id=char_span.kb_id, alignment_mode="expand"
            )
            report.add_problem(
                path, line,
                f"span {char_span.start}-{char_span.end} widened to token boundaries "
                f"{span.start_char}-{span.end_char}",
                found,
            )
        if char_span.term:
            span._.meddra_term = char_span.term
        aligned.append(span)
        report.spans_aligned += 1
    doc.spans[SPANS_KEY] = aligned
    candidates = [s for s in aligned if ent_labels is None or s.label_ in ent_labels]
    ents = filter_spans(candidates)
    # By identity: two gold spans widened to the same tokens are distinct, one is left out.
    kept = {id(span) for span in ents}
    for span in candidates:
        if id(span) not in kept:
            report.add_problem(
                path, line,
                f"{span.label_} span {span.start_char}-{span.end_char} overlaps a longer one: "
                f"kept in doc.spans[{SPANS_KEY!r}], not in doc.ents",
                span.text,
            )
    doc.ents = ents
    return doc

