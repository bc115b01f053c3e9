"""`spacy-adr annotate`: formats, fields, errors, SMM4H TSV, resuming after a crash."""
import gzip
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotate_helpers import build_toy_pipeline
from spacy_adr.annotate import SMM4H_COLUMNS, ResumeError, annotate, read_jsonl, read_records
from spacy_adr.cli import app
from spacy_adr.errors import InputError

HELPERS = Path(__file__).parent / "annotate_helpers.py"
runner = CliRunner()

# tweets.jsonl: 15 lines, one blank (not a record) -> 14 records, 7 of them broken.
JSONL_ERRORS = {
    3: "bad JSON",
    4: "missing text field 'text'",
    5: "empty text",
    6: "undecodable bytes",
    7: "text too long",
    11: "not a JSON object",
    12: "is int, not a string",
}


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return build_toy_pipeline(tmp_path_factory.mktemp("annotate") / "toy_model")


@pytest.fixture
def inputs(fixtures_dir, tmp_path) -> Path:
    folder = tmp_path / "in"
    shutil.copytree(fixtures_dir / "annotate", folder)
    return folder


def run_cli(*args: str) -> str:
    result = runner.invoke(app, ["annotate", *map(str, args), "--quiet", "--code", str(HELPERS)])
    assert result.exit_code == 0, result.output
    return result.output


def n_records(path: Path) -> int:
    return sum(1 for _ in read_records(path, max_chars=100, text_field="text"))


def test_read_records_reports_every_broken_record(fixtures_dir):
    records = list(read_records(fixtures_dir / "annotate" / "tweets.jsonl", max_chars=100))
    assert len(records) == 14
    errors = {r.line: r.error for r in records if not r.ok}
    assert sorted(errors) == sorted(JSONL_ERRORS)
    for line, reason in JSONL_ERRORS.items():
        assert reason in errors[line]
    by_id = {r.id: r for r in records}
    assert by_id[1234567890123456789].text.startswith("Weight gain")
    assert by_id[9].text.startswith("no id here")  # no id field: the record number


def test_annotate_jsonl(model, inputs, tmp_path):
    out = tmp_path / "out.jsonl"
    output = run_cli(model, inputs / "tweets.jsonl", out, "--max-chars", "100")
    assert "14 records: 7 annotated, 7 errors" in output
    records = read_jsonl(out)
    errors = read_jsonl(tmp_path / "out.errors.jsonl")
    assert len(records) + len(errors) == 14
    assert {e["line"] for e in errors} == set(JSONL_ERRORS)
    assert {e["id"] for e in errors} >= {"t4", "t5", "t6", "t7", "t11"}
    by_id = {r["id"]: r for r in records}
    t1 = by_id["t1"]
    assert list(t1) == ["id", "adr_probability", "adr_label", "spans", "gate_open"]
    assert t1["gate_open"] is None  # this pipeline has no gate
    assert t1["adr_probability"] == 0.9 and t1["adr_label"] is True
    assert t1["spans"] == [
        {"start": 21, "end": 29, "text": "headache", "label": "ADR", "score": None,
         "meddra_code": "10019211", "meddra_term": "Headache", "link_method": None}
    ]
    assert by_id["t2"]["adr_label"] is False and by_id["t2"]["spans"] == []
    assert by_id["t13"]["adr_probability"] == 0.4 and by_id["t13"]["adr_label"] is False
    assert [s["text"] for s in by_id[1234567890123456789]["spans"]] == ["Weight gain", "dry mouth"]
    assert by_id[9]["spans"][0]["meddra_term"] == "Insomnia"


def test_gzip_and_format_override_give_the_same_output(model, inputs, tmp_path):
    plain = tmp_path / "plain.jsonl"
    run_cli(model, inputs / "tweets.jsonl", plain, "--max-chars", "100")
    gz = inputs / "tweets.jsonl.gz"
    gz.write_bytes(gzip.compress((inputs / "tweets.jsonl").read_bytes()))
    run_cli(model, gz, tmp_path / "gz.jsonl", "--max-chars", "100")
    txt = inputs / "tweets.txt"
    shutil.copy(inputs / "tweets.jsonl", txt)
    run_cli(model, txt, tmp_path / "txt.jsonl", "--max-chars", "100", "--format", "jsonl")
    for name in ("gz", "txt"):
        assert (tmp_path / f"{name}.jsonl").read_text() == plain.read_text()
        assert len(read_jsonl(tmp_path / f"{name}.errors.jsonl")) == 7


