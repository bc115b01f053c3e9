"""Tests of the build side of the drug lexicon: reading drug names from the training data,
building the lexicon, its evaluation, and the two `spacy-adr-builder` commands."""
import bz2
import json
import pickle
import shutil
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spacy_adr.errors import ConversionReport, InputError
from spacy_adr.kb.drugs import DrugLexicon
from spacy_adr.tokenizer import make_blank
from spacy_adr_builder.cli import app
from spacy_adr_builder.corpora.drug_dictionary import dictionary_path, read_drug_dictionary
from spacy_adr_builder.corpora.drug_names import (
    CadecDrug, CadecPost, read_cadec_drugs, task3_drug_names, webmd_title_drugs,
)
from spacy_adr_builder.evaluation.drugs import (
    GoldTweet, evaluate_attribution, evaluate_drug_spans, is_heldout, read_gold_tweets,
)
from spacy_adr_builder.training.drug_lexicon import build_drug_lexicon, cadec_entries
from test_cadec import fixture_files, make_zip

FIXTURES = Path(__file__).parent / "fixtures"
TASK3 = FIXTURES / "smm4h_task3"


@pytest.fixture(scope="module")
def nlp():
    return make_blank("en")


def post(nlp, name, text, drugs):
    """A CADEC post with `Drug` entities given as (text, concept, concept name), found in order."""
    entities, at = [], 0
    for drug, concept, concept_name in drugs:
        start = text.index(drug, at)
        at = start + len(drug)
        entities.append(CadecDrug(start, at, drug, concept, concept_name))
    return CadecPost(name, nlp.make_doc(text), tuple(entities))


def test_task3_drug_column_and_webmd_titles(tmp_path):
    names = task3_drug_names(TASK3 / "task3_training_sample.tsv", ConversionReport("t"))
    assert names == Counter({"humira": 3, "seroquel": 2, "mtx": 1, "ibuprofen": 1, "vyvanse": 1, "metformin": 1})
    webmd = tmp_path / "webmd_corpus.json"
    webmd.write_text(
        json.dumps({"title": "User Reviews & Ratings - Effexor XR oral", "text": "..."}) + "\n"
        + json.dumps({"title": "User Reviews & Ratings - clonazepam oral"}) + "\n"
        + json.dumps({"title": "Something else"}) + "\n" + "{broken\n", encoding="utf-8")
    report = ConversionReport("w")
    assert webmd_title_drugs(webmd, report) == Counter({"effexor xr": 1, "clonazepam": 1})
    assert [p.line for p in report.problems] == [3, 4]


def test_cadec_drug_entities_with_their_snomed_concepts(tmp_path, nlp):
    posts = read_cadec_drugs(make_zip(tmp_path / "CADEC.v2.zip", fixture_files()), nlp, ConversionReport("c"))
    by_name = {p.name: p for p in posts}
    assert by_name["FAKEDRUG.1"].drugs == (CadecDrug(53, 61, "Fakedrug", "3384011000036100", "Fakedrug"),)
    assert by_name["FAKEDRUG.2"].drugs == ()


def test_cadec_spellings_normalised_by_concept_and_filtered_by_annotation_share(nlp):
    posts = [
        post(nlp, "P.1", "Liptor and lipitor, Lipitor 20mg. My lip hurts, my lip is fine, lip balm.",
             [("Liptor", "1", "Lipitor"), ("lipitor", "1", "Lipitor"), ("Lipitor 20mg", "2", "Lipitor 20 mg tablet: film-coated"),
              ("lip", "1", "Lipitor")]),
        post(nlp, "P.2", "cataflam, then Q10 and coq10 and niacin", [("cataflam", "3", "diclofenac"),
             ("Q10", "4", None), ("coq10", "4", None), ("niacin", None, None)]),
        post(nlp, "P.3", "more coq10", [("coq10", "4", None)]),
    ]
    entries, left_out = cadec_entries(posts)
    assert dict(entries) == {"liptor": "lipitor", "lipitor": "lipitor", "lipitor 20mg": "lipitor",
                             "cataflam": "diclofenac", "q10": "coq10", "coq10": "coq10", "niacin": "niacin"}
    # "lip" was annotated once of its three occurrences (those inside "Liptor" and "lipitor" do not count)
    assert left_out == [{"name": "lip", "annotated": 1, "occurs": 3}]


