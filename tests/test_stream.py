"""The stream evaluation: span tweets mixed with NoADR tweets at a stated ADR rate, and the gate."""
import pytest
import spacy
from spacy.tokens import DocBin

from spacy_adr_builder.evaluation.stream import (
    split_name,
    GateRule, PredictedTweet, StreamTweet, annotation_agreement, read_stream, save_gate_rule, stream_scores, tune_gate,
    with_probabilities,
)

# A hand-made mix. Span tweets: A1 (found exactly, right code), A2 (found with other
# boundaries and another code), T3 (a Task 3 tweet without ADR, one false span). NoADR tweets:
# N1 (one false span), N2 (none), N3 (two false spans).
TWEETS = [
    StreamTweet("A1", [(0, 4, "c1")], "spans"),
    StreamTweet("A2", [(5, 9, "c2")], "spans"),
    StreamTweet("T3", [], "spans"),
    StreamTweet("N1", [], "noadr"),
    StreamTweet("N2", [], "noadr"),
    StreamTweet("N3", [], "noadr"),
]
PREDICTIONS = [
    PredictedTweet(0.9, [(0, 4, "c1")]),
    PredictedTweet(0.3, [(5, 8, "c3")]),
    PredictedTweet(0.2, [(0, 3, "")]),
    PredictedTweet(0.1, [(0, 2, "x")]),
    PredictedTweet(0.8, []),
    PredictedTweet(0.6, [(1, 3, ""), (4, 6, "")]),
]


def test_span_tweets_alone_are_the_enriched_setting():
    row = stream_scores(TWEETS, PREDICTIONS, rate=None, gate=None)
    assert (row["strict_p"], row["strict_r"]) == pytest.approx((1 / 3, 1 / 2))
    assert (row["relaxed_p"], row["relaxed_r"]) == pytest.approx((2 / 3, 1.0))
    assert (row["e2e_relaxed_p"], row["e2e_relaxed_r"]) == pytest.approx((1 / 3, 1 / 2))
    assert (row["n_adr_tweets"], row["n_noadr_tweets"]) == (2, 1)
    assert row["false_spans_per_1000_noadr"] == pytest.approx(1000.0)
    assert row["adr_rate"] == pytest.approx(2 / 3)


def test_a_rate_weights_the_noadr_tweets():
    # Two ADR tweets and four NoADR ones: at a rate of 0.5 each NoADR tweet counts 0.5 times
    row = stream_scores(TWEETS, PREDICTIONS, rate=0.5, gate=None)
    assert row["noadr_weight"] == pytest.approx(0.5)
    assert row["n_pred"] == pytest.approx(2 + 0.5 * 4)
    assert (row["strict_p"], row["relaxed_p"], row["relaxed_r"]) == pytest.approx((1 / 4, 2 / 4, 1.0))
    assert row["false_spans_per_1000_noadr"] == pytest.approx(1000 * 4 / 4)
    # A rarer ADR rate weighs the false spans more: precision falls, recall stays
    rare = stream_scores(TWEETS, PREDICTIONS, rate=0.1, gate=None)
    assert rare["relaxed_p"] < row["relaxed_p"] and rare["relaxed_r"] == row["relaxed_r"]


def test_the_gate_keeps_spans_of_tweets_at_or_above_its_threshold():
    row = stream_scores(TWEETS, PREDICTIONS, rate=0.5, gate=GateRule(0.5))
    # A1 and N3 pass the gate
    assert row["n_pred"] == pytest.approx(1 + 0.5 * 2)
    assert (row["relaxed_p"], row["relaxed_r"], row["strict_p"]) == pytest.approx((0.5, 0.5, 0.5))
    assert row["false_spans_per_1000_noadr"] == pytest.approx(1000 * 2 / 4)


def test_another_classifier_can_gate_the_same_spans():
    # A classifier that scores A1 and A2 high and every NoADR tweet low keeps only true tweets
    other = with_probabilities(PREDICTIONS, [0.9, 0.8, 0.1, 0.1, 0.1, 0.2])
    assert [p.spans for p in other] == [p.spans for p in PREDICTIONS]
    row = stream_scores(TWEETS, other, rate=0.5, gate=GateRule(0.5))
    assert row["false_spans_per_1000_noadr"] == 0.0
    assert (row["relaxed_p"], row["relaxed_r"]) == pytest.approx((1.0, 1.0))
    with pytest.raises(ValueError, match="5 probabilities for 6 predictions"):
        with_probabilities(PREDICTIONS, [0.5] * 5)


def test_tune_gate_takes_the_best_stream_f1_and_the_lowest_tied_threshold():
    # Between 0.21 and 0.30 the gate drops T3 and N1 and keeps A2: relaxed F1 0.8, the best
    gate, curve = tune_gate(TWEETS, PREDICTIONS, rate=0.5)
    assert gate == GateRule(pytest.approx(0.21), 0.0)
    best = next(row for row in curve if row["gate_threshold"] == gate.threshold)
    assert best["relaxed_f"] == pytest.approx(0.8)
    assert best["task3_relaxed_r"] == pytest.approx(1.0)
    # The curve's rows are those stream_scores gives for the same gate
    assert best["relaxed_p"] == pytest.approx(stream_scores(TWEETS, PREDICTIONS, rate=0.5, gate=gate)["relaxed_p"])


