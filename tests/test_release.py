"""What the packages tell and ship: meta.json from metrics rows, the wheel-content check, the
README's data table (issue #16). Hand-written rows and zips; seconds."""
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
import spacy
from typer.testing import CliRunner

from spacy_adr_builder.cli import app
from spacy_adr_builder.data_check import DATA_SOURCES, REQUIRED_FILES, SOURCES, check_data, source_of
from spacy_adr_builder.packaging.data_table import data_section, data_sources_table, expand_braces
from spacy_adr_builder.packaging.meta import (
    AUTHOR,
    ENCODERS,
    MetaTemplate,
    build_package_meta,
    newest_mtime,
    read_metrics,
)
from spacy_adr_builder.packaging.wheels import check_wheels

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "release"
runner = CliRunner()


@pytest.fixture
def metrics_dir(tmp_path):
    target = tmp_path / "metrics"
    shutil.copytree(FIXTURES / "metrics", target)
    return target


@pytest.fixture(scope="module")
def en_pipeline(tmp_path_factory):
    """A saved blank English pipeline: what `spacy package` and `package-meta` read."""
    path = tmp_path_factory.mktemp("pipelines") / "en_pipeline"
    spacy.blank("en").to_disk(path)
    return path


def en_template() -> MetaTemplate:
    return MetaTemplate.from_disk(ROOT / "configs" / "meta_en.json")


def xx_template() -> MetaTemplate:
    return MetaTemplate.from_disk(ROOT / "configs" / "meta_xx.json")


# meta.json ---------------------------------------------------------------------------------


def test_en_meta_fields(metrics_dir):
    meta, stale = build_package_meta("en_adr_smm4h", en_template(), read_metrics(metrics_dir))
    assert not stale
    assert meta["author"] == AUTHOR == "spacy_adr developers"
    assert "MedDRA" in meta["description"]
    license = meta["license"]
    for needle in ("Contains MedDRA", "may be used only under a MedDRA licence from the MSSO",
                   "data-use agreement", "CSIRO Data Licence", "all-MiniLM-L6-v2 (Apache-2.0)",
                   "spacy_adr code: MIT", "KFU ADR lexicons"):
        assert needle in license, needle
    assert "\n" not in license  # one paragraph: it becomes the wheel's License field
    names = [source["name"] for source in meta["sources"]]
    assert names == ["SMM4H 2020 Task 3", "SMM4H 2020 Task 2", "SMM4H 2017 Task 3", "CADEC v2", "MedDRA",
                     "KFU ADR lexicons", "sentence-transformers/all-MiniLM-L6-v2"]
    # one encoder: the base-size one is the accurate package's, not this one's
    assert "all-mpnet-base-v2" not in license
    assert all(source["url"].startswith("https://") and source["license"] for source in meta["sources"])
    assert all(isinstance(value, str) for source in meta["sources"] for value in source.values())
    meddra = meta["sources"][names.index("MedDRA")]
    assert meddra["url"] == "https://www.meddra.org/subscription"
    assert "weights trained on it" in meddra["in this package"] and "kb.tsv" in meddra["in this package"]
    # spacy package fills these from the pipeline, --name/--version and the config
    assert not {"name", "version", "lang", "requirements", "pipeline"} & set(meta)


def test_en_performance_prefers_the_package_rows(metrics_dir):
    meta, _ = build_package_meta("en_adr_smm4h", en_template(), read_metrics(metrics_dir))
    performance = meta["performance"]
    # the installed package's rows win over the trained part's
    assert performance["ner_task3_dev_strict_f"] == 0.444 and performance["ner_task3_dev_relaxed_f"] == 0.646
    assert performance["textcat_en_dev_f"] == 0.6
    assert performance["e2e_task3_dev_relaxed_f"] == 0.323
    # the linker only has its part's rows: the "combined" variant, not a threshold sweep row
    assert performance["linker_task3_dev_acc1"] == 0.496 and performance["linker_task3_dev_acc1_unseen"] == 0.27
    # no stream file, no xx rows, no other NER variant, no speed: left out, never invented
    assert not [key for key in performance if key.startswith("stream_")]
    assert "textcat_ru_dev_f" not in performance
    assert all(isinstance(value, float) for key, value in performance.items() if key != "measured")
    by_task = {record["task"]: record for record in performance["measured"]}
    assert by_task["ner"]["variant"] == "en_adr_smm4h" and by_task["ner"]["of"] == "the package"
    assert by_task["ner"]["file"] == "metrics/packages_dev.json" and by_task["ner"]["split"] == "task3_dev"
    assert by_task["linker"]["variant"] == "combined" and by_task["linker"]["of"] == "the trained part"
    assert by_task["textcat"]["threshold"] == 0.85 and by_task["textcat"]["date"] == "2026-01-02"
    assert "| metrics/packages_dev.json | en_adr_smm4h | task3_dev |" in meta["notes"]
    assert "ner_task3_dev_strict_f 44.4" in meta["notes"]


