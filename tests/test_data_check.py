import hashlib
import os
from pathlib import Path

import pytest

from spacy_adr.errors import InputError
from spacy_adr_builder.data_check import (
    DATA_ENV_VAR,
    REQUIRED_FILES,
    check_data,
    data_dir_from_env,
    read_sums,
    sha256_file,
    source_of,
)

DATA = os.environ.get("SPACY_ADR_DATA")

FILES = {
    "meddra/llt.tsv": b"PT\tLabel\tLLT\tIDK\n10019211\tHeadache\t10019211\tY\n",
    "smm4h2020_task3_en/task3_training.tsv": b"tweet_id\tbegin\tend\r\n",
    "cadec/metadata/CSIRO Data Licence.html": b"<html></html>",
}


@pytest.fixture
def data_dir(tmp_path):
    lines = []
    for rel, content in FILES.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        lines.append(f"{hashlib.sha256(content).hexdigest()}  ./{rel}\n")
    (tmp_path / "SHA256SUMS").write_text("".join(lines), encoding="utf8")
    return tmp_path


def test_complete_folder(data_dir):
    result = check_data(data_dir)
    assert result.ok and result.sums_path == data_dir / "SHA256SUMS"
    assert sorted(result.checked) == sorted(FILES)  # a name with a space is read whole
    assert "3 files checked" in result.summary()


def test_missing_and_changed_files(data_dir):
    (data_dir / "meddra" / "llt.tsv").unlink()
    (data_dir / "smm4h2020_task3_en" / "task3_training.tsv").write_bytes(b"another release\n")
    result = check_data(data_dir)
    assert not result.ok
    assert [i.path for i in result.missing] == ["meddra/llt.tsv"]
    assert [i.path for i in result.mismatched] == ["smm4h2020_task3_en/task3_training.tsv"]
    missing, changed = result.messages()
    assert "meddra/llt.tsv is missing" in missing and "MSSO" in missing
    assert "smm4h2020_task3_en/task3_training.tsv differs" in changed and "data-use agreement" in changed
    # existence only: the changed file passes
    assert [i.path for i in check_data(data_dir, verify_checksums=False).issues] == ["meddra/llt.tsv"]
    assert check_data(data_dir, only=["smm4h2020_task3_en/"]).checked == ["smm4h2020_task3_en/task3_training.tsv"]
    assert check_data(data_dir, only="meddra/").checked == ["meddra/llt.tsv"]


def test_explicit_sums_path(data_dir, tmp_path_factory):
    other = tmp_path_factory.mktemp("sums") / "my.sums"
    other.write_text(f"{'0' * 64} *./meddra/llt.tsv\n", encoding="utf8")
    result = check_data(data_dir, sums_path=other)
    assert result.sums_path == other and [i.path for i in result.mismatched] == ["meddra/llt.tsv"]


def test_embedded_list_when_sums_missing(data_dir):
    (data_dir / "SHA256SUMS").unlink()
    result = check_data(data_dir)
    assert result.sums_path is None and "built into spacy_adr" in result.summary()
    assert len(result.checked) == len(REQUIRED_FILES)
    # the fake files are there but are not the real ones; everything else is missing
    assert {i.path for i in result.mismatched} == set(FILES)
    assert len(result.missing) == len(REQUIRED_FILES) - len(FILES)
    by_path = {i.path: i.message for i in result.issues}
    assert "CSIRO" in by_path["cadec/CADEC.v2.zip"]
    assert "CC BY 4.0" in by_path["psytar/PsyTAR_dataset.xlsx"]
    assert "RuDReC" in by_path["rudrec/rudrec_annotated.json"]
    assert "ChemTextMining" in by_path["lexicons/kfu_chemtextmining_vocabularies/adr_lexicon.txt"]


def test_every_required_file_has_a_source():
    assert len(REQUIRED_FILES) == 64
    assert all(len(f.sha256) == 64 and "not a file spacy_adr knows" not in f.source for f in REQUIRED_FILES)
    assert "ChemTextMining" in source_of("cadec/kfu_cadec_folds_5_tags/0/test/test.json")
    assert "CSIRO's Data Access Portal" in source_of("cadec/CADEC.v2.zip")
    assert "not a file spacy_adr knows" in source_of("elsewhere/file.txt")


@pytest.mark.parametrize(
    "line,problem",
    [
        ("d41d8cd98f00b204e9800998ecf8427e  ./meddra/llt.tsv", "expected '<sha256>"),
        (f"{'a' * 64}  ../outside.txt", "inside the data folder"),
        (f"{'a' * 64}  /etc/passwd", "inside the data folder"),
    ],
)
def test_malformed_sums(tmp_path, line, problem):
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"{'a' * 64}  ./ok.txt\n{line}\n", encoding="utf8")
    with pytest.raises(InputError) as err:
        read_sums(sums)
    assert err.value.path == str(sums) and err.value.line == 2 and problem in err.value.problem


def test_sha256_file_streams(tmp_path):
    path = tmp_path / "big.bin"
    content = os.urandom(3 * (1 << 20) + 5)
    path.write_bytes(content)
    assert sha256_file(path) == hashlib.sha256(content).hexdigest()


def test_missing_data_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match=DATA_ENV_VAR):
        check_data(tmp_path / "absent")


def test_data_dir_from_env(monkeypatch, tmp_path):
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    with pytest.raises(EnvironmentError, match=f"{DATA_ENV_VAR} is not set"):
        data_dir_from_env()
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "absent"))
    with pytest.raises(EnvironmentError, match="not a folder"):
        data_dir_from_env()
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    assert data_dir_from_env() == tmp_path


@pytest.mark.data
@pytest.mark.skipif(not DATA, reason="SPACY_ADR_DATA is not set")
def test_real_data_folder():
    data_dir = Path(DATA)
    assert sorted((f.path, f.sha256) for f in REQUIRED_FILES) == sorted(read_sums(data_dir / "SHA256SUMS"))
    result = check_data(data_dir)
    assert result.ok, result.messages()
