"""Hostile inputs to `annotate`: every input record is accounted for (records in = outputs +
error lines), or the run stops with an `InputError` that names the file and the line.

Each case is a few hand-written bytes; the pipeline is the toy one of `annotate_helpers`.
"""
from pathlib import Path

import pytest
import spacy

from annotate_helpers import build_toy_pipeline
from spacy_adr.annotate import annotate, read_jsonl
from spacy_adr.errors import InputError

RECORDS = [b'{"id": "t%d", "text": "a headache %d"}' % (i, i) for i in range(1, 6)]


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    return spacy.load(build_toy_pipeline(tmp_path_factory.mktemp("hostile") / "toy_model"))


def run(nlp, tmp_path: Path, name: str, data: bytes, **kwargs) -> tuple:
    """Annotate `data` saved as `name`; RETURNS (outputs, errors), checked to add up."""
    path = tmp_path / name
    path.write_bytes(data)
    out = tmp_path / "out.jsonl"
    summary = annotate(nlp, path, out, quiet=True, **kwargs)
    outputs, errors = read_jsonl(out), read_jsonl(tmp_path / "out.errors.jsonl")
    assert summary.records == len(outputs) + len(errors) == summary.annotated + summary.errors
    return outputs, errors


def refused(nlp, tmp_path: Path, name: str, data: bytes, **kwargs) -> str:
    """Annotate `data` saved as `name`, which must stop at line 1 before any output."""
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as err:
        annotate(nlp, path, tmp_path / "out.jsonl", quiet=True, **kwargs)
    assert str(err.value).startswith(f"{path}:1: ") and err.value.line == 1
    assert not (tmp_path / "out.jsonl").exists()
    return str(err.value)


@pytest.mark.parametrize(
    "name,data",
    [
        ("in.tsv", b"id\ttext\tid\ttext\nt1\tfine\tt2\ta headache\n"),
        ("in.csv", b"text,id,text\nfine,t1,a headache\n"),
        ("in.csv", b"id,text,id\nt1,a headache,t2\n"),
    ],
)
def test_repeated_text_or_id_column_stops_the_run(nlp, tmp_path, name, data):
    message = refused(nlp, tmp_path, name, data)
    assert "the header repeats" in message and "(columns " in message


def test_repeated_unused_column_is_fine(nlp, tmp_path):
    outputs, errors = run(nlp, tmp_path, "in.tsv", b"user\tid\ttext\tuser\nu\t1\ta headache\tv\nu\t2\tfine\tv\n")
    assert [o["id"] for o in outputs] == ["1", "2"] and errors == []


@pytest.mark.parametrize(
    "name,data",
    [
        ("in.jsonl", b"\r".join(RECORDS) + b"\r"),
        ("in.tsv", b"id\ttext\rt1\ta headache\rt2\tdry mouth\r"),
        ("in.csv", b"id,text\rt1,a headache\rt2,dry mouth\r"),
    ],
)
def test_bare_cr_file_stops_at_line_1_and_names_the_line_ends(nlp, tmp_path, name, data):
    assert "bare CR line ends (old Mac)" in refused(nlp, tmp_path, name, data)


def test_bare_cr_line_further_on_is_one_error_naming_its_records(nlp, tmp_path):
    data = RECORDS[0] + b"\n" + b"\r".join(RECORDS[1:4]) + b"\r\n" + RECORDS[4] + b"\n"
    outputs, errors = run(nlp, tmp_path, "in.jsonl", data)
    assert [o["id"] for o in outputs] == ["t1", "t5"]
    [error] = errors
    assert error["line"] == 2 and "3 JSON objects" in error["reason"] and "bare CR" in error["reason"]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("name", ["in.jsonl", "in.tsv"])
def test_utf16_without_bom_stops_at_line_1_and_names_the_encoding(nlp, tmp_path, encoding, name):
    text = b"".join(r + b"\n" for r in RECORDS) if name.endswith("jsonl") else b"id\ttext\nt1\ta headache\n"
    message = refused(nlp, tmp_path, name, text.decode().encode(encoding))
    assert "UTF-16" in message and "without a byte order mark" in message and "re-encode" in message


def test_utf16_part_further_on_is_errors_that_name_it(nlp, tmp_path):
    data = RECORDS[0] + b"\n" + (RECORDS[1] + b"\n").decode().encode("utf-16-le")
    outputs, errors = run(nlp, tmp_path, "in.jsonl", data)
    assert [o["id"] for o in outputs] == ["t1"]
    assert [e["line"] for e in errors] == [2, 3]
    assert all("not UTF-8 text" in e["reason"] for e in errors)


def test_messages_of_bad_records(nlp, tmp_path):
    data = b'{"id": 1, "text": "unterminated}\nnull\n{"id": "7\xff", "text": "a headache"}\n' + RECORDS[0] + b"\n"
    outputs, errors = run(nlp, tmp_path, "in.jsonl", data)
    assert [o["id"] for o in outputs] == ["t1"]
    reasons = {e["line"]: (e["id"], e["reason"]) for e in errors}
    assert reasons[1] == (1, "bad JSON: Unterminated string starting at column 19")
    assert reasons[2] == (2, "not a JSON object but null")
    # The id is kept, its bad byte shown: not the record number 3, which a real id could be.
    assert reasons[3][0] == "7\ufffd" and "undecodable bytes in the id" in reasons[3][1]


def test_whole_file_error_names_the_file_without_a_line_0(nlp, tmp_path):
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(b"\n".join(RECORDS))
    with pytest.raises(InputError) as err:
        annotate(nlp, path, tmp_path / "out.jsonl", quiet=True)
    assert str(err.value).startswith(f"{path}: named .gz but not gzip data")
