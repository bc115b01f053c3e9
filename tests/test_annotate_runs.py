"""`spacy-adr annotate` end to end on the toy pipeline: bad text and ids never stop a run, a
damaged input stops it with a report and keeps what is committed, resume refuses a changed
input or model, output paths are checked first, span scores and held-back candidates."""
import gzip
import json
import os
import shutil
from pathlib import Path

import pytest
import spacy
from typer.testing import CliRunner

from annotate_helpers import build_toy_pipeline
from spacy_adr.annotate import InputFailure, OutputPathError, ResumeError, annotate, read_jsonl
from spacy_adr.cli import app

HELPERS = Path(__file__).parent / "annotate_helpers.py"
OPTIONS = dict(quiet=True, chunk_size=2, batch_size=2)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return build_toy_pipeline(tmp_path_factory.mktemp("runs") / "toy_model")


def write_jsonl(path: Path, texts) -> Path:
    lines = [json.dumps({"id": f"t{i}", "text": text}) for i, text in enumerate(texts, 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def tweets(n: int) -> list:
    return [f"tweet {i}: this drug gives me a headache" for i in range(1, n + 1)]


class Stop(Exception):
    """Stands for kill -9 right after a commit."""


def stop_after(n_chunks: int):
    def on_commit(counts):
        on_commit.n += 1
        if on_commit.n == n_chunks:
            raise Stop()

    on_commit.n = 0
    return on_commit


def test_surrogates_nul_and_bad_ids_never_stop_a_run(model, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b'{"id": 1, "text": "\\ud83d pill gave me a headache"}\n'
        b'{"id": "a\\ud800", "text": "headache"}\n'
        b'{"id": NaN, "text": "headache"}\n'
        b'{"id": 4, "text": "a\\u0000 headache"}\n'
    )
    out = tmp_path / "out.jsonl"
    summary = annotate(model, path, out, include_text=True, **OPTIONS)
    assert (summary.records, summary.annotated, summary.errors, summary.cleaned) == (4, 2, 2, 2)
    first, fourth = read_jsonl(out)
    assert first["text"] == "\ufffd pill gave me a headache"
    assert first["spans"][0]["text"] == first["text"][first["spans"][0]["start"]:first["spans"][0]["end"]]
    assert fourth["text"] == "a\ufffd headache"
    errors = read_jsonl(tmp_path / "out.errors.jsonl")
    assert [(e["id"], e["reason"]) for e in errors] == [
        ("a\ufffd", "id has the invalid code point U+D800 at character 2"),
        ("NaN", "id is NaN, which JSON cannot hold"),
    ]
    # Strict JSON: the standard library's strict parser reads every line.
    for line in (out.read_bytes() + (tmp_path / "out.errors.jsonl").read_bytes()).decode("utf-8").splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))


def test_max_chars_raises_nlp_max_length(model, tmp_path):
    nlp = spacy.load(model)
    nlp.max_length = 100  # stands for spaCy's 1,000,000 with a text of 1 MB
    path = write_jsonl(tmp_path / "in.jsonl", ["headache " * 20])
    summary = annotate(nlp, path, tmp_path / "out.jsonl", max_chars=200, **OPTIONS)
    assert (summary.annotated, summary.errors) == (1, 0) and nlp.max_length == 200


