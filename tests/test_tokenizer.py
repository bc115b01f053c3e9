import pickle

import pytest
import spacy
from spacy.tokenizer import Tokenizer

from spacy_adr.tokenizer import TweetTokenizer, make_blank


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


def cleaned(text):
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


@pytest.mark.parametrize(
    "text,tokens",
    [
        ("\ud83d", ["\ufffd"]),
        ("pain \ud83d here", ["pain", "\ufffd", "here"]),
        ("pa\ud83din", ["pa", "\ufffd", "in"]),
        ("pain \ud83d", ["pain", "\ufffd"]),
        ("a \ud83dx b", ["a", "\ufffd", "x", "b"]),  # a high surrogate, then not a low one
        ("x \ud83d\ude00 y", ["x", "\ufffd", "\ufffd", "y"]),  # a pair json.loads did not join
        ("\udfff\ud800&amp;ok", ["\ufffd", "\ufffd", "&amp;", "ok"]),
    ],
)
def test_tweet_tokenizer_replaces_lone_surrogates_one_for_one(nlp, text, tokens):
    # spaCy's own tokenizer raises UnicodeEncodeError on these (it interns strings as UTF-8).
    doc = nlp(text)
    assert [t.text for t in doc] == tokens
    assert doc.text == cleaned(text) and len(doc.text) == len(text)
    assert [d.text for d in nlp.pipe([text, "fine"])] == [cleaned(text), "fine"]
    assert [t.text for t in next(nlp.tokenizer.pipe([text]))] == tokens


def test_tweet_tokenizer_is_spacys_on_other_texts(nlp):
    tokenizer = nlp.tokenizer
    assert isinstance(tokenizer, TweetTokenizer) and isinstance(tokenizer, Tokenizer)
    plain = Tokenizer(
        nlp.vocab, rules=tokenizer.rules, prefix_search=tokenizer.prefix_search,
        suffix_search=tokenizer.suffix_search, infix_finditer=tokenizer.infix_finditer,
        token_match=tokenizer.token_match, url_match=tokenizer.url_match,
    )
    text = "mouth&amp;fatigue \ufffd 😵\u200d💫 see http://t.co/abc.def ok\x00 \ufdd0 e.g. 2.5mg"
    assert [(t.text, t.idx) for t in tokenizer(text)] == [(t.text, t.idx) for t in plain(text)]
    assert tokenizer(text).text == text


def test_tweet_tokenizer_stays_safe_pickled_and_reloaded(tmp_path):
    # nlp.pipe(n_process=2) pickles the pipeline; a saved pipeline rebuilds it from the config.
    nlp = make_blank("en")
    for copy in (pickle.loads(pickle.dumps(nlp)), pickle.loads(pickle.dumps(nlp.tokenizer))):
        assert copy("pain \ud83d here").text == "pain \ufffd here"
    nlp.to_disk(tmp_path)
    reloaded = spacy.load(tmp_path)
    assert isinstance(reloaded.tokenizer, TweetTokenizer)
    assert [d.text for d in reloaded.pipe(["pa\ud83din", "skin&amp;joint"])] == ["pa\ufffdin", "skin&amp;joint"]
    assert [t.text for t in reloaded("skin&amp;joint")] == ["skin", "&amp;", "joint"]
