"""`annotate-distributed`: a damaged partition fails alone with a clear message, and
`--candidates` and `--keep-field` reach the workers (workers as threads, as in
test_distributed.py)."""
import gzip
import json
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from annotate_helpers import build_toy_pipeline  # noqa: E402
from spacy_adr.annotate import read_jsonl  # noqa: E402
from spacy_adr.distributed import annotate_partitions  # noqa: E402

HELPERS = Path(__file__).parent / "annotate_helpers.py"


def jsonl(texts) -> bytes:
    return "".join(json.dumps({"id": i, "text": t, "day": f"2020-01-0{i % 9 + 1}"}) + "\n" for i, t in enumerate(texts)).encode()


def test_damaged_partition_fails_alone_and_candidates_reach_the_workers(tmp_path):
    model = build_toy_pipeline(tmp_path / "gated", gate=True)
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "part-1.jsonl").write_bytes(jsonl(["this pill gives me a headache", "fine"]))
    packed = gzip.compress(jsonl([f"tweet {i} headache" for i in range(50)]), mtime=0)
    (dump / "part-2.jsonl.gz").write_bytes(packed[:-30])
    out = tmp_path / "out"
    summary = annotate_partitions(
        model, str(dump / "part-*"), out, n_workers=1, processes=False, code=HELPERS,
        candidates=True, keep_fields=["day"], chunk_size=10, quiet=True,
    )
    [failure] = summary.failed
    assert failure["input"].endswith("part-2.jsonl.gz")
    # found before annotating: nothing of it was committed, and the message says what to do
    assert "inside gzip data (truncated?)" in failure["error"] and "repair or replace the file" in failure["error"]
    assert (summary.records, summary.annotated) == (2, 2)
    first = read_jsonl(out / "part-1.jsonl")[0]
    assert first["candidates"] == [{"start": 5, "end": 9, "text": "pill", "label": "ADR", "score": 0.25}]
    assert first["spans"][0]["score"] == 0.75 and first["day"] == "2020-01-01"
