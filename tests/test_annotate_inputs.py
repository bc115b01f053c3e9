"""`spacy_adr.annotate` readers: bad text, BOMs, line ends, broken rows, damaged files.

Every input is a few hand-written bytes in the test itself.
"""
import bz2
import gzip
import lzma
from pathlib import Path

import pytest

from spacy_adr.annotate import InputFailure, read_records
from spacy_adr.annotate.cleaning import clean_text, id_problem
from spacy_adr.errors import InputError

BOM = b"\xef\xbb\xbf"


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def read(path: Path, **kwargs) -> list:
    return list(read_records(path, **kwargs))


def test_invalid_code_points_are_replaced_one_for_one():
    text, n = clean_text("\ud83d pill\x00 \ufffe ok \U0001fffe \ud83d\ude00")
    assert text == "\ufffd pill\ufffd \ufffd ok \ufffd \ufffd\ufffd" and n == 6
    assert clean_text("a 😀 b") == ("a 😀 b", 0)


def test_lone_surrogate_and_nul_in_text_are_cleaned(tmp_path):
    path = write(tmp_path / "t.jsonl", b'{"id": 1, "text": "\\ud83d pill"}\n{"id": 2, "text": "a\\u0000b"}\n')
    first, second = read(path)
    assert (first.ok, first.text, first.cleaned) == (True, "\ufffd pill", 1)
    assert (second.text, second.cleaned) == ("a\ufffdb", 1)
    # Offsets are those of the original text: one code point for one.
    assert len(first.text) == len("\ud83d pill")


@pytest.mark.parametrize(
    "raw_id,reason,shown",
    [
        (b'"a\\ud800"', "invalid code point U+D800 at character 2", "a\ufffd"),
        (b'"x\\u0000"', "invalid code point U+0000", "x\ufffd"),
        (b"NaN", "id is NaN", "NaN"),
        (b"-Infinity", "id is -Infinity", "-Infinity"),
        (b'[1, "\\udc00"]', "cannot be written as JSON", '[1, "\ufffd"]'),
    ],
)
def test_ids_that_cannot_be_written_are_errors(tmp_path, raw_id, reason, shown):
    path = write(tmp_path / "t.jsonl", b'{"id": ' + raw_id + b', "text": "fine"}\n')
    [record] = read(path)
    assert not record.ok and reason in record.error
    assert record.id == shown and id_problem(record.id) is None


def test_bom_is_dropped_in_every_format(tmp_path):
    jsonl = write(tmp_path / "t.jsonl", BOM + b'{"id": 1, "text": "a"}\n' + BOM + b'{"id": 2, "text": "b"}\n')
    assert [(r.id, r.text) for r in read(jsonl)] == [(1, "a"), (2, "b")]
    # The text column first: the BOM used to glue itself to its name.
    tsv = write(tmp_path / "t.tsv", BOM + b"text\tid\r\nhello\t7\r\n")
    assert [(r.id, r.text) for r in read(tsv)] == [("7", "hello")]
    csv_ = write(tmp_path / "t.csv", BOM + b'"text",id\n"hi, there",8\n')
    assert [(r.id, r.text) for r in read(csv_)] == [("8", "hi, there")]
    gz = write(tmp_path / "t.tsv.gz", gzip.compress(BOM + b"text\tid\nhello\t9\n"))
    assert [(r.id, r.text) for r in read(gz)] == [("9", "hello")]


def test_bare_carriage_return_does_not_split_a_json_record(tmp_path):
    path = write(tmp_path / "t.jsonl", b'{"id": 1, "text": "one\rtwo"}\r\n{"id": 2,\r"text": "three"}\n')
    records = read(path)
    assert [(r.line, r.id, r.text) for r in records] == [(1, 1, "one\rtwo"), (2, 2, "three")]


