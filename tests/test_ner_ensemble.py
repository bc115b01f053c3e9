"""Span-level voting over NER members, on fixed predictions."""
import pytest

from spacy_adr.training.ner_ensemble import ensemble_spans, vote_spans, vote_table


def test_votes_keep_spans_enough_members_marked():
    members = [[(0, 8), (20, 25)], [(0, 8), (30, 34)], [(0, 8), (20, 25)]]
    assert vote_spans(members, 1) == [(0, 8), (20, 25), (30, 34)]
    assert vote_spans(members, 2) == [(0, 8), (20, 25)]
    assert vote_spans(members, 3) == [(0, 8)]


def test_overlaps_go_to_more_votes_then_the_longer_span():
    # (0, 8) has two votes, (4, 12) one: the union keeps (0, 8) and drops its overlap
    assert vote_spans([[(0, 8)], [(0, 8)], [(4, 12)]], 1) == [(0, 8)]
    # a tie in votes: the longer span wins, whatever the order of members
    assert vote_spans([[(0, 4)], [(0, 9)]], 1) == [(0, 9)]
    assert vote_spans([[(0, 9)], [(0, 4)]], 1) == [(0, 9)]


def test_a_member_repeating_a_span_votes_once():
    assert vote_spans([[(0, 8), (0, 8)], []], 2) == []


def test_vote_bounds_are_checked():
    with pytest.raises(ValueError, match="between 1 and 2"):
        vote_spans([[], []], 3)
    with pytest.raises(ValueError, match="different numbers of texts"):
        ensemble_spans([[[]], [[], []]], 1)


def test_vote_table_runs_every_threshold_text_by_text():
    predictions = [[[(0, 3)], []], [[(0, 3)], [(5, 9)]]]
    assert vote_table(predictions) == {1: [[(0, 3)], [(5, 9)]], 2: [[(0, 3)], []]}


def test_a_heavier_member_is_overruled_only_when_the_others_agree():
    strong, weak_a, weak_b = [(0, 8)], [(20, 25)], [(20, 25), (30, 34)]
    members = [strong, weak_a, weak_b]
    assert vote_spans(members, 2, weights=[2, 1, 1]) == [(0, 8), (20, 25)]
    assert vote_spans(members, 3, weights=[2, 1, 1]) == []
    assert sorted(vote_table([[spans] for spans in members], weights=[2, 1, 1])) == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="3 positive integers"):
        vote_spans(members, 1, weights=[1, 0, 1])
