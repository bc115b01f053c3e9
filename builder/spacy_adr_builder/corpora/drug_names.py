"""Drug names in the training data, for the drug lexicon (`training.drug_lexicon`) and its
evaluation (`evaluation.drugs`). Task 3 dev is read only by the evaluation.

- SMM4H 2020 Task 3: the `drug` column, one drug per row (the drug the tweet was collected
  by; a span about two drugs has a row for each). The values are as the organisers wrote them:
  mostly lowercase, some not ("Cimzia"), a few keywords that are not drug names as such
  ("lozenge", "metho", "gamma").
- CADEC v2: the brat `Drug` entities of `original/` (1,800 of them, with misspellings:
  "liptor", "simvistatin") and, in `sct/`, the SNOMED CT concept of each (the same `T` id:
  `TT3\\t<code> | <name> | <offsets>\\t<text>`, or `CONCEPT_LESS`): the concept's name is the
  drug a spelling stands for ("liptor" -> "Lipitor", "cataflam" -> "diclofenac").
- KFU WebMD corpus: each review's title names the reviewed drug ("User Reviews & Ratings -
  clonazepam oral"). Its `Drugname` entities are not used: many are not drug names ("texas",
  "aorta", "ability").
"""
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc

from spacy_adr.errors import ConversionReport, InputError
from spacy_adr.lines import numbered_lines
from .cadec import CONCEPT_LESS, read_cadec
from .smm4h_task3 import read_rows

_SCT_LINE = re.compile(r"^T(?P<id>T\d+)\s+(?P<concept>.*)$")
_SCT_MEMBER = re.compile(r"^(?:.*/)?sct/(?P<name>[^/]+)\.ann$")
_WEBMD_TITLE = re.compile(r"^User Reviews & Ratings - (?P<drug>.+?) (?P<route>\S+)$")


@dataclass(frozen=True)
class Task3DrugRow:
    """One row of a Task 3 file, as the drug evaluation needs it.

    line (int): The file's line.
    tweet_id (str): The tweet.
    tweet (str): The raw tweet field (offsets count in it).
    span (Optional[Tuple[int, int]]): The ADR span's offsets; None on a row without ADR.
    drug (str): The row's drug ("" when none).
    """

    line: int
    tweet_id: str
    tweet: str
    span: Optional[Tuple[int, int]]
    drug: str


def read_task3_drug_rows(path: Union[str, Path], report: ConversionReport) -> Iterator[Task3DrugRow]:
    """The rows of a Task 3 TSV file with their drug (the Task 3 reader's own parsing).

    path (Union[str, Path]): task3_training.tsv or task3_validation.tsv.
    report (ConversionReport): Receives counts and problems.
    YIELDS (Task3DrugRow): The rows, in file order.
    """
    # The reader's row parser: the file's quirks (raw offsets, quoted extractions) in one place.
    for row in read_rows(path, report):
        span = None if row.span is None else (row.span.start, row.span.end)
        yield Task3DrugRow(row.line, row.tweet_id, row.tweet, span, row.drug)


def task3_drug_names(path: Union[str, Path], report: ConversionReport) -> Counter:
    """The drug column's values and how many rows name each.

    path (Union[str, Path]): task3_training.tsv (never the dev file: the lexicon is
        evaluated on it).
    report (ConversionReport): Receives counts and problems.
    RETURNS (Counter): Drug as written -> rows.
    """
    return Counter(row.drug for row in read_task3_drug_rows(path, report) if row.drug)


@dataclass(frozen=True)
class CadecDrug:
    """A `Drug` entity of a CADEC post.

    start (int): First character (of its first fragment).
    end (int): One past its last character (of its last fragment).
    text (str): The text annotated.
    concept (Optional[str]): Its SNOMED CT concept code; None when `CONCEPT_LESS` or missing.
    concept_name (Optional[str]): The concept's name as `sct/` writes it ("Lipitor 20 mg
        tablet: film-coated"); None when the line gives none.
    """

    start: int
    end: int
    text: str
    concept: Optional[str]
    concept_name: Optional[str]


@dataclass(frozen=True)
class CadecPost:
    """A CADEC post with its drug entities.

    name (str): The post ("LIPITOR.12").
    doc (Doc): The post, tokenized.
    drugs (Tuple[CadecDrug, ...]): Its `Drug` entities, in file order.
    """

    name: str
    doc: Doc
    drugs: Tuple[CadecDrug, ...]


def read_cadec_drugs(path: Union[str, Path], nlp: Language, report: ConversionReport) -> List[CadecPost]:
    """The posts of the CADEC zip with their `Drug` entities and SNOMED CT concepts.

    path (Union[str, Path]): CADEC.v2.zip.
    nlp (Language): Pipeline whose tokenizer makes the Docs (the tweet tokenizer).
    report (ConversionReport): Receives the CADEC reader's counts and problems.
    RETURNS (List[CadecPost]): The posts, in zip order.
    """
    concepts = _sct_concepts(path, report)
    posts = []
    for doc in read_cadec(path, nlp, report, discontinuous="extent"):
        name = doc.user_data["id"]
        drugs = []
        for ann in doc.user_data["annotations"]:
            if ann["label"] != "Drug":
                continue
            starts, ends = zip(*ann["fragments"])
            concept, concept_name = concepts.get((name, ann["id"]), (None, None))
            drugs.append(CadecDrug(min(starts), max(ends), ann["text"], concept, concept_name))
        posts.append(CadecPost(name, doc, tuple(drugs)))
    return posts


