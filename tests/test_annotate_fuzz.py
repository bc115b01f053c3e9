"""Property-based fuzzing of every `annotate` input reader (hypothesis, bounded examples).

Whatever the bytes, JSON values or Unicode (lone surrogates, NUL, noncharacters included):
no exception but a documented `InputError` about the whole file, every record accounted for
(records in == records out + errors), and output that is strict JSON in valid UTF-8.
"""
import gzip
import json
import tempfile
from pathlib import Path

import pytest
import spacy

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from annotate_helpers import build_toy_pipeline  # noqa: E402
from spacy_adr.annotate import AnnotateStopped, annotate, read_records  # noqa: E402
from spacy_adr.errors import InputError  # noqa: E402

FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ANY_CHAR = st.characters(exclude_categories=())  # surrogates (Cs) included
ANY_TEXT = st.text(ANY_CHAR, max_size=40)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3), max_leaves=6
)
RECORDS = st.lists(
    st.one_of(
        JSON_VALUES,
        st.fixed_dictionaries({"id": JSON_VALUES, "text": ANY_TEXT}),
        st.fixed_dictionaries({"id": JSON_VALUES, "text": JSON_VALUES}),
        st.fixed_dictionaries({"text": ANY_TEXT}),
    ),
    max_size=8,
)
# Bytes with the pieces that break readers: line ends, quotes, separators, BOMs, magic bytes.
PIECES = st.sampled_from([
    b"\n", b"\r", b"\r\n", b'"', b",", b"\t", b"\xef\xbb\xbf", b"{", b"}", b'{"text": "', b"\x1f\x8b\x08",
    b"\x00", b"\xff", b"\xed\xa0\x80", b"headache", b" ",
])
BYTES = st.lists(PIECES | st.binary(max_size=8), max_size=30).map(b"".join)
HEADERS = {"jsonl": [b""], "tsv": [b"id\ttext\n", b"text\n", b""], "csv": [b"id,text\n", b'"text",id\r\n', b""]}


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    return spacy.load(build_toy_pipeline(tmp_path_factory.mktemp("fuzz") / "toy_model"))


def check_annotate(nlp, data: bytes, name: str) -> int:
    """Annotate `data` saved as `name`; check the invariants; RETURNS the records read."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        out = Path(folder) / "out.jsonl"
        try:
            summary = annotate(nlp, path, out, quiet=True, chunk_size=3, batch_size=2, max_chars=50)
        except AnnotateStopped as stopped:  # a damaged file: what is committed adds up
            counts = stopped.summary
            assert counts.records == counts.annotated + counts.errors
            assert str(stopped).startswith(str(path))
            return -1
        except InputError as err:  # the whole file: no header, not a known compression...
            assert str(err).startswith(str(path))
            return -1
        lines = out.read_bytes().decode("utf-8").splitlines()
        errors = (Path(folder) / "out.errors.jsonl").read_bytes().decode("utf-8").splitlines()
        assert summary.records == summary.annotated + summary.errors
        assert (len(lines), len(errors)) == (summary.annotated, summary.errors)
        for line in lines + errors:
            json.loads(line, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
        return summary.records


def read_all(path: Path, **kwargs) -> list:
    try:
        records = list(read_records(path, max_chars=50, **kwargs))
    except InputError as err:
        assert str(err).startswith(str(path))
        return []
    for record in records:
        assert record.ok == (record.error is None) == (record.text is not None)
        if record.ok:
            record.text.encode("utf-8")  # never a lone surrogate into the pipeline
    return records


@FUZZ
@given(values=RECORDS)
def test_jsonl_of_any_json_values(nlp, values):
    data = "".join(json.dumps(value) + "\n" for value in values).encode("ascii")
    assert check_annotate(nlp, data, "in.jsonl") == len(values)


@FUZZ
@given(texts=st.lists(ANY_TEXT, max_size=8))
def test_any_unicode_text_is_annotated_or_reported(nlp, texts):
    data = "".join(json.dumps({"id": i, "text": text}) + "\n" for i, text in enumerate(texts)).encode("ascii")
    assert check_annotate(nlp, data, "in.jsonl") == len(texts)


@FUZZ
@given(rows=st.lists(st.text(ANY_CHAR.filter(lambda c: c not in "\n\t"), max_size=30), max_size=8))
def test_tsv_of_any_unicode_rows(nlp, rows):
    data = ("id\ttext\n" + "".join(f"{i}\t{row}\n" for i, row in enumerate(rows))).encode("utf-8", "surrogatepass")
    n_blank = 0  # a row is never blank: it has its id
    assert check_annotate(nlp, data, "in.tsv") == len(rows) - n_blank


@FUZZ
@given(fmt=st.sampled_from(["jsonl", "tsv", "csv"]), header=st.integers(0, 2), body=BYTES, packed=st.integers(0, 2))
def test_any_bytes_in_every_reader(nlp, fmt, header, body, packed):
    data = HEADERS[fmt][header % len(HEADERS[fmt])] + body
    name = f"in.{fmt}"
    if packed == 1:
        data, name = gzip.compress(data, mtime=0), name + ".gz"
    elif packed == 2:  # truncated gzip
        data, name = gzip.compress(data, mtime=0)[:-7], name + ".gz"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            read_all(path)
        except InputError as err:  # a damaged file stops the reader with the file named
            assert str(err).startswith(str(path))
    check_annotate(nlp, data, name)
