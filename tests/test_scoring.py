import json

import pytest

from spacy_adr.metrics import write_rows
from spacy_adr.scoring import score_linked_spans, score_spans


def test_strict_and_relaxed_span_scores():
    # doc 1: one exact hit, one overlap-only prediction; doc 2: a missed gold span.
    predicted = [[(0, 8), (20, 26)], []]
    gold = [[(0, 8), (18, 30)], [(5, 9)]]
    scores = score_spans(predicted, gold)
    assert scores["strict_p"] == pytest.approx(1 / 2)
    assert scores["strict_r"] == pytest.approx(1 / 3)
    assert scores["relaxed_p"] == pytest.approx(2 / 2)
    assert scores["relaxed_r"] == pytest.approx(2 / 3)
    assert scores["relaxed_f"] == pytest.approx(0.8)
    assert (scores["n_pred"], scores["n_gold"]) == (2, 3)


def test_touching_spans_do_not_overlap():
    scores = score_spans([[(0, 5)]], [[(5, 9)]])
    assert scores["relaxed_p"] == 0.0 and scores["relaxed_f"] == 0.0


def test_empty_input_scores_zero():
    assert score_spans([[]], [[]])["strict_f"] == 0.0


def test_linked_spans_need_overlap_and_same_code():
    predicted = [[(0, 8, "100"), (10, 15, "200")]]
    gold = [[(2, 8, "100"), (10, 15, "300")]]
    scores = score_linked_spans(predicted, gold)
    assert scores["relaxed_p"] == pytest.approx(0.5)
    assert scores["relaxed_r"] == pytest.approx(0.5)


def test_mismatched_document_counts_raise():
    with pytest.raises(ValueError):
        score_spans([[]], [[], []])


def test_metrics_rows_replace_same_key(tmp_path):
    path = tmp_path / "metrics" / "ner.json"
    write_rows(path, [{"task": "ner", "variant": "a", "split": "dev", "strict_f": 0.1}], command="x")
    write_rows(path, [{"task": "ner", "variant": "b", "split": "dev", "strict_f": 0.2}], command="x")
    rows = write_rows(path, [{"task": "ner", "variant": "a", "split": "dev", "strict_f": 0.3}], command="y")
    assert json.loads(path.read_text()) == rows
    assert sorted((r["variant"], r["strict_f"]) for r in rows) == [("a", 0.3), ("b", 0.2)]
    assert all({"command", "machine", "date"} <= set(r) for r in rows)