def test_csv_quote_errors_name_the_row_and_keep_the_rows_after(tmp_path):
    path = write(tmp_path / "t.csv", (
        b"id,text\n"
        b'1,"unclosed quote\n'
        b"2,second tweet\n"
        b'3,"a ""quoted"" word"\n'
        b'4,"multi\nline"\n'
        b'5,"never closed\n'
        b"6,last\n"
    ))
    records = read(path)
    assert [(r.line, r.id, r.text, r.ok) for r in records if r.ok] == [
        (3, "2", "second tweet", True),
        (4, "3", 'a "quoted" word', True),
        (5, "4", "multi\nline", True),
        (8, "6", "last", True),
    ]
    errors = [(r.line, r.error) for r in records if not r.ok]
    assert [line for line, _ in errors] == [2, 7]
    assert "row starting on line 2" in errors[0][1]
    assert "quote opened in the row starting on line 7 is never closed" in errors[1][1]
    assert len(records) == 6


def test_csv_quote_left_open_for_longer_than_a_record_may_be(tmp_path):
    rows = b"".join(b"%d,tweet number %d\n" % (i, i) for i in range(2, 400))
    path = write(tmp_path / "t.csv", b'id,text\n1,"open\n' + rows)
    records = read(path, max_chars=10)
    # max_chars=10 caps one row at 12 * 10 bytes + 1 MiB: all 398 rows fit, so the quote runs
    # to the end of the file; they are read again as rows of their own.
    assert not records[0].ok and "never closed" in records[0].error
    assert [r.id for r in records[1:]] == [str(i) for i in range(2, 400)]


def test_tsv_row_with_a_tab_in_the_text_is_reported_not_cut(tmp_path):
    path = write(tmp_path / "t.tsv", b"id\ttext\n1\tfine tweet\n2\tcut\there\n")
    fine, cut = read(path)
    assert fine.text == "fine tweet"
    assert not cut.ok and cut.id == "2" and "3 fields but the header 2 (a tab inside a field?)" in cut.error


def test_csv_row_with_too_many_fields_is_reported(tmp_path):
    path = write(tmp_path / "t.csv", b"id,text\n1,no quotes, so cut\n")
    [record] = read(path)
    assert not record.ok and "unquoted comma" in record.error


def test_compression_is_told_by_magic_bytes(tmp_path):
    data = b'{"id": 1, "text": "a"}\n{"id": 2, "text": "b"}\n'
    for name, packed in (("gz.jsonl", gzip.compress(data)), ("bz.jsonl", bz2.compress(data)), ("xz.jsonl", lzma.compress(data))):
        assert [r.text for r in read(write(tmp_path / name, packed))] == ["a", "b"], name
    # Concatenated members and zero padding, as `cat a.gz b.gz` and some tools leave them.
    both = write(tmp_path / "both.jsonl.gz", gzip.compress(data) + gzip.compress(data) + b"\0" * 16)
    assert len(read(both)) == 4


def test_file_named_gz_that_is_not_gzip(tmp_path):
    path = write(tmp_path / "t.jsonl.gz", b'{"id": 1, "text": "a"}\n')
    with pytest.raises(InputError, match=r"t.jsonl.gz: named .gz but not gzip data \(its first bytes are 7b 22 69 64"):
        read(path)


def test_zstd_and_utf16_are_refused_with_what_to_do(tmp_path):
    with pytest.raises(InputError, match="zstd data .* decompress it first"):
        read(write(tmp_path / "t.jsonl", b"\x28\xb5\x2f\xfd" + b"\0" * 20))
    with pytest.raises(InputError, match=r"UTF-16 text .* \(iconv -f UTF-16"):
        read(write(tmp_path / "t.tsv", "text\nhi\n".encode("utf-16")))


def gzip_lines(n: int) -> bytes:
    return gzip.compress(b"".join(b'{"id": %d, "text": "tweet %d"}\n' % (i, i) for i in range(1, n + 1)), mtime=0)


def read_until_failure(path: Path) -> tuple:
    records = []
    with pytest.raises(InputFailure) as info:
        for record in read_records(path):
            records.append(record)
    return records, info.value


