"""Distillation: teachers label silver tweets, and the reader never lets a dev tweet in; a
teacher classifier's soft labels."""
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from typer.testing import CliRunner

from spacy_adr.cli import app
from spacy_adr.corpora.silver import (
    SILVER_KEY, distill_corpus_v1, gold_categories, label_silver, label_soft, silver_texts,
)


def ruler_teacher(*phrases):
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "ADR", "pattern": p} for p in phrases])
    return nlp


def docbin(path, texts, cats=None, ents=None):
    nlp = spacy.blank("en")
    docs = []
    for i, text in enumerate(texts):
        doc = nlp.make_doc(text)
        if cats:
            doc.cats = {"ADR": cats[i]}
        if ents:
            doc.ents = [doc.char_span(s, e, label="ADR") for s, e in ents[i]]
        docs.append(doc)
    DocBin(docs=docs, store_user_data=True).to_disk(path)
    return path


def test_teachers_vote_on_silver_spans():
    a = ruler_teacher("headache", "bad sleep")
    b = ruler_teacher("headache")
    texts = ["seroquel gave me a headache and bad sleep", "lovely day at the beach"]
    docs, counts = label_silver([a, b], texts, min_votes=2)
    assert [(e.text, e.label_) for e in docs[0].ents] == [("headache", "ADR")]
    assert docs[0].user_data[SILVER_KEY] is True
    assert len(docs) == 1 and counts["texts"] == 2 and counts["spans"] == 1
    docs, _ = label_silver([a, b], texts, min_votes=1, keep_empty=True)
    assert [len(d.ents) for d in docs] == [2, 0]
    assert all(t.ent_iob_ in "BIO" and t.ent_iob_ for t in docs[1])  # known empty, not missing


def test_silver_texts_leave_dev_out_and_keep_a_category(tmp_path):
    train = docbin(tmp_path / "train.spacy", ["my head hurts all day", "great game last night",
                                              "this drug made me dizzy"], cats=[1.0, 0.0, 1.0])
    dev = docbin(tmp_path / "dev.spacy", ["This drug made me   dizzy"])
    assert silver_texts([train], [dev], category="ADR") == ["my head hurts all day"]
    assert len(silver_texts([train], [], limit=2)) == 2
    text_file = tmp_path / "tweets.txt"
    text_file.write_text("my head hurts all day\n", encoding="utf8")
    with pytest.raises(ValueError, match="needs .spacy corpora"):
        silver_texts([text_file], [], category="ADR")


def test_the_reader_never_yields_a_dev_tweet(tmp_path):
    gold = docbin(tmp_path / "gold.spacy", ["gold tweet one", "gold tweet two"], ents=[[], [(0, 4)]])
    silver = docbin(tmp_path / "silver.spacy", ["silver about nausea", "the dev tweet itself",
                                                "silver with rash"], ents=[[(13, 19)], [(4, 7)], [(12, 16)]])
    dev = docbin(tmp_path / "dev.spacy", ["THE dev tweet itself"])
    nlp = spacy.blank("en")
    read = distill_corpus_v1([gold], silver=[silver], exclude=[dev], silver_ratio=5.0)
    for _ in range(3):
        texts = [eg.reference.text for eg in read(nlp)]
        assert texts[:2] == ["gold tweet one", "gold tweet two"]
        assert sorted(texts[2:]) == ["silver about nausea", "silver with rash"]
    read = distill_corpus_v1([gold], silver=[silver], exclude=[dev], silver_ratio=0.5)
    assert len(list(read(nlp))) == 3
    with pytest.raises(ValueError, match="corpus not found: .*missing.spacy"):
        distill_corpus_v1([gold], silver=[tmp_path / "missing.spacy"])


def test_cli_writes_silver_docs(tmp_path):
    teacher = ruler_teacher("headache")
    teacher.to_disk(tmp_path / "teacher")
    source = docbin(tmp_path / "tweets.spacy", ["a headache again", "sunny", "headache from lyrica"])
    dev = docbin(tmp_path / "dev.spacy", ["headache from lyrica"])
    out = tmp_path / "silver.spacy"
    args = ["label-silver", str(out), "--teacher", str(tmp_path / "teacher"), "--from", str(source),
            "--exclude", str(dev)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    docs = list(DocBin().from_disk(out).get_docs(spacy.blank("en").vocab))
    assert [d.text for d in docs] == ["a headache again"] and docs[0].user_data[SILVER_KEY]


@Language.component("adr_test_dizzy_classifier")
def dizzy_classifier(doc):
    doc.cats = {"ADR": 0.8 if "dizzy" in doc.text else 0.2}
    return doc


def classifier_teacher():
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_test_dizzy_classifier")
    return nlp


def test_soft_labels_mix_gold_and_teacher(tmp_path):
    train = docbin(tmp_path / "train.spacy", ["this drug made me dizzy", "great game last night",
                                              "my head hurts all day"], cats=[1.0, 0.0, 1.0])
    gold = gold_categories([train])
    assert len(gold) == 3
    texts = ["this drug made me dizzy", "great game last night", "my head hurts all day", "dizzy again"]
    docs, counts = label_soft(classifier_teacher(), texts, gold, gold_weight=0.25)
    assert [round(d.cats["ADR"], 3) for d in docs] == [0.85, 0.15, 0.4, 0.8]
    assert counts["with_gold"] == 3 and counts["teacher_positive"] == 2
    assert counts["agreement_with_gold"] == round(2 / 3, 4)
    docs, _ = label_soft(classifier_teacher(), texts, gold, gold_weight=1.0)
    assert [d.cats["ADR"] for d in docs[:3]] == [1.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="gold_weight"):
        label_soft(classifier_teacher(), texts, gold, gold_weight=2.0)


def test_cli_writes_soft_labels_without_dev_tweets(tmp_path):
    classifier_teacher().to_disk(tmp_path / "teacher")
    train = docbin(tmp_path / "train.spacy", ["this drug made me dizzy", "great game last night"], cats=[1.0, 0.0])
    dev = docbin(tmp_path / "dev.spacy", ["great game last night"])
    out = tmp_path / "soft.spacy"
    args = ["label-soft", str(out), "--teacher", str(tmp_path / "teacher"), "--from", str(train),
            "--exclude", str(dev), "--gold-weight", "0", "--summary", str(tmp_path / "soft.json")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    docs = list(DocBin().from_disk(out).get_docs(spacy.blank("en").vocab))
    assert [(d.text, d.cats) for d in docs] == [("this drug made me dizzy", {"ADR": 0.8})]
    assert (tmp_path / "soft.json").exists()


def test_a_classifier_trains_on_soft_labels_only_when_asked():
    from spacy.training import Example

    from spacy_adr.training.soft_labels import soft_labels_v1

    nlp = spacy.blank("en")
    nlp.add_pipe("textcat_multilabel", name="textcat")
    examples = [Example(nlp.make_doc(t), nlp.make_doc(t)) for t in ("so dizzy from this", "nice day")]
    for eg, p in zip(examples, (0.8, 0.1)):
        eg.reference.cats = {"ADR": p}
    with pytest.raises(ValueError, match="E851"):
        nlp.initialize(lambda: examples)
    soft_labels_v1(["textcat"])(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(30):
        nlp.update(examples, sgd=optimizer)
    assert nlp("so dizzy from this").cats["ADR"] > nlp("nice day").cats["ADR"]
    examples[0].reference.cats = {"ADR": 1.5}
    with pytest.raises(ValueError, match="outside"):
        nlp.update(examples, sgd=optimizer)
    with pytest.raises(ValueError, match="no component 'ner'"):
        soft_labels_v1(["ner"])(nlp)
