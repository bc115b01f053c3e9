"""The hostile-input suite: every hostile input `annotate` (the function behind `spacy-adr
annotate`) meets, in one table, checked against one invariant (issue 32) -- none lost, none
invented:

- accounted: records in == output records + error lines, where "records in" is counted by hand
  from the bytes in the table (a JSONL record is a non-blank line; a table's is a row after the
  header, a quoted CSV field's line breaks included);
- or stops: the run raises (`InputError`, `InputFailure`, `AnnotateStopped`...) with a message
  that starts with the file and names a line or a byte (or none, for a refusal of the whole
  file), says what to do or what a rerun does (`rerun`), and leaves no output behind: nothing
  of a refused or damaged file is annotated or committed.

What each case's records or message hold in detail is tested where the case is implemented
(test_annotate_inputs, test_annotate_damage, test_annotate_fuzz...). The tests after the table
look closer at the cases of issue 32 through `annotate`. Each case is a few hand-written bytes;
the pipeline is the toy one of `annotate_helpers`.
"""
import bz2
import gzip
import lzma
import re
from pathlib import Path

import pytest
import spacy

from annotate_helpers import build_toy_pipeline
from spacy_adr.annotate import InputFailure, annotate, errors_path_for, read_jsonl
from spacy_adr.annotate.chunks import parts_dir_for
from spacy_adr.errors import InputError

RECORDS = [b'{"id": "t%d", "text": "a headache %d"}' % (i, i) for i in range(1, 6)]
R1, R2, R3 = (r + b"\n" for r in RECORDS[:3])
BOM = b"\xef\xbb\xbf"
# 60 records of a few hundred compressed bytes; a byte changed in the middle is deflate data.
GZIPPED = gzip.compress(b"".join(b'{"id": %d, "text": "a headache, day %d"}\n' % (i, i * i) for i in range(60)), mtime=0)


def flip(data: bytes, at: int) -> bytes:
    damaged = bytearray(data)
    damaged[at] ^= 0x04
    return bytes(damaged)


def case(id: str, name: str, data: bytes, expect, *, xfail: str = "", **options):
    """One row of the table: `expect` is the records in, counted by hand, or `stops(...)`."""
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(name, data, expect, options, id=id, marks=marks)


def stops(error: type, advice: str) -> tuple:
    """The run must stop with exactly `error`, whose message (or `rerun`) says `advice`."""
    return error, advice


