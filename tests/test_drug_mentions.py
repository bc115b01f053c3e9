"""Tests of the drug lexicon, its matcher, the attribution rules and the `adr_drug_mentions`
component (lifecycle, matching, the drug of each ADR span, the annotate record)."""
import pickle

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Span
from spacy.util import registry

from spacy_adr.annotate.outputs import span_record
from spacy_adr.drug_attribution import RULES, attribute_drug
from spacy_adr.errors import ConversionReport, InputError
from spacy_adr.kb.drug_matcher import DrugMatcher
from spacy_adr.kb.drugs import DrugLexicon, drug_lexicon_v1, read_drug_lexicon
from spacy_adr.pipeline.drug_mentions import DrugMentions

ENTRIES = [("seroquel", "quetiapine"), ("Seroquel XR", "quetiapine"), ("quetiapine", None),
           ("humira", None), ("xanax", None), ("trazodone", None), ("ofloxacin", None),
           ("tylenol #3", "tylenol"), ("weight  gain pill", None)]


def tweet_nlp() -> Language:
    return spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": "spacy-adr.TweetTokenizer.v1"}}})


@pytest.fixture
def nlp() -> Language:
    nlp = tweet_nlp()
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns([{"label": "ADR", "pattern": p} for p in ("headache", "weight gain", "dizzy", "tired")])
    nlp.add_pipe("adr_drug_mentions").initialize(lexicon=DrugLexicon(ENTRIES))
    return nlp


def drugs(doc):
    return [(span.text, span.kb_id_) for span in doc.spans["drugs"]]


# --- the lexicon ---------------------------------------------------------------------------

def test_lexicon_normalises_names_and_later_entries_win():
    lexicon = DrugLexicon([("Seroquel", "Quetiapine"), ("xanax", ""), ("XANAX", "alprazolam")])
    assert lexicon.drug_of("SEROQUEL") == "quetiapine" and lexicon.drug_of("xanax") == "alprazolam"
    assert lexicon.drug_of("zoloft") is None and "Seroquel" in lexicon and len(lexicon) == 2
    assert lexicon.drugs() == ["alprazolam", "quetiapine"]
    with pytest.raises(ValueError, match="blank drug name"):
        lexicon.add("  ")


def test_lexicon_file_round_trip_header_comments_and_errors(tmp_path):
    path = tmp_path / "mine.tsv"
    path.write_text("name\tdrug\n# my list\nSeroquel XR\tquetiapine\n\nlyrica\nab\t\n", encoding="utf-8")
    report = ConversionReport(source="test")
    assert read_drug_lexicon(path, min_length=3, report=report) == [("seroquel xr", "quetiapine"), ("lyrica", None)]
    assert report.records == 3 and report.docs == 2 and "shorter than 3" in str(report.problems[0])
    lexicon = DrugLexicon(read_drug_lexicon(path))
    lexicon.to_disk(tmp_path / "out.tsv")
    assert (tmp_path / "out.tsv").read_text().splitlines() == ["name\tdrug", "seroquel xr\tquetiapine", "lyrica\tlyrica", "ab\tab"]
    assert DrugLexicon().from_disk(tmp_path / "out.tsv") == lexicon
    (tmp_path / "bad.tsv").write_text("a\tb\tc\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.tsv:1: 3 tab-separated fields"):
        read_drug_lexicon(tmp_path / "bad.tsv")


def test_loader_is_registered_and_a_later_file_extends_and_overrides(tmp_path):
    assert registry.misc.get("spacy-adr.drug_lexicon.v1") is drug_lexicon_v1
    (tmp_path / "built.tsv").write_text("name\tdrug\nseroquel\tseroquel\nrx\trx\n", encoding="utf-8")
    (tmp_path / "mine.txt").write_text("seroquel\tquetiapine\nnamenda\n", encoding="utf-8")
    lexicon = drug_lexicon_v1([tmp_path / "built.tsv", tmp_path / "mine.txt"])
    assert [(e.name, e.drug) for e in lexicon] == [("seroquel", "quetiapine"), ("namenda", "namenda")]


# --- the matcher ---------------------------------------------------------------------------