def test_rows_older_than_the_pipeline_are_left_out(metrics_dir, en_pipeline):
    pipeline = en_pipeline
    old = newest_mtime(pipeline) - 3600
    os.utime(metrics_dir / "packages_dev.json", (old, old))
    meta, stale = build_package_meta(
        "en_adr_smm4h", en_template(), read_metrics(metrics_dir), built_at=newest_mtime(pipeline)
    )
    assert stale == ["metrics/packages_dev.json: rows of en_adr_smm4h are older than the pipeline folder (an earlier build)"]
    performance = meta["performance"]
    # the trained parts' rows stand in; what only the package measures is left out
    assert performance["ner_task3_dev_strict_f"] == 0.515 and performance["textcat_en_dev_f"] == 0.62
    assert "e2e_task3_dev_relaxed_f" not in performance
    assert {record["of"] for record in performance["measured"]} == {"the trained part"}


def test_xx_meta(metrics_dir):
    meta, _ = build_package_meta("xx_adr_smm4h", xx_template(), read_metrics(metrics_dir))
    assert "MedDRA" not in meta["license"] and "Contains no data-set files" in meta["license"]
    assert "intfloat/multilingual-e5-small (MIT)" in meta["license"] and "CC BY 4.0" in meta["license"]
    assert [source["name"] for source in meta["sources"]] == [
        "SMM4H 2020 Task 2", "PsyTAR", "RuDReC", "intfloat/multilingual-e5-small"]
    performance = meta["performance"]
    # tweet F1 per language: ru, en from the package; fr only from the trained classifier
    assert performance["textcat_ru_dev_f"] == 0.444 and performance["textcat_en_dev_f"] == 0.5
    assert performance["textcat_fr_dev_f"] == 0.0
    assert not [key for key in performance if key.startswith(("ner_", "linker_", "e2e_"))]


def test_no_metrics_no_performance(tmp_path):
    meta, stale = build_package_meta("en_adr_smm4h", en_template(), read_metrics(tmp_path / "none"))
    assert meta["performance"] == {} and not stale
    assert "No evaluation of en_adr_smm4h" in meta["notes"]


def test_template_with_unknown_keys_is_refused():
    data = json.loads((ROOT / "configs" / "meta_en.json").read_text())
    with pytest.raises(KeyError, match="Unknown data set"):
        MetaTemplate.from_dict({**data, "trained_on": ["smm4h2099"]})
    with pytest.raises(KeyError, match="Unknown encoder"):
        MetaTemplate.from_dict({**data, "encoders": ["bert-huge"]})
    with pytest.raises(ValueError, match="Unknown tasks"):
        MetaTemplate.from_dict({**data, "parts": {"parsing": "x"}})


def test_spacy_package_merges_the_meta(metrics_dir, en_pipeline, tmp_path):
    """What `spacy package --meta-path` makes of the file: valid, merged, in the README."""
    from spacy.cli.package import package

    pipeline = en_pipeline
    later = newest_mtime(pipeline) + 60  # evaluate-packages ran after this build was assembled
    os.utime(metrics_dir / "packages_dev.json", (later, later))
    meta_path = tmp_path / "meta.json"
    result = runner.invoke(app, [
        "package-meta", str(pipeline), str(ROOT / "configs" / "meta_en.json"), str(meta_path),
        "--name", "adr_smm4h", "--metrics-dir", str(metrics_dir),
    ])
    assert result.exit_code == 0, result.output
    assert "metrics/packages_dev.json [en_adr_smm4h / task3_dev, the package]" in result.output
    (tmp_path / "packages").mkdir()
    package(pipeline, tmp_path / "packages", meta_path=meta_path, name="adr_smm4h", version="0.0.1",
            create_sdist=False, create_wheel=False, force=True)
    built = tmp_path / "packages" / "en_adr_smm4h-0.0.1"
    merged = json.loads((built / "meta.json").read_text())
    assert merged["name"] == "adr_smm4h" and merged["lang"] == "en" and merged["version"] == "0.0.1"
    assert "MSSO" in merged["license"] and len(merged["sources"]) == 7
    assert merged["performance"]["e2e_task3_dev_relaxed_f"] == 0.323
    readme = (built / "README.md").read_text()
    assert "### Accuracy" in readme and "`E2E_TASK3_DEV_RELAXED_F` | 32.30" in readme
    assert "### Where the figures come from" in readme and "MSSO" in readme