def test_output_folder_is_refused_before_any_work(tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", tweets(2))
    (tmp_path / "out.jsonl").mkdir()
    # The model does not exist: loading it would fail, so nothing was loaded.
    with pytest.raises(OutputPathError, match="out.jsonl: the output is an existing folder"):
        annotate("no_such_model", path, tmp_path / "out.jsonl", **OPTIONS)
    assert not (tmp_path / "out.jsonl.parts").exists()
    (tmp_path / "o2.errors.jsonl").mkdir()
    with pytest.raises(OutputPathError, match="the errors file is an existing folder"):
        annotate("no_such_model", path, tmp_path / "o2.jsonl", **OPTIONS)
    with pytest.raises(OutputPathError, match="the output would overwrite the input"):
        annotate("no_such_model", path, path, **OPTIONS)


def truncated_gzip(path: Path, n: int) -> Path:
    data = gzip.compress("".join(json.dumps({"id": i, "text": f"tweet {i} headache"}) + "\n" for i in range(n)).encode(), mtime=0)
    path.write_bytes(data[: len(data) - 40])
    return path


def test_damaged_input_stops_before_anything_is_annotated(model, tmp_path):
    # The check of the compressed file finds the truncation before the model loads (the
    # model does not exist), so nothing is annotated; chunks kept by an earlier run are
    # covered in test_annotate_damage.py.
    path = truncated_gzip(tmp_path / "in.jsonl.gz", 400)
    out = tmp_path / "out.jsonl"
    with pytest.raises(InputFailure) as info:
        annotate("no_such_model", path, out, quiet=True, chunk_size=50, batch_size=16)
    message = str(info.value)
    assert message.startswith(f"{path}:") and "inside gzip data (truncated?)" in message
    assert f"ends at byte {path.stat().st_size:,}" in message
    assert not out.exists() and not (tmp_path / "out.jsonl.parts").exists()

    # Through the CLI: the failure and what to do; exit code 1.
    result = CliRunner().invoke(app, ["annotate", str(model), str(path), str(out), "-q", "--chunk-size", "50", "-b", "16", "--code", str(HELPERS)])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "(truncated?)" in output and "Nothing was annotated: repair or replace the file" in output


@pytest.mark.parametrize("data,expected", [
    (b'{"id": 1, "text": "a"}\n', "named .gz but not gzip data"),
    (gzip.compress(b'{"id": 1, "text": "a"}\n') + b"trailing garbage", "trailing garbage"),
])
def test_broken_gzip_is_a_clear_cli_message(model, tmp_path, data, expected):
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(data)
    result = CliRunner().invoke(app, ["annotate", str(model), str(path), str(tmp_path / "o.jsonl"), "-q", "--code", str(HELPERS)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert expected in " ".join(result.output.split()) and str(path.name) in result.output


def test_resume_refuses_an_input_changed_to_the_same_size_and_mtime(model, tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", tweets(8))
    out = tmp_path / "out.jsonl"
    with pytest.raises(Stop):
        annotate(model, path, out, on_commit=stop_after(2), **OPTIONS)
    stat = path.stat()
    data = path.read_bytes()
    path.write_bytes(data.replace(b"tweet 7:", b"tweet 9:"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    with pytest.raises(ResumeError, match="the input file changed"):
        annotate(model, path, out, **OPTIONS)
    summary = annotate(model, path, out, restart=True, **OPTIONS)
    assert summary.records == 8 and summary.processed == 8


def test_resume_refuses_a_model_changed_at_the_same_path(model, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(model, copy)
    path = write_jsonl(tmp_path / "in.jsonl", tweets(8))
    out = tmp_path / "out.jsonl"
    with pytest.raises(Stop):
        annotate(copy, path, out, on_commit=stop_after(1), **OPTIONS)
    meta = json.loads((copy / "meta.json").read_text())
    (copy / "meta.json").write_text(json.dumps({**meta, "description": "retrained"}))
    with pytest.raises(ResumeError, match="the model's files changed"):
        annotate(copy, path, out, **OPTIONS)


def test_resume_after_the_last_commit_but_before_the_merge(model, tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", tweets(5))
    annotate(model, path, tmp_path / "full.jsonl", **OPTIONS)
    out = tmp_path / "out.jsonl"
    # The last chunk (record 5 alone) commits, then the run dies before merging.
    with pytest.raises(Stop):
        annotate(model, path, out, on_commit=stop_after(3), **OPTIONS)
    summary = annotate(model, path, out, **OPTIONS)
    assert (summary.records, summary.processed) == (5, 0)
    assert out.read_bytes() == (tmp_path / "full.jsonl").read_bytes()


def test_memory_zone_keeps_the_string_store_from_growing(model, tmp_path):
    nlp = spacy.load(model)
    texts = [f"@user{i} says #tag{i} cost {i}$ at http://t.co/x{i} headache" for i in range(300)]
    path = write_jsonl(tmp_path / "in.jsonl", texts)
    list(nlp.pipe(texts[:5]))  # strings every tweet has are there before
    before = len(nlp.vocab.strings)
    annotate(nlp, path, tmp_path / "out.jsonl", quiet=True, chunk_size=100, batch_size=32)
    assert len(nlp.vocab.strings) - before < 10, "strings of annotated tweets stayed in the vocab"
    list(nlp.pipe(texts))  # without a memory zone: several new strings per tweet
    assert len(nlp.vocab.strings) - before > 300


def test_span_scores_and_candidates(tmp_path):
    model = build_toy_pipeline(tmp_path / "gated", gate=True)
    path = write_jsonl(tmp_path / "in.jsonl", ["this pill gives me a headache", "fine"])
    result = CliRunner().invoke(app, [
        "annotate", str(model), str(path), str(tmp_path / "out.jsonl"), "-q", "--code", str(HELPERS), "--candidates",
    ])
    assert result.exit_code == 0, result.output
    first, second = read_jsonl(tmp_path / "out.jsonl")
    assert list(first) == ["id", "adr_probability", "adr_label", "spans", "gate_open", "candidates"]
    assert first["gate_open"] is True and second["gate_open"] is None
    assert first["spans"][0]["score"] == 0.75 and list(first["spans"][0])[:5] == ["start", "end", "text", "label", "score"]
    assert first["candidates"] == [{"start": 5, "end": 9, "text": "pill", "label": "ADR", "score": 0.25}]
    assert second["candidates"] == [] and second["spans"] == []
    # Without the flag the records keep their keys.
    annotate(model, path, tmp_path / "plain.jsonl", quiet=True)
    assert "candidates" not in read_jsonl(tmp_path / "plain.jsonl")[0]
    with pytest.raises(ValueError, match="only into JSONL"):
        annotate(model, path, tmp_path / "out.tsv", candidates=True, quiet=True)


def test_smm4h_tsv_id_with_a_tab_stays_one_cell(model, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "a\tb", "text": "a headache"}) + "\n", encoding="utf-8")
    annotate(model, path, tmp_path / "out.tsv", quiet=True)
    rows = [line.split("\t") for line in (tmp_path / "out.tsv").read_text(encoding="utf-8").splitlines()]
    assert rows[1][0] == "a b" and len(rows[1]) == 9


@pytest.mark.parametrize("change,expected", [
    ("input", "the input file changed"),
    ("chunk_size", "chunk_size differs"),
    ("include_text", "include_text differs"),
])
def test_a_refused_resume_does_not_load_the_model(model, tmp_path, monkeypatch, change, expected):
    path = write_jsonl(tmp_path / "in.jsonl", tweets(8))
    out = tmp_path / "out.jsonl"
    with pytest.raises(Stop):
        annotate(model, path, out, on_commit=stop_after(1), **OPTIONS)
    options = dict(OPTIONS)
    if change == "input":
        path.write_bytes(path.read_bytes().replace(b"tweet 7:", b"tweet 9:"))
    elif change == "chunk_size":
        options["chunk_size"] = 4
    else:
        options["include_text"] = True
    import spacy_adr.annotate.run as run

    loaded = []
    monkeypatch.setattr(run, "load_pipeline", lambda *args, **kwargs: loaded.append(args) or pytest.fail("loaded"))
    with pytest.raises(ResumeError, match=expected):
        annotate(model, path, out, **options)
    assert loaded == []