# Cyrillic in UTF-16 has NUL bytes only beside its spaces and the JSON around it.
RUSSIAN = "".join(
    '{"id": "r%d", "text": "у меня болит голова после таблетки, уже %d день"}\n' % (i, i) for i in range(5)
)
BZ2 = bz2.compress(b"".join(r + b"\n" for r in RECORDS) * 20)
XZ = lzma.compress(b"".join(r + b"\n" for r in RECORDS) * 20)
REPAIR = "repair or replace the file"
CASES = [
    case("valid-jsonl", "in.jsonl", R1 + R2 + R3, 3),
    case("valid-gzip", "in.jsonl.gz", GZIPPED, 60),
    case("gzip-zero-padding", "in.jsonl.gz", GZIPPED + b"\0" * 16, 60),
    case("gzip-of-nothing", "in.jsonl.gz", gzip.compress(b"", mtime=0), 0),
    case("gzip-two-members", "in.jsonl.gz", GZIPPED + GZIPPED, 120),
    case("bom-at-start", "in.jsonl", BOM + R1 + R2, 2),
    case("bom-before-a-json-line", "in.jsonl", R1 + BOM + R2 + BOM + b"\n", 2),  # a BOM-only line is blank
    case("bom-tsv-header", "in.tsv", BOM + b"text\tid\r\na headache\t7\r\n", 1),
    case("lone-surrogate-text", "in.jsonl", b'{"id": 1, "text": "\\ud83d pill \\udc00"}\n' + R2, 2),
    case("lone-surrogate-id", "in.jsonl", b'{"id": "a\\ud800", "text": "fine"}\n{"id": ["\\udc00"], "text": "ok"}\n' + R3, 3),
    case("lone-surrogate-key", "in.jsonl", b'{"id": 1, "text": "fine", "\\ud800": 2}\n', 1),
    case("id-overflows-to-infinity", "in.jsonl", b'{"id": 1e400, "text": "a"}\n{"id": -1e999, "text": "b"}\n', 2),
    case("id-of-5000-digits", "in.jsonl", b'{"id": ' + b"9" * 5000 + b', "text": "a"}\n' + R1, 2),
    case("nan-infinity-ids", "in.jsonl", b'{"id": NaN, "text": "a"}\n{"id": Infinity, "text": "b"}\n{"id": -Infinity, "text": "c"}\n', 3),
    case("bad-json", "in.jsonl", b'{"id": 1, "text": "unterminated}\n{bad\n}\n{"id": 2, "text": "x"} trailing\n' + R1, 5),
    case("deeply-nested-json", "in.jsonl", b"[" * 100_000 + b"]" * 100_000 + b"\n" + R1, 2),
    case("json-seq-separators", "in.jsonl", b"\x1e" + R1 + b"\x1e" + R2, 2),
    case("non-object-lines", "in.jsonl", b'null\n3.5\n[1, 2]\n"a string"\ntrue\n' + R1, 6),
    case("missing-text-field", "in.jsonl", b'{"id": 1}\n{"id": 2, "tweet": "a headache"}\n{}\n' + R1, 4),
    case("text-not-a-string", "in.jsonl", b'{"id": 1, "text": 7}\n{"id": 2, "text": null}\n{"id": 3, "text": ["a"]}\n', 3),
    case("empty-text", "in.jsonl", b'{"id": 1, "text": ""}\n{"id": 2, "text": "  \\n "}\n' + R1, 3),
    case("over-long-text", "in.jsonl", b'{"id": 1, "text": "' + b"x" * 50 + b'"}\n' + R1, 2, max_chars=20),
    case("over-long-line", "in.jsonl", b'{"id": 1, "text": "' + b"x" * (12 * 20 + (1 << 20)) + b'"}\n' + R1, 2, max_chars=20),
    case("undecodable-bytes", "in.jsonl", b'{"id": 1, "text": "bad \xfe text"}\n{"id": "7\xff", "text": "fine"}\n\xff\xfe\n' + R1, 4),
    case("undecodable-bytes-tsv", "in.tsv", b"id\ttext\n\xff\tfine\n2\tbad \xc3\n3\tok\n", 3),
    case("nul-bytes", "in.jsonl", b'{"id": 1, "text": "a\x00b"}\n{"id": 2, "text": "a\\u0000b"}\n\x00\x00\n{"id": "\x00", "text": "c"}\n', 4),
    case("crlf-line-ends", "in.jsonl", R1.replace(b"\n", b"\r\n") + R2.replace(b"\n", b"\r\n"), 2),
    case("crlf-file-cut-after-its-last-cr", "in.jsonl", R1.replace(b"\n", b"\r\n") + RECORDS[1] + b"\r", 2),
    case("one-record-ending-in-cr", "in.jsonl", RECORDS[0] + b"\r", 1),
    case("cr-inside-a-json-line", "in.jsonl", b'{"id": 1, "text": "one\rtwo"}\r\n{"id": 2,\r"text": "three"}\n', 2),
    case("cr-around-an-object-in-a-string", "in.jsonl", b'{"id": 1, "text": "a\r{}\rb"}\n' + R2, 2),
    case("blank-lines", "in.jsonl", b"\n" + R1 + b"\n\n   \n\t\r\n" + R2 + b"\n", 2),
    case("only-blank-lines", "in.jsonl", b"\n\n  \r\n", 0),
    case("empty-file", "in.jsonl", b"", 0),
    case("tsv-quotes-and-tabs", "in.tsv", b'id\ttext\n1\t"quoted" headache\n2\tcut\there\n3\t"open quote\n4\t""\n\n5\tlast\n', 5),
    case("tsv-short-row", "in.tsv", b"id\ttext\tlang\n1\ta headache\n2\tfine\ten\n", 2),
    case("csv-newlines-in-quotes", "in.csv", b'id,text\n1,"multi\nline\r\nheadache"\n2,"a ""quoted"" word"\n3,"never closed\n4,last\n', 4),
    case("csv-nul-in-quotes", "in.csv", b'id,text\n1,"a\x00b"\n2,ok\n', 2),
    case("csv-unquoted-comma", "in.csv", b"id,text\n1,no quotes, so cut\n2,fine\n", 2),
    case("csv-bare-cr-further-on", "in.csv", b"id,text\n1,a headache\r2,dry mouth\n3,ok\n", 2),
    case("repeated-unused-column", "in.tsv", b"user\tid\ttext\tuser\nu\t1\ta headache\tv\nu\t2\tfine\tv\n", 2),
    case("bare-cr-line-further-on", "in.jsonl", RECORDS[0] + b"\n" + b"\r".join(RECORDS[1:4]) + b"\r\n" + RECORDS[4] + b"\n", 3),
    case("utf16-line-further-on", "in.jsonl", R1 + R2.decode().encode("utf-16-le"), 3),  # its LF's NUL: a line
    # Stops: the whole file is refused, or damage is found before anything is annotated.
    case("truncated-gzip", "in.jsonl.gz", GZIPPED[: len(GZIPPED) // 2], stops(InputFailure, REPAIR)),
    case("gzip-without-its-trailer", "in.jsonl.gz", GZIPPED[:-8], stops(InputFailure, REPAIR)),
    case("gzip-garbage-appended", "in.jsonl.gz", GZIPPED + b"garbage after the stream", stops(InputFailure, REPAIR)),
    case("gzip-corrupt-in-the-middle", "in.jsonl.gz", flip(GZIPPED, len(GZIPPED) // 2), stops(InputFailure, REPAIR)),
    case("gzip-corrupt-checksum", "in.jsonl.gz", flip(GZIPPED, len(GZIPPED) - 6), stops(InputFailure, REPAIR)),
    case("gzip-second-member-truncated", "in.jsonl.gz", GZIPPED + GZIPPED[:-20], stops(InputFailure, REPAIR)),
    case("truncated-bz2", "in.jsonl", BZ2[: len(BZ2) // 2], stops(InputFailure, REPAIR)),
    case("truncated-xz", "in.jsonl", XZ[: len(XZ) // 2], stops(InputFailure, REPAIR)),
    case("xz-garbage-appended", "in.jsonl", XZ + b"garbage", stops(InputFailure, REPAIR)),
    case("bare-cr-jsonl", "in.jsonl", b"\r".join(RECORDS) + b"\r", stops(InputError, "convert")),
    case("bare-cr-tsv", "in.tsv", b"id\ttext\rt1\ta headache\rt2\tdry mouth\r", stops(InputError, "convert")),
    case("utf16le-without-bom", "in.jsonl", (R1 + R2).decode().encode("utf-16-le"), stops(InputError, "re-encode")),
    case("utf16be-without-bom-tsv", "in.tsv", b"id\ttext\nt1\ta headache\n".decode().encode("utf-16-be"), stops(InputError, "re-encode")),
    case("utf16le-cyrillic-without-bom", "in.jsonl", RUSSIAN.encode("utf-16-le"), stops(InputError, "re-encode")),
    case("utf16be-cyrillic-without-bom", "in.jsonl", RUSSIAN.encode("utf-16-be"), stops(InputError, "re-encode")),
    case("bare-cr-jsonl-first-record-bad", "in.jsonl", b'{"id": "t0", "text": cut\r' + b"\r".join(RECORDS) + b"\r", stops(InputError, "convert")),
    case("repeated-text-header-tsv", "in.tsv", b"id\ttext\tid\ttext\nt1\tfine\tt2\ta headache\n", stops(InputError, "rename the others")),
    case("repeated-id-header-csv", "in.csv", b"id,text,id\nt1,a headache,t2\n", stops(InputError, "rename the others")),
    case("empty-file-named-gz", "in.jsonl.gz", b"", stops(InputError, "the file is empty")),  # line 0: the whole file
    case("tsv-without-a-text-column", "in.tsv", b"id\ttweet\n1\ta headache\n", stops(InputError, "--text-field")),
]


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    return spacy.load(build_toy_pipeline(tmp_path_factory.mktemp("hostile") / "toy_model"))


@pytest.mark.parametrize("name,data,expect,options", CASES)
def test_every_record_is_accounted_for_or_the_run_stops_saying_where(nlp, tmp_path, name, data, expect, options):
    path = tmp_path / name
    path.write_bytes(data)
    out = tmp_path / "out.jsonl"
    # Small chunks and batches, so that a stop after committed chunks would show.
    options = {"quiet": True, "chunk_size": 3, "batch_size": 2, **options}
    if isinstance(expect, int):
        summary = annotate(nlp, path, out, **options)
        outputs, errors = read_jsonl(out), read_jsonl(errors_path_for(out))
        seen = f"{len(outputs)} outputs + {len(errors)} errors {[(e['line'], e['reason']) for e in errors]}"
        assert len(outputs) + len(errors) == expect, seen
        assert (summary.records, summary.annotated, summary.errors) == (expect, len(outputs), len(errors)), seen
        assert len({e["line"] for e in errors}) == len(errors), seen  # no record reported twice
        return
    with pytest.raises(InputError) as info:
        annotate(nlp, path, out, **options)
    (error, advice), err, message = expect, info.value, str(info.value)
    assert type(err) is error, f"{type(err).__name__}: {message}"
    assert message.startswith(f"{path}:") and (err.line > 0 or re.search(r"\bbytes?\b", message)), message
    to_do = getattr(err, "rerun", message)
    assert advice in to_do, to_do
    assert not out.exists() and not errors_path_for(out).exists() and not parts_dir_for(out).exists()


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


def test_utf8_line_after_a_utf16_part_is_named_for_its_nul(nlp, tmp_path):
    # A UTF-16LE part ends in "\n\x00": the UTF-8 record after it starts with that NUL.
    outputs, errors = run(nlp, tmp_path, "in.jsonl", R1 + R2.decode().encode("utf-16-le") + R3)
    assert [o["id"] for o in outputs] == ["t1"]
    assert [e["line"] for e in errors] == [2, 3]
    assert "starts with a NUL byte" in errors[1]["reason"] and "UTF-16" in errors[1]["reason"]


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
