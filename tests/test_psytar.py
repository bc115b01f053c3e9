"""PsyTAR readers: an xlsx written by the test from a hand-written sample with the real sheet
names and header rows (and the real quirks: totals row, DI markers, an empty sentence, a
repeated sentence index, empty rows, non-CUI UMLS cells, rephrased mentions)."""
import json
import os
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from spacy_adr.errors import ConversionReport, InputError
from spacy_adr_builder.corpora.psytar import (
    PSYTAR_LABELS, convert_psytar, read_psytar, read_psytar_mentions,
)

SAMPLE = Path(__file__).parent / "fixtures" / "psytar" / "psytar_sample.json"


def write_xlsx(path: Path, sheets: dict) -> Path:
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def sample() -> dict:
    return json.loads(SAMPLE.read_text(encoding="utf8"))


@pytest.fixture
def xlsx(tmp_path):
    return write_xlsx(tmp_path / "PsyTAR_dataset.xlsx", sample())


@pytest.fixture(scope="module")
def nlp():
    return spacy.blank("en")


def test_sentences(xlsx, nlp):
    report = ConversionReport("psytar")
    docs = list(read_psytar(xlsx, nlp, report))
    assert report.records == 8  # the empty sentence is a record without Doc
    assert report.docs == len(docs) == 7
    first = docs[0]
    assert first.text == "weight gain, dry mouth."
    assert first.user_data["id"] == "fakezac.1:1" and first.user_data["post_id"] == "fakezac.1"
    assert set(first.cats) == set(PSYTAR_LABELS)
    assert first.cats["ADR"] == 1.0 and first.cats["EF"] == 0.0
    assert docs[1].cats["EF"] == docs[1].cats["DI"] == 1.0
    assert docs[2].cats["DI"] == 0.0  # "!" marker
    assert docs[3].cats["others"] == 1.0
    where = f"{xlsx}[Sentence_Labeling]"
    found = {(p.path, p.line, p.problem.split(":")[0]) for p in report.problems}
    assert found == {
        (where, 4, "DI cell holds '!', not 0/1"),
        (where, 5, "empty sentence fakezac.1"),
        (where, 10, "row without drug_id (a totals row?)"),
    }


def test_mentions(xlsx, nlp):
    report = ConversionReport("psytar mentions")
    docs = list(read_psytar_mentions(xlsx, nlp, report))
    assert [d.user_data["id"] for d in docs] == ["fakezac.1:1", "fakezac.1:3", "fakezac.2:2", "fakezac.2:3"]
    ents = [[(e.text, e.kb_id_) for e in d.ents] for d in docs]
    assert ents == [
        [("weight gain", "C0043094"), ("dry mouth", "C0043352")],
        [("HEADACHES", "C0018681"), ("headaches", "C0018681"), ('a "rage" reaction', "")],
        [("Dizzy", "C0012833")],  # in the second sentence with index 2
        [("ache", "C0234238")],  # the word, not the end of "headache"
    ]
    assert docs[0].user_data["umls"][0] == [0, 11, "C0043094", "Weight Gain"]
    assert docs[0].cats["ADR"] == 1.0
    assert report.spans == 9 and report.spans_aligned == 7
    where = f"{xlsx}[ADR_Mapped]"
    found = {(p.line, p.problem.split(" (")[0].split(":")[0]) for p in report.problems if p.path == where}
    assert found == {
        (6, "UMLS1 'No code' is not a CUI"),
        (6, "mention located ignoring case and punctuation as 'a \"rage\" reaction'"),
        (7, "mention not found in sentence fakezac.1"),
        (8, "2 empty rows skipped"),
        (12, "no sentence fakezac.3"),
    }


def test_mentions_options(xlsx, nlp):
    report = ConversionReport("psytar mentions")
    docs = list(read_psytar_mentions(xlsx, nlp, report, skip_incomplete=True))
    assert [d.user_data["id"] for d in docs] == ["fakezac.1:1", "fakezac.2:2", "fakezac.2:3"]
    assert any("sentence left out" in p.problem and p.line == 4 for p in report.problems)
    assert report.spans == 9 and report.spans_aligned == 4
    docs = list(read_psytar_mentions(xlsx, nlp, ConversionReport("p"), include_negatives=True))
    assert len(docs) == 7
    assert docs[1].ents == () and docs[1].cats["EF"] == 1.0


def test_missing_sheet_and_column(tmp_path, nlp):
    sheets = sample()
    del sheets["ADR_Mapped"]
    path = write_xlsx(tmp_path / "a.xlsx", sheets)
    with pytest.raises(InputError, match="no sheet 'ADR_Mapped'"):
        list(read_psytar_mentions(path, nlp, ConversionReport("p")))
    sheets = sample()
    sheets["Sentence_Labeling"][0][5] = "ADRs"
    path = write_xlsx(tmp_path / "b.xlsx", sheets)
    with pytest.raises(InputError, match="header lacks column") as err:
        list(read_psytar(path, nlp, ConversionReport("p")))
    assert err.value.path == f"{path}[Sentence_Labeling]" and err.value.line == 1


def test_bad_sentence_index(tmp_path, nlp):
    sheets = sample()
    sheets["Sentence_Labeling"][3][3] = "three"
    path = write_xlsx(tmp_path / "a.xlsx", sheets)
    with pytest.raises(InputError, match="sentence_index 'three'") as err:
        list(read_psytar(path, nlp, ConversionReport("p")))
    assert err.value.path == f"{path}[Sentence_Labeling]" and err.value.line == 4


def test_short_mapped_row(tmp_path, nlp):
    sheets = sample()
    sheets["ADR_Mapped"][2] = [2, "fakezac.1", 1]  # no ADRs cell
    path = write_xlsx(tmp_path / "a.xlsx", sheets)
    with pytest.raises(InputError, match="without drug_id or ADR text") as err:
        list(read_psytar_mentions(path, nlp, ConversionReport("p")))
    assert err.value.path == f"{path}[ADR_Mapped]" and err.value.line == 3


def test_not_a_workbook(tmp_path, nlp):
    path = tmp_path / "PsyTAR_dataset.xlsx"
    path.write_text("not a workbook")
    with pytest.raises(InputError, match="xlsx"):
        list(read_psytar(path, nlp, ConversionReport("p")))


def test_convert(xlsx, tmp_path):
    report = convert_psytar(xlsx, tmp_path / "out", task="mentions")
    out = tmp_path / "out" / "psytar_mentions.spacy"
    docs = list(DocBin().from_disk(out).get_docs(spacy.blank("en").vocab))
    assert len(docs) == report.docs == 4
    assert [e.kb_id_ for e in docs[0].ents] == ["C0043094", "C0043352"]
    report = convert_psytar(xlsx, tmp_path / "s.spacy")
    assert report.docs == 7 and (tmp_path / "s.spacy").exists()


@pytest.mark.data
def test_real_data():
    root = os.environ.get("SPACY_ADR_DATA")
    if not root:
        pytest.skip("SPACY_ADR_DATA is not set")
    path = Path(root) / "psytar" / "PsyTAR_dataset.xlsx"
    nlp = spacy.blank("en")
    report = ConversionReport("psytar")
    posts = set()
    for doc in read_psytar(path, nlp, report):
        posts.add(doc.user_data["post_id"])
    assert report.records == 6009
    assert report.docs == 6003  # six sentence cells are blank
    # 891 posts in the README; five consist of a single blank sentence.
    assert len(posts) == 886
    mentions = ConversionReport("psytar mentions")
    for _ in read_psytar_mentions(path, nlp, mentions):
        pass
    assert mentions.spans == 4813
    assert mentions.spans_aligned > 4300
