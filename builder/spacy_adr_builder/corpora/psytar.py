"""PsyTAR: sentences of psychiatric drug reviews (AskaPatient) from `PsyTAR_dataset.xlsx`.

Two readers over the workbook's sheets:

- `read_psytar` turns `Sentence_Labeling` (header `id comment_id drug_id sentence_index
  sentences ADR WD EF INF SSI DI Findings others rating category`) into one Doc per sentence
  with multilabel doc.cats over `PSYTAR_LABELS` (1.0 / 0.0), for sentence-classification
  pre-training.
- `read_psytar_mentions` adds the ADR mentions of `ADR_Mapped` (header `id drug_id
  sentence_index ADRs UMLS1 SNOMED-CT UMLS2 SNOMED-CT ...`) as spans of those sentences,
  kb_id = the UMLS CUI of `UMLS1` (e.g. "C0000765 / Excessive body weight gain / Finding").

Quirks this module handles (all reported):

- The last row of `Sentence_Labeling` holds column totals (`=SUM(F1:F6010)`), not a sentence.
- One sentence cell is empty; `cymbalta.83` has two sentences with index 3.
- The DI column holds markers `!`, `*`, `!*` in ~105 rows that are not DI sentences (they are
  absent from `DI_Identified`): read as 0.0.
- `ADR_Mapped` has ~200 empty rows; its mentions are often lowercased or rephrased
  ("First 10 days, anxiety"). A mention is located case-insensitively in its sentence; one
  that cannot be found is reported and left out.
- `UMLS1` is sometimes not a CUI ("No code", "brain shivers"): the span gets no kb_id.
- Columns that repeat a name are read as `NAME`, `NAME.2`, ... (pandas' convention).

Problems name `<xlsx>[<sheet>]` and the spreadsheet row (the header is row 1).
"""
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc

from spacy_adr.errors import ConversionReport, InputError
from spacy_adr.tokenizer import make_blank

from .docbin import save_docs
from .spans import CharSpan, make_annotated_doc

SENTENCE_SHEET = "Sentence_Labeling"
MAPPED_SHEET = "ADR_Mapped"
PSYTAR_LABELS = ("ADR", "WD", "EF", "INF", "SSI", "DI", "Findings", "others")
SENTENCE_COLUMNS = ("drug_id", "sentence_index", "sentences") + PSYTAR_LABELS
MAPPED_COLUMNS = ("drug_id", "sentence_index", "ADRs", "UMLS1")
ADR_LABEL = "ADR"

