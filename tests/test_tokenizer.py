import pytest
import spacy

from spacy_adr.tokenizer import make_blank


@pytest.fixture(scope="module")
def nlp():
    return make_blank("en")


@pytest.mark.parametrize(
    "text,tokens",
    [
        ("mouth&amp;fatigue", ["mouth", "&amp;", "fatigue"]),
        ("&amp;addiction", ["&amp;", "addiction"]),
        ("angry.please stop", ["angry", ".", "please", "stop"]),
        ("xr?discontinuation", ["xr", "?", "discontinuation"]),
        ("sweatin?#schoollife", ["sweatin", "?", "#schoollife"]),
        ("-dry mouth", ["-", "dry", "mouth"]),
        ("mi*passes out", ["mi", "*", "passes", "out"]),
    ],
)
def test_tweet_tokenizer_splits_glued_words(nlp, text, tokens):
    assert [t.text for t in nlp(text)] == tokens


@pytest.mark.parametrize(
    "text,tokens",
    [
        ("see http://t.co/abc.def ok", ["see", "http://t.co/abc.def", "ok"]),
        ("www.google.com and bit.ly/xyz", ["www.google.com", "and", "bit.ly/xyz"]),
        ("e.g. this", ["e.g.", "this"]),
        ("2.5mg", ["2.5", "mg"]),
        ("@user_1 :)", ["@user_1", ":)"]),
    ],
)
def test_tweet_tokenizer_keeps_urls_numbers_and_abbreviations(nlp, text, tokens):
    assert [t.text for t in nlp(text)] == tokens


def test_tweet_tokenizer_by_config_and_round_trip(tmp_path):
    config = {"nlp": {"tokenizer": {"@tokenizers": "spacy-adr.TweetTokenizer.v1"}}}
    nlp = spacy.blank("en", config=config)
    nlp.to_disk(tmp_path)
    reloaded = spacy.load(tmp_path)
    text = "skin&amp;joint pain.then more"
    assert [t.text for t in reloaded(text)] == [t.text for t in nlp(text)]
    assert reloaded(text).text == text
