"""`spacy-adr annotate` on damaged inputs and failing disks: a compressed input damaged in its
middle stops the run before anything of it is annotated (its checksum is mostly the only sign),
naming the compressed bytes; the progress bar counts bytes instead of a counting pass; a full
disk ends with what is committed and what a rerun does, and the merge checks its room first."""
import errno
import gzip
import json
import random
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotate_helpers import build_toy_pipeline
from spacy_adr.annotate import AnnotateStopped, InputFailure, annotate
from spacy_adr.annotate import chunks as chunks_module
from spacy_adr.annotate import sources
from spacy_adr.annotate.chunks import OutputWriteError
from spacy_adr.annotate.summary import OutputStopped
from spacy_adr.cli import app
from test_annotate_runs import Stop, stop_after

HELPERS = Path(__file__).parent / "annotate_helpers.py"


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return build_toy_pipeline(tmp_path_factory.mktemp("damage") / "toy_model")


def jsonl(n: int, start: int = 0) -> bytes:
    return "".join(
        json.dumps({"id": i, "text": f"tweet {i}: this drug gives me a headache, {random.Random(i).random()}"}) + "\n"
        for i in range(start, start + n)
    ).encode("utf-8")


def flip(data: bytes, at: int) -> bytes:
    damaged = bytearray(data)
    damaged[at] ^= 0x04
    return bytes(damaged)


