"""Tests of the `adr_gazetteer` component and its term loader."""
import pickle

import pytest
import spacy
from spacy.lang.en import English
from spacy.language import Language
from spacy.util import registry

from spacy_adr.pipeline.gazetteer import AdrGazetteer, gazetteer_terms_v1

TERMS = ["weight gain", "gain", "pain", "Headache", "dry  mouth", "ALL", "feeling sick", "sick"]


@pytest.fixture
def nlp() -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_gazetteer").initialize(terms=TERMS)
    return nlp


def tags(doc):
    return [(token.text, token._.adr_gaz) for token in doc]


def test_registered_names():
    assert Language.has_factory("adr_gazetteer")
    assert registry.misc.get("spacy-adr.gazetteer_terms.v1") is gazetteer_terms_v1


def test_uninitialized_raises_clear_error():
    nlp = spacy.blank("en")
    gazetteer = nlp.add_pipe("adr_gazetteer")
    assert isinstance(gazetteer, AdrGazetteer) and len(gazetteer) == 0
    with pytest.raises(ValueError, match=r"initialize\.components\.adr_gazetteer\.terms"):
        nlp("weight gain")
    # nlp.initialize() without a terms loader in the config fails early too.
    with pytest.raises(ValueError, match="initialized without terms"):
        nlp.initialize()
    with pytest.raises(ValueError, match="empty term list"):
        gazetteer.initialize(terms=["  "])


def test_case_insensitive_and_whitespace(nlp):
    assert tags(nlp("HEADACHE and Weight  Gain")) == [
        ("HEADACHE", "B"),
        ("and", "O"),
        ("Weight", "B"),
        (" ", "I"),
        ("Gain", "I"),
    ]
    assert [t._.adr_gaz for t in nlp("dry\nmouth")] == ["B", "I", "I"]


def test_token_boundaries(nlp):
    assert tags(nlp("painting pains pain.")) == [
        ("painting", "O"),
        ("pains", "O"),
        ("pain", "B"),
        (".", "O"),
    ]
    assert [t._.adr_gaz for t in nlp("pain-killer")] == ["B", "O", "O"]


def test_longest_match_wins(nlp):
    assert tags(nlp("some weight gain, gain")) == [
        ("some", "O"),
        ("weight", "B"),
        ("gain", "I"),
        (",", "O"),
        ("gain", "B"),
    ]
    assert [t._.adr_gaz for t in nlp("feeling sick sick")] == ["B", "I", "B"]


def test_leftmost_longest_non_overlapping():
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_gazetteer").initialize(terms=["weight gain", "gain of appetite", "appetite"])
    doc = nlp("weight gain of appetite")
    assert nlp.get_pipe("adr_gazetteer").match(doc) == [(0, 2), (3, 4)]
    assert [t._.adr_gaz for t in doc] == ["B", "I", "O", "B"]


def test_acronyms_match_only_in_capitals(nlp):
    assert [t._.adr_gaz for t in nlp("all of it")] == ["O", "O", "O"]
    assert [t._.adr_gaz for t in nlp("has ALL")] == ["O", "B"]
    nlp2 = spacy.blank("en")
    nlp2.add_pipe("adr_gazetteer", config={"case_sensitive_acronyms": False}).initialize(terms=TERMS)
    assert [t._.adr_gaz for t in nlp2("all of it")] == ["B", "O", "O"]


def test_retagging_resets_old_tags(nlp):
    doc = nlp("weight gain")
    gazetteer = nlp.get_pipe("adr_gazetteer")
    gazetteer.set_terms(["pain"])
    assert [t._.adr_gaz for t in gazetteer(doc)] == ["O", "O"]


def test_loader_reads_lexicon_and_meddra(fixtures_dir):
    folder = fixtures_dir / "gazetteer"
    terms = gazetteer_terms_v1(lexicons=[folder / "adr_lexicon.txt"], meddra=folder / "llt.tsv")
    lowered = [" ".join(t.lower().split()) for t in terms]
    # Lexicon first, in file order; "g" is too short; duplicates (ignoring case) once.
    assert lowered[:8] == [
        "weight gain", "pain", "headache", "dry mouth", "drowsiness", "feeling sick",
        "hot flashes", "weight increased",
    ]
    assert "g" not in lowered
    assert len(lowered) == len(set(lowered))
    assert {"acute lymphocytic leukaemia", "all", "dizziness", "dizzy", "fatigue", "tired"} <= set(lowered)
    assert "ALL" in terms  # kept in capitals: an acronym
    assert gazetteer_terms_v1(lexicons=[folder / "adr_lexicon.txt"], min_length=1)[-1] == "hot flashes"
    assert "g" in gazetteer_terms_v1(lexicons=[folder / "adr_lexicon.txt"], min_length=1)
    assert len(gazetteer_terms_v1(meddra=folder / "llt.tsv")) == 9