def test_truncated_gzip_fails_after_the_records_before_it(tmp_path):
    data = gzip_lines(2000)
    path = write(tmp_path / "t.jsonl.gz", data[: len(data) // 2])
    records, failure = read_until_failure(path)
    assert records and all(r.ok for r in records)
    assert f"the file ends at byte {len(data) // 2:,} inside gzip data (truncated?)" in str(failure)
    assert failure.records == len(records) and f"after {len(records):,} records" in str(failure)
    assert str(failure).startswith(f"{path}:{len(records) + 1}:")  # the line it stopped on


def test_gzip_with_trailing_garbage_names_the_byte(tmp_path):
    data = gzip_lines(5)
    path = write(tmp_path / "t.jsonl.gz", data + b"garbage after the stream")
    records, failure = read_until_failure(path)
    assert len(records) == 5
    assert f"unexpected bytes after the end of the gzip data, from byte {len(data):,}" in str(failure)


def test_corrupt_gzip_data(tmp_path):
    data = bytearray(gzip_lines(50))
    data[-6] ^= 0xFF  # the CRC
    _, failure = read_until_failure(write(tmp_path / "t.jsonl.gz", bytes(data)))
    assert "corrupt gzip data" in str(failure)


def test_over_long_line_is_one_error_not_held_in_memory(tmp_path):
    long_line = b'{"id": 1, "text": "' + b"x" * (12 * 10 + (1 << 20)) + b'"}\n'
    path = write(tmp_path / "t.jsonl", long_line + b'{"id": 2, "text": "ok"}\n')
    first, second = read(path, max_chars=10)
    assert not first.ok and "text too long" in first.error and second.text == "ok"


def test_missing_input_and_folder_input(tmp_path):
    with pytest.raises(InputError, match="input not found"):
        read(tmp_path / "none.jsonl")
    (tmp_path / "dir.jsonl").mkdir()
    with pytest.raises(InputError, match="not a file"):
        read(tmp_path / "dir.jsonl")


@pytest.mark.parametrize(
    "name,data,repeated",
    [
        ("t.tsv", b"id\ttext\tlang\ttext\nt1\tfirst\ten\tsecond\n", "'text' (columns 2 and 4)"),
        ("t.csv", b"id,text,id\nt1,first,t2\n", "'id' (columns 1 and 3)"),
        ("t.csv", b"text,id,text,id,text\na,1,b,2,c\n", "'text' (columns 1, 3 and 5) and 'id' (columns 2 and 4)"),
    ],
)
def test_header_that_repeats_the_text_or_id_column_is_refused(tmp_path, name, data, repeated):
    path = write(tmp_path / name, data)
    with pytest.raises(InputError, match="the header repeats") as err:
        read(path)
    assert str(err.value).startswith(f"{path}:1: the header repeats {repeated}:")


def test_header_may_repeat_columns_that_are_not_read(tmp_path):
    path = write(tmp_path / "t.tsv", b"user\tid\ttext\tuser\nu1\t7\thello\tu2\n")
    assert [(r.id, r.text) for r in read(path)] == [("7", "hello")]


@pytest.mark.parametrize(
    "name,data",
    [
        ("t.jsonl", b'{"id": 1, "text": "a"}\r{"id": 2, "text": "b"}\r{"id": 3, "text": "c"}\r'),
        ("t.tsv", b"id\ttext\r1\ta headache\r2\tdry mouth\r"),
        ("t.csv", b"id,text\r1,a headache\r2,dry mouth\r"),
    ],
)
def test_a_file_with_bare_cr_line_ends_is_refused_at_its_first_line(tmp_path, name, data):
    with pytest.raises(InputError, match=r"t\.\w+:1: .*seems to use bare CR line ends \(old Mac\): .*convert"):
        read(write(tmp_path / name, data))
    # With --text-field naming no column the header no longer lists mangled columns.
    if name.endswith("tsv"):
        with pytest.raises(InputError, match=r"header line holds a bare CR"):
            read(tmp_path / name, text_field="tweet")


def test_a_line_of_bare_cr_records_further_on_is_one_error_that_names_them(tmp_path):
    jsonl = write(tmp_path / "t.jsonl", b'{"id": 1, "text": "a"}\n{"id": 2, "text": "b"}\r{"id": 3, "text": "c"}\r\n')
    first, joined = read(jsonl)
    assert first.ok and not joined.ok and joined.line == 2
    assert "2 JSON objects in 2 pieces separated by bare CRs" in joined.error and "old Mac" in joined.error
    tsv = write(tmp_path / "t.tsv", b"id\ttext\n1\ta headache\r2\tdry mouth\n3\tok\n")
    joined, last = read(tsv)
    assert "the line holds 2 rows joined by bare CRs" in joined.error and last.text == "ok"
    csv_ = write(tmp_path / "t.csv", b"id,text\n1,a headache\r2,dry mouth\n3,ok\n")
    joined, last = read(csv_)
    assert "a bare CR (\\r) outside quotes" in joined.error and "universal-newline" not in joined.error
    assert last.text == "ok"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("name,text", [("t.jsonl", '{"id": 1, "text": "a headache"}\n'), ("t.tsv", "id\ttext\n1\thi\n")])
def test_utf16_without_bom_is_refused_and_named(tmp_path, encoding, name, text):
    path = write(tmp_path / name, text.encode(encoding) * 3)
    with pytest.raises(InputError) as err:
        read(path)
    assert str(err.value).startswith(f"{path}:1: the file seems to be {encoding.upper().replace('-16-', '-16')} without a byte order mark")
    assert "re-encode it as UTF-8" in str(err.value)


def test_utf16_lines_further_on_are_errors_that_say_so(tmp_path):
    utf16 = '{"id": 2, "text": "a headache"}\n'.encode("utf-16-le")
    path = write(tmp_path / "t.jsonl", b'{"id": 1, "text": "fine"}\n' + utf16)
    records = read(path)
    assert records[0].ok and len(records) == 3  # the UTF-16 LF leaves its NUL on the next line
    assert "seems to be UTF-16 without a byte order mark" in records[1].error
    assert "a line of NUL bytes only" in records[2].error
    tsv = write(tmp_path / "t.tsv", b"id\ttext\n1\tfine\n" + "2\ta headache\n".encode("utf-16-le"))
    fine, bad = read(tsv)[:2]
    assert fine.ok and not bad.ok and "UTF-16" in bad.error


def test_messages_say_json_names_and_no_doubled_words(tmp_path):
    path = write(tmp_path / "t.jsonl", b'{"id": 1, "text": "unterminated}\nnull\n[1]\n"s"\n3.5\ntrue\n')
    errors = [r.error for r in read(path)]
    assert errors[0] == "bad JSON: Unterminated string starting at column 19"
    assert errors[1:] == [f"not a JSON object but {name}" for name in ("null", "an array", "a string", "a number", "true")]


def test_id_with_undecodable_bytes_is_kept_not_replaced_by_the_record_number(tmp_path):
    path = write(tmp_path / "t.jsonl", b'{"id": "1\xff", "text": "fine"}\n{"id": 2, "text": "bad \xfe text"}\n')
    bad_id, bad_text = read(path)
    assert bad_id.id == "1\ufffd" and bad_id.id != bad_id.number
    assert bad_id.error == "undecodable bytes in the id (shown with U+FFFD for each undecodable byte)"
    assert (bad_text.id, bad_text.error) == (2, "undecodable bytes in the text field 'text'")
    tsv = write(tmp_path / "t.tsv", b"id\ttext\n\xff\tfine\n")
    [record] = read(tsv)
    assert record.id == "\ufffd" and "in the id" in record.error


def test_whole_file_errors_print_no_line_zero(tmp_path):
    with pytest.raises(InputError) as err:
        read(write(tmp_path / "t.txt", b"x\n"))
    assert str(err.value) == f"{tmp_path / 't.txt'}: cannot tell the format from the extension; name one of jsonl, tsv, csv"
    assert err.value.line == 0
