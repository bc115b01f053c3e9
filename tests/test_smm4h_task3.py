import os
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from spacy.training import Example

from spacy_adr.errors import ConversionReport, InputError
from spacy_adr_builder.corpora.smm4h_task3 import convert_task3, read_task3

FIXTURES = Path(__file__).parent / "fixtures" / "smm4h_task3"
TRAIN = FIXTURES / "task3_training_sample.tsv"
DEV = FIXTURES / "task3_validation_sample.tsv"
HEADER = "tweet_id\tbegin\tend\ttype\textraction\tdrug\ttweet\tmeddra_code\tmeddra_term"


@pytest.fixture(scope="module")
def nlp():
    return spacy.blank("en")


def read(path, nlp):
    report = ConversionReport(source="test")
    docs = list(read_task3(path, nlp, report))
    return docs, report


def ents(doc):
    return [(e.start_char, e.end_char, e.label_, e.kb_id_, e._.meddra_term) for e in doc.ents]


def spans(doc):
    return [(s.start_char, s.end_char, s.kb_id_) for s in doc.spans["sc"]]


def problems_at(report, line):
    return [p.problem for p in report.problems if p.line == line]


def test_fixture_has_the_real_quirks():
    raw = TRAIN.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") == 10
    assert all(line.count(b"\t") == 53 for line in raw.splitlines())


def test_read_training_sample_counts(nlp):
    docs, report = read(TRAIN, nlp)
    assert report.records == 9
    assert report.docs == len(docs) == 5
    # 8 span rows, the unmatched extraction of tweet 5 is the only one left out.
    assert report.spans == 8
    assert report.spans_aligned == 7
    assert [d.user_data["id"] for d in docs] == [f"10000000000000000{i}" for i in range(1, 6)]


def test_tweet_without_adr(nlp):
    doc = read(TRAIN, nlp)[0][0]
    assert doc.text == "took ibuprofen for my knee, back to the gym tomorrow"
    assert not doc.ents and not doc.spans["sc"]
    assert doc.user_data["drug"] == "ibuprofen"


def test_quoted_tweet_offsets_count_the_quotes(nlp):
    docs, report = read(TRAIN, nlp)
    doc = docs[1]
    # doc.text is the raw field, CSV quotes included, and offsets point into it.
    assert doc.text.startswith('"my doc') and '""sleep""' in doc.text
    assert doc.text[63:71] == "so tired"
    # "So Tired" differs only in case (the tweets are lowercased): accepted without a problem.
    assert (63, 71, "10016256") in spans(doc)
    # The quoted extraction '"14 hours a day, so tired"' matches once unquoted: kept, reported.
    assert (47, 71, "10041017") in spans(doc)
    assert any("CSV-quoted" in p for p in problems_at(report, 4))
    # The two overlap: the longer one is the entity, the shorter one is reported.
    assert ents(doc) == [(47, 71, "ADR", "10041017", "sleeping excessive")]
    assert any("overlaps a longer one" in p for p in problems_at(report, 3))


def test_non_consecutive_rows_overlap_and_repeated_span(nlp):
    docs, report = read(TRAIN, nlp)
    doc = docs[2]
    assert doc.user_data["id"] == "100000000000000003"
    # Rows on lines 5, 7, 8 and 9 (line 6 is another tweet) make one Doc.
    assert spans(doc) == [(14, 32, "10003988"), (23, 32, "10023477"), (41, 49, "10019211")]
    assert [e.text for e in doc.ents] == ["back and knee pain", "headache"]
    assert doc.ents[1]._.meddra_term == "headache"
    assert doc.user_data["drug"] == "humira"
    assert doc.user_data["drugs"] == ("humira", "mtx")
    # The file's own offsets, each once, for strict scoring.
    assert doc.user_data["gold_spans"] == (
        (14, 32, "10003988"), (23, 32, "10023477"), (41, 49, "10019211")
    )
    # The headache row repeated for a second drug is merged, and said so.
    assert any("repeats line 8" in p and "merged" in p for p in problems_at(report, 9))
    assert any("overlaps a longer one" in p for p in problems_at(report, 5))


def test_span_inside_token_is_widened_and_reported(nlp):
    docs, report = read(TRAIN, nlp)
    doc = docs[3]
    assert doc.ents[0].text == "nauseaaa"
    assert doc.text.endswith("\U0001F629 café closed")
    assert any("widened" in p for p in problems_at(report, 6))


def test_mismatching_extraction_is_reported_not_dropped_silently(nlp):
    docs, report = read(TRAIN, nlp)
    doc = docs[4]
    assert not doc.ents
    mismatches = [p for p in report.problems if p.line == 10]
    assert len(mismatches) == 1
    assert mismatches[0].text == "upset tummy"
    assert mismatches[0].path == str(TRAIN)


def test_validation_style_file_lf_nine_columns(nlp):
    docs, report = read(DEV, nlp)
    assert report.records == report.docs == 2
    assert report.spans == report.spans_aligned == 1
    assert ents(docs[0]) == [(20, 24, "ADR", "10037844", "rash")]
    assert docs[1].text == 'zoloft week 2 and no more "brain fog"'
    assert not report.problems