def test_gzip_corrupt_mid_member_is_never_annotated(model, tmp_path):
    # A flipped bit in the middle of a one-member gzip decompresses to wrong text without any
    # error until the CRC-32 at the end: nothing of it may be annotated.
    data = gzip.compress(jsonl(3000), mtime=0)
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(flip(data, len(data) // 2))
    out = tmp_path / "out.jsonl"
    with pytest.raises(InputFailure) as info:
        annotate(model, path, out, quiet=True, chunk_size=100, batch_size=50)
    message = str(info.value)
    assert message.startswith(f"{path}:") and "corrupt gzip data in compressed bytes 0 to" in message
    assert "checksum" in message
    assert not out.exists() and not (tmp_path / "out.jsonl.parts").exists()


def test_gzip_corrupt_where_the_decompressor_sees_it_is_located_there(tmp_path):
    # A changed byte near the start of a one-member gzip that inflate itself refuses: the
    # message names the few KiB where it did, not the member's (the file's) last byte.
    data = gzip.compress(jsonl(3000), mtime=0)
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(flip(data, 100))
    with pytest.raises(InputFailure) as info:
        annotate("no_such_model", path, tmp_path / "out.jsonl", quiet=True)
    message = str(info.value)
    found = re.search(r"found it invalid in compressed bytes ([\d,]+) to ([\d,]+)", message)
    assert found, message
    start, end = (int(number.replace(",", "")) for number in found.groups())
    assert start <= end and 100 <= end and end - start <= 8192 and end < len(data) // 4, message
    assert "the damage is there or before" in message


def test_gzip_corrupt_member_is_located_by_its_member(model, tmp_path):
    members = [gzip.compress(jsonl(300, start=300 * i), mtime=0) for i in range(10)]
    start = sum(len(m) for m in members[:6])
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(b"".join(members[:6]) + flip(members[6], len(members[6]) // 2) + b"".join(members[7:]))
    with pytest.raises(InputFailure) as info:
        annotate(model, path, tmp_path / "out.jsonl", quiet=True, chunk_size=100, batch_size=50)
    # The damaged member's first byte, not the file's end nor "trailing garbage".
    assert f"corrupt gzip data in compressed bytes {start:,} to" in str(info.value)
    assert "trailing garbage" not in str(info.value)
    # The CLI says what to do, without a traceback.
    result = CliRunner().invoke(app, ["annotate", str(model), str(path), str(tmp_path / "o.jsonl"), "-q", "--code", str(HELPERS)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    output = " ".join(result.output.split())
    assert f"compressed bytes {start:,} to" in output and "repair or replace the file" in output


def test_damage_in_place_keeps_committed_chunks_and_a_repaired_file_resumes(model, tmp_path):
    # Over 2 MiB compressed, so that a byte changed in the middle keeps the input fingerprint
    # (size, first and last MiB): the file damaged in place after a first run, then repaired.
    rng = random.Random(0)
    text = "".join(
        json.dumps({"id": i, "text": f"headache {rng.getrandbits(2048):x}"}) + "\n" for i in range(9_000)
    ).encode("utf-8")
    data = gzip.compress(text, mtime=0)
    assert len(data) > 2_200_000
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(data)
    out = tmp_path / "out.jsonl"
    options = dict(quiet=True, chunk_size=50, batch_size=50)
    with pytest.raises(Stop):
        annotate(model, path, out, on_commit=stop_after(1), **options)
    path.write_bytes(flip(data, len(data) // 2))
    with pytest.raises(AnnotateStopped) as info:
        annotate(model, path, out, **options)
    stopped = info.value
    assert "corrupt gzip data in compressed bytes 0 to" in str(stopped)
    assert stopped.summary.records == 50 and stopped.summary.processed == 0
    assert "a file repaired in place" in stopped.rerun and "resumes after record 50" in stopped.rerun
    assert len(list((tmp_path / "out.jsonl.parts").glob("*.done.json"))) == 1
    # Repaired: the rerun resumes after the committed records.
    path.write_bytes(data)
    counts = []
    with pytest.raises(Stop):
        annotate(model, path, out, on_commit=lambda c: counts.append(c.records) or stop_after(1)(c), **options)
    assert counts == [100]


def test_progress_counts_bytes_without_a_counting_pass(model, tmp_path, monkeypatch, capsys):
    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl(20))
    opened = []
    init = sources._ByteSource.__init__

    def counting_init(self, raw, file_path, compression):
        opened.append(file_path)
        init(self, raw, file_path, compression)

    monkeypatch.setattr(sources._ByteSource, "__init__", counting_init)
    summary = annotate(model, path, tmp_path / "out.jsonl", chunk_size=5, batch_size=5)
    assert summary.records == 20
    assert opened == [path], "the input was read more than once"
    assert "B/s" in capsys.readouterr().err


class FullDisk:
    """A file on a disk with `budget` bytes left: a write beyond them fails, and so does
    flushing or closing it afterwards, as a buffered file's does."""

    def __init__(self, file, state):
        self.file = file
        self.state = state
        self.failed = False

    def write(self, data):
        if self.state["left"] < len(data):
            self.failed = True
            raise OSError(errno.ENOSPC, "No space left on device")
        self.state["left"] -= len(data)
        return self.file.write(data)

    def flush(self):
        if self.failed:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.file.flush()

    def close(self):
        self.file.close()
        if self.failed:
            raise OSError(errno.ENOSPC, "No space left on device")

    def fileno(self):
        return self.file.fileno()

    @property
    def closed(self):
        return self.file.closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def fill_disk(monkeypatch, budget: int) -> None:
    state = {"left": budget}

    def full_open(path, mode="r", *args, **kwargs):
        file = open(path, mode, *args, **kwargs)
        return FullDisk(file, state) if "w" in mode else file

    monkeypatch.setattr(chunks_module, "open", full_open, raising=False)


def test_full_disk_ends_with_the_summary_and_a_rerun_resumes(model, tmp_path, monkeypatch):
    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl(10))
    options = dict(quiet=True, chunk_size=2, batch_size=2)
    annotate(model, path, tmp_path / "full.jsonl", **options)
    out = tmp_path / "out.jsonl"
    # Room for the manifest (about 1 kB), the done markers and about half of the output.
    budget = 1500 + (tmp_path / "full.jsonl").stat().st_size // 2
    fill_disk(monkeypatch, budget)
    with pytest.raises(OutputStopped) as info:
        annotate(model, path, out, **options)
    stopped = info.value
    done = stopped.summary.records
    assert 0 < done < 10 and done % 2 == 0
    assert "No space left on device" in str(stopped) and "the disk is full" in str(stopped)
    assert f"resumes after record {done:,}" in stopped.rerun
    assert not list((tmp_path / "out.jsonl.parts").glob("*.tmp"))

    # Through the CLI: no traceback, the summary and the advice.
    fill_disk(monkeypatch, budget)
    result = CliRunner().invoke(app, ["annotate", str(model), str(path), str(tmp_path / "cli.jsonl"), "-q", "--chunk-size", "2", "-b", "2", "--code", str(HELPERS)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    output = " ".join(result.output.split())
    assert "stopped:" in output and "No space left on device" in output
    assert "records:" in output and "Free space on that disk" in output and "resumes after record" in output

    # Space freed: the rerun resumes and writes the bytes of an uninterrupted run.
    monkeypatch.undo()
    summary = annotate(model, path, out, **options)
    assert summary.records == 10 and summary.processed == 10 - done
    assert out.read_bytes() == (tmp_path / "full.jsonl").read_bytes()


def test_merge_checks_its_room_before_it_starts(model, tmp_path, monkeypatch):
    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl(6))
    options = dict(quiet=True, chunk_size=2, batch_size=2)
    out = tmp_path / "out.jsonl"
    real = chunks_module.shutil.disk_usage
    monkeypatch.setattr(chunks_module.shutil, "disk_usage", lambda p: real(p)._replace(free=10))
    with pytest.raises(OutputStopped) as info:
        annotate(model, path, out, **options)
    assert "merging the chunks needs" in str(info.value) and "only 10 are free" in str(info.value)
    assert info.value.summary.records == 6 and not out.exists()
    assert not list(tmp_path.glob("*.tmp"))
    monkeypatch.undo()
    summary = annotate(model, path, out, **options)
    assert (summary.records, summary.processed) == (6, 0) and len(out.read_bytes().splitlines()) == 6


def test_write_error_before_the_first_chunk_is_clean(model, tmp_path, monkeypatch):
    path = tmp_path / "in.jsonl"
    path.write_bytes(jsonl(4))
    fill_disk(monkeypatch, budget=0)
    with pytest.raises(OutputWriteError, match="No space left on device"):
        annotate(model, path, tmp_path / "out.jsonl", quiet=True)