def test_tsv_text_field_to_smm4h_tsv(model, inputs, tmp_path):
    out = tmp_path / "submission.tsv"
    output = run_cli(model, inputs / "tweets.tsv", out, "--text-field", "tweet")
    assert "6 records: 4 annotated, 2 errors" in output
    lines = out.read_text(encoding="utf-8").split("\n")
    assert lines[0].split("\t") == SMM4H_COLUMNS
    rows = [line.split("\t") for line in lines[1:] if line]
    assert all(len(row) == len(SMM4H_COLUMNS) for row in rows)
    # One row per span; a tweet without spans gets one row with empty span fields.
    assert [row[0] for row in rows] == ["101", "102", "105", "106", "106"]
    assert rows[2] == ["105", "", "", "", "", "", "nothing to see", "", ""]
    for row in rows:
        if row[1]:
            assert row[6][int(row[1]) : int(row[2])] == row[4]
    # Quotes are part of the tweet, as in the SMM4H files.
    assert rows[1][6] == '"quoted" tweet about weight gain' and rows[1][1:3] == ["21", "32"]
    errors = read_jsonl(tmp_path / "submission.errors.jsonl")
    assert [(e["line"], e["id"], e["reason"]) for e in errors] == [
        (4, "103", "missing text field 'tweet'"),
        (5, "104", "empty text"),
    ]


def test_smm4h_tsv_drug_column_names_the_spans_drug():
    from spacy_adr.annotate import format_record

    span = {"start": 11, "end": 19, "label": "ADR", "meddra_code": "10019211", "meddra_term": "Headache"}
    record = {"id": "7", "spans": [{**span, "drug": "ciprofloxacin"}, {**span, "drug": None}, span]}
    rows = [line.split("\t") for line in format_record(record, "cipro gave headache", output_format="smm4h-tsv").splitlines()]
    # the drug the span is about; empty when the tweet names none or the pipeline does not look
    assert [row[5] for row in rows] == ["ciprofloxacin", "", ""]
    assert rows[0][:5] == ["7", "11", "19", "ADR", "headache"] and rows[0][7:] == ["10019211", "Headache"]


def test_smm4h_tsv_keeps_offsets_of_tabs_and_line_breaks(model, inputs, tmp_path):
    out = tmp_path / "out.tsv"
    run_cli(model, inputs / "tweets.jsonl", out, "--max-chars", "100")
    rows = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines()[1:]]
    t12 = [row for row in rows if row[0] == "t12"]
    assert t12[0][6].startswith("this drug makes my headache")
    assert t12[0][4] == "headache" and t12[0][6][int(t12[0][1]) : int(t12[0][2])] == "headache"


def test_csv_multiline_and_id_field(model, inputs, tmp_path):
    out = tmp_path / "out.jsonl"
    output = run_cli(model, inputs / "tweets.csv", out, "--id-field", "tweet_id", "--include-text")
    assert "5 records: 4 annotated, 1 errors" in output
    records = read_jsonl(out)
    assert [r["id"] for r in records] == ["201", "202", "204", "205"]
    assert records[1]["text"] == "a tweet over\ntwo lines with dry mouth"
    assert records[2]["text"] == 'he said "no headache" today'
    assert read_jsonl(tmp_path / "out.errors.jsonl")[0]["line"] == 5


def test_keep_field_copies_input_fields_into_records(model, inputs, tmp_path):
    out = tmp_path / "out.jsonl"
    run_cli(model, inputs / "tweets.csv", out, "--id-field", "tweet_id", "--keep-field", "lang")
    records = read_jsonl(out)
    assert [list(r)[:2] for r in records] == [["id", "lang"]] * 4 and {r["lang"] for r in records} == {"en"}
    # JSONL: a record without the field gets null; the field's JSON type is kept
    source = tmp_path / "dated.jsonl"
    source.write_text(
        '{"id": 1, "text": "a headache", "created_at": "2020-03-01", "n": 2}\n{"id": 2, "text": "fine"}\n'
    )
    annotate(model, source, out, keep_fields=["created_at", "n"], quiet=True, restart=True)
    assert [(r["created_at"], r["n"]) for r in read_jsonl(out)] == [("2020-03-01", 2), (None, None)]
    # without kept fields a record carries none
    annotate(model, source, tmp_path / "plain.jsonl", quiet=True)
    assert "created_at" not in read_jsonl(tmp_path / "plain.jsonl")[0]


