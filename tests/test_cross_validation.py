"""Cross-validation folds that keep a group (a RuDReC review) together, and a recipe trained
and scored once per fold."""
import json

import pytest
import spacy
from spacy.cli.init_config import init_config
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_adr_builder.cli import app
from spacy_adr_builder.corpora.folds import assign_folds, write_folds
from spacy_adr_builder.evaluation.cross_validation import cross_validate_ner, fold_folders

runner = CliRunner()


def write_reviews(path, n_reviews, sentences=2, key="review_id"):
    """`n_reviews` reviews of `sentences` sentences, each with an ADR mention "сыпь"."""
    nlp = spacy.blank("xx")
    docs = []
    for review in range(n_reviews):
        for sentence in range(sentences):
            doc = nlp.make_doc(f"от таблеток {review} сыпь {sentence}")
            doc.ents = [doc.char_span(doc.text.index("сыпь"), doc.text.index("сыпь") + 4, label="ADR")]
            if key:
                doc.user_data[key] = f"r{review}"
            docs.append(doc)
    DocBin(docs=docs, store_user_data=True).to_disk(path)
    return path


def read_groups(path):
    return [doc.user_data["review_id"] for doc in DocBin().from_disk(path).get_docs(spacy.blank("xx").vocab)]


def test_assign_folds_spreads_groups_evenly_and_repeatably():
    groups = [f"r{i}" for i in range(11) for _ in range(3)]
    folds = assign_folds(groups, 5, seed=0)
    assert set(folds) == set(groups) and sorted(set(folds.values())) == [0, 1, 2, 3, 4]
    sizes = sorted(list(folds.values()).count(fold) for fold in range(5))
    assert sizes == [2, 2, 2, 2, 3]
    assert assign_folds(list(reversed(groups)), 5, seed=0) == folds
    assert assign_folds(groups, 5, seed=1) != folds
    with pytest.raises(ValueError, match="need 2 to 11 folds"):
        assign_folds(groups, 12)


def test_write_folds_keeps_each_review_in_one_test_fold(tmp_path):
    corpus = write_reviews(tmp_path / "reviews.spacy", n_reviews=7, sentences=3)
    summary = write_folds(corpus, tmp_path / "folds", key="review_id", n_folds=3)
    assert [row["train"] + row["test"] for row in summary] == [21, 21, 21]
    tested = []
    for fold in range(3):
        test = read_groups(tmp_path / "folds" / f"fold{fold}" / "test.spacy")
        train = read_groups(tmp_path / "folds" / f"fold{fold}" / "train.spacy")
        assert not set(test) & set(train)
        tested.extend(test)
    # every sentence is tested exactly once
    assert sorted(tested) == sorted(read_groups(corpus))


def test_split_folds_names_documents_without_the_key(tmp_path):
    corpus = write_reviews(tmp_path / "reviews.spacy", n_reviews=3, key=None)
    result = runner.invoke(app, ["split-folds", str(corpus), str(tmp_path / "folds"), "--key", "review_id"])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "reviews.spacy: 6 documents have no user_data['review_id'] (the first is document 0)" in output


def test_fold_folders_name_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match="expected fold0/"):
        fold_folders(tmp_path)
    (tmp_path / "fold0").mkdir()
    (tmp_path / "fold0" / "train.spacy").write_bytes(b"")
    with pytest.raises(ValueError, match="incomplete: .*fold0"):
        fold_folders(tmp_path)


def tiny_ner_config(path):
    """A CPU NER config whose corpora read `paths.train_spans` and `paths.dev_spans`."""
    config = init_config(lang="xx", pipeline=["ner"], optimize="efficiency")
    config["paths"].update({"train_spans": None, "dev_spans": None})
    config["corpora"]["train"]["path"] = "${paths.train_spans}"
    config["corpora"]["dev"]["path"] = "${paths.dev_spans}"
    config["components"]["tok2vec"]["model"]["encode"]["width"] = 16
    config.to_disk(path)
    return path


def test_cross_validate_ner_trains_and_scores_every_fold(tmp_path):
    corpus = write_reviews(tmp_path / "reviews.spacy", n_reviews=6)
    write_folds(corpus, tmp_path / "folds", key="review_id", n_folds=3)
    config = tiny_ner_config(tmp_path / "ner.cfg")
    result = runner.invoke(app, [
        "cross-validate-ner", str(config), str(tmp_path / "folds"), str(tmp_path / "models"),
        "--variant", "tiny", "--metrics", str(tmp_path / "cv.json"),
        "--training.max_steps", "30", "--training.eval_frequency", "30",
    ])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "cv.json").read_text())
    assert [row["split"] for row in rows] == ["folds_fold0", "folds_fold1", "folds_fold2", "folds_cv3_mean"]
    assert all(row["variant"] == "tiny" and row["n_gold"] == 4 for row in rows[:3])
    # each fold's model-last was trained with the extra overrides and scored on its test part
    assert all((tmp_path / "models" / f"fold{k}" / "model-last").is_dir() for k in range(3))
    assert rows[3]["relaxed_f"] == pytest.approx(sum(row["relaxed_f"] for row in rows[:3]) / 3)
    # the same repeated mention is learnt in 30 steps
    assert rows[3]["strict_f"] > 0.5