# The same spans with a score per span: A1, A2, N1 and N3's second span are sure, T3's span and
# N3's first are doubtful.
SCORED = [
    PredictedTweet(0.9, [(0, 4, "c1")], [0.95]),
    PredictedTweet(0.3, [(5, 8, "c3")], [0.9]),
    PredictedTweet(0.2, [(0, 3, "")], [0.4]),
    PredictedTweet(0.1, [(0, 2, "x")], [0.95]),
    PredictedTweet(0.8, [], []),
    PredictedTweet(0.6, [(1, 3, ""), (4, 6, "")], [0.3, 0.95]),
]


def test_a_minimum_span_score_drops_doubtful_spans_of_open_tweets():
    row = stream_scores(TWEETS, SCORED, rate=0.5, gate=GateRule(0.0, 0.5))
    # T3's span (0.4) and N3's first (0.3) are dropped; unscored spans would stay
    assert row["n_pred"] == pytest.approx(2 + 0.5 * 2)
    unscored = stream_scores(TWEETS, PREDICTIONS, rate=0.5, gate=GateRule(0.0, 0.5))
    assert unscored["n_pred"] == pytest.approx(2 + 0.5 * 4)
    # A closed tweet keeps none of its spans, however sure
    closed = stream_scores(TWEETS, SCORED, rate=0.5, gate=GateRule(0.7, 0.5))
    assert closed["n_pred"] == pytest.approx(1)  # A1 alone


def test_tune_gate_searches_thresholds_and_span_scores():
    gate, curve = tune_gate(TWEETS, SCORED, rate=0.5, min_span_scores=(0.0, 0.5))
    assert len(curve) == 2 * 100
    # At span score 0.5, from 0.11 to 0.30 the gate keeps A1 and A2 and N3's sure span only:
    # relaxed P 2 / 2.5, R 1, F1 0.889, against 0.8 at best without the span score
    assert gate == GateRule(pytest.approx(0.11), 0.5)
    best = stream_scores(TWEETS, SCORED, rate=0.5, gate=gate)
    assert (best["relaxed_p"], best["relaxed_r"], best["false_spans_per_1000_noadr"]) == pytest.approx((0.8, 1.0, 250.0))


def test_stream_errors():
    with pytest.raises(ValueError, match="ADR rate is in"):
        stream_scores(TWEETS, PREDICTIONS, rate=1.5, gate=None)
    with pytest.raises(ValueError, match="5 predictions for 6 tweets"):
        stream_scores(TWEETS, PREDICTIONS[:5], rate=0.5, gate=None)
    with pytest.raises(ValueError, match="needs ADR and NoADR tweets"):
        stream_scores(TWEETS[:2], PREDICTIONS[:2], rate=0.5, gate=None)


def write_docs(path, items):
    nlp = spacy.blank("en")
    docs = []
    for text, cats, ents in items:
        doc = nlp.make_doc(text)
        doc.cats = cats
        doc.ents = [doc.char_span(start, end, label="ADR", kb_id=code) for start, end, code in ents]
        docs.append(doc)
    DocBin(docs=docs, store_user_data=True).to_disk(path)
    return path


def test_read_stream_leaves_out_seen_and_adr_tweets(tmp_path):
    spans = write_docs(tmp_path / "task3_dev.spacy", [
        ("pill made me dizzy", {}, [(13, 18, "10013573")]),
        ("took my pill", {}, []),
    ])
    noadr = write_docs(tmp_path / "task2_dev.spacy", [
        ("Took my pill", {"ADR": 0.0}, []),          # a span tweet again (case differs)
        ("this drug made me sick", {"ADR": 1.0}, []),  # ADR: not a NoADR tweet
        ("sick of the rain", {"ADR": 0.0}, []),
        ("sick of the rain", {"ADR": 0.0}, []),       # the same tweet twice
        ("new pills today", {"ADR": 0.0}, []),         # trained on
        ("pharmacy was closed", {"ADR": 0.0}, []),
    ])
    train = write_docs(tmp_path / "train.spacy", [('"New pills today"', {"ADR": 0.0}, [])])
    tweets = read_stream(spans, noadr, exclude=[train])
    assert [(t.text, t.gold, t.source) for t in tweets] == [
        ("pill made me dizzy", [(13, 18, "10013573")], "spans"),
        ("took my pill", [], "spans"),
        ("sick of the rain", [], "noadr"),
        ("pharmacy was closed", [], "noadr"),
    ]
    with pytest.raises(ValueError, match="missing.spacy: no such corpus"):
        read_stream(spans, tmp_path / "missing.spacy")