def test_convert_task3(tmp_path):
    report = convert_task3(TRAIN, tmp_path / "out.spacy")
    assert report.docs == 5
    docs = list(DocBin().from_disk(tmp_path / "out.spacy").get_docs(spacy.blank("en").vocab))
    assert len(docs) == 5
    assert docs[1].text.startswith('"my doc')
    assert docs[2].ents[1].kb_id_ == "10019211"
    assert docs[2].ents[1]._.meddra_term == "headache"
    assert docs[2].user_data["drugs"] == ("humira", "mtx")
    # A folder as output receives <stem>.spacy.
    convert_task3(DEV, tmp_path / "corpus")
    assert (tmp_path / "corpus" / "task3_validation_sample.spacy").exists()


def test_registered_reader_yields_examples():
    reader_factory = spacy.registry.readers.get("spacy-adr.Task3Corpus.v1")
    nlp = spacy.blank("en")
    examples = list(reader_factory(TRAIN)(nlp))
    assert len(examples) == 5
    assert all(isinstance(eg, Example) for eg in examples)
    assert [e.text for e in examples[2].reference.ents] == ["back and knee pain", "headache"]
    assert examples[2].predicted.text == examples[2].reference.text
    assert not examples[2].predicted.ents
    # Resolved from a config block, as `spacy train` does, with a limit.
    config = {"corpus": {"@readers": "spacy-adr.Task3Corpus.v1", "path": str(DEV), "limit": 1}}
    corpus = spacy.util.registry.resolve(config)["corpus"]
    assert len(list(corpus(nlp))) == 1


# --- malformed input: every error names the file and the line -------------------------------


def write(tmp_path, lines, *, end="\r\n"):
    path = tmp_path / "bad.tsv"
    path.write_bytes(end.join([HEADER] + lines).encode("utf8") + end.encode("utf8"))
    return path


def row(tweet_id="1", begin="", end="", type_="", extraction="", drug="x", tweet="a tweet"):
    return "\t".join([tweet_id, begin, end, type_, extraction, drug, tweet, "", ""])


def assert_input_error(path, nlp, line, words):
    with pytest.raises(InputError) as err:
        read(path, nlp)
    assert err.value.line == line
    assert err.value.path == str(path)
    assert str(path) in str(err.value) and f":{line}:" in str(err.value)
    assert words in err.value.problem


def test_short_row(tmp_path, nlp):
    path = write(tmp_path, [row(), "2\t\t\t\t\tx"])
    assert_input_error(path, nlp, 3, "fields")


def test_non_integer_offsets(tmp_path, nlp):
    path = write(tmp_path, [row(begin="3", end="x7", type_="ADR", extraction="weet")])
    assert_input_error(path, nlp, 2, "not integers")


def test_span_with_only_one_offset(tmp_path, nlp):
    path = write(tmp_path, [row(begin="3", type_="ADR", extraction="weet")])
    assert_input_error(path, nlp, 2, "not integers")


def test_undecodable_bytes(tmp_path, nlp):
    path = tmp_path / "bad.tsv"
    good = (HEADER + "\r\n" + row() + "\r\n").encode("utf8")
    path.write_bytes(good + row(tweet="caf\xe9").encode("latin-1") + b"\r\n")
    assert_input_error(path, nlp, 3, "not UTF-8")


def test_empty_tweet(tmp_path, nlp):
    path = write(tmp_path, [row(), row(tweet_id="2", tweet=" ")])
    assert_input_error(path, nlp, 3, "empty tweet")


def test_same_tweet_with_different_text(tmp_path, nlp):
    path = write(tmp_path, [row(), row(tweet_id="2"), row(tweet="another tweet")], end="\n")
    assert_input_error(path, nlp, 4, "different text than on line 2")


def test_missing_header_column(tmp_path, nlp):
    path = tmp_path / "bad.tsv"
    path.write_text("tweet_id\tbegin\tend\ttweet\n1\t\t\tsome tweet\n", encoding="utf8")
    assert_input_error(path, nlp, 1, "header lacks")


def test_empty_file(tmp_path, nlp):
    path = tmp_path / "bad.tsv"
    path.write_bytes(b"")
    assert_input_error(path, nlp, 1, "no header")


def test_offsets_outside_text_are_reported(tmp_path, nlp):
    path = write(tmp_path, [row(begin="2", end="40", type_="ADR", extraction="tweet")])
    docs, report = read(path, nlp)
    assert len(docs) == 1 and report.spans == 1 and report.spans_aligned == 0
    assert "outside text" in report.problems[0].problem and report.problems[0].line == 2


def test_blank_line_and_extra_columns_are_reported(tmp_path, nlp):
    path = write(tmp_path, [row() + "\tstray note", "", row(tweet_id="2")])
    docs, report = read(path, nlp)
    assert report.records == report.docs == 2
    assert [(p.line, p.problem) for p in report.problems] == [
        (2, "non-empty extra column(s) ignored"), (3, "blank line skipped")
    ]


@pytest.mark.data
@pytest.mark.skipif(not os.environ.get("SPACY_ADR_DATA"), reason="needs SPACY_ADR_DATA")
@pytest.mark.parametrize(
    "name,tweets,spans,codes",
    [("task3_training.tsv", 1862, 1464, 416), ("task3_validation.tsv", 428, 365, 183)],
)
def test_real_data_counts(nlp, name, tweets, spans, codes):
    path = Path(os.environ["SPACY_ADR_DATA"]) / "smm4h2020_task3_en" / name
    docs, report = read(path, nlp)
    assert report.docs == tweets
    assert report.spans == spans
    # Only the two quoted extractions that do not match even unquoted are left out.
    assert report.spans_aligned >= spans - 2
    found = {s.kb_id_ for doc in docs for s in doc.spans["sc"]}
    assert codes - 1 <= len(found) <= codes
