"""SMM4H 2017 Task 3 (AMIA shared task, subtask 3): mention-level MedDRA normalisation.

Files `task_3_training{1..4}_amiaformat.txt` hold `id<TAB>mention<TAB>MedDRA PT code`, one
mention a line, no tweet context; the test file `task_3_test1_amiaformat_to_release.txt` holds
`id<TAB>mention` only. Lines end in CRLF; the last line of some files has no line end.

Quirks of the real files: 15 mentions are CSV-quoted by the spreadsheet they were exported
from (`"killing""  my tummy"`, `"wt loss, 60 lbs "`); they are unquoted (`""` -> `"`) and
stripped, and each change is reported. A few mentions contain U+FFFD where the source lost an
apostrophe (`don\ufffdt sleep`); nothing can restore it, so it is kept. Codes are PT codes of
an unstated MedDRA version: some are not PTs (or not present) in a later release, so the
reader does not check them against a KB.

The records feed the linker's training as extra (mention, concept) pairs; they have no
context to make Docs from, so they are written as JSONL.
"""
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Union

from spacy_adr.errors import ConversionReport, InputError
from spacy_adr.lines import numbered_lines

FILE_PATTERN = "*amiaformat*.txt"


@dataclass(frozen=True)
class MentionRecord:
    """One mention with its MedDRA code.

    id (str): The record id from the file (unique across the four training files).
    mention (str): The mention text.
    code (Optional[str]): MedDRA PT code; None in the unlabelled test file.
    line (int): Line number in the file, for messages; not part of equality.
    """

    id: str
    mention: str
    code: Optional[str]
    line: int = field(default=0, compare=False)


def read_smm4h2017(
    path: Union[str, Path],
    *,
    report: Optional[ConversionReport] = None,
    encoding: str = "utf-8",
) -> Iterator[MentionRecord]:
    """Stream the mentions of one SMM4H 2017 Task 3 file, labelled or not.

    path (Union[str, Path]): A `*_amiaformat*.txt` file.
    report (Optional[ConversionReport]): Receives `records` (lines read), `docs` (records
        yielded) and a problem for each mention that was unquoted.
    encoding (str): The file's encoding.
    YIELDS (MentionRecord): The records, in file order.
    """
    path = Path(path)
    for line_no, line in numbered_lines(path, encoding=encoding):
        if not line.strip():
            continue
        if report is not None:
            report.records += 1
        fields = line.split("\t")
        if len(fields) not in (2, 3):
            problem = f"expected id<TAB>mention[<TAB>MedDRA code], found {len(fields)} fields"
            raise InputError(path, line_no, problem)
        record_id = fields[0].strip()
        if not record_id:
            raise InputError(path, line_no, "empty id")
        mention = fields[1]
        if len(mention) >= 2 and mention.startswith('"') and mention.endswith('"'):
            unquoted = mention[1:-1].replace('""', '"').strip()
            if report is not None:
                report.add_problem(path, line_no, "CSV-quoted mention unquoted", mention)
            mention = unquoted
        if not mention.strip():
            raise InputError(path, line_no, "empty mention")
        code: Optional[str] = None
        if len(fields) == 3:
            code = fields[2].strip()
            if not (code.isascii() and code.isdigit()):
                raise InputError(path, line_no, f"MedDRA code is not a number: {fields[2]!r}")
        if report is not None:
            report.docs += 1
        yield MentionRecord(record_id, mention, code, line=line_no)


def smm4h2017_files(inputs: Union[str, Path, Iterable[Union[str, Path]]]) -> List[Path]:
    """Expand files and folders to the SMM4H 2017 files they name.

    inputs (Union[str, Path, Iterable[Union[str, Path]]]): Files, or folders whose
        `*amiaformat*.txt` files are taken in name order (README.txt is left out).
    RETURNS (List[Path]): The files.
    """
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    files: List[Path] = []
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            found = sorted(item.glob(FILE_PATTERN))
            if not found:
                raise FileNotFoundError(f"No {FILE_PATTERN} files in {item}")
            files.extend(found)
        elif item.is_file():
            files.append(item)
        else:
            raise FileNotFoundError(f"SMM4H 2017 input {item} does not exist")
    return files


def convert_smm4h2017(
    inputs: Union[str, Path, Iterable[Union[str, Path]]],
    output_jsonl: Union[str, Path],
) -> ConversionReport:
    """Write SMM4H 2017 mentions to one JSONL file, a record a line:
    `{"id": ..., "mention": ..., "code": ... or null, "source": "<file name>"}`.

    inputs (Union[str, Path, Iterable[Union[str, Path]]]): Files or folders (see
        `smm4h2017_files`); all four training files together form the training set.
    output_jsonl (Union[str, Path]): Output file; parent folders are created.
    RETURNS (ConversionReport): Counts (records = lines, docs = records written) and problems.
    """
    output_jsonl = Path(output_jsonl)
    output_jsonl.parent.mkdir(parents=True, exist_ok=True)
    report = ConversionReport(source="smm4h2017")
    seen_ids = {}
    with output_jsonl.open("w", encoding="utf8") as out:
        for path in smm4h2017_files(inputs):
            for record in read_smm4h2017(path, report=report):
                # Ids are unique across the release; a repeat means a file was given twice.
                if record.id in seen_ids:
                    problem = f"id {record.id} also in {seen_ids[record.id]}"
                    report.add_problem(path, record.line, problem, record.mention)
                seen_ids.setdefault(record.id, path.name)
                row = {"id": record.id, "mention": record.mention, "code": record.code, "source": path.name}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return report
