"""CADEC reader: a tiny zip built from hand-written posts in the real layout (`cadec/text/`,
`cadec/original/`, `cadec/meddra/`), with a Latin-1 `.ann`, discontinuous entities, joined
MedDRA codes, CONCEPT_LESS, a MedDRA line with spaces instead of tabs and an empty post."""
import os
import zipfile
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from spacy_adr_builder.corpora.cadec import convert_cadec, read_cadec, read_cadec_meddra_mentions
from spacy_adr.errors import ConversionReport, InputError

FIXTURE = Path(__file__).parent / "fixtures" / "cadec"


def make_zip(path: Path, files: dict) -> Path:
    """A zip laid out like CADEC.v2.zip: folder entries first, then members."""
    with zipfile.ZipFile(path, "w") as zip_:
        for folder in ("cadec/", "cadec/meddra/", "cadec/original/", "cadec/sct/", "cadec/text/"):
            zip_.writestr(folder, b"")
        for name, data in sorted(files.items()):
            zip_.writestr(name, data)
    return path


def fixture_files() -> dict:
    return {
        str(p.relative_to(FIXTURE)).replace(os.sep, "/"): p.read_bytes()
        for p in sorted(FIXTURE.rglob("*")) if p.is_file()
    }


@pytest.fixture
def cadec_zip(tmp_path):
    return make_zip(tmp_path / "CADEC.v2.zip", fixture_files())


@pytest.fixture(scope="module")
def nlp():
    return spacy.blank("en")


def read(path, nlp, **options):
    report = ConversionReport("cadec")
    return list(read_cadec(path, nlp, report, **options)), report


def spans(doc, key="sc"):
    spans_ = doc.spans[key] if key == "sc" else doc.ents
    return sorted((s.start_char, s.end_char, s.label_, s.kb_id_) for s in spans_)


def test_fragments(cadec_zip, nlp):
    docs, report = read(cadec_zip, nlp)
    assert report.records == 3 and report.docs == len(docs) == 2
    first, second = docs
    assert first.user_data["id"] == "FAKEDRUG.1"
    assert first.text.startswith("I feel a bit drowsy")
    assert spans(first) == [
        (9, 19, "ADR", "10013649"),
        (27, 32, "ADR", "10023477"),  # "knees" of "knees ... ache": first of two codes
        (37, 41, "ADR", ""),  # "back" of "back ... ache": CONCEPT_LESS
        (42, 46, "ADR", "10023477"),  # "ache", shared by T2 and T3: kept once
        (53, 61, "Drug", ""),
        (66, 75, "Disease", ""),
        (80, 84, "Symptom", ""),
    ]
    assert [e.label_ for e in first.ents] == ["ADR"] * 4
    assert report.spans == report.spans_aligned == 7 + 1 + 3  # the shared "ache" counts twice
    annotations = {a["id"]: a for a in first.user_data["annotations"]}
    assert annotations["T2"]["codes"] == ["10023477", "10003239"]
    assert annotations["T3"]["codes"] == ["CONCEPT_LESS"]
    assert annotations["T3"]["fragments"] == [[42, 46], [37, 41]]  # as listed in the file
    problems = [str(p) for p in report.problems]
    assert sum("discontinuous ADR" in p and "one span per fragment" in p for p in problems) == 2
    assert any("original/FAKEDRUG.1.ann:4: ADR T3: span 42-46 repeats one of T2" in p for p in problems)


def test_latin1_and_joined_codes(cadec_zip, nlp):
    docs, report = read(cadec_zip, nlp)
    second = docs[1]
    assert second.text.startswith("Café")
    assert spans(second) == [
        (0, 4, "Finding", ""),
        (20, 25, "ADR", "10013573"),  # "10013573+10013578"
        (30, 41, "ADR", "10013781"),  # "10013781/10003068"
    ]
    latin1 = [p for p in report.problems if "Latin-1" in p.problem]
    assert [p.path for p in latin1] == [f"{cadec_zip}/cadec/original/FAKEDRUG.2.ann"]


def test_empty_post_is_reported(cadec_zip, nlp):
    _, report = read(cadec_zip, nlp)
    empty = [p for p in report.problems if "empty post" in p.problem]
    assert [p.path for p in empty] == [f"{cadec_zip}/cadec/text/FAKEDRUG.3.txt"]


def test_extent(cadec_zip, nlp):
    docs, report = read(cadec_zip, nlp, discontinuous="extent")
    assert spans(docs[0])[1:3] == [(27, 46, "ADR", "10023477"), (37, 46, "ADR", "")]
    # The nested extent overlaps: in doc.spans["sc"], not in doc.ents (reported).
    assert (37, 46, "ADR", "") not in spans(docs[0], "ents")
    assert sum("replaced by its extent" in p.problem for p in report.problems) == 2


def test_skip(cadec_zip, nlp):
    docs, report = read(cadec_zip, nlp, discontinuous="skip")
    assert [s[:2] for s in spans(docs[0]) if s[2] == "ADR"] == [(9, 19)]
    assert sum("left out" in p.problem for p in report.problems) == 2
    assert report.spans == report.spans_aligned + 2


def test_unknown_option(cadec_zip, nlp):
    with pytest.raises(ValueError):
        read(cadec_zip, nlp, discontinuous="merge")


