import json
import os
from pathlib import Path

import pytest

from spacy_adr.errors import ConversionReport, InputError
from spacy_adr_builder.corpora.smm4h2017 import (
    MentionRecord,
    convert_smm4h2017,
    read_smm4h2017,
    smm4h2017_files,
)

FIXTURES = Path(__file__).parent / "fixtures" / "smm4h2017"
TRAIN1 = FIXTURES / "data_train" / "task_3_training1_amiaformat.txt"
TEST = FIXTURES / "data_test" / "task_3_test1_amiaformat_to_release.txt"
DATA = os.environ.get("SPACY_ADR_DATA")


def test_read_labelled_file():
    report = ConversionReport("smm4h2017")
    records = list(read_smm4h2017(TRAIN1, report=report))
    assert records[0] == MentionRecord("10001", "cant sleep", "10022437")
    assert records[0].line == 1
    assert records[2].mention == "DIZZY"  # case kept as written
    # CSV quoting from the spreadsheet export is undone and reported
    assert records[3] == MentionRecord("10004", "gained five, five kilos", "10047899")
    assert [(p.line, p.text) for p in report.problems] == [(4, '"gained five, five kilos "')]
    assert records[4].mention == "don\ufffdt feel hungry"  # the source lost the apostrophe
    assert report.records == report.docs == len(records) == 6


def test_read_unlabelled_test_file():
    records = list(read_smm4h2017(TEST))
    assert [r.code for r in records] == [None, None, None]
    assert records[1] == MentionRecord("44002", "dreamt colours", None)


def test_files_and_convert(tmp_path):
    files = smm4h2017_files(FIXTURES / "data_train")
    assert [f.name for f in files] == ["task_3_training1_amiaformat.txt", "task_3_training2_amiaformat.txt"]
    out = tmp_path / "out" / "train.jsonl"
    report = convert_smm4h2017(FIXTURES / "data_train", out)
    rows = [json.loads(line) for line in out.read_text(encoding="utf8").splitlines()]
    # the second file's last line has no line end and is still read
    assert len(rows) == report.records == report.docs == 9
    assert rows[-1] == {"id": "20003", "mention": "sleepy", "code": "10041349", "source": "task_3_training2_amiaformat.txt"}
    assert len({r["code"] for r in rows}) == 8
    assert len(report.problems) == 1


def test_convert_reports_repeated_ids(tmp_path):
    report = convert_smm4h2017([TRAIN1, TRAIN1], tmp_path / "twice.jsonl")
    assert report.docs == 12
    assert sum("also in" in p.problem for p in report.problems) == 6


@pytest.mark.parametrize(
    "content,line,problem",
    [
        (b"10001\tcant sleep\t10022437\r\n10002\r\n", 2, "found 1 fields"),
        (b"10001\tcant sleep\t10022437\textra\r\n", 1, "found 4 fields"),
        (b"10001\tcant sleep\t10022437\r\n10002\theadache\tPT123\r\n", 2, "not a number"),
        (b"10001\t\t10022437\r\n", 1, "empty mention"),
        (b'10001\t""\t10022437\r\n', 1, "empty mention"),
        (b"\tcant sleep\t10022437\r\n", 1, "empty id"),
        (b"10001\tcant sleep\t10022437\r\n10002\tdon\x92t sleep\t10022437\r\n", 2, "not UTF-8"),
    ],
)
def test_malformed_lines(tmp_path, content, line, problem):
    path = tmp_path / "task_3_training9_amiaformat.txt"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        list(read_smm4h2017(path))
    assert err.value.path == str(path) and err.value.line == line
    assert problem in err.value.problem


def test_missing_input(tmp_path):
    with pytest.raises(FileNotFoundError):
        smm4h2017_files(tmp_path / "absent")
    with pytest.raises(FileNotFoundError):
        smm4h2017_files(tmp_path)  # a folder without data files


@pytest.mark.data
@pytest.mark.skipif(not DATA, reason="SPACY_ADR_DATA is not set")
def test_real_counts(tmp_path):
    folder = Path(DATA) / "smm4h2017_task3_norm"
    report = convert_smm4h2017(folder / "data_train", tmp_path / "train.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "train.jsonl").open(encoding="utf8")]
    assert report.docs == len(rows) == 6_650
    assert len({r["code"] for r in rows}) == 477  # distinct PT codes over the four files
    assert len(report.problems) == 15  # CSV-quoted mentions
    test = list(read_smm4h2017(folder / "data_test" / "task_3_test1_amiaformat_to_release.txt"))
    assert len(test) == 2_500 and all(r.code is None for r in test)
