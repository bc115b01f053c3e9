"""`spacy-adr annotate` when a pipeline component raises: the records it raises on become error
records, the others keep their output, the run goes on; a pipeline that raises on every record
stops the run after a bounded number of them."""
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotate_helpers import build_toy_pipeline
from spacy_adr.annotate import PipelineFailing, annotate, read_jsonl
from spacy_adr.annotate.annotators import failing_component
from spacy_adr.cli import app

HELPERS = Path(__file__).parent / "annotate_helpers.py"
OPTIONS = dict(quiet=True, chunk_size=4, batch_size=3)
MARKED = {3, 7, 8}  # record numbers whose text holds the marker


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("component_errors")
    return {
        "plain": build_toy_pipeline(folder / "plain"),
        "marked": build_toy_pipeline(folder / "marked", raise_on="BOOM"),
        "broken": build_toy_pipeline(folder / "broken", raise_on=""),
    }


def write_tweets(path: Path, n: int, marked=MARKED) -> Path:
    lines = []
    for i in range(1, n + 1):
        text = f"tweet {i}: this drug gives me a headache" + (" BOOM" if i in marked else "")
        lines.append(json.dumps({"id": f"t{i}", "text": text}))
    # A record that cannot be read: neither counted as raised nor resetting the count.
    lines.insert(5, "{not json")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_records_a_component_raises_on_become_errors_and_the_run_goes_on(models, tmp_path):
    path = write_tweets(tmp_path / "in.jsonl", 12)
    out = tmp_path / "out.jsonl"
    summary = annotate(models["marked"], path, out, **OPTIONS)
    records = read_jsonl(out)
    errors = read_jsonl(tmp_path / "out.errors.jsonl")
    assert summary.records == 13 == len(records) + len(errors)
    assert (summary.annotated, summary.errors, summary.raised) == (9, 4, 3)
    assert summary.summary() == "13 records: 9 annotated, 4 errors (3 raised in the pipeline)"
    raised = [e for e in errors if "raised" in e["reason"]]
    assert [e["id"] for e in raised] == ["t3", "t7", "t8"]
    # Record 6 of the file is the unreadable line, so t7 is record 8 on line 8.
    assert raised[1] == {
        "path": str(path), "line": 8, "record": 8, "id": "t7",
        "reason": "component 'test_raise_on' raised ValueError: marked text 'tweet 7: this drug g'",
    }
    # The other records of the failed batches have the output a pipeline without the
    # raising component gives them.
    plain = annotate(models["plain"], path, tmp_path / "plain.jsonl", **OPTIONS)
    assert plain.annotated == 12
    expected = [r for r in read_jsonl(tmp_path / "plain.jsonl") if r["id"] not in {"t3", "t7", "t8"}]
    assert records == expected


def test_resume_after_a_failed_batch_writes_the_same_bytes(models, tmp_path):
    path = write_tweets(tmp_path / "in.jsonl", 12)
    annotate(models["marked"], path, tmp_path / "full.jsonl", **OPTIONS)

    class Stop(Exception):
        pass

    def stop_after_two(counts):
        if counts.records >= 8:
            raise Stop()

    with pytest.raises(Stop):
        annotate(models["marked"], path, tmp_path / "resumed.jsonl", on_commit=stop_after_two, **OPTIONS)
    summary = annotate(models["marked"], path, tmp_path / "resumed.jsonl", **OPTIONS)
    assert summary.processed == 5 and summary.raised == 3
    for name in ("{}.jsonl", "{}.errors.jsonl"):
        assert (tmp_path / name.format("resumed")).read_bytes() == (tmp_path / name.format("full")).read_bytes()


def test_a_pipeline_raising_on_every_record_stops_after_a_bounded_number(models, tmp_path):
    path = write_tweets(tmp_path / "in.jsonl", 40)
    out = tmp_path / "out.jsonl"
    with pytest.raises(PipelineFailing) as info:
        annotate(models["broken"], path, out, max_consecutive_failures=6, **OPTIONS)
    failing = info.value
    # The unreadable 6th record neither counts nor resets: records 1-5 and 7 are the six.
    assert str(failing).startswith(f"the pipeline raised on 6 records in a row (records 1 to 7 of {path}, lines 1 to 7)")
    assert "the last with: component 'test_raise_on' raised ValueError" in str(failing)
    # The first chunk (4 records, all errors) was committed before the stop; nothing else.
    assert (failing.summary.records, failing.summary.errors, failing.summary.raised) == (4, 4, 4)
    assert failing.summary.stopped == failing.problem
    assert not out.exists() and len(list(failing.parts_dir.glob("*.done.json"))) == 1
    assert "resumes after record 4" in failing.rerun

    # Through the CLI: the reason, what was done, what a rerun does; exit code 1.
    result = CliRunner().invoke(app, [
        "annotate", str(models["broken"]), str(path), str(tmp_path / "cli.jsonl"), "-q", "--chunk-size", "4", "-b", "3",
        "--max-consecutive-failures", "6", "--code", str(HELPERS),
    ])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "stopped: the pipeline raised on 6 records in a row" in output
    assert "4 records: 0 annotated, 4 errors (4 raised in the pipeline)" in output
    assert "Rerunning the same command resumes after record 4" in output


def test_a_record_the_pipeline_does_not_raise_on_resets_the_count(models, tmp_path):
    # Runs of 5 marked records, one clean record between them, and a limit of 6.
    marked = {i for i in range(1, 24) if i % 6}
    path = write_tweets(tmp_path / "in.jsonl", 23, marked=marked)
    summary = annotate(models["marked"], path, tmp_path / "out.jsonl", max_consecutive_failures=6, **OPTIONS)
    assert (summary.records, summary.annotated, summary.raised) == (24, 3, 20)


def test_the_cli_summary_counts_the_raised_records(models, tmp_path):
    path = write_tweets(tmp_path / "in.jsonl", 12)
    result = CliRunner().invoke(app, [
        "annotate", str(models["marked"]), str(path), str(tmp_path / "out.jsonl"), "-q",
        "--code", str(HELPERS),
    ])
    assert result.exit_code == 0, result.output
    assert "13 records: 9 annotated, 4 errors (3 raised in the pipeline)" in result.output


def test_two_processes_write_the_bytes_of_one(models, tmp_path):
    path = write_tweets(tmp_path / "in.jsonl", 12)
    options = dict(OPTIONS, code=HELPERS)
    one = annotate(models["marked"], path, tmp_path / "one.jsonl", n_process=1, **options)
    two = annotate(models["marked"], path, tmp_path / "two.jsonl", n_process=2, **options)
    assert one.to_dict()["raised"] == two.raised == 3
    for name in ("{}.jsonl", "{}.errors.jsonl"):
        assert (tmp_path / name.format("one")).read_bytes() == (tmp_path / name.format("two")).read_bytes()


def test_failing_component_is_none_outside_the_components(models):
    import spacy

    nlp = spacy.load(models["marked"])
    with pytest.raises(ValueError) as info:
        list(nlp.pipe(["BOOM"]))
    assert failing_component(info.value) == "test_raise_on"
    with pytest.raises(ValueError) as info:
        list(nlp.pipe(["x" * (nlp.max_length + 1)]))  # raised by the tokenizer (E088)
    assert failing_component(info.value) is None
