"""The MedDRA linker (`adr_meddra_linker`) on a toy MedDRA and a tiny random encoder.

A random 1-layer encoder still maps a text identical to a concept name onto that name's
vector (distance 0), so exact names exercise the metric path and the threshold switch.
"""
import json
from pathlib import Path
from typing import List, Tuple

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span
from typer.testing import CliRunner

from spacy_adr.kb.meddra import load_meddra
from spacy_adr.linker_scoring import Mention, accuracy_rows, choose_threshold
from spacy_adr_builder.training.linker import index_mentions, train_classifier, train_metric_encoder
from spacy_adr_builder.training.linker_data import map_pt_mentions
from spacy_adr.pipeline.concept_linker import ClassifierHead, MeddraLinker, load_encoder

from tiny_transformer import build_tiny_bert

HEADACHE, NAUSEA, ALOPECIA, INSOMNIA = "10019211", "10028813", "10001760", "10022437"


@pytest.fixture(scope="module")
def kb(fixtures_dir):
    return load_meddra(fixtures_dir / "meddra" / "llt.tsv")


@pytest.fixture(scope="module")
def toy_mentions(fixtures_dir) -> List[Tuple[str, str]]:
    rows = []
    for line in (fixtures_dir / "linker" / "mentions.tsv").read_text(encoding="utf8").splitlines():
        if line and not line.startswith("#"):
            text, code = line.split("\t")
            rows.append((text, code))
    return rows


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory) -> Path:
    from sentence_transformers import SentenceTransformer

    try:
        from sentence_transformers.sentence_transformer import modules
    except ImportError:  # sentence-transformers < 5
        from sentence_transformers import models as modules

    root = tmp_path_factory.mktemp("encoder")
    bert = build_tiny_bert(root / "bert")
    word = modules.Transformer(str(bert))
    pooling = modules.Pooling(word.auto_model.config.hidden_size, pooling_mode="mean")
    model = SentenceTransformer(modules=[word, pooling, modules.Normalize()], device="cpu")
    model.save(str(root / "st"))
    return root / "st"


@pytest.fixture(scope="module")
def head_file(tmp_path_factory, kb, encoder_dir, toy_mentions) -> Path:
    """A classifier trained on toy mentions whose codes leave out Alopecia (never seen)."""
    encoder = load_encoder(encoder_dir)
    texts = [t for t, _ in toy_mentions]
    vectors = encoder.encode(texts, normalize_embeddings=True)
    head = train_classifier(vectors, [c for _, c in toy_mentions], epochs=200)
    assert ALOPECIA not in head.codes
    path = tmp_path_factory.mktemp("head") / "classifier.safetensors"
    head.to_disk(path)
    return path


@pytest.fixture
def linker(kb, encoder_dir, head_file) -> MeddraLinker:
    component = MeddraLinker(top_k=3)
    component.initialize(kb=kb, encoder=encoder_dir, classifier=head_file)
    return component


def _doc_with_ents(nlp: Language, text: str, spans: List[Tuple[int, int]]) -> Doc:
    doc = nlp.make_doc(text)
    doc.ents = [Span(doc, s, e, label="ADR") for s, e in spans]
    return doc


def test_threshold_switch_picks_each_path(linker):
    # "Headache" is a concept name (distance 0) and a class of the classifier.
    assert linker.link_texts(["Headache"], threshold=0.5)[0].method == "metric"
    assert linker.link_texts(["Headache"], threshold=0.5)[0].code == HEADACHE
    classified = linker.link_texts(["Headache"], threshold=0.0)[0]
    assert classified.method == "classifier"
    assert classified.code in linker.classifier.codes
    assert linker.link_texts(["Headache"], threshold=3.0)[0].method == "metric"


def test_unseen_concept_reached_by_metric_path(linker):
    link = linker.link_texts(["Alopecia"], threshold=0.5)[0]
    assert link.method == "metric"
    assert link.code == ALOPECIA
    # Not exactly 0: the name vectors are stored in bf16.
    assert link.distance == pytest.approx(0.0, abs=0.05)
    assert ALOPECIA not in linker.classifier.codes