def test_build_lexicon_sources_precedence_and_filters(nlp):
    posts = [post(nlp, "P.1", "effexor and trazadone and rx", [("effexor", "9", "Efexor-XR"), ("trazadone", "8", "Deseril"), ("rx", None, None)])]
    lexicon, report = build_drug_lexicon(
        task3=Counter({"effexor": 2, "gamma": 1}), cadec=posts,
        webmd=Counter({"effexor xr": 3, "clindamycin hcl": 1}), ambiguous=["Gamma"],
    )
    assert [(e.name, e.drug) for e in lexicon] == [
        ("effexor xr", "effexor"), ("effexor", "effexor"), ("clindamycin hcl", "clindamycin"),
        ("clindamycin", "clindamycin"), ("trazadone", "deseril")]
    assert report["task3"] == {"names": 2, "kept": 1, "ambiguous": ["gamma"]}
    assert report["cadec"]["kept"] == 2  # "rx" is shorter than 3 characters
    assert report["lexicon"] == {"names": 5, "drugs": 3}


def test_build_lexicon_dictionary_lowest_and_checked_against_cadec(nlp):
    # "oats" occurs twice in the posts and is never annotated: left out; "effexor" is a
    # CADEC spelling, which wins over the dictionary's generic
    posts = [post(nlp, "P.1", "effexor and oats, more oats", [("effexor", "9", "Efexor-XR")])]
    dictionary = [("effexor", "venlafaxine"), ("oats", "avena sativa"), ("robitussin", "guaifenesin"), ("ab", "x")]
    lexicon, report = build_drug_lexicon(cadec=posts, dictionary=dictionary)
    assert [(e.name, e.drug) for e in lexicon] == [("effexor", "efexor-xr"), ("robitussin", "guaifenesin")]
    assert report["dictionary"]["left_out"] == [{"name": "oats", "annotated": 0, "occurs": 2}]
    assert report["dictionary"]["kept"] == 2  # "ab" is too short
    # without CADEC nothing is checked
    lexicon, _ = build_drug_lexicon(dictionary=dictionary)
    assert lexicon.drug_of("oats") == "avena sativa"


def test_drug_dictionary_reader(tmp_path):
    content = {
        "drug_variant_to_canonical": {"robitussin": ["guaifenesin"], "antidepressant": ["antidepressive agents"],
                                      "pot": ["cannabis", "potassium"], "guaifenesin": ["guaifenesin"]},
        "drug_canonical_to_data": {"guaifenesin": {"mesh_tree": ["D02.455"]},
                                   "antidepressive agents": {"mesh_tree": ["D27.505.954"]}},
    }
    path = tmp_path / "dictionary.pkl.bz2"
    with bz2.open(path, "wb") as file_:
        pickle.dump(content, file_)
    assert read_drug_dictionary(path) == [("robitussin", "guaifenesin"), ("guaifenesin", "guaifenesin")]
    path.write_bytes(b"not a dictionary")
    with pytest.raises(InputError, match="not the drug-named-entity-recognition dictionary"):
        read_drug_dictionary(path)
    assert dictionary_path().is_file()  # the pinned dependency is installed


def test_attribution_evaluation_by_hand(nlp):
    lexicon = DrugLexicon([("adderall", None), ("vyvanse", None), ("ritalin", None)])
    text = "adderall makes me vomit and vyvanse gives me migraines"
    tweets = [
        GoldTweet(text, (((18, 23), ("adderall",)), ((45, 54), ("vyvanse",)))),
        # the drug column names a drug the tweet does not hold as a word: counted in n_all only
        GoldTweet("on #ciprofloxacin: tired", (((19, 24), ("ofloxacin",)),)),
        # a drug the lexicon lacks: n counts it, n_known does not
        GoldTweet("namenda and adderall: dizzy", (((22, 27), ("namenda",)),)),
    ]
    rows = {row["variant"]: row for row in evaluate_attribution(tweets, lexicon, nlp)}
    assert (rows["preceding"]["n"], rows["preceding"]["n_all"], rows["preceding"]["n_known"]) == (3, 4, 2)
    assert rows["preceding"]["found"] == pytest.approx(2 / 3) and rows["preceding"]["found_known"] == 1.0
    assert rows["nearest"]["found"] == pytest.approx(1 / 3)  # vyvanse is nearer to "vomit"
    assert rows["any-mention"]["found"] == pytest.approx(2 / 3) and rows["preceding"]["chosen"]
    assert rows["only"]["no_drug"] == pytest.approx(2 / 3) and rows["only"]["wrong_drug"] == pytest.approx(1 / 3)


