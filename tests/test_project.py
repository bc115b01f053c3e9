"""The spaCy project run as a user runs it: `spacy project run data`, and `all` and `trf` on
miniature data through packaging, installing and loading the packages by name."""
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from spacy_adr_builder.corpora.stats import describe_docbin
from spacy_adr.kb.meddra import load_meddra
from test_install import NOT_AT_RUNTIME, requirement_closure

ROOT = Path(__file__).parent.parent
# What a loaded pipeline `nlp` says about its encoders: each with its inference setting (a
# classifier with an encoder of its own would show as one more), and who listens to the
# shared transformer
ENCODERS = (
    "sorted((n, s['quantize']) for n, s in inference_settings(nlp).items()),"
    " sorted(nlp.get_pipe('transformer').listening_components)"
)


def make_project_copy(tmp_path: Path) -> Path:
    """A copy of the project folder (project.yml plus the code its deps name)."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "project.yml", project / "project.yml")
    (project / "spacy_adr").symlink_to(ROOT / "spacy_adr")
    (project / "builder").symlink_to(ROOT / "builder")
    return project


def run_workflow(
    project: Path, data_dir: Path, workflow: str = "data", *, config_overrides: str = ""
) -> subprocess.CompletedProcess:
    env = dict(os.environ, SPACY_ADR_DATA=str(data_dir), SPACY_CONFIG_OVERRIDES=config_overrides)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    return subprocess.run(
        [sys.executable, "-m", "spacy", "project", "run", workflow, str(project)],
        # The limit only catches a hang: on a busy 2-core machine `all` ran past 15 minutes.
        env=env, capture_output=True, text=True, timeout=1800,
    )


def test_data_workflow_names_missing_data(tmp_path):
    project = make_project_copy(tmp_path)
    empty = tmp_path / "data"
    empty.mkdir()
    result = run_workflow(project, empty)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "smm4h2020_task3_en/task3_training.tsv is missing" in output
    assert "Obtain it from" in output


@pytest.mark.slow
def test_all_workflow_on_fixture_data(tmp_path):
    """`spacy project run all` on a miniature data folder, training capped at a few steps."""
    from fixture_data import make_fixture_data_dir

    data_dir = make_fixture_data_dir(tmp_path / "data")
    project = make_project_copy(tmp_path)
    shutil.copytree(ROOT / "configs", project / "configs")
    overrides = "--training.max_steps=3 --training.eval_frequency=2"
    try:
        for workflow in ("all", "trf"):
            result = run_workflow(project, data_dir, workflow, config_overrides=overrides)
            assert result.returncode == 0, workflow + result.stdout[-3000:] + result.stderr[-3000:]
        check_all_workflow_outputs(project)
        # The wheels were installed into this environment: load them by name, no import.
        code = (
            "import spacy; from spacy_adr.inference_settings import inference_settings;"
            "nlp = spacy.load('en_adr_smm4h'); doc = nlp('cipro gave me a headache');"
            f"print(sorted(nlp.pipe_names), 'ADR' in doc.cats, nlp.disabled, {ENCODERS});"
            "print(spacy.load('xx_adr_smm4h')('от него болит голова').cats['ADR'] >= 0)"
        )
        loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
        assert loaded.returncode == 0, loaded.stderr[-3000:]
        # One transformer, shared by the NER and the classifier; the linker's own small encoder
        assert loaded.stdout.split("\n")[:2] == [
            "['adr_drug_mentions', 'adr_gazetteer', 'adr_meddra_linker', 'adr_span_gate', 'adr_tweet_normalizer', 'ner', 'textcat', 'transformer'] True"
            " [] [('adr_meddra_linker', 'fp32'), ('transformer', 'bf16')] ['ner', 'textcat']",
            "True",
        ]
        # The installed package tells users its licence, sources and measured dev performance:
        # `spacy info` shows the first two (it hides performance), the meta.json all three.
        info = subprocess.run([sys.executable, "-m", "spacy", "info", "en_adr_smm4h", "--markdown"],
                              capture_output=True, text=True, cwd=tmp_path)
        assert info.returncode == 0 and "MSSO" in info.stdout and "SMM4H 2020 Task 3" in info.stdout, info.stdout
        code = "import json, spacy.util as u; print(json.dumps(u.load_meta(u.get_package_path('en_adr_smm4h') / 'meta.json')))"
        shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
        meta = json.loads(shown.stdout)
        assert "may be used only under a MedDRA licence from the MSSO" in meta["license"]
        assert {"MedDRA", "SMM4H 2020 Task 3", "sentence-transformers/all-MiniLM-L6-v2"} <= {s["name"] for s in meta["sources"]}
        assert meta["author"] == "spacy_adr developers" and meta["description"]
        # packaged before evaluate-packages: the trained parts' rows, each named
        assert 0.0 <= meta["performance"]["ner_task3_dev_strict_f"] <= 1.0 and "textcat_en_dev_f" in meta["performance"]
        assert {(m["variant"], m["of"]) for m in meta["performance"]["measured"]} >= {
            ("minilm+gazetteer+multitask", "the trained part"), ("en-minilm-multitask", "the trained part")}
        assert any(req.replace("-", "_").startswith("spacy_adr") for req in meta["requirements"]), meta["requirements"]
        # ... and only what it runs with: installing the wheel pulls no build or option library
        wheel = next((project / "packages").glob("en_adr_smm4h-*/dist/en_adr_smm4h-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            metadata_text = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))).decode()
        requires = [line.split(":", 1)[1].strip() for line in metadata_text.splitlines() if line.startswith("Requires-Dist:")]
        assert not requirement_closure(requires) & NOT_AT_RUNTIME, requires
        check_readme_examples(tmp_path / "readme")
        # The accurate package loads by name too, on one transformer as well
        code = (
            "import spacy; from spacy_adr.inference_settings import inference_settings;"
            "nlp = spacy.load('en_adr_smm4h_trf'); doc = nlp('cipro gave me a headache');"
            f"print(nlp.pipe_names, 'ADR' in doc.cats, nlp.disabled, {ENCODERS})"
        )
        loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
        assert loaded.returncode == 0, loaded.stderr[-3000:]
        assert loaded.stdout.strip() == (
            "['adr_tweet_normalizer', 'adr_gazetteer', 'transformer', 'ner', 'textcat', 'adr_meddra_linker', 'adr_span_gate', 'adr_drug_mentions']"
            " True [] [('adr_meddra_linker', 'fp32'), ('transformer', 'bf16')] ['ner', 'textcat']"
        )
    finally:
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "-y", "-q", "en_adr_smm4h", "xx_adr_smm4h", "en_adr_smm4h_trf"], capture_output=True)


def check_readme_examples(folder: Path) -> None:
    """README's Python examples and its annotate command, as written, against the installed
    package (the install lines aside)."""
    from test_install import fenced_blocks, shell_lines

    readme = (ROOT / "README.md").read_text(encoding="utf8")
    (folder / "docs").mkdir(parents=True)
    shutil.copy(ROOT / "docs" / "sample_tweets.jsonl", folder / "docs")
    for block in fenced_blocks(readme, "python"):
        result = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, cwd=folder)
        assert result.returncode == 0, block + result.stderr[-3000:]
    quick_start = readme.split("## Install a built package and annotate a file", 1)[1].split("\n## ", 1)[0]
    command = shell_lines(fenced_blocks(quick_start, "bash")[0])[-1]
    assert command.startswith("spacy-adr annotate en_adr_smm4h "), command
    program = Path(sys.executable).parent / "spacy-adr"
    result = subprocess.run([str(program), *command.split()[1:]], capture_output=True, text=True, cwd=folder)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    records = [json.loads(line) for line in (folder / "annotated.jsonl").read_text().splitlines()]
    assert len(records) == len((ROOT / "docs" / "sample_tweets.jsonl").read_text().splitlines())
    assert all({"adr_label", "spans", "gate_open"} <= set(record) for record in records)


def check_all_workflow_outputs(project: Path) -> None:
    corpus = project / "corpus"
    for name in ("task3/train.spacy", "task3/dev.spacy", "task2/ru/test.spacy", "cadec.spacy",
                 "psytar/sentences.spacy", "psytar/mentions.spacy", "rudrec.spacy",
                 "meddra.tsv", "smm4h2017_train.jsonl"):
        assert (corpus / name).exists(), name
    assert describe_docbin(corpus / "task3" / "train.spacy")["docs"] == 5
    # Every problem is in a report with file and line.
    report = (corpus / "reports" / "task3_train.json").read_text()
    assert "task3_training.tsv:" in report
    # The NERs (the multi-task core and the trf package's) trained and were evaluated.
    rows = json.loads((project / "metrics" / "ner_task3_dev.json").read_text())
    assert [row["variant"] for row in rows] == ["minilm+gazetteer+multitask", "mpnet+gazetteer+multitask"]
    assert all(0.0 <= row["strict_f"] <= 1.0 and row["n"] == 2 for row in rows)
    # The tweet classifiers trained, with thresholds, and were evaluated.
    rows = json.loads((project / "metrics" / "textcat_dev.json").read_text())
    assert {(row["variant"], row["split"]) for row in rows} == {("en-minilm-multitask", "en_dev"), ("en-mpnet-multitask", "en_dev")}
    assert all(0.0 <= row["f"] <= 1.0 and 0.0 < row["threshold"] < 1.0 for row in rows)
    # The installed packages wrote the submission files, one line per test tweet.
    for lang in ("en", "ru", "fr"):
        lines = (project / "training" / "predictions" / f"task2_{lang}_test.tsv").read_text().splitlines()
        n_test = describe_docbin(corpus / "task2" / lang / "test.spacy")["docs"]
        assert lines[0] == "tweet_id\tlabel" and len(lines) == 1 + n_test, lang
    # The installed packages were evaluated by name.
    rows = json.loads((project / "metrics" / "packages_dev.json").read_text())
    assert {(row["task"], row["variant"], row["split"]) for row in rows} == {
        ("textcat", "en_adr_smm4h", "en_dev"), ("ner", "en_adr_smm4h", "task3_dev"),
        ("e2e", "en_adr_smm4h", "task3_dev"),
        ("textcat", "xx_adr_smm4h", "en_dev"), ("textcat", "xx_adr_smm4h", "ru_dev"),
        ("textcat", "xx_adr_smm4h", "fr_dev"),
        ("textcat", "en_adr_smm4h_trf", "en_dev"), ("ner", "en_adr_smm4h_trf", "task3_dev"),
        ("e2e", "en_adr_smm4h_trf", "task3_dev"),
    }
    # ... and on the dev stream, the gate on and off, at three ADR rates; the multi-task core too
    rows = json.loads((project / "metrics" / "stream_en_dev.json").read_text())
    bands = [row for row in rows if "spans scored" in row["variant"]]
    # ... with the reference: the gold spans on the NoADR tweets both dev sets share (one row)
    references = [row for row in rows if row["task"] == "agreement"]
    assert len(references) == 1 and all(0 <= row["n_noadr_with_spans"] <= row["n_shared_noadr"] for row in references)
    rows = [row for row in rows if row not in bands and row not in references]
    assert [row["variant"] for row in bands] == [
        f"{package} (gate off), spans scored {band}"
        for package in ("en_adr_smm4h", "en_adr_smm4h_trf") for band in ("0-0.5", "0.5-0.9", "0.9-1")
    ]
    splits = {"task3_dev", "en_dev_stream_natural", "en_dev_stream_3pct"}
    assert {(row["variant"], row["split"]) for row in rows} == {
        (variant, split) for split in splits
        for variant in ("en_adr_smm4h", "en_adr_smm4h (gate off)", "minilm+gazetteer+multitask",
                        "en_adr_smm4h_trf", "en_adr_smm4h_trf (gate off)")
    }
    assert all(row["task"] == "stream" and 0.0 <= row["relaxed_f"] <= 1.0 for row in rows)
    assert all("e2e_relaxed_f" in row for row in rows if row["variant"].startswith("en_adr_smm4h"))
    # check-wheels listed both wheels, found no data file inside, and named what carries terminology
    contents = json.loads((project / "metrics" / "wheel_contents.json").read_text())
    assert contents["ok"] and [len(wheel["data_files_inside"]) for wheel in contents["wheels"]] == [0, 0]
    trf_contents = json.loads((project / "metrics" / "wheel_contents_trf.json").read_text())
    assert trf_contents["ok"] and [len(wheel["data_files_inside"]) for wheel in trf_contents["wheels"]] == [0]
    en_wheel, xx_wheel = contents["wheels"]
    assert {t["factory"] for t in en_wheel["terminology"]} == {"adr_meddra_linker", "adr_gazetteer", "adr_drug_mentions"}
    assert any(m["name"] == "kb.tsv" and m["lines"] > 1 for t in en_wheel["terminology"] for m in t["members"])
    assert xx_wheel["terminology"] == [] and xx_wheel["files"] == len(xx_wheel["members"]) > 0
    assert [strings["strings"] > 0 for strings in en_wheel["vocab_strings"]] == [True]


@pytest.mark.data
@pytest.mark.slow
def test_data_workflow_on_real_data(tmp_path, data_dir):
    """Counts of the converted corpora match the data's README."""
    project = make_project_copy(tmp_path)
    result = run_workflow(project, data_dir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    corpus = project / "corpus"

    train = describe_docbin(corpus / "task3" / "train.spacy")
    assert train["docs"] == 1862
    dev = describe_docbin(corpus / "task3" / "dev.spacy")
    assert dev["docs"] == 428 and dev["codes"] == 183
    report = (corpus / "reports" / "task3_train.json").read_text()
    assert '"spans": 1464' in report
    aligned = int(report.split('"spans_aligned": ')[1].split(",")[0])
    assert aligned >= 1454

    expected_task2 = {
        ("en", "train"): (20544, 1903), ("en", "dev"): (5134, 474), ("en", "test"): (4759, 0),
        ("ru", "train"): (6090, 533), ("ru", "dev"): (1522, 133), ("ru", "test"): (1903, 0),
        ("fr", "train"): (1941, 31), ("fr", "dev"): (485, 8), ("fr", "test"): (607, 0),
    }
    for (lang, split), (docs, positive) in expected_task2.items():
        counts = describe_docbin(corpus / "task2" / lang / f"{split}.spacy")
        assert counts["docs"] == docs, (lang, split)
        assert counts.get("cats_ADR", 0) == positive, (lang, split)

    # Two CADEC posts and six PsyTAR sentences are empty: reported, no Doc.
    cadec = describe_docbin(corpus / "cadec.spacy")
    assert cadec["docs"] == 1248 and '"records": 1250' in (corpus / "reports" / "cadec.json").read_text()
    rudrec = describe_docbin(corpus / "rudrec.spacy")
    assert rudrec["docs"] == 4809
    psytar = describe_docbin(corpus / "psytar" / "sentences.spacy")
    assert psytar["docs"] == 6003
    assert '"records": 6009' in (corpus / "reports" / "psytar_sentences.json").read_text()

    kb = load_meddra(corpus / "meddra.tsv")
    assert len(kb) == 79507 and len(kb.pts()) == 23389
    mentions = (corpus / "smm4h2017_train.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(mentions) == 6650