def test_meddra_mentions(cadec_zip):
    report = ConversionReport("cadec meddra")
    pairs = list(read_cadec_meddra_mentions(cadec_zip, report=report))
    assert pairs == [
        ("bit drowsy", "10013649"),
        ("knees ache", "10023477"),
        ("knees ache", "10003239"),
        ("dizzy", "10013573"),
        ("dizzy", "10013578"),
        ("dry-mouthed", "10013781"),
        ("dry-mouthed", "10003068"),
    ]
    assert report.records == 5
    assert any(p.problem == "mention without MedDRA concept" for p in report.problems)
    first = list(read_cadec_meddra_mentions(cadec_zip, multi_code="first"))
    assert [code for _, code in first] == ["10013649", "10023477", "10013573", "10013781"]


def test_convert_round_trip(cadec_zip, tmp_path):
    report = convert_cadec(cadec_zip, tmp_path / "out")
    docs = list(DocBin().from_disk(tmp_path / "out" / "cadec.spacy").get_docs(spacy.blank("en").vocab))
    assert len(docs) == report.docs == 2
    assert docs[0].user_data["id"] == "FAKEDRUG.1"
    assert [e.kb_id_ for e in docs[0].ents][:2] == ["10013649", "10023477"]
    assert len(docs[0].spans["sc"]) == 7


def with_member(cadec_zip_files: dict, name: str, data: bytes) -> dict:
    files = dict(cadec_zip_files)
    files[name] = data
    return files


def test_bad_entity_line(tmp_path, nlp):
    files = with_member(
        fixture_files(), "cadec/original/FAKEDRUG.2.ann", b"T1\tADR 20 25\tdizzy\nT2\tADR 30\tdry\n"
    )
    path = make_zip(tmp_path / "c.zip", files)
    with pytest.raises(InputError, match="cannot parse brat entity line") as err:
        read(path, nlp)
    assert err.value.path == f"{path}/cadec/original/FAKEDRUG.2.ann" and err.value.line == 2


def test_bad_meddra_line(tmp_path, nlp):
    files = with_member(fixture_files(), "cadec/meddra/FAKEDRUG.2.ann", b"TT2\tten 20 25\tdizzy\n")
    path = make_zip(tmp_path / "c.zip", files)
    with pytest.raises(InputError, match="cannot parse MedDRA line") as err:
        read(path, nlp)
    assert err.value.path.endswith("cadec/meddra/FAKEDRUG.2.ann") and err.value.line == 1


def test_missing_annotation_file(tmp_path, nlp):
    files = fixture_files()
    del files["cadec/original/FAKEDRUG.2.ann"]
    path = make_zip(tmp_path / "c.zip", files)
    with pytest.raises(InputError, match="no annotation file") as err:
        read(path, nlp)
    assert err.value.path.endswith("cadec/original/FAKEDRUG.2.ann")


def test_empty_post_with_annotations(tmp_path, nlp):
    files = with_member(fixture_files(), "cadec/original/FAKEDRUG.3.ann", b"T1\tADR 0 4\tpain\n")
    path = make_zip(tmp_path / "c.zip", files)
    with pytest.raises(InputError, match="empty post with 1 annotations") as err:
        read(path, nlp)
    assert err.value.path.endswith("cadec/text/FAKEDRUG.3.txt")


def test_bad_offsets_and_text_are_reported(tmp_path, nlp):
    files = with_member(
        fixture_files(), "cadec/original/FAKEDRUG.2.ann",
        b"T1\tFinding 0 4\tCafe\nT2\tADR 20 250\tdizzy\nT3\tADR 30 41\tdry-mouthed\n",
    )
    path = make_zip(tmp_path / "c.zip", files)
    docs, report = read(path, nlp)
    assert [s[:3] for s in spans(docs[1])] == [(0, 4, "Finding"), (30, 41, "ADR")]
    assert report.spans == report.spans_aligned + 1
    found = {(p.line, p.problem.split(":")[0]) for p in report.problems if "FAKEDRUG.2" in p.path}
    assert (2, "ADR T2") in found  # offsets outside the text: left out
    assert (1, "Finding T1") in found  # text differs ("Café"): kept by offsets
    # The MedDRA line of T2 still parses; its codes go to the annotation record.
    assert any("MedDRA line's offsets" in p.problem for p in report.problems)


def test_not_a_zip(tmp_path, nlp):
    path = tmp_path / "CADEC.v2.zip"
    path.write_text("not a zip")
    with pytest.raises(InputError, match="zip"):
        read(path, nlp)


@pytest.mark.data
def test_real_data():
    root = os.environ.get("SPACY_ADR_DATA")
    if not root:
        pytest.skip("SPACY_ADR_DATA is not set")
    path = Path(root) / "cadec" / "CADEC.v2.zip"
    report = ConversionReport("cadec")
    adr = coded = discontinuous = 0
    codes = set()
    for doc in read_cadec(path, spacy.blank("en"), report, discontinuous="skip"):
        for annotation in doc.user_data["annotations"]:
            adr += annotation["label"] == "ADR"
            coded += bool(annotation["codes"])
            discontinuous += len(annotation["fragments"]) > 1
            codes.update(c for c in annotation["codes"] if c != "CONCEPT_LESS")
    assert report.records == 1250 and report.docs == 1248  # two posts are empty files
    assert adr == coded == 6318
    assert discontinuous == 1066
    # 687 in the data README, which misses the two MedDRA lines with spaces for tabs.
    assert len(codes) == 689
