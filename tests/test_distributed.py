"""`spacy_adr.distributed`: a partitioned dump annotated on a 2-worker Dask LocalCluster.

The default tests run the workers as threads (processes=False): on the 2-core development
machine a cluster of worker processes takes ~30 s to start and load spaCy twice. The `slow`
test runs real worker processes, which import the test components by path (`code=`).
"""
import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("distributed")

from annotate_helpers import build_toy_pipeline  # noqa: E402
from spacy_adr.annotate import annotate  # noqa: E402
from spacy_adr.cli import app  # noqa: E402
from spacy_adr.distributed import annotate_partitions  # noqa: E402

HELPERS = Path(__file__).parent / "annotate_helpers.py"
OPTIONS = dict(max_chars=100, chunk_size=2, quiet=True)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return build_toy_pipeline(tmp_path_factory.mktemp("distributed") / "toy_model")


@pytest.fixture
def partitions(fixtures_dir, tmp_path) -> Path:
    """tweets.jsonl in three partitions, the second one gzipped."""
    lines = (fixtures_dir / "annotate" / "tweets.jsonl").read_bytes().splitlines(keepends=True)
    folder = tmp_path / "dump"
    folder.mkdir()
    (folder / "part-1.jsonl").write_bytes(b"".join(lines[:5]))
    (folder / "part-2.jsonl.gz").write_bytes(gzip.compress(b"".join(lines[5:10])))
    (folder / "part-3.jsonl").write_bytes(b"".join(lines[10:]))
    return folder


def check_equals_single_process(model: Path, partitions: Path, out: Path, tmp_path: Path) -> None:
    for path in sorted(partitions.iterdir()):
        stem = path.name.split(".")[0]
        single = tmp_path / "single" / f"{stem}.jsonl"
        annotate(model, path, single, **OPTIONS)
        assert (out / f"{stem}.jsonl").read_bytes() == single.read_bytes()
        assert (out / f"{stem}.errors.jsonl").read_bytes() == (tmp_path / "single" / f"{stem}.errors.jsonl").read_bytes()


def test_partitions_equal_single_process_output(model, partitions, tmp_path):
    out = tmp_path / "out"
    summary = annotate_partitions(
        model, str(partitions / "part-*"), out, n_workers=2, processes=False, code=HELPERS, **OPTIONS
    )
    assert not summary.failed
    assert (summary.records, summary.annotated, summary.errors) == (14, 7, 7)
    assert len(summary.partitions) == 3 and summary.summary().startswith("3 partitions, 14 records")
    check_equals_single_process(model, partitions, out, tmp_path)
    assert json.loads((out / "summary.json").read_text())["records"] == 14

    # A rerun finds every partition done and annotates nothing.
    again = annotate_partitions(
        model, str(partitions / "part-*"), out, n_workers=2, processes=False, code=HELPERS, **OPTIONS
    )
    assert again.skipped == 3 and again.processed == 0 and again.records == 14


def test_cli_annotate_distributed(model, partitions, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["annotate-distributed", str(model), str(partitions), str(out), "--threads", "-w", "2",
         "--code", str(HELPERS), "--max-chars", "100", "--quiet"],
    )
    assert result.exit_code == 0, result.output
    assert "3 partitions, 14 records: 7 annotated, 7 errors" in result.output
    assert sorted(p.name for p in out.glob("*.jsonl") if "errors" not in p.name) == [
        "part-1.jsonl", "part-2.jsonl", "part-3.jsonl"
    ]


@pytest.mark.slow
def test_worker_processes_equal_single_process_output(model, partitions, tmp_path):
    out = tmp_path / "out"
    summary = annotate_partitions(
        model, str(partitions / "part-*"), out, n_workers=2, processes=True, code=HELPERS, **OPTIONS
    )
    assert not summary.failed and summary.records == 14
    check_equals_single_process(model, partitions, out, tmp_path)
