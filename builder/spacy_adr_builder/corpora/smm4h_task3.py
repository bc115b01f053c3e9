"""SMM4H 2020 Task 3: English tweets with ADR spans normalised to MedDRA Lowest Level Terms.

The files are tab-separated with the header
`tweet_id begin end type extraction drug tweet meddra_code meddra_term` (the training file adds
~45 empty columns and CRLF line ends). There is one row per ADR span and drug; a tweet without
ADR has a single row whose span fields are empty. Quirks this reader handles:

- Offsets count characters of the *raw* tweet field, CSV quote characters included (a tweet
  stored as `"my skin ""burns"" today"` has its spans at offsets into that exact string). So
  fields are split on tabs and never unquoted; `doc.text` is the raw field.
- The tweets are lowercased but `extraction` keeps the original case: a span is checked against
  the text case-insensitively.
- A few `extraction` fields are themselves CSV-quoted (`"back, hip, and leg aches"`). When the
  unquoted form matches the text, the span is kept and the fix is reported.
- A span that concerns two drugs is repeated once per drug. The rows are merged into one span
  (reported), and the tweet's drugs go to `doc.user_data["drugs"]`.
- Rows of one tweet are not always consecutive, so the whole file is grouped before Docs are
  made (the files are small).
"""
from pathlib import Path
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Tuple, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from spacy_adr import extensions  # noqa: F401  (Span._.meddra_term)
from spacy_adr.tokenizer import make_blank
from .docbin import save_docs
from spacy_adr.lines import numbered_lines
from spacy_adr.errors import ConversionReport, InputError
from .spans import CharSpan, make_annotated_doc

COLUMNS = (
    "tweet_id", "begin", "end", "type", "extraction", "drug", "tweet", "meddra_code", "meddra_term"
)
# Trailing columns a row may lack: a tweet without ADR needs no code and term.
OPTIONAL_COLUMNS = ("meddra_code", "meddra_term")
DEFAULT_LABEL = "ADR"


class _Row(NamedTuple):
    line: int
    tweet_id: str
    span: Optional[CharSpan]
    drug: str
    tweet: str


def read_task3(path: Union[str, Path], nlp: Language, report: ConversionReport) -> Iterator[Doc]:
    """Read an SMM4H 2020 Task 3 TSV file into one annotated Doc per tweet.

    Each Doc has the raw tweet field as text, the ADR spans in doc.spans["sc"] and doc.ents
    (span.kb_id_ = MedDRA LLT code, span._.meddra_term = LLT name), and in user_data "id"
    (tweet id), "drug" (drug of the tweet's first row) and "drugs" (tuple of all its drugs,
    in order).
    Problems found while aligning (mismatch, widening, overlap) are reported at the line of
    the tweet's first row, the others at their own row.

    path (Union[str, Path]): The TSV file.
    nlp (Language): Pipeline whose tokenizer makes the Docs.
    report (ConversionReport): Receives counts (records = data rows) and problems.
    YIELDS (Doc): One Doc per tweet, in order of first appearance.
    RAISES (InputError): For a row that cannot be read (too few fields, bad offsets, empty
        tweet, undecodable bytes) or a tweet whose rows disagree on its text.
    """
    tweets: Dict[str, List[_Row]] = {}
    for row in read_rows(path, report):
        rows = tweets.setdefault(row.tweet_id, [])
        if rows and rows[0].tweet != row.tweet:
            raise InputError(
                path, row.line,
                f"tweet {row.tweet_id} has a different text than on line {rows[0].line}",
            )
        rows.append(row)
    for tweet_id, rows in tweets.items():
        doc = _make_doc(path, nlp, report, tweet_id, rows)
        report.docs += 1
        yield doc