def test_matcher_whole_words_any_case_leftmost_longest():
    matcher = DrugMatcher(DrugLexicon(ENTRIES))
    text = "#Humira and xanax's, SEROQUEL XR then trazodone,1pill; ciprofloxacin is not ofloxacin."
    found = [(text[s:e], drug) for s, e, drug in matcher.find(text)]
    assert found == [("Humira", "humira"), ("xanax", "xanax"), ("SEROQUEL XR", "quetiapine"),
                     ("trazodone", "trazodone"), ("ofloxacin", "ofloxacin")]
    # Whitespace runs stand for one space, with offsets into the original text; a lowercase
    # that changes length ("İ") keeps offsets one to one.
    text = "İİ weight \n gain pill and tylenol #3"
    assert [(text[s:e], drug) for s, e, drug in matcher.find(text)] == [
        ("weight \n gain pill", "weight gain pill"), ("tylenol #3", "tylenol")]
    assert DrugMatcher(DrugLexicon()).find("humira") == []
    assert pickle.loads(pickle.dumps(matcher)).find("humira") == [(0, 6, "humira")]


def test_matcher_skips_user_names_and_links():
    matcher = DrugMatcher(DrugLexicon(ENTRIES))
    text = "@humira_fan xanax made me sleepy http://x.co/xanax www.humira.com #humira"
    found = [(text[s:e], drug) for s, e, drug in matcher.find(text)]
    assert found == [("xanax", "xanax"), ("humira", "humira")]
    assert found[-1] == ("humira", "humira") and matcher.find(text)[-1][0] == text.index("#humira") + 1


# --- the rules -----------------------------------------------------------------------------

def test_attribution_rules_by_hand():
    # "adderall makes me vomit and vyvanse gives me migraines": drugs at 0-8 and 28-35
    mentions = [(0, 8, "adderall"), (28, 35, "vyvanse")]
    vomit, migraines = (18, 23), (45, 54)
    # vyvanse is 5 characters after "vomit", adderall 10 before it
    assert attribute_drug(vomit, mentions, "nearest") == "vyvanse"
    assert attribute_drug(vomit, mentions, "preceding") == "adderall"
    assert attribute_drug(vomit, mentions) == "adderall"  # the default rule
    assert RULES["preceding"](migraines, mentions) == "vyvanse"
    assert RULES["preceding"]((0, 3), [(10, 15, "x"), (20, 25, "y")]) == "x"  # none before: nearest after
    assert RULES["first"](migraines, mentions) == "adderall"
    assert RULES["only"](vomit, mentions) is None and RULES["only"](vomit, [(0, 3, "a"), (9, 12, "a")]) == "a"
    assert RULES["most-mentioned"](vomit, [(0, 3, "a"), (5, 8, "b"), (9, 12, "b")]) == "b"
    assert RULES["most-mentioned"](vomit, [(0, 3, "a"), (5, 8, "b")]) == "a"
    # a tie in distance goes to the earlier mention; an overlapping mention is at distance 0
    assert RULES["nearest"]((10, 12), [(5, 8, "a"), (14, 16, "b")]) == "a"
    assert RULES["nearest"]((10, 20), [(0, 2, "a"), (12, 14, "b")]) == "b"
    for rule in RULES:
        assert attribute_drug((0, 1), [], rule) is None
    with pytest.raises(ValueError, match="unknown drug attribution rule"):
        attribute_drug((0, 1), mentions, "closest")


# --- the component -------------------------------------------------------------------------

def test_registered_names():
    assert Language.has_factory("adr_drug_mentions")


def test_uninitialized_raises_clear_error():
    nlp = tweet_nlp()
    component = nlp.add_pipe("adr_drug_mentions")
    assert isinstance(component, DrugMentions) and len(component) == 0
    with pytest.raises(ValueError, match=r"initialize\.components\.adr_drug_mentions\.lexicon"):
        nlp("humira")
    with pytest.raises(ValueError, match="initialized without a lexicon"):
        nlp.initialize()
    with pytest.raises(ValueError, match="empty lexicon"):
        component.initialize(lexicon=DrugLexicon())
    with pytest.raises(ValueError, match="unknown drug attribution rule"):
        tweet_nlp().add_pipe("adr_drug_mentions", config={"rule": "closest"})