def test_call_rewrites_ents(linker):
    nlp = spacy.blank("en")
    doc = _doc_with_ents(nlp, "Insomnia and Alopecia since Monday", [(0, 1), (2, 3)])
    doc = linker(doc)
    assert [e.kb_id_ for e in doc.ents] == [INSOMNIA, ALOPECIA]
    alopecia = doc.ents[1]
    assert alopecia._.meddra_term == "Alopecia"
    assert alopecia._.meddra_pt == ALOPECIA
    assert alopecia._.meddra_pt_term == "Alopecia"
    assert alopecia._.link_method == "metric"
    assert alopecia._.link_score == pytest.approx(1.0, abs=0.02)


def test_top_k_candidates(linker):
    nlp = spacy.blank("en")
    doc = linker(_doc_with_ents(nlp, "Hair loss again", [(0, 2)]))
    ent = doc.ents[0]
    candidates = ent._.meddra_candidates
    assert len(candidates) == 3
    assert candidates[0]["code"] == ent.kb_id_ == "10019045"
    assert candidates[0]["term"] == "Hair loss"
    scores = [c["score"] for c in candidates]
    assert scores == sorted(scores, reverse=True)
    assert len({c["code"] for c in candidates}) == 3


def test_other_labels_untouched(linker):
    nlp = spacy.blank("en")
    doc = nlp.make_doc("Headache from Zoloft")
    doc.ents = [Span(doc, 0, 1, label="ADR"), Span(doc, 2, 3, label="DRUG", kb_id="x")]
    doc = linker(doc)
    assert doc.ents[0].kb_id_ == HEADACHE
    assert doc.ents[1].kb_id_ == "x" and doc.ents[1]._.link_method == ""


def test_int8_encoder_stays_close_and_is_not_saved(linker, tmp_path):
    texts = ["Headache", "Nausea", "my head hurts so much", "cannot sleep at night"]
    fp32 = linker.encode(texts)
    linker.quantize = "int8"
    int8 = linker.encode(texts)
    assert linker.quantized._copy is not None and linker.quantized._copy is not linker.encoder
    assert float((fp32 * int8).sum(axis=1).min()) > 0.99  # unit vectors: cosine
    linker.to_disk(tmp_path / "linker")
    reloaded = MeddraLinker().from_disk(tmp_path / "linker")
    numpy.testing.assert_allclose(reloaded.encode(texts), fp32, atol=1e-5)


def test_uninitialized_raises_clear_error():
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_meddra_linker")
    with pytest.raises(ValueError, match="not initialized"):
        nlp("headache")
    with pytest.raises(ValueError, match="needs `trained`"):
        nlp.initialize()


@Language.component("toy_adr_ents")
def toy_adr_ents(doc: Doc) -> Doc:
    """Mark the toy concept names as ADR entities (a stand-in NER)."""
    words = {"headache", "nausea", "alopecia", "insomnia", "dizzy"}
    doc.ents = [Span(doc, t.i, t.i + 1, label="ADR") for t in doc if t.lower_ in words]
    return doc


def _pipeline(kb_path: Path, encoder_dir: Path, head_file: Path, top_k: int = 0) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("toy_adr_ents")
    nlp.add_pipe("adr_meddra_linker", config={"top_k": top_k, "threshold": 0.5})
    nlp.config["initialize"]["components"]["adr_meddra_linker"] = {
        "kb": {"@misc": "spacy-adr.meddra_kb.v1", "path": str(kb_path)},
        "encoder": str(encoder_dir),
        "classifier": str(head_file),
    }
    nlp.initialize()
    return nlp


def test_inside_pipeline_with_nlp_pipe(fixtures_dir, encoder_dir, head_file):
    nlp = _pipeline(fixtures_dir / "meddra" / "llt.tsv", encoder_dir, head_file)
    texts = ["Headache all day", "no side effects", "Alopecia and Insomnia", "Nausea"] * 3
    docs = list(nlp.pipe(texts, batch_size=2))
    assert [[e.kb_id_ for e in d.ents] for d in docs[:4]] == [[HEADACHE], [], [ALOPECIA, INSOMNIA], [NAUSEA]]
    single = nlp("Alopecia and Insomnia")
    assert [(e.kb_id_, e._.link_method) for e in single.ents] == [
        (e.kb_id_, e._.link_method) for e in docs[2].ents
    ]
    # Links survive a DocBin (kb_id_ is a built-in slot).
    restored = list(DocBin(docs=docs, store_user_data=True).get_docs(nlp.vocab))
    assert restored[2].ents[0].kb_id_ == ALOPECIA