def read_rows(path: Union[str, Path], report: ConversionReport) -> Iterator[_Row]:
    """The records of a Task 3 TSV file (also read by the drug-name collector); blank and
    malformed lines go to `report` with their line number.

    path (Union[str, Path]): The TSV file.
    report (ConversionReport): Receives each problem.
    YIELDS (_Row): One record per tweet line.
    """
    index: Optional[Dict[str, int]] = None
    for line_no, line in numbered_lines(path):
        fields = line.split("\t")
        if index is None:
            index = _read_header(path, line_no, fields)
            continue
        if not line:
            # A blank line carries no record; report it rather than skip it silently.
            report.add_problem(path, line_no, "blank line skipped")
            continue
        report.records += 1
        yield _parse_row(path, line_no, fields, index, report)
    if index is None:
        raise InputError(path, 1, "empty file: no header")


def _read_header(path: Union[str, Path], line_no: int, fields: List[str]) -> Dict[str, int]:
    names = [name.strip().lstrip("\ufeff") for name in fields]
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        raise InputError(
            path, line_no, f"header lacks column(s) {', '.join(missing)}: {fields[:9]}"
        )
    return {name: names.index(name) for name in COLUMNS}


def _parse_row(
    path: Union[str, Path],
    line_no: int,
    fields: List[str],
    index: Dict[str, int],
    report: ConversionReport,
) -> _Row:
    min_fields = max(i for name, i in index.items() if name not in OPTIONAL_COLUMNS) + 1
    if len(fields) < min_fields:
        raise InputError(path, line_no, f"{len(fields)} fields, at least {min_fields} needed")

    def get(name: str) -> str:
        i = index[name]
        return fields[i] if i < len(fields) else ""

    extra = [value for i, value in enumerate(fields) if i not in index.values() and value.strip()]
    if extra:
        report.add_problem(path, line_no, "non-empty extra column(s) ignored", " | ".join(extra))
    tweet_id = get("tweet_id").strip()
    if not tweet_id:
        raise InputError(path, line_no, "empty tweet_id")
    tweet = get("tweet")
    if not tweet.strip():
        raise InputError(path, line_no, f"empty tweet (tweet {tweet_id})")
    span_fields = [get(name) for name in ("begin", "end", "type", "extraction")]
    if not any(span_fields):
        span = None
    else:
        begin, end, label, extraction = span_fields
        try:
            start_char, end_char = int(begin), int(end)
        except ValueError:
            raise InputError(path, line_no, f"offsets {begin!r}-{end!r} are not integers") from None
        if not extraction:
            raise InputError(path, line_no, "span without extraction text")
        span = CharSpan(
            start_char, end_char, label.strip() or DEFAULT_LABEL,
            kb_id=get("meddra_code").strip(), term=get("meddra_term").strip(),
            expected=extraction,
        )
    return _Row(line_no, tweet_id, span, get("drug").strip(), tweet)


def _make_doc(
    path: Union[str, Path], nlp: Language, report: ConversionReport, tweet_id: str, rows: List[_Row]
) -> Doc:
    text = rows[0].tweet
    spans: List[CharSpan] = []
    first_line: Dict[Tuple[int, int, str, str], int] = {}
    duplicates: List[CharSpan] = []
    for row in rows:
        if row.span is None:
            continue
        span = _checked_span(path, row.line, text, row.span, report)
        key = (span.start, span.end, span.label, span.kb_id)
        if key in first_line:
            # The same mention annotated once per drug: one span in the Doc, counted per row.
            report.add_problem(
                path, row.line,
                f"span {span.start}-{span.end} repeats line {first_line[key]} (drug "
                f"{row.drug!r}): merged",
                span.expected or "",
            )
            duplicates.append(span)
            continue
        first_line[key] = row.line
        spans.append(span)
    doc = make_annotated_doc(nlp, text, spans, path=path, line=rows[0].line, report=report)
    for span in duplicates:
        report.spans += 1
        report.spans_aligned += _alignable(text, span)
    # A tuple, as DocBin gives lists back as tuples.
    drugs = tuple(dict.fromkeys(row.drug for row in rows if row.drug))
    doc.user_data["id"] = tweet_id
    doc.user_data["drug"] = rows[0].drug
    doc.user_data["drugs"] = drugs
    # Every annotated span as the file gives it, aligned or not: strict scoring compares
    # predicted offsets with these, as the SMM4H scorer does.
    gold = {(row.span.start, row.span.end, row.span.kb_id) for row in rows if row.span is not None}
    doc.user_data["gold_spans"] = tuple(sorted(gold))
    return doc


