import os
from pathlib import Path

import pytest
import spacy
from thinc.api import Config

from spacy_adr.errors import InputError
from spacy_adr.kb.meddra import (
    MeddraConcept,
    MeddraKB,
    load_meddra,
    meddra_kb_v1,
    read_llt_tsv,
    read_meddra_ascii,
)

FIXTURES = Path(__file__).parent / "fixtures" / "meddra"
DATA = os.environ.get("SPACY_ADR_DATA")


def test_read_llt_tsv_fixture():
    kb = read_llt_tsv(FIXTURES / "llt.tsv")
    assert len(kb) == 22
    assert len(kb.pts()) == 12
    assert sum(c.current for c in kb) == 21
    assert kb["10019211"] == MeddraConcept("10019211", "Headache", "10019211", "Headache", True)
    drowsiness = kb["10013649"]
    assert (drowsiness.pt_code, drowsiness.pt_name, drowsiness.is_pt) == ("10041349", "Somnolence", False)
    assert kb.pt_of("10013649").llt_name == "Somnolence"
    assert kb.pt_of("10041349") == kb["10041349"]
    assert "10047901" in kb and not kb["10047901"].current
    assert "Wt increased" not in kb.names(current_only=True)
    assert kb.names()[:3] == ["Headache", "Nausea", "Feeling sick"]
    assert kb.codes_by_name()["weight gain"] == ["10047896"]
    assert kb["10027183"].llt_name == "Ménière's disease"


def test_ascii_release_matches_tsv():
    ascii_kb = read_meddra_ascii(FIXTURES)
    assert list(ascii_kb) == list(read_llt_tsv(FIXTURES / "llt.tsv"))
    # The fixture is Windows-1252 like English releases; the accent survives.
    assert ascii_kb["10027183"].pt_name == "Ménière's disease"
    assert list(read_meddra_ascii(FIXTURES / "llt.asc")) == list(ascii_kb)


def test_load_meddra_detects_format(tmp_path):
    assert len(load_meddra(FIXTURES / "llt.tsv")) == 22
    assert len(load_meddra(FIXTURES / "llt.asc")) == 22
    assert len(load_meddra(FIXTURES)) == 22  # a folder with llt.asc
    only_tsv = tmp_path / "meddra"
    only_tsv.mkdir()
    (only_tsv / "llt.tsv").write_bytes((FIXTURES / "llt.tsv").read_bytes())
    assert len(load_meddra(only_tsv)) == 22
    with pytest.raises(FileNotFoundError):
        load_meddra(tmp_path / "nothing.tsv")
    with pytest.raises(FileNotFoundError):
        load_meddra(tmp_path)
    (tmp_path / "llt.csv").write_text("x")
    with pytest.raises(ValueError):
        load_meddra(tmp_path / "llt.csv")


def test_serialization_round_trip(tmp_path):
    kb = read_llt_tsv(FIXTURES / "llt.tsv")
    kb.to_disk(tmp_path / "kb" / "meddra.tsv")
    assert list(MeddraKB().from_disk(tmp_path / "kb" / "meddra.tsv")) == list(kb)
    # The written file is a TSV that load_meddra reads too.
    assert list(load_meddra(tmp_path / "kb" / "meddra.tsv")) == list(kb)
    assert list(MeddraKB().from_bytes(kb.to_bytes())) == list(kb)
    header = (tmp_path / "kb" / "meddra.tsv").read_text(encoding="utf8").splitlines()[0]
    assert header == "llt_code\tllt_name\tpt_code\tpt_name\tllt_currency"


def test_pt_of_without_pt_row():
    kb = MeddraKB([MeddraConcept("10013649", "Drowsiness", "10041349", "Somnolence", True)])
    pt = kb.pt_of("10013649")
    assert (pt.llt_code, pt.llt_name, pt.is_pt) == ("10041349", "Somnolence", True)
    with pytest.raises(ValueError):
        kb.add(MeddraConcept("10013649", "Drowsy", "10041349", "Somnolence", True))