_CUI = re.compile(r"^\s*(C\d{7})\b\s*/?\s*(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)


@dataclass
class _Sentence:
    row: int
    drug_id: str
    index: int
    text: str
    cats: Dict[str, float]


@dataclass
class _Mention:
    row: int
    text: str
    cui: str
    name: str


def read_psytar(
    path: Union[str, Path],
    nlp: Language,
    report: ConversionReport,
    *,
    labels: Sequence[str] = PSYTAR_LABELS,
) -> Iterator[Doc]:
    """Read `Sentence_Labeling` into one Doc per sentence with multilabel doc.cats.

    Each Doc has user_data "id" ("<drug_id>:<sentence_index>", e.g. "lexapro.1:5"), "post_id"
    (drug_id, which identifies the post) and "sentence_index".

    path (Union[str, Path]): PsyTAR_dataset.xlsx.
    nlp (Language): Pipeline whose tokenizer makes the Docs.
    report (ConversionReport): Receives counts (records = sentence rows) and problems.
    labels (Sequence[str]): Label columns that become doc.cats.
    YIELDS (Doc): One Doc per sentence, in sheet order.
    RAISES (InputError): For a missing sheet or column, a short row or a row whose
        sentence_index is not a whole number.
    """
    for sentence in _read_sentences(path, report, labels):
        doc = nlp.make_doc(sentence.text)
        _set_sentence_data(doc, sentence)
        report.docs += 1
        yield doc


def read_psytar_mentions(
    path: Union[str, Path],
    nlp: Language,
    report: ConversionReport,
    *,
    labels: Sequence[str] = PSYTAR_LABELS,
    include_negatives: bool = False,
    skip_incomplete: bool = False,
) -> Iterator[Doc]:
    """Read the sentences with their mapped ADR mentions as spans (doc.spans["sc"], doc.ents;
    label "ADR", kb_id = UMLS CUI). Docs also carry the doc.cats and user_data of
    `read_psytar`, plus user_data "umls": [[start, end, CUI, concept name], ...].

    Both sheets are read in full first (a few thousand rows each) to place each mention in
    its sentence. report.spans counts the mapped mentions, report.spans_aligned those that
    became spans.

    path (Union[str, Path]): PsyTAR_dataset.xlsx.
    nlp (Language): Pipeline whose tokenizer makes the Docs.
    report (ConversionReport): Receives counts (records = sentence rows) and problems.
    labels (Sequence[str]): Label columns that become doc.cats.
    include_negatives (bool): Also yield sentences without mapped mention (no spans).
    skip_incomplete (bool): Leave out (and report) sentences where a mention could not be
        located, so that a Doc never misses a gold ADR (cleaner NER training data).
    YIELDS (Doc): One Doc per sentence, in `Sentence_Labeling` order.
    RAISES (InputError): As `read_psytar`, also for the `ADR_Mapped` sheet.
    """
    mentions = _read_mentions(path, report)
    # Sentences are few (~6,000) and must be known in full first: one post has two sentences
    # with the same index, and a mention belongs to the one that contains it.
    sentences = list(_read_sentences(path, report, labels))
    by_key: Dict[Tuple[str, int], List[_Sentence]] = defaultdict(list)
    for sentence in sentences:
        by_key[(sentence.drug_id, sentence.index)].append(sentence)
    located: Dict[int, List[Tuple[CharSpan, str]]] = defaultdict(list)  # by sentence row
    missing: Dict[int, int] = defaultdict(int)
    taken: Dict[int, set] = defaultdict(set)
    for key, key_mentions in mentions.items():
        candidates = by_key.get(key, [])
        for mention in key_mentions:
            report.spans += 1
            span = None
            for sentence in candidates:
                span = _locate(
                    sentence, mention, taken[sentence.row], _where(path, MAPPED_SHEET), report
                )
                if span is not None:
                    located[sentence.row].append((span, mention.name))
                    break
            if span is not None:
                continue
            if candidates:
                missing[candidates[0].row] += 1
                problem = (
                    f"mention not found in sentence {key[0]}:{key[1]} ({SENTENCE_SHEET} row "
                    f"{candidates[0].row}): left out"
                )
            else:
                problem = f"no sentence {key[0]}:{key[1]} in {SENTENCE_SHEET}: mention left out"
            report.add_problem(_where(path, MAPPED_SHEET), mention.row, problem, mention.text)
    where = _where(path, SENTENCE_SHEET)
    for sentence in sentences:
        found = sorted(located.get(sentence.row, []), key=lambda item: item[0].start)
        if not found and not missing.get(sentence.row) and not include_negatives:
            continue
        if missing.get(sentence.row) and skip_incomplete:
            report.add_problem(
                where, sentence.row,
                f"{missing[sentence.row]} mention(s) not located: sentence left out",
                sentence.text,
            )
            continue
        # make_annotated_doc counts these spans again: mentions were counted above.
        report.spans -= len(found)
        doc = make_annotated_doc(
            nlp, sentence.text, [span for span, _ in found], path=where, line=sentence.row,
            report=report, ent_labels=[ADR_LABEL],
        )
        _set_sentence_data(doc, sentence)
        doc.user_data["umls"] = [[span.start, span.end, span.kb_id, name] for span, name in found]
        report.docs += 1
        yield doc


def _set_sentence_data(doc: Doc, sentence: _Sentence) -> None:
    doc.cats = dict(sentence.cats)
    doc.user_data["id"] = f"{sentence.drug_id}:{sentence.index}"
    doc.user_data["post_id"] = sentence.drug_id
    doc.user_data["sentence_index"] = sentence.index


def _locate(
    sentence: _Sentence, mention: _Mention, taken: set, where: str, report: ConversionReport
) -> Optional[CharSpan]:
    """Find a mention in the sentence: exactly, else case-insensitively (ADR_Mapped often
    lowercases), else ignoring punctuation ('a rage reaction' in 'a "rage" reaction', reported).
    Occurrences at word boundaries come first; a mention repeated in a sentence takes the next
    free occurrence."""
    text = sentence.text
    needle = mention.text.strip()
    found = _find_free(text, needle, taken)
    lowered = text.lower()
    # Lowercasing can change the length of a few characters ("İ"); offsets must stay valid.
    if found is None and len(lowered) == len(text):
        found = _find_free(lowered, needle.lower(), taken)
    if found is None:
        normal_text, offsets = _normalise(text)
        normal_needle, _ = _normalise(needle)
        at = _find_free(normal_text, normal_needle, set())
        if at is None:
            return None
        found = (offsets[at[0]], offsets[at[1] - 1] + 1)
        if found in taken:
            return None
        report.add_problem(
            where, mention.row,
            f"mention located ignoring case and punctuation as {text[found[0]:found[1]]!r}",
            mention.text,
        )
    taken.add(found)
    return CharSpan(found[0], found[1], ADR_LABEL, kb_id=mention.cui)


def _find_free(haystack: str, needle: str, taken: set) -> Optional[Tuple[int, int]]:
    if not needle:
        return None
    free = []
    start = haystack.find(needle)
    while start != -1:
        if (start, start + len(needle)) not in taken:
            free.append(start)
        start = haystack.find(needle, start + 1)
    if not free:
        return None
    # "er" (emergency room) should not match inside "after".
    whole_words = [i for i in free if _word_boundary(haystack, i, i + len(needle))]
    start = (whole_words or free)[0]
    return (start, start + len(needle))


def _word_boundary(text: str, start: int, end: int) -> bool:
    before = start == 0 or not text[start - 1].isalnum() or not text[start].isalnum()
    after = end == len(text) or not text[end].isalnum() or not text[end - 1].isalnum()
    return before and after


def _normalise(text: str) -> Tuple[str, List[int]]:
    """Lowercased alphanumerics with every other run of characters as one space, and for each
    character of the result its offset in `text`."""
    chars: List[str] = []
    offsets: List[int] = []
    for i, char in enumerate(text):
        if char.isalnum():
            lowered = char.lower()
            if len(lowered) != 1:
                lowered = char
            chars.append(lowered)
            offsets.append(i)
        elif chars and chars[-1] != " ":
            chars.append(" ")
            offsets.append(i)
    while chars and chars[-1] == " ":
        chars.pop()
        offsets.pop()
    return "".join(chars), offsets


def _where(path: Union[str, Path], sheet: str) -> str:
    return f"{path}[{sheet}]"


def _open_sheet(path: Union[str, Path], sheet: str, columns: Sequence[str]):
    # Imported here: only the PsyTAR readers need openpyxl.
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as err:  # openpyxl raises several types for a file that is not xlsx
        raise InputError(path, 0, f"cannot open as an xlsx workbook: {err}") from None
    if sheet not in workbook.sheetnames:
        workbook.close()
        raise InputError(path, 0, f"no sheet {sheet!r} (sheets: {workbook.sheetnames})")
    rows = workbook[sheet].iter_rows(values_only=True)
    where = _where(path, sheet)
    header = next(rows, None)
    names = [str(name).strip() if name is not None else "" for name in (header or ())]
    # ADR_Mapped has two "SNOMED-CT" columns: the second is "SNOMED-CT.2".
    seen: Dict[str, int] = defaultdict(int)
    keys = []
    for name in names:
        seen[name] += 1
        keys.append(name if seen[name] == 1 else f"{name}.{seen[name]}")
    missing = [name for name in columns if name not in keys]
    if missing:
        workbook.close()
        raise InputError(where, 1, f"header lacks column(s) {', '.join(missing)}: {names}")
    index = {name: keys.index(name) for name in columns}
    return workbook, rows, index


class _Row:
    """One spreadsheet row, read by column name; a missing cell is a short row."""

    def __init__(self, values: Tuple[Any, ...], number: int, index: Dict[str, int], where: str):
        self.values, self.number, self.index, self.where = values, number, index, where

    def __getitem__(self, name: str) -> Any:
        i = self.index[name]
        if i >= len(self.values):
            raise InputError(
                self.where, self.number,
                f"short row: {len(self.values)} cells, {name!r} is column {i + 1}",
            )
        return self.values[i]

    def sentence_index(self) -> int:
        value = self["sentence_index"]
        try:
            number = float(str(value).strip())
        except ValueError:
            problem = f"sentence_index {value!r} is not a number"
            raise InputError(self.where, self.number, problem) from None
        if not number.is_integer():
            problem = f"sentence_index {value!r} is not a whole number"
            raise InputError(self.where, self.number, problem)
        return int(number)

    def __str__(self) -> str:
        return " | ".join("" if value is None else str(value) for value in self.values[:6])


def _rows(
    path: Union[str, Path], sheet: str, columns: Sequence[str], report: ConversionReport
) -> Iterator[_Row]:
    """The sheet's rows after the header; empty rows are skipped and reported together."""
    where = _where(path, sheet)
    workbook, rows, index = _open_sheet(path, sheet, columns)
    empty_rows: List[int] = []
    try:
        for number, values in enumerate(rows, start=2):
            if all(_blank(value) for value in values):
                empty_rows.append(number)
                continue
            yield _Row(values, number, index, where)
    finally:
        workbook.close()
    if empty_rows:
        shown = ", ".join(str(row) for row in empty_rows[:10])
        more = f" and {len(empty_rows) - 10} more" if len(empty_rows) > 10 else ""
        report.add_problem(
            where, empty_rows[0], f"{len(empty_rows)} empty rows skipped (rows {shown}{more})"
        )


def _read_sentences(
    path: Union[str, Path], report: ConversionReport, labels: Sequence[str]
) -> Iterator[_Sentence]:
    columns = ("drug_id", "sentence_index", "sentences") + tuple(labels)
    for row in _rows(path, SENTENCE_SHEET, columns, report):
        if _blank(row["drug_id"]):
            # The totals row (=SUM(...)) at the end of the sheet.
            problem = "row without drug_id (a totals row?): skipped"
            report.add_problem(row.where, row.number, problem, str(row))
            continue
        report.records += 1
        drug_id, sentence_index = str(row["drug_id"]).strip(), row.sentence_index()
        text = row["sentences"]
        if _blank(text):
            report.add_problem(
                row.where, row.number, f"empty sentence {drug_id}:{sentence_index}: no Doc", str(row)
            )
            continue
        cats = {label: _label_value(row, label, report) for label in labels}
        yield _Sentence(row.number, drug_id, sentence_index, str(text), cats)


def _read_mentions(
    path: Union[str, Path], report: ConversionReport
) -> Dict[Tuple[str, int], List[_Mention]]:
    mentions: Dict[Tuple[str, int], List[_Mention]] = defaultdict(list)
    for row in _rows(path, MAPPED_SHEET, MAPPED_COLUMNS, report):
        drug_id, text, umls = row["drug_id"], row["ADRs"], row["UMLS1"]
        if _blank(drug_id) or _blank(text):
            problem = f"mapped mention without drug_id or ADR text: {row}"
            raise InputError(row.where, row.number, problem)
        match = _CUI.match(str(umls)) if not _blank(umls) else None
        cui, name = "", ""
        if match is None:
            report.add_problem(
                row.where, row.number, f"UMLS1 {umls!r} is not a CUI: span without kb_id", str(text)
            )
        else:
            cui = match.group(1).upper()
            # "C0000765 / Excessive body weight gain / Finding": the name, then the semantic type.
            name = match.group("rest").rsplit("/", 1)[0].strip()
        key = (str(drug_id).strip(), row.sentence_index())
        mentions[key].append(_Mention(row.number, str(text), cui, name))
    return mentions


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _label_value(row: _Row, label: str, report: ConversionReport) -> float:
    value = row[label]
    if _blank(value):
        return 0.0
    text = str(value).strip()
    if text in ("1", "1.0"):
        return 1.0
    if text in ("0", "0.0"):
        return 0.0
    report.add_problem(row.where, row.number, f"{label} cell holds {value!r}, not 0/1: read as 0.0")
    return 0.0


def convert_psytar(
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    *,
    task: str = "sentences",
    lang: str = "en",
    include_negatives: bool = False,
    skip_incomplete: bool = False,
) -> ConversionReport:
    """Convert PsyTAR into a `.spacy` file.

    input_path (Union[str, Path]): PsyTAR_dataset.xlsx.
    output_path (Union[str, Path]): The `.spacy` file, or a folder that receives
        `psytar_<task>.spacy`.
    task (str): "sentences" (`read_psytar`: doc.cats) or "mentions" (`read_psytar_mentions`:
        ADR spans and doc.cats).
    lang (str): Language whose blank tokenizer makes the Docs.
    include_negatives (bool): For "mentions": also sentences without ADR mention.
    skip_incomplete (bool): For "mentions": leave out sentences with an unlocated mention.
    RETURNS (ConversionReport): Counts and every problem met.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    if task not in ("sentences", "mentions"):
        raise ValueError(f"task must be 'sentences' or 'mentions', not {task!r}")
    report = ConversionReport(source=f"psytar {input_path.name} ({task})")
    nlp = make_blank(lang)
    if task == "sentences":
        docs = read_psytar(input_path, nlp, report)
    else:
        docs = read_psytar_mentions(
            input_path, nlp, report,
            include_negatives=include_negatives, skip_incomplete=skip_incomplete,
        )
    save_docs(docs, output_path, default_name=f"psytar_{task}.spacy")
    return report
