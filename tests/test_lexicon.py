import os
from pathlib import Path

import pytest

from spacy_adr.errors import ConversionReport, InputError
from spacy_adr.kb.lexicon import read_lexicon, read_lexicons

FIXTURES = Path(__file__).parent / "fixtures" / "lexicons"
DATA = os.environ.get("SPACY_ADR_DATA")


def test_read_lexicon_quirks():
    report = ConversionReport("lexicon")
    terms = read_lexicon(FIXTURES / "adr_lexicon.txt", report=report)
    assert terms == [
        "headache",
        "feeling sick",  # trailing space stripped
        "weight gain",
        "av junctional tachycardia",  # doubled inner space collapsed
        "Drowsiness",  # first spelling wins over "drowsiness"
        "[d]jaw pain",  # source annotations are kept verbatim
        "dry mouth",
        "insomnia",  # last line, no final newline, leading space
    ]
    assert report.records == 10 and report.docs == 8 and not report.problems


def test_min_length_reports_what_it_leaves_out():
    path = FIXTURES / "dict_wiki.txt"
    assert read_lexicon(path)[:3] == ["sleepiness", "g", "do"]
    report = ConversionReport("lexicon")
    terms = read_lexicon(path, min_length=3, report=report)
    assert "g" not in terms and "do" not in terms and "ménière's disease" in terms
    assert [(p.line, p.text) for p in report.problems] == [(2, "g"), (3, "do")]
    assert all(p.path == str(path) for p in report.problems)
    # blank line 5 is neither a record nor a problem
    assert report.records == 7 and report.docs == 5


def test_read_lexicons_merges_and_dedupes():
    terms = read_lexicons([FIXTURES / "adr_lexicon.txt", FIXTURES / "dict_wiki.txt"])
    assert terms.count("weight gain") == 1
    assert terms[:2] == ["headache", "feeling sick"] and terms[-1] == "ménière's disease"
    assert read_lexicons([FIXTURES]) == terms  # a folder: its *.txt in name order


def test_bom_and_crlf(tmp_path):
    path = tmp_path / "terms.txt"
    path.write_bytes(b"\xef\xbb\xbfnausea\r\nvomiting\r\n")
    assert read_lexicon(path) == ["nausea", "vomiting"]


def test_undecodable_bytes_name_file_and_line(tmp_path):
    path = tmp_path / "terms.txt"
    path.write_bytes(b"nausea\nvomiting\nm\xe9ni\xe8re's disease\n")
    with pytest.raises(InputError) as err:
        read_lexicon(path)
    assert err.value.path == str(path) and err.value.line == 3
    assert read_lexicon(path, encoding="latin-1")[-1] == "ménière's disease"


@pytest.mark.data
@pytest.mark.skipif(not DATA, reason="SPACY_ADR_DATA is not set")
def test_real_lexicons():
    folder = Path(DATA) / "lexicons" / "kfu_chemtextmining_vocabularies"
    report = ConversionReport("lexicons")
    adr = read_lexicon(folder / "adr_lexicon.txt", report=report)
    # 13,676 lines (the README's 13,675 is `wc -l`: the last line has no line end), 13,441 distinct.
    assert report.records == 13_676 and len(adr) == 13_441
    assert len(read_lexicons([folder])) == 59_852