def _sct_concepts(path: Union[str, Path], report: ConversionReport) -> Dict[Tuple[str, str], Tuple[str, Optional[str]]]:
    # (post, entity id) -> (SNOMED CT code, its name or None), from the sct/ members.
    concepts: Dict[Tuple[str, str], Tuple[str, Optional[str]]] = {}
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise InputError(path, 0, f"cannot open as a zip file: {err}") from None
    with archive:
        for member in archive.namelist():
            match = _SCT_MEMBER.match(member)
            if match is None:
                continue
            data = archive.read(member)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("latin-1")  # some CADEC files are Latin-1
            for line_no, line in enumerate(text.splitlines(), start=1):
                found = _SCT_LINE.match(line)
                if found is None:
                    if line.strip():
                        report.add_problem(f"{path}/{member}", line_no, "SNOMED CT line not understood", line)
                    continue
                # "<code> | <name> | <offsets>", the name's second bar missing on a few lines
                fields = found.group("concept").split("|")
                code = fields[0].split()[0] if fields[0].split() else CONCEPT_LESS
                if code != CONCEPT_LESS:
                    name = fields[1].strip() if len(fields) >= 3 and fields[1].strip() else None
                    concepts[(match.group("name"), found.group("id"))] = (code, name)
    return concepts


def webmd_title_drugs(path: Union[str, Path], report: ConversionReport) -> Counter:
    """The drugs named by the review titles of the KFU WebMD corpus, with their reviews.

    A title "User Reviews & Ratings - Mucinex DM oral" names "mucinex dm" (the last word is
    the route).

    path (Union[str, Path]): webmd_corpus.json (JSON lines).
    report (ConversionReport): Receives counts and titles not understood.
    RETURNS (Counter): Name (lowercase) -> reviews.
    """
    names: Counter = Counter()
    for line_no, line in numbered_lines(path):
        if not line.strip():
            continue
        report.records += 1
        try:
            title = json.loads(line)["title"]
        except (ValueError, KeyError, TypeError) as err:
            report.add_problem(path, line_no, f"no review title: {err}")
            continue
        match = _WEBMD_TITLE.match(" ".join(str(title).split()))
        if match is None:
            report.add_problem(path, line_no, "title names no drug", str(title))
            continue
        names[match.group("drug").lower()] += 1
        report.docs += 1
    return names


# Where each source lies in the data folder (its layout: `data_check.DATA_SOURCES`).
TASK3_TRAIN = "smm4h2020_task3_en/task3_training.tsv"
TASK3_DEV = "smm4h2020_task3_en/task3_validation.tsv"
CADEC_ZIP = "cadec/CADEC.v2.zip"
WEBMD_JSON = "lexicons/kfu_chemtextmining_webmd/webmd_corpus.json"
ADR_LEXICON = "lexicons/kfu_chemtextmining_vocabularies/adr_lexicon.txt"


@dataclass
class DrugSources:
    """The drug names of the training data, read from the data folder.

    task3 (Counter): Task 3 train's drug column (`task3_drug_names`).
    cadec (Optional[List[CadecPost]]): CADEC's posts (`read_cadec_drugs`); None when absent.
    webmd (Optional[Counter]): The WebMD titles' drugs (`webmd_title_drugs`); None when absent.
    ambiguous (List[str]): The ADR lexicon's terms (names left out of the drug lexicon).
    missing (List[str]): Optional files not in the data folder, each left out.
    dictionary (Optional[List[Tuple[str, str]]]): The open drug dictionary's (name, drug)
        pairs (`corpora.drug_dictionary`); None when left out.
    """

    task3: Counter
    cadec: Optional[List[CadecPost]]
    webmd: Optional[Counter]
    ambiguous: List[str]
    missing: List[str]
    dictionary: Optional[List[Tuple[str, str]]] = None


def read_drug_sources(
    data_dir: Union[str, Path], nlp: Language, report: ConversionReport, *, dictionary: bool = True
) -> DrugSources:
    """Read every drug name source of the data folder, and the open drug dictionary; never
    Task 3 dev.

    Task 3 train is required; CADEC, the WebMD corpus and the ADR lexicon are used when
    present and named in `missing` when not (a miniature data folder has no WebMD corpus).

    data_dir (Union[str, Path]): The data folder ($SPACY_ADR_DATA).
    nlp (Language): Pipeline whose tokenizer makes CADEC's Docs.
    report (ConversionReport): Receives every reader's counts and problems.
    dictionary (bool): Read the open drug dictionary (`corpora.drug_dictionary`) too.
    RETURNS (DrugSources): The names.
    RAISES (InputError): Task 3 train is missing, or the dictionary's package.
    """
    from spacy_adr.kb.lexicon import read_lexicon
    from .drug_dictionary import dictionary_path, read_drug_dictionary

    data_dir = Path(data_dir)
    if not (data_dir / TASK3_TRAIN).is_file():
        raise InputError(data_dir / TASK3_TRAIN, 0, "missing: the drug lexicon needs Task 3 train")
    missing = [name for name in (CADEC_ZIP, WEBMD_JSON, ADR_LEXICON) if not (data_dir / name).is_file()]
    return DrugSources(
        task3=task3_drug_names(data_dir / TASK3_TRAIN, report),
        cadec=None if CADEC_ZIP in missing else read_cadec_drugs(data_dir / CADEC_ZIP, nlp, report),
        webmd=None if WEBMD_JSON in missing else webmd_title_drugs(data_dir / WEBMD_JSON, report),
        ambiguous=[] if ADR_LEXICON in missing else read_lexicon(data_dir / ADR_LEXICON),
        missing=missing,
        dictionary=read_drug_dictionary(dictionary_path()) if dictionary else None,
    )