CONFIG = """
[nlp]
lang = "en"
pipeline = ["adr_tweet_normalizer", "adr_gazetteer"]

[components]

[components.adr_tweet_normalizer]
factory = "adr_tweet_normalizer"

[components.adr_gazetteer]
factory = "adr_gazetteer"

[initialize]

[initialize.components]

[initialize.components.adr_gazetteer]

[initialize.components.adr_gazetteer.terms]
@misc = "spacy-adr.gazetteer_terms.v1"
lexicons = ["{folder}/adr_lexicon.txt"]
meddra = "{folder}/llt.tsv"
min_length = 3
"""


def make_configured_nlp(fixtures_dir) -> Language:
    from thinc.api import Config

    config = Config().from_str(CONFIG.replace("{folder}", str(fixtures_dir / "gazetteer")))
    nlp = English.from_config(config)
    nlp.initialize()
    return nlp


def test_config_driven_initialize(fixtures_dir):
    nlp = make_configured_nlp(fixtures_dir)
    assert len(nlp.get_pipe("adr_gazetteer")) == 14
    doc = nlp("@bob Cymbalta: weight  gain &amp; feeling dizzy 😴 https://t.co/x")
    assert [(t.text, t.norm_, t._.adr_gaz) for t in doc] == [
        ("@bob", "@username", "O"),
        ("Cymbalta", "cymbalta", "O"),
        (":", ":", "O"),
        ("weight", "weight", "B"),
        (" ", " ", "I"),
        ("gain", "gain", "I"),
        ("&amp;", "&", "O"),
        ("feeling", "feeling", "O"),
        ("dizzy", "dizzy", "B"),
        ("😴", "sleepy", "O"),
        ("https://t.co/x", "link", "O"),
    ]


def test_serialization_round_trip(fixtures_dir, tmp_path):
    nlp = make_configured_nlp(fixtures_dir)
    texts = ["Headache and weight gain", "I have ALL and all the fatigue", "painting feeling sick"]
    expected = [tags(nlp(text)) for text in texts]
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "adr_gazetteer" / "terms.txt").exists()
    nlp2 = spacy.load(tmp_path / "pipeline")
    assert [tags(nlp2(text)) for text in texts] == expected
    assert nlp2.get_pipe("adr_gazetteer").terms == nlp.get_pipe("adr_gazetteer").terms

    nlp3 = spacy.blank("en")
    nlp3.add_pipe("adr_gazetteer").from_bytes(nlp.get_pipe("adr_gazetteer").to_bytes())
    assert [tags(nlp3(text)) for text in texts] == expected

    gazetteer = pickle.loads(pickle.dumps(nlp.get_pipe("adr_gazetteer")))
    assert gazetteer.terms == nlp.get_pipe("adr_gazetteer").terms
    assert [t._.adr_gaz for t in gazetteer(nlp.make_doc(texts[0]))] == [t for _, t in expected[0]]


def test_pipe_multiprocess_agrees(fixtures_dir):
    nlp = make_configured_nlp(fixtures_dir)
    texts = [
        "@bob weight gain &amp; feeling sick 💊",
        "Headache!! https://t.co/abc ALL",
        "no match here ❤️",
    ] * 3
    expected = [[(t.text, t.norm_, t._.adr_gaz) for t in nlp(text)] for text in texts]
    got = [
        [(t.text, t.norm_, t._.adr_gaz) for t in doc]
        for doc in nlp.pipe(texts, n_process=2, batch_size=2)
    ]
    assert got == expected


@pytest.mark.data
def test_real_lexicon_and_meddra(data_dir):
    terms = gazetteer_terms_v1(
        lexicons=[data_dir / "lexicons" / "kfu_chemtextmining_vocabularies" / "adr_lexicon.txt"],
        meddra=data_dir / "meddra" / "llt.tsv",
    )
    assert len(terms) > 79_000  # 13,441 lexicon terms of 3+ characters + 79,507 LLT names, overlapping
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_gazetteer").initialize(terms=terms)
    doc = nlp("cymbalta gave me weight gain and a headache, all day")
    assert [t.text for t in doc if t._.adr_gaz != "O"] == ["weight", "gain", "headache"]