def test_annotation_agreement_counts_gold_spans_on_shared_noadr_tweets(tmp_path):
    spans = write_docs(tmp_path / "task3_dev.spacy", [
        ("pill made me dizzy and sick", {}, [(13, 18, "10013573"), (23, 27, "10040995")]),
        ("took my pill", {}, []),
        ("this drug made me sick", {}, [(18, 22, "10040995")]),
        ("no label for this one", {}, [(0, 2, "1")]),
    ])
    labels = write_docs(tmp_path / "task2_dev.spacy", [
        ("Pill made me dizzy and sick", {"ADR": 0.0}, []),  # NoADR, yet two gold spans
        ("took my pill", {"ADR": 0.0}, []),                 # NoADR, no span: they agree
        ("took my pill", {"ADR": 0.0}, []),                 # the same tweet twice counts once
        ("this drug made me sick", {"ADR": 1.0}, []),       # ADR with a span: they agree
        ("rain again", {"ADR": 0.0}, []),                   # not a span tweet
    ])
    assert annotation_agreement(spans, labels) == {
        "n_shared_noadr": 2, "n_noadr_with_spans": 1, "n_spans_on_noadr": 2, "n_shared_adr": 1,
        "n_adr_without_spans": 0, "false_spans_per_1000_noadr": 1000.0,
    }


def test_save_gate_rule_writes_the_config(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_span_gate")
    nlp.to_disk(tmp_path / "gated")
    assert save_gate_rule(tmp_path / "gated", GateRule(0.37, 0.8)) == "adr_span_gate"
    gate = spacy.load(tmp_path / "gated").get_pipe("adr_span_gate")
    assert (gate.threshold, gate.min_span_score) == pytest.approx((0.37, 0.8))
    spacy.blank("en").to_disk(tmp_path / "plain")
    with pytest.raises(ValueError, match="no adr_span_gate component"):
        save_gate_rule(tmp_path / "plain", GateRule(0.5))


def test_precision_by_score_band():
    from spacy_adr_builder.evaluation.stream import precision_by_score

    scored = [PredictedTweet(p.probability, p.spans, [0.95] * len(p.spans)) for p in PREDICTIONS]
    scored[1] = PredictedTweet(0.3, [(5, 8, "c3")], [0.6])  # A2's span, right: band 0.5-0.9
    scored[5] = PredictedTweet(0.6, [(1, 3, ""), (4, 6, "")], [0.2, 0.3])  # N3's two, false: band 0-0.5
    bands = precision_by_score(TWEETS, scored, rate=0.5)
    assert [(b["score_min"], b["n_spans"]) for b in bands] == [(0.0, 2), (0.5, 1), (0.9, 3)]
    # Top band: A1 right (weight 1), T3 and N1 false (weight 0.5 each)
    assert [b["relaxed_p"] for b in bands] == pytest.approx([0.0, 1.0, 1 / 2])
    assert precision_by_score(TWEETS, PREDICTIONS, rate=0.5) == []


def test_tune_gate_can_protect_the_enriched_figures():
    # Ungated, the span tweets alone have relaxed F1 0.8 (P 2/3, R 1); from 0.31 on, A2 is lost
    # there (F1 0.5 at most), and at 0.21-0.30 T3 is dropped (F1 1.0): within any limit
    gate, curve = tune_gate(TWEETS, PREDICTIONS, rate=0.5, max_task3_drop=0.01)
    assert gate.threshold == pytest.approx(0.21)
    assert curve[0]["task3_relaxed_f"] == pytest.approx(0.8)
    # A stream that prefers a high gate: N3 (0.6) gets many more false spans
    noisy = list(PREDICTIONS)
    noisy[5] = PredictedTweet(0.6, [(i, i + 1, "") for i in range(0, 20, 2)])
    free, _ = tune_gate(TWEETS, noisy, rate=0.5)
    protected, _ = tune_gate(TWEETS, noisy, rate=0.5, max_task3_drop=0.01)
    assert free.threshold > 0.6 and protected.threshold <= 0.3


def test_best_by_setting_gives_one_row_per_span_score():
    from spacy_adr_builder.evaluation.stream import best_by_setting

    gate, curve = tune_gate(TWEETS, SCORED, rate=0.5, min_span_scores=(0.0, 0.5))
    rows = best_by_setting(curve)
    assert [row["min_span_score"] for row in rows] == [0.0, 0.5]
    assert [row["gate_threshold"] for row in rows] == pytest.approx([0.21, 0.11])
    best = max(rows, key=lambda row: row["relaxed_f"])
    assert (best["gate_threshold"], best["min_span_score"]) == (gate.threshold, gate.min_span_score)
    assert gate.row() == {"gate_threshold": gate.threshold, "min_span_score": gate.min_span_score}


def test_split_names_follow_the_corpora():
    assert [split_name(rate, 0.09) for rate in (None, 0.09, 0.03)] == [
        "task3_dev", "en_dev_stream_natural", "en_dev_stream_3pct"]
    # a Russian stream: RuDReC's held-out reviews with the NoADR tweets of Task 2 ru dev
    assert [split_name(rate, 0.087, spans="rudrec_dev", stream="ru_dev") for rate in (None, 0.087, 0.03)] == [
        "rudrec_dev", "ru_dev_stream_natural", "ru_dev_stream_3pct"]