def test_registered_loader():
    assert spacy.registry.misc.get("spacy-adr.meddra_kb.v1") is meddra_kb_v1
    config = Config().from_str(
        f"""
        [kb]
        @misc = "spacy-adr.meddra_kb.v1"
        path = "{FIXTURES / 'llt.tsv'}"
        """
    )
    resolved = spacy.registry.resolve(config)
    assert isinstance(resolved["kb"], MeddraKB) and len(resolved["kb"]) == 22


TSV_HEADER = "PT\tLabel\tLLT\tIDK\n"


@pytest.mark.parametrize(
    "body,line,problem",
    [
        ("10019211\tHeadache\t10019211\tY\n10028813\tNausea\n", 3, "4 tab-separated"),
        ("10019211\tHeadache\t10019211\tX\n", 2, "Y or N"),
        ("10019211\tHeadache\t1001921a\tY\n", 2, "pt_code"),
        ("10019211\t\t10019211\tY\n", 2, "empty LLT name"),
        ("10019211\tHeadache\t10019211\tY\n10019211\tHead ache\t10019211\tY\n", 3, "twice"),
        ("10019211\tHeadache\t10019211\tY\n10013649\tDrowsiness\t10041349\tY\n", 3, "10041349"),
    ],
)
def test_llt_tsv_malformed(tmp_path, body, line, problem):
    path = tmp_path / "llt.tsv"
    path.write_text(TSV_HEADER + body, encoding="utf8")
    with pytest.raises(InputError) as err:
        read_llt_tsv(path)
    assert err.value.path == str(path) and err.value.line == line
    assert problem in err.value.problem


def test_llt_tsv_undecodable(tmp_path):
    path = tmp_path / "llt.tsv"
    path.write_bytes(TSV_HEADER.encode() + b"10019211\tHeadache\t10019211\tY\n10027183\tM\xe9ni\xe8re\t10027183\tY\n")
    with pytest.raises(InputError) as err:
        read_llt_tsv(path)
    assert err.value.line == 3 and "llt.tsv" in str(err.value)


def _asc_folder(tmp_path, llt: bytes, pt: bytes) -> Path:
    (tmp_path / "llt.asc").write_bytes(llt)
    (tmp_path / "pt.asc").write_bytes(pt)
    return tmp_path


def test_asc_malformed(tmp_path):
    pt = b"10019211$Headache$$10029205$$$$$$$$\r\n"
    ok = b"10019211$Headache$10019211$$$$$$$Y$$\r\n"
    folder = _asc_folder(tmp_path, ok + b"10019212$Head pain$10019211$Y$\r\n", pt)
    with pytest.raises(InputError) as err:
        read_meddra_ascii(folder)
    assert err.value.path == str(folder / "llt.asc") and err.value.line == 2
    folder = _asc_folder(tmp_path, ok, pt + b"10028813\r\n")
    with pytest.raises(InputError) as err:
        read_meddra_ascii(folder)
    assert err.value.path == str(folder / "pt.asc") and err.value.line == 2
    folder = _asc_folder(tmp_path, ok + b"10013649$Drowsiness$10041349$$$$$$$Y$$\r\n", pt)
    with pytest.raises(InputError, match="10041349"):
        read_meddra_ascii(folder)
    # With an explicit encoding there is no fallback: Windows-1252 bytes are an error.
    folder = _asc_folder(tmp_path, ok + "10027183$Ménière$10019211$$$$$$$Y$$\r\n".encode("cp1252"), pt)
    assert read_meddra_ascii(folder)["10027183"].llt_name == "Ménière"
    with pytest.raises(InputError) as err:
        read_meddra_ascii(folder, encoding="utf-8")
    assert err.value.line == 2
    (tmp_path / "pt.asc").unlink()
    with pytest.raises(FileNotFoundError, match="pt.asc"):
        read_meddra_ascii(tmp_path)


@pytest.mark.data
@pytest.mark.skipif(not DATA, reason="SPACY_ADR_DATA is not set")
def test_real_llt_tsv_counts():
    kb = load_meddra(Path(DATA) / "meddra" / "llt.tsv")
    assert len(kb) == 79_507
    assert len(kb.pts()) == 23_389
    assert sum(c.current for c in kb) == 70_229
    assert kb.pt_of("10013649").llt_name == "Somnolence"
