"""SMM4H 2020 Task 2: binary ADR classification of tweets in English, Russian and French.

Tab-separated files with a header; the columns differ between files and are found by name:
en and fr `tweet_id user_id class tweet`, ru `tweet_id tweet class`; the `test.tsv` files have no
`class` (en test adds `created_at`). Quirks this reader handles:

- One record per line, split on "\\n" only: a Russian tweet contains U+2028 LINE SEPARATOR,
  which `str.splitlines()` (and so a text-mode reader) would take for a line end.
- ru files end lines with CRLF, en and fr with LF; some files lack the final newline.
- Tweets that contain quotes are stored CSV-quoted (`"he said ""no"" twice"`). Fields are never
  unquoted, as in Task 3: `doc.text` is the raw field.
"""
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from spacy_adr.errors import ConversionReport, InputError
from spacy_adr.lines import numbered_lines
from spacy_adr.tokenizer import make_blank

from .docbin import save_docs

POSITIVE = "ADR"
NEGATIVE = "NoADR"
LABELS = (POSITIVE, NEGATIVE)
REQUIRED_COLUMNS = ("tweet_id", "tweet")
CLASS_COLUMN = "class"
CATS = {"1": {POSITIVE: 1.0, NEGATIVE: 0.0}, "0": {POSITIVE: 0.0, NEGATIVE: 1.0}}


def read_task2(path: Union[str, Path], nlp: Language, report: ConversionReport) -> Iterator[Doc]:
    """Read an SMM4H 2020 Task 2 TSV file into one Doc per tweet.

    Labelled files give doc.cats {"ADR": 1.0, "NoADR": 0.0} or the reverse; unlabelled ones
    (no `class` column) leave doc.cats empty. doc.user_data gets "id" (tweet id) and every other
    column except the tweet and its class under its header name ("user_id", "created_at").

    path (Union[str, Path]): The TSV file.
    nlp (Language): Pipeline whose tokenizer makes the Docs.
    report (ConversionReport): Receives counts (records = data rows) and problems.
    YIELDS (Doc): One Doc per data row, in file order.
    RAISES (InputError): For a missing header column, a row with the wrong number of fields,
        undecodable bytes, an empty tweet or a class other than 0 and 1.
    """
    columns: Optional[List[str]] = None
    for line_no, line in numbered_lines(path):
        fields = line.split("\t")
        if columns is None:
            columns = _read_header(path, line_no, fields)
            continue
        if fields == [""]:
            report.add_problem(path, line_no, "blank line skipped")
            continue
        report.records += 1
        doc = _make_doc(path, line_no, nlp, columns, fields)
        report.docs += 1
        yield doc
    if columns is None:
        raise InputError(path, 1, "empty file: no header")


def _read_header(path: Union[str, Path], line_no: int, fields: List[str]) -> List[str]:
    columns = [name.strip().lstrip("\ufeff") for name in fields]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise InputError(path, line_no, f"header lacks column(s) {', '.join(missing)}: {fields}")
    return columns


def _make_doc(
    path: Union[str, Path], line_no: int, nlp: Language, columns: List[str], fields: List[str]
) -> Doc:
    if len(fields) > len(columns) and not any(fields[len(columns) :]):
        fields = fields[: len(columns)]  # empty trailing columns, as spreadsheets write them
    if len(fields) != len(columns):
        # A tab inside a tweet would shift the class column: refuse rather than guess.
        raise InputError(path, line_no, f"{len(fields)} fields, the header names {len(columns)}")
    row: Dict[str, str] = dict(zip(columns, fields))
    tweet_id = row["tweet_id"].strip()
    if not tweet_id:
        raise InputError(path, line_no, "empty tweet_id")
    text = row["tweet"]
    if not text.strip():
        raise InputError(path, line_no, f"empty tweet (tweet {tweet_id})")
    doc = nlp.make_doc(text)
    if CLASS_COLUMN in row:
        value = row[CLASS_COLUMN].strip()
        if value not in CATS:
            problem = f"class {value!r} is neither 0 nor 1 (tweet {tweet_id})"
            raise InputError(path, line_no, problem)
        doc.cats = dict(CATS[value])
    doc.user_data["id"] = tweet_id
    for name, value in row.items():
        if name not in ("tweet_id", "tweet", CLASS_COLUMN):
            doc.user_data[name] = value
    return doc


def convert_task2(
    input_path: Union[str, Path], output_path: Union[str, Path], *, lang: Optional[str] = None
) -> ConversionReport:
    """Convert an SMM4H 2020 Task 2 TSV file into a `.spacy` file.

    input_path (Union[str, Path]): The TSV file, e.g. `ru/train.tsv`.
    output_path (Union[str, Path]): The `.spacy` file, or a folder that receives
        `<input stem>.spacy`.
    lang (Optional[str]): Language whose blank tokenizer makes the Docs. None takes the name of
        the input's folder (`en`, `ru`, `fr` in the SMM4H layout).
    RETURNS (ConversionReport): Counts and every problem met.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    if lang is None:
        lang = _lang_from_path(input_path)
    report = ConversionReport(source=f"smm4h2020-task2 {lang}/{input_path.name}")
    save_docs(read_task2(input_path, make_blank(lang), report), output_path, default_name=f"{input_path.stem}.spacy")
    return report


def _lang_from_path(path: Path) -> str:
    lang = path.parent.name
    try:
        spacy.util.get_lang_class(lang)
    except ImportError:
        raise ValueError(
            f"cannot tell the language of {path} from its folder {lang!r}: give lang"
        ) from None
    return lang


@spacy.registry.readers("spacy-adr.Task2Corpus.v1")
def task2_corpus_v1(
    path: Path, *, lang: str, limit: int = 0
) -> Callable[[Language], Iterator[Example]]:
    """Train straight from an SMM4H 2020 Task 2 TSV file, e.g. in a config:

        [corpora.train]
        @readers = "spacy-adr.Task2Corpus.v1"
        path = ${paths.task2_train}
        lang = "ru"

    The reference Docs are those `convert_task2` writes (tokenized by `make_blank(lang)`), so
    training from the TSV and from the converted `.spacy` file is the same; the predicted Docs
    come from the pipeline's own tokenizer.

    path (Path): The TSV file.
    lang (str): Language of the tweets, whose blank tokenizer makes the reference Docs.
    limit (int): Read at most this many tweets; 0 for all.
    RETURNS (Callable[[Language], Iterator[Example]]): The corpus reader.
    """
    reference_nlp = make_blank(lang)

    def read(nlp: Language) -> Iterator[Example]:
        report = ConversionReport(source=f"smm4h2020-task2 {Path(path).name}")
        for i, doc in enumerate(read_task2(path, reference_nlp, report)):
            if limit and i >= limit:
                return
            yield Example(nlp.make_doc(doc.text), doc)

    return read