def test_keep_field_refusals(model, inputs, tmp_path):
    for args, message in [
        (["--keep-field", "date"], "tweets.tsv:1: no column 'date' in the header"),
        (["--keep-field", "spans"], "cannot keep 'spans': output records have keys of that name"),
    ]:
        result = runner.invoke(app, ["annotate", str(model), str(inputs / "tweets.tsv"), str(tmp_path / "o.jsonl"),
                                     "--text-field", "tweet", "-q", *args])
        assert result.exit_code == 1 and message in " ".join(result.output.split()), result.output
    with pytest.raises(ValueError, match="only into JSONL output"):
        annotate(model, inputs / "tweets.tsv", tmp_path / "o.tsv", text_field="tweet", keep_fields=["user"])
    # a kept column named twice in the header cannot be told apart
    (tmp_path / "twice.tsv").write_text("id\tuser\ttext\tuser\n1\ta\theadache\tb\n")
    with pytest.raises(InputError, match="user"):
        annotate(model, tmp_path / "twice.tsv", tmp_path / "o2.jsonl", keep_fields=["user"], quiet=True)


def test_missing_text_column_fails_clearly(model, inputs, tmp_path):
    result = runner.invoke(app, ["annotate", str(model), str(inputs / "tweets.tsv"), str(tmp_path / "o.jsonl"), "-q"])
    assert result.exit_code == 1
    output = " ".join(result.output.split())  # wasabi wraps long lines
    assert "tweets.tsv:1: no column 'text' in the header" in output


def test_pipeline_without_classifier_has_null_label(model, inputs, tmp_path):
    import spacy

    nlp = spacy.load(model, exclude=["test_toy_adr"])
    out = tmp_path / "out.jsonl"
    annotate(nlp, inputs / "tweets.csv", out, quiet=True)
    records = read_jsonl(out)
    assert all(r["adr_probability"] is None and r["adr_label"] is None for r in records)
    assert records[0]["spans"][0]["meddra_code"] is None


def test_threshold_option(model, inputs, tmp_path):
    out = tmp_path / "out.jsonl"
    run_cli(model, inputs / "tweets.jsonl", out, "--max-chars", "100", "--threshold", "0.3")
    assert {r["id"]: r for r in read_jsonl(out)}["t13"]["adr_label"] is True


def test_resume_after_crash_equals_uninterrupted_run(model, inputs, tmp_path):
    options = dict(max_chars=100, chunk_size=3, batch_size=2, quiet=True)
    annotate(model, inputs / "tweets.jsonl", tmp_path / "full.jsonl", **options)

    out = tmp_path / "resumed.jsonl"

    def crash_after_four_chunks(counts):  # stands for kill -9 right after a commit
        if counts.records == 12:
            raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError, match="simulated crash"):
        annotate(model, inputs / "tweets.jsonl", out, on_commit=crash_after_four_chunks, **options)
    parts = tmp_path / "resumed.jsonl.parts"
    # Records 1-12 are in 4 committed chunks; records 13-14 (one batch) were never written.
    assert sorted(p.name for p in parts.glob("*.done.json")) == [f"00000{i}.done.json" for i in range(4)]
    assert not out.exists()

    # A rerun with other settings must not mix its output with the leftover chunks.
    with pytest.raises(ResumeError, match="chunk_size"):
        annotate(model, inputs / "tweets.jsonl", out, **{**options, "chunk_size": 4})

    summary = annotate(model, inputs / "tweets.jsonl", out, **options)
    assert summary.processed == 2 and summary.records == 14
    assert (summary.annotated, summary.errors) == (7, 7)
    assert out.read_bytes() == (tmp_path / "full.jsonl").read_bytes()
    assert (tmp_path / "resumed.errors.jsonl").read_bytes() == (tmp_path / "full.errors.jsonl").read_bytes()
    assert not parts.exists()


def test_n_process_2_equals_one_process(model, inputs, tmp_path):
    options = dict(max_chars=100, batch_size=2, quiet=True, chunk_size=4)
    annotate(model, inputs / "tweets.jsonl", tmp_path / "one.jsonl", n_process=1, **options)
    annotate(model, inputs / "tweets.jsonl", tmp_path / "two.jsonl", n_process=2, **options)
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert (tmp_path / "one.errors.jsonl").read_bytes() == (tmp_path / "two.errors.jsonl").read_bytes()


def test_smm4h_columns_match_the_task3_data(data_dir):
    header = (data_dir / "smm4h2020_task3_en" / "task3_validation.tsv").open(encoding="utf-8").readline()
    assert header.rstrip("\r\n").split("\t")[: len(SMM4H_COLUMNS)] == SMM4H_COLUMNS


def test_error_record_json_is_one_line_each(model, inputs, tmp_path):
    out = tmp_path / "out.jsonl"
    run_cli(model, inputs / "tweets.jsonl", out, "--max-chars", "100")
    raw = (tmp_path / "out.errors.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(raw) == 7 and all(json.loads(line)["reason"] for line in raw)