def test_serialization_round_trip(tmp_path, fixtures_dir, encoder_dir, head_file):
    import spacy_adr.pipeline.concept_linker  # noqa: F401  (registers the factory)

    nlp = _pipeline(fixtures_dir / "meddra" / "llt.tsv", encoder_dir, head_file, top_k=2)
    nlp.get_pipe("adr_meddra_linker").cfg["trained_threshold"] = 0.42
    texts = ["Headache and dizzy", "Alopecia", "my head hurts nausea"]
    before = [[(e.kb_id_, e._.link_method, round(e._.link_score, 4)) for e in d.ents] for d in nlp.pipe(texts)]
    nlp.to_disk(tmp_path / "pipe")
    assert (tmp_path / "pipe" / "adr_meddra_linker" / "encoder").is_dir()
    loaded = spacy.load(tmp_path / "pipe")
    linker = loaded.get_pipe("adr_meddra_linker")
    assert linker.cfg["trained_threshold"] == pytest.approx(0.42) and linker.cfg["top_k"] == 2
    after = [[(e.kb_id_, e._.link_method, round(e._.link_score, 4)) for e in d.ents] for d in loaded.pipe(texts)]
    assert after == before
    assert len(loaded("Alopecia").ents[0]._.meddra_candidates) == 2


def test_initialize_from_trained_folder(tmp_path, linker):
    linker.cfg["trained_threshold"] = 0.3
    linker.to_disk(tmp_path / "trained")
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_meddra_linker")
    nlp.config["initialize"]["components"]["adr_meddra_linker"] = {"trained": str(tmp_path / "trained")}
    nlp.initialize()
    component = nlp.get_pipe("adr_meddra_linker")
    assert component.threshold == pytest.approx(0.3)
    assert component.cfg["top_k"] == 0  # the pipeline's own config is kept
    assert component.link_texts(["Alopecia"])[0].code == ALOPECIA


def test_added_mentions_are_found_by_the_metric_path(tmp_path, linker):
    # A random encoder puts "so tired of it" nowhere near "Fatigue"; once annotated, it is found.
    assert linker.link_texts(["so tired of it"], threshold=3.0)[0].code != "10016256"
    linker.add_mentions(["so tired of it"], ["10016256"])
    assert linker.n_mentions == 1 and len(linker.index) == len(linker.kb) + 1
    link = linker.link_texts(["so tired of it"], threshold=0.5)[0]
    assert (link.code, link.method) == ("10016256", "metric")
    assert link.distance == pytest.approx(0.0, abs=0.05)
    assert linker.link_texts(["Alopecia"], threshold=0.5)[0].code == ALOPECIA  # names still there
    linker.to_disk(tmp_path / "linker")
    loaded = MeddraLinker().from_disk(tmp_path / "linker")
    assert loaded.n_mentions == 1
    assert loaded.link_texts(["so tired of it"], threshold=0.5)[0].code == "10016256"
    with pytest.raises(ValueError, match="not in the MedDRA KB: \\['99999999'\\]"):
        linker.add_mentions(["blah"], ["99999999"])
    with pytest.raises(ValueError, match="2 mentions for 1 codes"):
        linker.add_mentions(["a", "b"], [HEADACHE])


def test_index_mentions_keeps_one_code_per_text():
    mentions = [
        Mention("Cant sleep", INSOMNIA, "task3"),
        Mention("cant sleep ", "10041017", "task3"),
        Mention("cant sleep", INSOMNIA, "task3"),
        Mention("headache", HEADACHE, "cadec"),
        Mention("migraine", HEADACHE, "task3"),
    ]
    texts, codes = index_mentions(mentions, ["task3"])
    # Lowercased texts merged, the most frequent code kept; other sources left out.
    assert (texts, codes) == (["Cant sleep", "migraine"], [INSOMNIA, HEADACHE])
    assert index_mentions(mentions, []) == ([], [])


def test_map_pt_mentions(kb):
    records = [("feeling sick", "10025482", 1), ("lousy", "10025482", 2), ("blah", "10047899", 3), ("x", "99999999", 4)]
    mentions, how = map_pt_mentions(records, kb, {"10047896": 5})
    # By name, by the most used LLT of the PT, by the PT itself; unknown codes are counted.
    assert [m.code for m in mentions] == ["10016365", "10025482", "10047896"]
    assert how == {"name": 1, "pt": 1, "frequent": 1, "not_in_kb": 1}


