"""RuDReC reader: a hand-written sample in the real format (bare NaN, messy concept_id)."""
import os
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from spacy_adr.errors import ConversionReport, InputError
from spacy_adr_builder.corpora.rudrec import RUDREC_LABELS, convert_rudrec, read_rudrec

FIXTURE = Path(__file__).parent / "fixtures" / "rudrec" / "rudrec_sample.json"


@pytest.fixture(scope="module")
def nlp():
    return spacy.blank("ru")


def read(path, nlp):
    report = ConversionReport("rudrec")
    return list(read_rudrec(path, nlp, report)), report


def test_read_sample(nlp):
    docs, report = read(FIXTURE, nlp)
    assert report.records == report.docs == len(docs) == 4
    assert report.spans == report.spans_aligned == 8
    first = docs[0]
    assert first.text.endswith("тошнота.\n")  # the original text, newline included
    assert first.user_data["id"] == "100001:0"
    assert first.user_data["review_id"] == "100001"
    assert [(e.text, e.label_, e.kb_id_) for e in first.ents] == [
        ("сильная головная боль", "ADR", "C0018681"),
        ("тошнота", "ADR", "C0027497"),  # "?C0027497": the CUI, reported
    ]
    assert sorted(s.label_ for s in first.spans["sc"]) == ["ADR", "ADR", "Drugform"]
    assert set(first.cats) == set(RUDREC_LABELS)
    assert first.cats["ADR"] == first.cats["Drugform"] == 1.0
    assert first.cats["DI"] == 0.0


def test_concept_ids(nlp):
    docs, report = read(FIXTURE, nlp)
    second = {s.text: s.kb_id_ for s in docs[1].spans["sc"]}
    # "None" string and a missing key: no concept, not a problem; "A|B": first CUI, reported.
    assert second == {"Аспирин": "", "температуры": "C0015967", "простуды": ""}
    fourth = {s.text: s.kb_id_ for s in docs[3].spans["sc"]}
    assert fourth == {"антибиотики": "", "сыпь": ""}  # a drug name and NaN
    problems = [p.problem for p in report.problems]
    assert any("'?C0027497' read as C0027497" in p for p in problems)
    assert any("'C0015967|C0015968' read as C0015967" in p for p in problems)
    assert any("'Amoxicillin' is not a CUI" in p for p in problems)
    assert len(problems) == 3


def test_sentence_without_entities(nlp):
    docs, _ = read(FIXTURE, nlp)
    assert docs[2].ents == ()
    assert all(value == 0.0 for value in docs[2].cats.values())


def test_bad_json_names_file_and_line(tmp_path, nlp):
    lines = FIXTURE.read_text(encoding="utf8").splitlines(keepends=True)
    path = tmp_path / "bad.json"
    path.write_text(lines[0] + '{"file_name": "1.tsv", "text": "x", "entities": [\n', encoding="utf8")
    with pytest.raises(InputError) as err:
        read(path, nlp)
    assert err.value.path == str(path) and err.value.line == 2
    assert "bad JSON" in str(err.value)


@pytest.mark.parametrize(
    "line,problem",
    [
        ('{"file_name": "1.tsv", "text": " \\n", "entities": [], "sentence_id": 0}', "empty text"),
        ('{"file_name": "1.tsv", "entities": [], "sentence_id": 0}', "no text"),
        ('{"file_name": "1.tsv", "text": "Боль", "sentence_id": 0}', "no entities"),
        (
            '{"file_name": "1.tsv", "text": "Боль", "entities": [{"start": "0", "end": 4, '
            '"entity_type": "ADR", "entity_text": "Боль"}], "sentence_id": 0}',
            "not integers",
        ),
    ],
)
def test_unreadable_records(tmp_path, nlp, line, problem):
    path = tmp_path / "bad.json"
    path.write_text(line + "\n", encoding="utf8")
    with pytest.raises(InputError, match=problem) as err:
        read(path, nlp)
    assert err.value.line == 1


def test_undecodable_bytes(tmp_path, nlp):
    path = tmp_path / "bad.json"
    path.write_bytes(FIXTURE.read_bytes() + "Боль\n".encode("cp1251"))
    with pytest.raises(InputError, match="not UTF-8") as err:
        read(path, nlp)
    assert err.value.line == 5


def test_bad_offsets_and_blank_lines_are_reported(tmp_path, nlp):
    path = tmp_path / "sample.json"
    path.write_text(
        '{"file_name": "1.tsv", "text": "Болит голова.\\n", "entities": ['
        '{"start": 0, "end": 99, "entity_type": "ADR", "entity_text": "Болит", "concept_id": NaN},'
        '{"start": 0, "end": 5, "entity_type": "ADR", "entity_text": "Болят", "concept_id": NaN},'
        '{"start": 6, "end": 12, "entity_type": "ADR", "entity_text": "голова", "concept_id": NaN}'
        '], "sentence_id": 0}\n\n',
        encoding="utf8",
    )
    docs, report = read(path, nlp)
    assert len(docs) == 1 and report.spans == 3 and report.spans_aligned == 1
    assert [e.text for e in docs[0].ents] == ["голова"]
    lines = sorted((p.line, p.problem.split(" ")[0]) for p in report.problems)
    assert lines == [(1, "span"), (1, "span"), (2, "blank")]


def test_convert(tmp_path):
    report = convert_rudrec(FIXTURE, tmp_path)
    out = tmp_path / "rudrec.spacy"
    docs = list(DocBin().from_disk(out).get_docs(spacy.blank("ru").vocab))
    assert len(docs) == report.docs == 4
    assert docs[0].user_data["id"] == "100001:0"
    assert [e.kb_id_ for e in docs[0].ents] == ["C0018681", "C0027497"]
    assert docs[0].cats["ADR"] == 1.0


@pytest.mark.data
def test_real_data():
    root = os.environ.get("SPACY_ADR_DATA")
    if not root:
        pytest.skip("SPACY_ADR_DATA is not set")
    report = ConversionReport("rudrec")
    counts = {}
    reviews = set()
    for doc in read_rudrec(Path(root) / "rudrec" / "rudrec_annotated.json", spacy.blank("ru"), report):
        reviews.add(doc.user_data["review_id"])
        for span in doc.spans["sc"]:
            counts[span.label_] = counts.get(span.label_, 0) + 1
    assert len(reviews) == 500
    assert report.records == report.docs == 4809
    assert report.spans == report.spans_aligned == 4566
    assert counts["ADR"] == 720 and counts["DI"] == 1401