def _checked_span(
    path: Union[str, Path], line_no: int, text: str, span: CharSpan, report: ConversionReport
) -> CharSpan:
    """Compare the extraction with the text the way the data allows: case-insensitively (the
    tweets were lowercased, the extractions not), then CSV-unquoted. A match is returned with the
    text's own characters as `expected`; otherwise the span is returned unchanged so that
    `make_annotated_doc` reports and leaves it out."""
    expected = span.expected or ""
    if not 0 <= span.start < span.end <= len(text):
        return span
    found = text[span.start : span.end]
    if found.lower() == expected.lower():
        return _with_expected(span, found)
    unquoted = _unquote(expected)
    if unquoted is not None and found.lower() == unquoted.lower():
        report.add_problem(
            path, line_no,
            f"span {span.start}-{span.end}: extraction field is CSV-quoted; its unquoted form "
            f"matches the text, span kept",
            expected,
        )
        return _with_expected(span, found)
    return span


def _with_expected(span: CharSpan, expected: str) -> CharSpan:
    return CharSpan(span.start, span.end, span.label, span.kb_id, span.term, expected)


def _alignable(text: str, span: CharSpan) -> bool:
    # The test make_annotated_doc applies before it keeps a span.
    in_text = 0 <= span.start < span.end <= len(text)
    return in_text and (span.expected is None or text[span.start : span.end] == span.expected)


def _unquote(value: str) -> Optional[str]:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('""', '"')
    return None


def convert_task3(
    input_path: Union[str, Path], output_path: Union[str, Path], *, lang: str = "en"
) -> ConversionReport:
    """Convert an SMM4H 2020 Task 3 TSV file into a `.spacy` file.

    input_path (Union[str, Path]): The TSV file (task3_training.tsv, task3_validation.tsv).
    output_path (Union[str, Path]): The `.spacy` file, or a folder that receives
        `<input stem>.spacy`.
    lang (str): Language whose blank tokenizer makes the Docs.
    RETURNS (ConversionReport): Counts and every problem met.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    report = ConversionReport(source=f"smm4h2020-task3 {input_path.name}")
    save_docs(read_task3(input_path, make_blank(lang), report), output_path, default_name=f"{input_path.stem}.spacy")
    return report


@spacy.registry.readers("spacy-adr.Task3Corpus.v1")
def task3_corpus_v1(
    path: Path, *, lang: str = "en", limit: int = 0
) -> Callable[[Language], Iterator[Example]]:
    """Train straight from an SMM4H 2020 Task 3 TSV file, e.g. in a config:

        [corpora.train]
        @readers = "spacy-adr.Task3Corpus.v1"
        path = ${paths.task3_train}

    The reference Docs are those `convert_task3` writes (tokenized by `make_blank(lang)`), so
    training from the TSV and from the converted `.spacy` file is the same; the predicted Docs
    come from the pipeline's own tokenizer. The report is printed after the first full pass.

    path (Path): The TSV file.
    lang (str): Language whose blank tokenizer makes the reference Docs.
    limit (int): Read at most this many tweets; 0 for all.
    RETURNS (Callable[[Language], Iterator[Example]]): The corpus reader.
    """
    reference_nlp = make_blank(lang)
    printed = False

    def read(nlp: Language) -> Iterator[Example]:
        nonlocal printed
        report = ConversionReport(source=f"smm4h2020-task3 {Path(path).name}")
        for i, doc in enumerate(read_task3(path, reference_nlp, report)):
            if limit and i >= limit:
                return
            yield Example(nlp.make_doc(doc.text), doc)
        if not printed:
            printed = True
            report.print(max_problems=5)

    return read