def test_read_gold_tweets_merges_rows_of_a_span():
    tweets = read_gold_tweets(TASK3 / "task3_training_sample.tsv", ConversionReport("t"))
    humira = next(t for t in tweets if t.text.startswith("humira"))
    assert dict(humira.spans)[(41, 49)] == ("humira", "mtx")


def test_drug_span_scores_and_the_holdout(nlp):
    lexicon = DrugLexicon([("lipitor", None), ("aspirin", None)])
    posts = [post(nlp, "P.1", "Lipitor 40mg and aspirin", [("Lipitor 40mg", "1", None), ("aspirin", "2", None)])]
    scores = evaluate_drug_spans(posts, lexicon)
    assert (scores["strict_p"], scores["strict_r"], scores["relaxed_f"], scores["n_gold"]) == (0.5, 0.5, 1.0, 2)
    names = [f"LIPITOR.{i}" for i in range(1, 501)]
    share = sum(map(is_heldout, names)) / len(names)
    assert 0.15 < share < 0.25 and is_heldout("LIPITOR.7") == is_heldout("LIPITOR.7")


def test_commands_on_a_miniature_data_folder(tmp_path):
    data = tmp_path / "data"
    (data / "smm4h2020_task3_en").mkdir(parents=True)
    shutil.copy(TASK3 / "task3_training_sample.tsv", data / "smm4h2020_task3_en" / "task3_training.tsv")
    shutil.copy(TASK3 / "task3_validation_sample.tsv", data / "smm4h2020_task3_en" / "task3_validation.tsv")
    (data / "cadec").mkdir()
    make_zip(data / "cadec" / "CADEC.v2.zip", fixture_files())
    runner = CliRunner()
    lexicon_path = tmp_path / "drug_lexicon.tsv"
    result = runner.invoke(app, ["drug-lexicon", str(data), str(lexicon_path), "--no-dictionary"])
    assert result.exit_code == 0, result.output
    lexicon = DrugLexicon().from_disk(lexicon_path)
    assert {"humira", "seroquel", "fakedrug"} <= set(lexicon.names()) and "lamictal" not in lexicon  # dev is never read
    # with the installed open drug dictionary (the default), its drugs come in under their generic
    result = runner.invoke(app, ["drug-lexicon", str(data), str(lexicon_path), "--report", str(tmp_path / "report.json")])
    assert result.exit_code == 0, result.output
    assert "webmd_corpus.json: not found" in " ".join(result.output.split())
    lexicon = DrugLexicon().from_disk(lexicon_path)
    assert lexicon.drug_of("robitussin") == "guaifenesin" and lexicon.drug_of("humira") == "humira"
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["missing"] == ["lexicons/kfu_chemtextmining_webmd/webmd_corpus.json",
                                 "lexicons/kfu_chemtextmining_vocabularies/adr_lexicon.txt"]
    metrics = tmp_path / "drugs.json"
    result = runner.invoke(app, ["evaluate-drugs", str(data), str(lexicon_path), "-o", str(metrics)])
    assert result.exit_code == 0, result.output
    rows = json.loads(metrics.read_text())
    assert {row["task"] for row in rows} == {"drugs"}
    assert {(row["variant"], row["split"]) for row in rows} >= {
        ("preceding", "task3_dev"), ("any-mention", "task3_dev"),
        ("lexicon task3+cadec-seen", "cadec_heldout"), ("lexicon task3", "cadec_all")}
    assert all(row["command"].startswith("spacy-adr-builder") and row["date"] for row in rows)
