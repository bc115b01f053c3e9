import os
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from spacy.training import Example

from spacy_adr.errors import ConversionReport, InputError
from spacy_adr_builder.corpora.smm4h_task2 import convert_task2, read_task2

FIXTURES = Path(__file__).parent / "fixtures" / "smm4h_task2"


def read(path, lang="en"):
    report = ConversionReport(source="test")
    docs = list(read_task2(path, spacy.blank(lang), report))
    return docs, report


def test_en_train_labels_and_raw_text():
    docs, report = read(FIXTURES / "en" / "train.tsv")
    assert report.records == report.docs == len(docs) == 5
    assert not report.problems
    assert [d.cats["ADR"] for d in docs] == [0.0, 1.0, 0.0, 0.0, 1.0]
    assert docs[1].cats == {"ADR": 1.0, "NoADR": 0.0}
    assert docs[0].cats == {"ADR": 0.0, "NoADR": 1.0}
    # Raw fields: CSV quotes and edge whitespace stay.
    assert docs[1].text == '"this cipro makes me ""dizzy"" all day"'
    assert docs[2].text == "  is adderall the same as vyvanse? "
    # Repeated rows are kept, as the official counts include them.
    assert docs[2].user_data["id"] == docs[3].user_data["id"] == "300000000000000003"
    assert docs[0].user_data == {"id": "300000000000000001", "user_id": "11111"}


def test_en_test_has_no_labels():
    docs, report = read(FIXTURES / "en" / "test.tsv")
    assert report.docs == 2
    assert all(d.cats == {} for d in docs)
    assert docs[1].text == '"Doctor said ""take two"" so I did"'
    assert docs[0].user_data["created_at"] == "2018-05-25 14:08:11"


def test_ru_crlf_column_order_and_line_separator():
    raw = (FIXTURES / "ru" / "train.tsv").read_bytes()
    assert b"\r\n" in raw and not raw.endswith(b"\n") and "\u2028".encode("utf8") in raw
    docs, report = read(FIXTURES / "ru" / "train.tsv", "ru")
    # U+2028 inside a tweet is not a line end: three records, not four.
    assert report.records == report.docs == 3
    assert [d.cats["ADR"] for d in docs] == [1.0, 0.0, 0.0]
    assert docs[1].text == "строчка одна\u2028строчка две про аспирин"
    assert not docs[0].text.endswith("\r")
    docs, _ = read(FIXTURES / "ru" / "test.tsv", "ru")
    assert len(docs) == 1 and docs[0].cats == {}
    assert docs[0].user_data == {"id": "400000000000000011"}


def test_convert_task2_infers_lang_from_folder(tmp_path):
    report = convert_task2(FIXTURES / "ru" / "train.tsv", tmp_path / "ru_train.spacy")
    assert report.docs == 3
    doc_bin = DocBin().from_disk(tmp_path / "ru_train.spacy")
    docs = list(doc_bin.get_docs(spacy.blank("ru").vocab))
    assert docs[0].cats == {"ADR": 1.0, "NoADR": 0.0}
    assert docs[0].user_data["id"] == "400000000000000001"
    convert_task2(FIXTURES / "en" / "test.tsv", tmp_path, lang="en")
    assert (tmp_path / "test.spacy").exists()


def test_convert_task2_unknown_lang_folder(tmp_path):
    path = tmp_path / "data" / "train.tsv"
    path.parent.mkdir()
    path.write_text("tweet_id\ttweet\tclass\n1\tsome tweet\t0\n", encoding="utf8")
    with pytest.raises(ValueError, match="give lang"):
        convert_task2(path, tmp_path / "out.spacy")


