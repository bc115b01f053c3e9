"""Tests of the `adr_tweet_normalizer` component."""
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span

from spacy_adr.pipeline.normalizer import DEFAULT_EMOJI, TweetNormalizer


@pytest.fixture
def nlp() -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_tweet_normalizer")
    return nlp


def norms(doc):
    return [(token.text, token.norm_) for token in doc]


def check_text(doc, text):
    assert doc.text == text
    assert "".join(token.text_with_ws for token in doc) == text
    for token in doc:
        assert text[token.idx : token.idx + len(token)] == token.text


def test_factory_defaults(nlp):
    assert Language.has_factory("adr_tweet_normalizer")
    cfg = nlp.config["components"]["adr_tweet_normalizer"]
    assert cfg["lowercase"] is True
    assert cfg["merge_split_tokens"] is True
    assert cfg["emoji"] == {}
    assert isinstance(nlp.get_pipe("adr_tweet_normalizer"), TweetNormalizer)


@pytest.mark.parametrize(
    "text,url",
    [
        ("see https://t.co/abc123.", "https://t.co/abc123"),
        ("see HTTP://foo.bar/baz?x=1 now", "HTTP://foo.bar/baz?x=1"),
        ("see www.example.com/x now", "www.example.com/x"),
        ("see t.co/xyz now", "t.co/xyz"),
        ("(pic.twitter.com/abc)", "pic.twitter.com/abc"),
    ],
)
def test_urls(nlp, text, url):
    doc = nlp(text)
    check_text(doc, text)
    assert (url, "link") in norms(doc)
    assert [t.norm_ for t in doc].count("link") == 1
    # Trailing punctuation stays its own token with its own norm.
    if text.endswith("."):
        assert norms(doc)[-1] == (".", ".")


def test_mentions(nlp):
    text = "@Bob_2 cipro made me sick, mail a@b.com @jess!"
    doc = nlp(text)
    check_text(doc, text)
    assert norms(doc)[0] == ("@Bob_2", "@username")
    assert ("@jess", "@username") in norms(doc)
    assert ("a@b.com", "a@b.com") in norms(doc)  # an e-mail address is not a mention
    assert ("sick", "sick") in norms(doc)


def test_emoji(nlp):
    text = "took 💊💊 then 🤢🤮 and 😴 I ❤️ it 💉"
    doc = nlp(text)
    check_text(doc, text)
    got = [t.norm_ for t in doc]
    assert got == ["took", "pill", "pill", "then", "nauseated", "vomiting", "and", "sleepy", "i", "love", "it", "injection"]
    # ❤️ (heart + variation selector) was two tokens; it is merged, the text is unchanged.
    assert ("❤️", "love") in norms(doc)


def test_emoji_inside_a_token(nlp):
    # Built by hand: a token holding text and an emoji becomes two words in its norm.
    words = ["so", "sick😷"]
    doc = Doc(nlp.vocab, words=words)
    nlp.get_pipe("adr_tweet_normalizer")(doc)
    assert doc[1].norm_ == "sick sick"


def test_emoji_unknown_left_alone(nlp):
    text = "ok 👍🏽 🙂"
    doc = nlp(text)
    check_text(doc, text)
    assert ("🙂", "🙂") in norms(doc)


def test_emoji_config_override():
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_tweet_normalizer", config={"emoji": {"💊": "medicine", "🙂": "happy"}})
    doc = nlp("💊 🙂 🤒")
    assert [t.norm_ for t in doc] == ["medicine", "happy", "fever"]
    assert DEFAULT_EMOJI["💊"] == "pill"  # the default table is not changed


@pytest.mark.parametrize(
    "text,expected",
    [
        ("pain &amp; nausea", [("pain", "pain"), ("&amp;", "&"), ("nausea", "nausea")]),
        ("AT&amp;T", [("AT&amp;T", "at&t")]),
        ("dizzy&amp;tired", [("dizzy&amp;tired", "dizzy&tired")]),
        ("&lt;3 &gt; &quot;ok&quot;", [("&lt;3", "<3"), ("&gt;", ">"), ("&quot;ok&quot;", '"ok"')]),
        ("it&#39;s", [("it&#39;s", "it's")]),
    ],
)
def test_html_entities(nlp, text, expected):
    doc = nlp(text)
    check_text(doc, text)
    assert norms(doc) == expected


