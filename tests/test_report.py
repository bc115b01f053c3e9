"""`spacy-adr report` on a tiny pipeline: the toy ADR pipeline of the annotate tests plus a
MedDRA linker trained on the fixture mentions over a tiny random encoder, scored on hand-written
gold tweets."""
import json
import re
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from typer.testing import CliRunner

pytest.importorskip("matplotlib", reason="the report needs the web extra (matplotlib)")

from annotate_helpers import build_toy_pipeline  # noqa: E402
from spacy_adr.cli import app  # noqa: E402
from spacy_adr.kb.meddra import load_meddra  # noqa: E402
from spacy_adr_builder.training.linker import train_classifier  # noqa: E402
from spacy_adr.pipeline.concept_linker import load_encoder  # noqa: E402
from spacy_adr.report.figures import ner_figures, textcat_figures  # noqa: E402
from tiny_transformer import build_tiny_bert  # noqa: E402

HELPERS = Path(__file__).parent / "annotate_helpers.py"
# (text, [(span text, LLT code)]) hand-written; the toy ruler knows headache, weight gain,
# dry mouth and can't sleep, so "dizziness" and "my head hurts" are misses and the headache
# of a NoADR tweet is a false positive.
GOLD = [
    ("cipro gave me a headache", [("headache", "10019211")]),
    ("this drug causes dry mouth and dizziness", [("dry mouth", "10013781"), ("dizziness", "10013573")]),
    ("weight gain from seroquel is real", [("weight gain", "10047896")]),
    ("I can't sleep since the new pill", [("can't sleep", "10022437")]),
    ("no headache today, the drug works", []),
    ("my head hurts after prozac", [("my head hurts", "10019211")]),
    ("took my meds and went to work", []),
]


def _tiny_encoder(root: Path) -> Path:
    from sentence_transformers import SentenceTransformer

    try:
        from sentence_transformers.sentence_transformer import modules
    except ImportError:  # sentence-transformers < 5
        from sentence_transformers import models as modules

    word = modules.Transformer(str(build_tiny_bert(root / "bert")))
    pooling = modules.Pooling(word.auto_model.config.hidden_size, pooling_mode="mean")
    SentenceTransformer(modules=[word, pooling, modules.Normalize()], device="cpu").save(str(root / "st"))
    return root / "st"


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory, fixtures_dir) -> Path:
    """Toy NER and classifier, then a linker whose classifier is trained on the fixture mentions."""
    root = tmp_path_factory.mktemp("report_pipeline")
    encoder = _tiny_encoder(root)
    rows = [
        line.split("\t") for line in (fixtures_dir / "linker" / "mentions.tsv").read_text(encoding="utf8").splitlines()
        if line and not line.startswith("#")
    ]
    vectors = load_encoder(encoder).encode([text for text, _ in rows], normalize_embeddings=True)
    head = train_classifier(vectors, [code for _, code in rows], epochs=100)
    head.to_disk(root / "classifier.safetensors")
    nlp = spacy.load(build_toy_pipeline(root / "toy"))
    linker = nlp.add_pipe("adr_meddra_linker", config={"threshold": 0.5})
    linker.initialize(
        kb=load_meddra(fixtures_dir / "meddra" / "llt.tsv"), encoder=encoder,
        classifier=root / "classifier.safetensors",
    )
    nlp.meta["name"] = "adr_tiny"
    nlp.meta["version"] = "0.0.1"
    nlp.to_disk(root / "pipeline")
    return root / "pipeline"


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict:
    """A span corpus (Task 3 style: entities with codes) and a tweet-label corpus (Task 2 style)."""
    root = tmp_path_factory.mktemp("report_corpora")
    nlp = spacy.blank("en")
    spans, labels = DocBin(), DocBin()
    for text, gold in GOLD:
        doc = nlp.make_doc(text)
        ents = []
        for mention, code in gold:
            start = text.index(mention)
            ents.append(doc.char_span(start, start + len(mention), label="ADR", kb_id=code))
        doc.ents = ents
        spans.add(doc)
        labelled = nlp.make_doc(text)
        labelled.cats = {"ADR": 1.0 if gold else 0.0}
        labels.add(labelled)
    spans.to_disk(root / "spans.spacy")
    labels.to_disk(root / "labels.spacy")
    return {"spans": root / "spans.spacy", "labels": root / "labels.spacy"}


def test_report_cli_writes_page_with_plots(tmp_path, pipeline_dir, corpora):
    out = tmp_path / "report"
    result = CliRunner().invoke(app, [
        "report", str(pipeline_dir), str(out), "-d", f"en_dev:{corpora['labels']}",
        "--spans", str(corpora["spans"]), "--metrics", str(tmp_path / "no-metrics"),
        "--code", str(HELPERS), "--quiet",
    ])
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]+)"', page)
    expected = {
        "plots/textcat_en_dev_pr.png", "plots/textcat_en_dev_threshold.png", "plots/ner_by_length.png",
        "plots/ner_by_gazetteer.png", "plots/linker_threshold.png", "plots/linker_seen_unseen.png",
    }
    assert expected <= set(sources)
    for source in sources:
        image = out / source
        assert image.is_file() and image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", source
    # Name, version and the command that made it; displaCy examples with MedDRA terms.
    assert "en_adr_tiny" in page and "0.0.1" in page and "spacy-adr" in page
    assert "ADR: Headache" in page and "10019211" in page
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["ner"]["false_positives"] == [["headache", 1]]
    assert sorted(report["ner"]["misses"]) == [["dizziness", 1], ["my head hurts", 1]]
    assert report["textcat"]["en_dev"]["threshold"] == 0.5
    assert report["linker"]["threshold"] == 0.5 and report["linker"]["combined"]["n"] == 6


def test_report_cli_names_a_missing_corpus(tmp_path, pipeline_dir):
    result = CliRunner().invoke(app, ["report", str(pipeline_dir), str(tmp_path / "r"), "-d", f"en_dev:{tmp_path / 'nope.spacy'}", "--no-spans"])
    assert result.exit_code == 1
    assert "nope.spacy: no such corpus" in " ".join(result.output.split())


def test_textcat_figures_mark_the_stored_threshold():
    figures = textcat_figures([0.9, 0.8, 0.3, 0.1], [True, False, True, False], 0.5)
    assert figures["at_threshold"]["p"] == 0.5 and figures["at_threshold"]["r"] == 0.5
    assert figures["best"]["f"] == pytest.approx(2 / 3 * 2 / (2 / 3 + 1))
    assert len(figures["curve"]) == 99


def test_ner_figures_by_length_and_gazetteer():
    nlp = spacy.blank("en")
    gold = nlp.make_doc("bad dry mouth and a headache")
    gold.ents = [gold.char_span(4, 13, label="ADR"), gold.char_span(20, 28, label="ADR")]
    predicted = nlp.make_doc(gold.text)
    predicted.ents = [predicted.char_span(0, 13, label="ADR")]
    predicted[1]._.adr_gaz = "B"
    figures = ner_figures([predicted], [gold], has_gazetteer=True, linked=False)
    assert figures["overall"]["strict_p"] == 0.0 and figures["overall"]["relaxed_p"] == 1.0
    # The 3-token prediction overlaps the 2-token gold span; the 1-token gold span is missed.
    assert figures["by_length"]["3"]["relaxed_p"] == 1.0
    assert figures["by_length"]["2"]["relaxed_r"] == 1.0 and figures["by_length"]["1"]["relaxed_r"] == 0.0
    assert figures["by_gazetteer"]["gazetteer tagged"]["n_gold"] == 1
    assert figures["misses"] == [["headache", 1]]