def test_registered_reader_yields_examples():
    reader_factory = spacy.registry.readers.get("spacy-adr.Task2Corpus.v1")
    examples = list(reader_factory(FIXTURES / "en" / "train.tsv", lang="en")(spacy.blank("en")))
    assert len(examples) == 5
    assert all(isinstance(eg, Example) for eg in examples)
    assert examples[1].reference.cats == {"ADR": 1.0, "NoADR": 0.0}
    assert examples[1].predicted.cats == {}
    config = {
        "corpus": {
            "@readers": "spacy-adr.Task2Corpus.v1",
            "path": str(FIXTURES / "ru" / "train.tsv"), "lang": "ru", "limit": 2,
        }
    }
    corpus = spacy.util.registry.resolve(config)["corpus"]
    assert len(list(corpus(spacy.blank("xx")))) == 2


# --- malformed input: every error names the file and the line -------------------------------


def write(tmp_path, text):
    path = tmp_path / "bad.tsv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf8"))
    return path


def assert_input_error(path, line, words):
    with pytest.raises(InputError) as err:
        read(path)
    assert err.value.path == str(path) and err.value.line == line
    assert f"{path}:{line}:" in str(err.value)
    assert words in err.value.problem


@pytest.mark.parametrize("value", ["2", "", "yes", "0.5"])
def test_class_other_than_0_or_1(tmp_path, value):
    path = write(tmp_path, f"tweet_id\tuser_id\tclass\ttweet\n1\t9\t0\tfine\n2\t9\t{value}\tbad\n")
    assert_input_error(path, 3, "neither 0 nor 1")


def test_short_row(tmp_path):
    path = write(tmp_path, "tweet_id\ttweet\tclass\n1\tfine\t0\n2\tno class\n")
    assert_input_error(path, 3, "2 fields, the header names 3")


def test_tab_inside_tweet(tmp_path):
    path = write(tmp_path, "tweet_id\ttweet\tclass\n1\tone\ttwo\t0\n")
    assert_input_error(path, 2, "4 fields")


def test_empty_trailing_columns_are_fine(tmp_path):
    docs, report = read(write(tmp_path, "tweet_id\ttweet\tclass\n1\tone\t1\t\t\n"))
    assert len(docs) == 1 and docs[0].cats["ADR"] == 1.0


def test_undecodable_bytes(tmp_path):
    path = write(tmp_path, b"tweet_id\ttweet\tclass\r\n1\tok\t0\r\n2\tcaf\xe9\t0\r\n")
    assert_input_error(path, 3, "not UTF-8")


def test_empty_tweet(tmp_path):
    path = write(tmp_path, "tweet_id\ttweet\tclass\n1\t  \t0\n")
    assert_input_error(path, 2, "empty tweet")


def test_header_without_tweet_column(tmp_path):
    path = write(tmp_path, "id\ttext\tlabel\n1\tsome tweet\t0\n")
    assert_input_error(path, 1, "header lacks")


def test_blank_line_is_reported(tmp_path):
    docs, report = read(write(tmp_path, "tweet_id\ttweet\n1\tone\n\n2\ttwo\n"))
    assert len(docs) == 2
    assert [(p.line, p.problem) for p in report.problems] == [(3, "blank line skipped")]


@pytest.mark.data
@pytest.mark.skipif(not os.environ.get("SPACY_ADR_DATA"), reason="needs SPACY_ADR_DATA")
@pytest.mark.parametrize(
    "lang,split,n,pos",
    [
        ("en", "train", 20544, 1903), ("en", "dev", 5134, 474), ("en", "test", 4759, None),
        ("ru", "train", 6090, 533), ("ru", "dev", 1522, 133), ("ru", "test", 1903, None),
        ("fr", "train", 1941, 31), ("fr", "dev", 485, 8), ("fr", "test", 607, None),
    ],
)
def test_real_data_counts(lang, split, n, pos):
    folder = Path(os.environ["SPACY_ADR_DATA"]) / "smm4h2020_task2_classification"
    path = folder / lang / f"{split}.tsv"
    report = ConversionReport(source="test")
    nlp = spacy.blank(lang)
    positives = labelled = 0
    for doc in read_task2(path, nlp, report):
        labelled += bool(doc.cats)
        positives += doc.cats.get("ADR", 0.0) == 1.0
    assert report.docs == n and not report.problems
    if pos is None:
        assert labelled == 0
    else:
        assert labelled == n and positives == pos