def test_initialize_through_the_config_loader(tmp_path):
    (tmp_path / "drugs.tsv").write_text("name\tdrug\nseroquel\tquetiapine\n", encoding="utf-8")
    nlp = tweet_nlp()
    nlp.add_pipe("adr_drug_mentions")
    nlp.config["initialize"]["components"]["adr_drug_mentions"] = {
        "lexicon": {"@misc": "spacy-adr.drug_lexicon.v1", "paths": [str(tmp_path / "drugs.tsv")]}
    }
    nlp.initialize()
    assert drugs(nlp("on Seroquel")) == [("Seroquel", "quetiapine")]


def test_mentions_and_the_drug_of_each_adr_span(nlp):
    doc = nlp("#Humira gave me a headache, then SEROQUEL XR: weight gain. trazodone,1pill made me dizzy")
    assert drugs(doc) == [("Humira", "humira"), ("SEROQUEL XR", "quetiapine"), ("trazodone,1pill", "trazodone")]
    assert [(ent.text, ent._.drug) for ent in doc.ents] == [
        ("headache", "humira"), ("weight gain", "quetiapine"), ("dizzy", "trazodone")]
    assert [span.label_ for span in doc.spans["drugs"]] == ["DRUG"] * 3
    doc = nlp("so tired today")
    assert drugs(doc) == [] and doc.ents[0]._.drug is None


def test_doc_ents_are_never_changed(nlp):
    text = "xanax, headache"
    before = [(e.start_char, e.end_char, e.label_) for e in nlp.get_pipe("entity_ruler")(nlp.make_doc(text)).ents]
    doc = nlp(text)
    assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == before
    assert doc.ents[0]._.drug == "xanax"


def test_only_adr_labels_get_a_drug():
    nlp = tweet_nlp()
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "ADR", "pattern": "rash"}, {"label": "DISEASE", "pattern": "flu"}])
    nlp.add_pipe("adr_drug_mentions", config={"adr_labels": ["ADR"], "spans_key": "meds"}).initialize(lexicon=DrugLexicon([("humira", None)]))
    doc = nlp("humira rash flu")
    assert [(e.text, e._.drug) for e in doc.ents] == [("rash", "humira"), ("flu", None)]
    assert [s.text for s in doc.spans["meds"]] == ["humira"] and "drugs" not in doc.spans


def test_to_disk_from_disk_bytes_and_pickle_round_trip(nlp, tmp_path):
    text = "xanax's fine but Seroquel XR: weight gain and a headache"
    before = nlp(text)
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "adr_drug_mentions" / "lexicon.tsv").read_text().startswith("name\tdrug\nseroquel\tquetiapine\n")
    loaded = spacy.load(tmp_path / "pipeline")
    after = loaded(text)
    assert drugs(after) == drugs(before) and [e._.drug for e in after.ents] == [e._.drug for e in before.ents]
    component = nlp.get_pipe("adr_drug_mentions")
    fresh = DrugMentions().from_bytes(component.to_bytes())
    assert fresh.lexicon == component.lexicon
    copied = pickle.loads(pickle.dumps(component))
    assert copied.find_offsets(nlp.make_doc(text)) == component.find_offsets(nlp.make_doc(text))
    # nlp.pipe agrees with nlp(text)
    assert [drugs(d) for d in nlp.pipe([text, "humira"])] == [drugs(before), [("humira", "humira")]]


def test_span_record_carries_the_drug_and_the_pt(nlp):
    doc = nlp("humira: headache")
    ent = doc.ents[0]
    record = span_record(ent)
    assert record["drug"] == "humira" and "meddra_pt" not in record
    ent._.meddra_pt, ent._.meddra_pt_term = "10019211", "Headache"
    assert span_record(ent)["meddra_pt"] == "10019211" and span_record(ent)["meddra_pt_term"] == "Headache"
    # A pipeline without adr_drug_mentions writes no drug key at all ("not looked for").
    plain = tweet_nlp()("headache")
    plain.ents = [Span(plain, 0, 1, label="ADR")]
    assert "drug" not in span_record(plain.ents[0])