def test_metric_training_and_evaluation_rows(kb, encoder_dir, toy_mentions):
    mentions = [Mention(t, c, "task3") for t, c in toy_mentions]
    encoder = train_metric_encoder(mentions, kb, base_model=encoder_dir, epochs=0.5, batch_size=8, progress=False)
    linker = MeddraLinker()
    linker.encoder = encoder
    head = train_classifier(linker.encode([m.text for m in mentions]), [m.code for m in mentions], epochs=50)
    linker.set_parts(kb=kb, encoder=encoder, classifier=head)
    gold = mentions[:5] + [Mention("Alopecia", ALOPECIA, "dev")]
    rows = accuracy_rows(linker, gold, thresholds=[0.0, 0.5])
    variants = [r["variant"] for r in rows]
    assert variants == ["classifier", "metric", "combined@0.00", "combined@0.50"]
    classifier = rows[0]
    assert classifier["n_unseen"] == 1 and classifier["acc1_unseen"] == 0.0
    assert rows[1]["acc1_unseen"] == 1.0
    assert choose_threshold(rows) in (0.0, 0.5)


def test_softmax_loss_joins_the_triplet_fine_tuning(kb, encoder_dir, toy_mentions):
    mentions = [Mention(t, c, "task3") for t, c in toy_mentions]
    texts = [m.text for m in mentions]
    vectors = {}
    for weight in (0.0, 1.0):
        encoder = train_metric_encoder(mentions, kb, base_model=encoder_dir, epochs=1.0, batch_size=8,
                                       class_weight=weight, progress=False)
        vectors[weight] = encoder.encode(texts, normalize_embeddings=True)
    # Same seed, same triplets: only the added softmax loss can move the vectors apart.
    assert not numpy.allclose(vectors[0.0], vectors[1.0], atol=1e-4)
    assert numpy.isfinite(vectors[1.0]).all()


def _toy_docbin(path: Path, rows: List[Tuple[str, str]]) -> None:
    nlp = spacy.blank("en")
    docs = []
    for text, code in rows:
        doc = nlp.make_doc(f"so {text} today")
        doc.ents = [Span(doc, 1, 1 + len(nlp.make_doc(text)), label="ADR", kb_id=code)]
        docs.append(doc)
    DocBin(docs=docs).to_disk(path)


def test_cli_train_and_evaluate(tmp_path, fixtures_dir, encoder_dir, toy_mentions):
    from spacy_adr_builder.cli import app

    _toy_docbin(tmp_path / "train.spacy", toy_mentions)
    _toy_docbin(tmp_path / "dev.spacy", toy_mentions[:6] + [("hair loss", "10019045")])
    runner = CliRunner()
    result = runner.invoke(app, [
        "train-linker", str(tmp_path / "linker"), "--meddra", str(fixtures_dir / "meddra" / "llt.tsv"),
        "--train", str(tmp_path / "train.spacy"), "--dev", str(tmp_path / "dev.spacy"),
        "--base-model", str(encoder_dir), "--epochs", "0.5", "--batch-size", "8",
    ])
    assert result.exit_code == 0, result.output
    metrics = tmp_path / "metrics.json"
    result = runner.invoke(app, ["evaluate-linker", str(tmp_path / "linker"), str(tmp_path / "dev.spacy"), "-o", str(metrics),
                                 "--train", str(tmp_path / "train.spacy")])
    assert result.exit_code == 0, result.output
    rows = json.loads(metrics.read_text())
    by_variant = {r["variant"]: r for r in rows if r["task"] == "linker" and r["split"] == "task3_dev"}
    assert {"classifier", "metric", "combined"} <= set(by_variant)
    assert by_variant["combined"]["n"] == 7 and by_variant["combined"]["n_unseen"] == 1
    # Six dev tweets are train tweets: only "so hair loss today" is new.
    new = {r["variant"]: r for r in rows if r.get("split") == "task3_dev_new_tweets"}
    assert set(new) == {"classifier", "metric", "combined"}
    assert new["combined"]["n"] == 1 and new["combined"]["threshold"] == by_variant["combined"]["threshold"]
    speed = [r for r in rows if r["task"] == "speed"][0]
    # The 22 LLT names and the 17 distinct train mentions (`--memory task3`, the default).
    assert speed["n_names"] == 22 + 17 and speed["mentions_per_s"] > 0
    result = runner.invoke(app, [
        "train-linker", str(tmp_path / "names-only"), "--meddra", str(fixtures_dir / "meddra" / "llt.tsv"),
        "--train", str(tmp_path / "train.spacy"), "--dev", str(tmp_path / "dev.spacy"),
        "--base-model", str(encoder_dir), "--epochs", "0", "--memory", "none",
    ])
    assert result.exit_code == 0, result.output
    assert len(MeddraLinker().from_disk(tmp_path / "names-only").index) == 22
    result = runner.invoke(app, [
        "train-linker", str(tmp_path / "bad"), "--meddra", str(fixtures_dir / "meddra" / "llt.tsv"),
        "--train", str(tmp_path / "train.spacy"), "--dev", str(tmp_path / "dev.spacy"), "--memory", "task3,tweets",
    ])
    assert result.exit_code == 1 and "Unknown mention sources ['tweets']" in result.output


