"""`annotate` with a tiny transformer pipeline: a resumed run writes the bytes of an
uninterrupted one, `n_process=2` writes the bytes of one process, and `nlp.pipe(n_process=2)`
finishes after torch's threads started.

Each check runs in a fresh Python process under a time limit, so that a hung worker fails
the test instead of hanging the suite (and killing its process group ends the workers too).
The processes run torch on one thread per process: the output is then the same whatever
the number of processes.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
# Generous for a busy 2-core machine (spawned workers import torch and spaCy); a hang is
# forever.
TIME_LIMIT = 600


def run_python(code: str, *, timeout: int = TIME_LIMIT) -> dict:
    """Run `code` in a new process group; RETURNS the JSON object it prints last."""
    env = {
        **os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=TESTS, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"did not finish in {timeout} s (a worker hung?)")
    assert process.returncode == 0, stderr[-4000:]
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def trf_model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("annotate_trf")
    run_python(f"""
        import json
        from pathlib import Path
        from annotate_helpers import build_tiny_transformer_pipeline
        from tiny_transformer import build_tiny_bert
        bert = build_tiny_bert(Path({str(root / 'bert')!r}))
        build_tiny_transformer_pipeline(Path({str(root / 'model')!r}), bert)
        print(json.dumps({{}}))
    """)
    return root / "model"


@pytest.fixture
def tweets(tmp_path) -> Path:
    """30 tweets of different lengths (so that padding differs between batches), 2 errors."""
    lines = [json.dumps({"id": i, "text": f"tweet {i} about cipro" + " and a headache" * (i % 7)}) for i in range(30)]
    lines[5] = '{"id": 5, "text": ""}'
    lines[17] = "not json"
    path = tmp_path / "tweets.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_resumed_run_writes_the_bytes_of_an_uninterrupted_one(trf_model, tweets, tmp_path):
    result = run_python(f"""
        import json
        from pathlib import Path
        import annotate_helpers  # noqa: F401  (registers test_trf_probe)
        from spacy_adr.annotate import annotate
        model, tweets, out = {str(trf_model)!r}, {str(tweets)!r}, Path({str(tmp_path)!r})
        options = dict(chunk_size=7, batch_size=4, quiet=True, torch_threads=1)
        annotate(model, tweets, out / "full.jsonl", **options)

        class Killed(Exception):
            pass

        def kill_after_two(counts):
            if counts.records == 14:
                raise Killed()

        try:
            annotate(model, tweets, out / "resumed.jsonl", on_commit=kill_after_two, **options)
        except Killed:
            pass
        committed = len(list((out / "resumed.jsonl.parts").glob("*.done.json")))
        summary = annotate(model, tweets, out / "resumed.jsonl", **options)
        # The same records batched from another offset (as batches used to start wherever a
        # resumed run began reading): some probabilities change in their last digits.
        annotate(model, tweets, out / "shifted.jsonl", **{{**options, "chunk_size": 5}})
        print(json.dumps({{"committed": committed, "processed": summary.processed}}))
    """)
    assert result == {"committed": 2, "processed": 16}
    full = (tmp_path / "full.jsonl").read_bytes()
    assert (tmp_path / "resumed.jsonl").read_bytes() == full
    assert (tmp_path / "resumed.errors.jsonl").read_bytes() == (tmp_path / "full.errors.jsonl").read_bytes()
    assert (tmp_path / "shifted.jsonl").read_bytes() != full, "the test pipeline does not show padding"


def test_two_processes_write_the_bytes_of_one(trf_model, tweets, tmp_path):
    result = run_python(f"""
        import json
        import annotate_helpers  # noqa: F401  (registers test_trf_probe)
        from spacy_adr.annotate import annotate
        model, tweets, out = {str(trf_model)!r}, {str(tweets)!r}, {str(tmp_path)!r}
        options = dict(chunk_size=7, batch_size=4, quiet=True, torch_threads=1)
        one = annotate(model, tweets, out + "/one.jsonl", n_process=1, **options)
        two = annotate(model, tweets, out + "/two.jsonl", n_process=2, **options)
        print(json.dumps({{"one": one.summary(), "two": two.summary()}}))
    """)
    assert result["one"] == result["two"] == "30 records: 28 annotated, 2 errors"
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert (tmp_path / "one.errors.jsonl").read_bytes() == (tmp_path / "two.errors.jsonl").read_bytes()


def test_nlp_pipe_n_process_finishes_after_torch_threads_started(trf_model):
    # Without spacy_adr.annotate's fork guard, the forked workers wait forever in their first
    # parallel op (spaCy issues 6662, 13233).
    result = run_python(f"""
        import json
        import spacy, torch
        import annotate_helpers  # noqa: F401  (registers test_trf_probe)
        import spacy_adr.annotate  # noqa: F401  (installs the fork guard)
        nlp = spacy.load({str(trf_model)!r})
        texts = [f"tweet {{i}} about cipro" + " and a headache" * (i % 7) for i in range(24)]
        torch.set_num_threads(1)
        one = [doc.cats["ADR"] for doc in nlp.pipe(texts, batch_size=4)]
        torch.set_num_threads(2)
        torch.nn.functional.layer_norm(torch.ones(4096, 64), (64,))  # starts the OpenMP pool
        two = [doc.cats["ADR"] for doc in nlp.pipe(texts, batch_size=4, n_process=2)]
        print(json.dumps({{"one": one, "two": two}}))
    """)
    assert result["two"] == result["one"]