# wheel check -----------------------------------------------------------------------------

LLT_TSV = b"PT\tLabel\tLLT\tIDK\n10019211\tHeadache\t10019211\tY\n10000001\tsore head\t10019211\tY\n"
LEXICON = b"headache\nweight gain\n"
CONFIG = """[nlp]
lang = "en"
pipeline = ["gaz","ner","adr_meddra_linker"]

[components]

[components.gaz]
factory = "adr_gazetteer"

[components.ner]
factory = "ner"

[components.adr_meddra_linker]
factory = "adr_meddra_linker"
"""
PKG = "en_adr_smm4h/en_adr_smm4h-0.1.0/"


@pytest.fixture
def data_folder(tmp_path):
    root = tmp_path / "data"
    for rel, content in {
        "meddra/llt.tsv": LLT_TSV,
        "lexicons/kfu_chemtextmining_vocabularies/adr_lexicon.txt": LEXICON,
        "empty.txt": b"",
        # same size as the wheel's terms.txt, other bytes: hashed, not matched
        "lexicons/other.txt": b"x" * len(b"headache\nweight gain\nsore head\n"),
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    return root


def make_wheel(path: Path, extra: dict = {}) -> Path:
    members = {
        "en_adr_smm4h/__init__.py": b"",
        PKG + "config.cfg": CONFIG.encode(),
        PKG + "meta.json": b'{"lang": "en"}',
        PKG + "vocab/strings.json": json.dumps(["ADR", "headache", "@bob", "@x", "http://t.co/x", "gave"]).encode(),
        PKG + "gaz/terms.txt": b"headache\nweight gain\nsore head\n",
        PKG + "ner/model": b"\x00" * 64,
        PKG + "adr_meddra_linker/kb.tsv": b"llt_code\tllt_name\tpt_code\tpt_name\tllt_currency\n10019211\tHeadache\t10019211\tHeadache\tY\n",
        PKG + "adr_meddra_linker/index/vectors.npy": b"\x01" * 128,
        "en_adr_smm4h-0.1.0.dist-info/RECORD": b"",
        **extra,
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def test_clean_wheel_passes_and_reports_terminology(tmp_path, data_folder):
    wheel = make_wheel(tmp_path / "clean.whl")
    result = check_wheels([wheel], data_folder)
    assert result.ok and result.messages() == []
    report = result.wheels[0]
    assert len(report.members) == 9
    # the string store is counted: the words of the texts the pipeline saw, user handles among them
    (strings,) = report.vocab_strings
    assert (strings.member, strings.strings, strings.user_handles, strings.urls) == (PKG + "vocab/strings.json", 6, 1, 1)
    assert {member.name: member.component for member in report.members}[PKG + "gaz/terms.txt"] == "gaz"
    terminology = {component.name: component for component in report.terminology}
    assert sorted(terminology) == ["adr_meddra_linker", "gaz"]  # found by factory, not folder name
    assert terminology["gaz"].factory == "adr_gazetteer" and terminology["gaz"].size == 31
    assert terminology["gaz"].members == [{"name": "terms.txt", "size": 31, "lines": 3}]
    assert {m["name"] for m in terminology["adr_meddra_linker"].members} == {"kb.tsv", "index/vectors.npy"}
    assert "MedDRA" in terminology["adr_meddra_linker"].terminology
    assert [c.name for c in report.components if not c.terminology] == ["ner"]
    # only the data file of a size some member has was hashed; the empty file never matches
    assert result.data_files == 4 and result.data_files_hashed == 1


def test_wheel_smuggling_a_data_file_fails(tmp_path, data_folder):
    wheel = make_wheel(tmp_path / "bad.whl", {PKG + "gaz/llt.tsv": LLT_TSV})
    result = check_wheels([make_wheel(tmp_path / "clean.whl"), wheel], data_folder)
    assert not result.ok
    (message,) = result.messages()
    assert str(wheel) in message and PKG + "gaz/llt.tsv" in message and "meddra/llt.tsv" in message
    assert result.wheels[0].data_files_inside == []


def test_check_wheels_cli(tmp_path, data_folder):
    clean = make_wheel(tmp_path / "clean.whl")
    report = tmp_path / "metrics" / "wheel_contents.json"
    result = runner.invoke(app, ["check-wheels", str(clean), "--data-dir", str(data_folder), "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "adr_meddra_linker/kb.tsv" in result.output and "gaz carries terminology" in result.output
    listing = json.loads(report.read_text())
    assert listing["ok"] and len(listing["wheels"][0]["members"]) == 9
    assert listing["wheels"][0]["vocab_strings"][0]["user_handles"] == 1
    assert "1 @user handles" in " ".join(result.output.split())
    assert {t["name"] for t in listing["wheels"][0]["terminology"]} == {"gaz", "adr_meddra_linker"}

    bad = make_wheel(tmp_path / "bad.whl", {PKG + "adr_meddra_linker/adr_lexicon.txt": LEXICON})
    result = runner.invoke(app, ["check-wheels", str(clean), str(bad), "--data-dir", str(data_folder), "--report", str(report)])
    assert result.exit_code == 1
    assert "lexicons/kfu_chemtextmining_vocabularies/adr_lexicon.txt" in result.output
    listing = json.loads(report.read_text())
    assert not listing["ok"] and listing["wheels"][1]["data_files_inside"][0]["member"].endswith("adr_lexicon.txt")


def test_check_wheels_without_a_data_folder(tmp_path):
    # the project passes --data-dir=${env.data_dir}: empty when SPACY_ADR_DATA is unset
    wheel = make_wheel(tmp_path / "clean.whl")
    result = runner.invoke(app, ["check-wheels", str(wheel), "--data-dir="], env={"SPACY_ADR_DATA": ""})
    assert result.exit_code == 1 and "SPACY_ADR_DATA is not set" in result.output
    result = runner.invoke(app, ["check-wheels", str(wheel), "--data-dir", str(tmp_path / "none")])
    assert result.exit_code == 1 and "does not exist" in " ".join(result.output.split())


# README data section ---------------------------------------------------------------------


def test_data_table_names_every_source():
    table = data_sources_table()
    assert table.count("\n") == 2 + len(DATA_SOURCES)
    for source in DATA_SOURCES:
        for text in (source.name, source.url, source.license, f"`{source.prefix}`"):
            assert text in table, text
    # check-data's messages are the table's records
    assert set(SOURCES) == {source.prefix for source in DATA_SOURCES}
    assert {required.source for required in REQUIRED_FILES} <= set(SOURCES.values())


def test_layout_is_the_file_list_check_data_uses():
    by_source = {}
    for required in REQUIRED_FILES:
        prefix = max((s.prefix for s in DATA_SOURCES if required.path.startswith(s.prefix)), key=len)
        by_source.setdefault(prefix, set()).add(required.path)
    for source in DATA_SOURCES:
        listed = {source.prefix + path for pattern in source.layout for path in expand_braces(pattern)}
        assert listed == (by_source[source.prefix] if source.layout else set()), source.key
        if not source.layout:
            assert by_source[source.prefix] == {source.prefix}
        assert source_of(sorted(by_source[source.prefix])[0]) == source.message


def test_check_data_on_an_empty_folder_points_at_the_table(tmp_path):
    result = check_data(tmp_path)
    assert len(result.missing) == len(REQUIRED_FILES)
    table = data_sources_table()
    assert all(issue.source in SOURCES.values() for issue in result.missing)
    assert all(source.url in table for source in DATA_SOURCES if any(source.url in m for m in result.messages()))


def test_data_sources_command_prints_the_section():
    result = runner.invoke(app, ["data-sources"])
    assert result.exit_code == 0 and result.output == data_section()
    assert "$SPACY_ADR_DATA/" in result.output and "smm4h2020_task3_en/" in result.output
    for record in ENCODERS:
        assert f"| {record.name} | {record.license} | {record.url} |" in result.output


def test_readme_data_section_matches_the_sources():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    if "## Data and licences" not in readme:
        pytest.skip("README has no 'Data and licences' section yet (text: spacy-adr-builder data-sources)")
    section = readme.split("## Data and licences", 1)[1].split("\n## ", 1)[0]
    for source in DATA_SOURCES:
        for text in (source.name, source.url, source.license, f"`{source.prefix}`"):
            assert text in section, text
    for record in ENCODERS:
        assert record.name in section and record.license in section
