"""Distillation data: soft tweet labels and the teacher's spans on the right tweets only."""
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span

from spacy_adr_builder.corpora.distill import DISTILLED_KEY, label_distill, read_texts, save_docs

# The fake teacher: probability 0.9 and the span "headache" wherever the word appears,
# probability 0.2 and no span elsewhere; its threshold is 0.5 (none set).
TEACHER = "test_distill_teacher"


@Language.component(TEACHER)
def _teacher(doc: Doc) -> Doc:
    heads = [token for token in doc if token.lower_ == "headache"]
    doc.cats = {"ADR": 0.9 if heads else 0.2}
    doc.ents = [Span(doc, token.i, token.i + 1, label="ADR") for token in heads]
    return doc


@pytest.fixture
def teacher():
    nlp = spacy.blank("en")
    nlp.add_pipe(TEACHER)
    return nlp


def _corpus(tmp_path, name, items):
    nlp = spacy.blank("en")
    docs = []
    for text, gold in items:
        doc = nlp.make_doc(text)
        if gold is not None:
            doc.cats = {"ADR": gold, "NoADR": 1.0 - gold}
        docs.append(doc)
    path = tmp_path / f"{name}.spacy"
    DocBin(docs=docs).to_disk(path)
    return path


def test_label_distill_soft_targets_and_spans(tmp_path, teacher):
    train = _corpus(tmp_path, "train", [
        ("this drug gave me a headache", 1.0),   # gold ADR, teacher spans: kept
        ("no headache at all today", 0.0),       # gold NoADR: teacher's span dropped
        ("i feel sick after it", 1.0),           # gold ADR, no teacher span: entities missing
        ("a dev tweet with a headache", 1.0),    # in dev: left out
    ])
    test = _corpus(tmp_path, "test", [("headache again", None), ("fine today", None)])
    dev = _corpus(tmp_path, "dev", [("A dev tweet with a headache", 1.0)])
    docs, counts = label_distill(teacher, read_texts([train, test]), exclude=[dev])
    by_text = {doc.text: doc for doc in docs}
    assert counts["texts"] == 6 and counts["left_out"] == 1 and counts["with_gold"] == 3
    assert set(by_text) == {"this drug gave me a headache", "no headache at all today",
                            "i feel sick after it", "headache again", "fine today"}
    assert by_text["this drug gave me a headache"].cats["ADR"] == 1.0
    assert [e.text for e in by_text["this drug gave me a headache"].ents] == ["headache"]
    assert by_text["no headache at all today"].cats["ADR"] == 0.0
    assert not by_text["no headache at all today"].has_annotation("ENT_IOB")
    assert not by_text["i feel sick after it"].has_annotation("ENT_IOB")
    # Without gold the teacher decides (at its threshold, 0.5 when it has none)
    assert by_text["headache again"].cats["ADR"] == 1.0
    assert by_text["fine today"].cats["ADR"] == 0.0
    assert [e.text for e in by_text["headache again"].ents] == ["headache"]
    assert not by_text["fine today"].has_annotation("ENT_IOB")
    assert counts["with_spans"] == 2 and counts["spans"] == 2

    path = tmp_path / "distill.spacy"
    save_docs(docs, path)
    loaded = list(DocBin().from_disk(path).get_docs(teacher.vocab))
    assert [doc.text for doc in loaded] == [doc.text for doc in docs]
    assert all(doc.user_data[DISTILLED_KEY] for doc in loaded)
    assert loaded[0].ents[0].text == "headache"