def test_no_merge_option():
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_tweet_normalizer", config={"merge_split_tokens": False})
    text = "pain &amp; nausea ❤️"
    doc = nlp(text)
    check_text(doc, text)
    assert [t.text for t in doc] == [t.text for t in nlp.make_doc(text)]
    assert doc[1].text == "&" and doc[1].norm_ == "&"
    assert doc[-2].norm_ == "love"


def test_lowercase_off():
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_tweet_normalizer", config={"lowercase": False})
    doc = nlp("Cymbalta made me SICK @Bob AT&amp;T")
    assert [t.norm_ for t in doc] == ["Cymbalta", "made", "me", "SICK", "@username", "AT&T"]


def test_entity_offsets_unaffected(nlp):
    text = "@bob the 💊 &amp; made me dizzy ❤️ https://t.co/x"
    doc = nlp.make_doc(text)
    start = text.index("dizzy")
    doc.ents = [doc.char_span(start, start + len("dizzy"), label="ADR")]
    assert doc.ents[0].text == "dizzy"
    before = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
    doc = nlp.get_pipe("adr_tweet_normalizer")(doc)
    check_text(doc, text)
    assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == before
    assert doc.ents[0].text == "dizzy"


def test_no_merge_across_entity_boundary_or_with_span_groups(nlp):
    text = "x &amp; y"
    doc = nlp.make_doc(text)
    doc.ents = [Span(doc, 2, 5, label="ADR")]  # "amp; y": a boundary inside "&amp;"
    nlp.get_pipe("adr_tweet_normalizer")(doc)
    assert len(doc) == 5 and doc.ents[0].text == "amp; y"
    assert doc[1].norm_ == "&"

    doc = nlp.make_doc(text)
    doc.spans["sc"] = [Span(doc, 3, 5, label="ADR")]
    nlp.get_pipe("adr_tweet_normalizer")(doc)
    assert len(doc) == 5 and doc.spans["sc"][0].text == "; y"


def test_serialization_round_trip(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_tweet_normalizer", config={"emoji": {"🙂": "happy"}, "url_norm": "URL"})
    text = "🙂 https://t.co/x &amp; 💊"
    expected = norms(nlp(text))
    nlp.to_disk(tmp_path / "pipeline")
    nlp2 = spacy.load(tmp_path / "pipeline")
    assert norms(nlp2(text)) == expected == [("🙂", "happy"), ("https://t.co/x", "url"), ("&amp;", "&"), ("💊", "pill")]
    nlp3 = spacy.blank("en")
    nlp3.add_pipe("adr_tweet_normalizer").from_bytes(nlp.get_pipe("adr_tweet_normalizer").to_bytes())
    assert norms(nlp3(text)) == expected


def test_broken_emoji_escapes_next_to_matches():
    # json.loads gives "\ud83d" for a broken emoji escape; the tweet tokenizer makes it U+FFFD
    # (spaCy's own raises), and the normaliser's matches around it are unaffected.
    from spacy_adr.tokenizer import make_blank

    nlp = make_blank("en")
    nlp.add_pipe("adr_tweet_normalizer")
    text = "took my 💊\ud83d and \ud83d&amp;\ud83d @bob\ud83d x\udc00😵\u200d💫"
    doc = nlp(text)
    assert len(doc.text) == len(text)
    assert doc.text == text.replace("\ud83d", "\ufffd").replace("\udc00", "\ufffd")
    assert norms(doc) == [
        ("took", "took"), ("my", "my"), ("💊", "pill"), ("\ufffd", "\ufffd"), ("and", "and"),
        ("\ufffd", "\ufffd"), ("&amp;", "&"), ("\ufffd", "\ufffd"), ("@bob", "@username"),
        ("\ufffd", "\ufffd"), ("x", "x"), ("\ufffd", "\ufffd"), ("😵\u200d💫", "dizzy"),
    ]