def test_end_to_end_evaluation(tmp_path, fixtures_dir, encoder_dir, head_file):
    from spacy_adr_builder.evaluation.ner import evaluate_ner

    nlp = _pipeline(fixtures_dir / "meddra" / "llt.tsv", encoder_dir, head_file)
    gold = {  # the file's own offsets and codes, as the Task 3 reader stores them
        "Headache all day": [(0, 8, HEADACHE)],
        "Alopecia and Insomnia": [(0, 8, ALOPECIA), (13, 21, NAUSEA)],  # 2nd: right span, other code
        "no side effects": [(0, 2, INSOMNIA)],  # a mention the stand-in NER misses
    }
    docs = []
    for text, spans in gold.items():
        doc = nlp.make_doc(text)
        doc.user_data["gold_spans"] = tuple(spans)
        docs.append(doc)
    DocBin(docs=docs, store_user_data=True).to_disk(tmp_path / "gold.spacy")
    scores = evaluate_ner(nlp, tmp_path / "gold.spacy", linked=True)
    assert (scores["ner"]["strict_p"], scores["ner"]["strict_r"]) == (1.0, 0.75)
    assert scores["e2e"]["relaxed_p"] == pytest.approx(2 / 3)
    assert scores["e2e"]["relaxed_r"] == pytest.approx(2 / 4)
    assert scores["e2e"]["n"] == 3
    nlp.remove_pipe("adr_meddra_linker")
    with pytest.raises(ValueError, match="need a linker"):
        evaluate_ner(nlp, tmp_path / "gold.spacy", linked=True)


def test_benchmark_times_each_component_and_the_linker(fixtures_dir, encoder_dir, head_file):
    from spacy_adr_builder.evaluation.benchmark import _time_components

    nlp = _pipeline(fixtures_dir / "meddra" / "llt.tsv", encoder_dir, head_file)
    timings = _time_components(nlp, ["Headache all day", "no side effects", "Alopecia and Insomnia"], 2)
    assert set(timings) == {"seconds_tokenizer", "seconds_toy_adr_ents", "seconds_adr_meddra_linker",
                            "linker_mentions", "linker_mentions_per_s"}
    assert timings["linker_mentions"] == 3 and timings["linker_mentions_per_s"] > 0


def test_remembered_links_are_the_same_and_cost_no_encoding(linker, monkeypatch):
    texts = ["headache", "sick to my stomach", "headache", "hair falling out", "headache"]
    fresh = linker.link_texts(texts)
    encoded: List[List[str]] = []
    encode = linker.encode
    monkeypatch.setattr(linker, "encode", lambda batch: encoded.append(list(batch)) or encode(batch))
    linker.cache_size = 2
    assert linker.link_remembered(texts) == fresh
    assert encoded == [["headache", "sick to my stomach", "hair falling out"]]  # each text once
    assert list(linker._cache) == ["sick to my stomach", "hair falling out"]  # the last two
    assert linker.link_remembered(["hair falling out", "headache"]) == [fresh[3], fresh[0]]
    assert encoded[1:] == [["headache"]]  # only the forgotten one
    # A new threshold changes answers: nothing remembered is used
    linker.cfg["threshold"] = 0.0
    assert [link.method for link in linker.link_remembered(["headache"])] == ["classifier"]
    assert encoded[2:] == [["headache"]]
    # 0 remembers nothing; a negative size is an error
    linker.cache_size = 0
    linker.link_remembered(["headache"])
    assert encoded[3:] == [["headache"]] and len(linker._cache) == 1
    with pytest.raises(ValueError, match="cache_size"):
        MeddraLinker(cache_size=-1)
