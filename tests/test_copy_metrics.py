"""The copy-detection scores (copydetect/metrics.py) on cases worked by hand."""
import pytest

from copydetect.metrics import evaluate

TRUTH = [("q1", "r1"), ("q2", "r2")]


def test_perfect_ranking_scores_one():
    s = evaluate(TRUTH, [("q1", "r1", 0.9), ("q2", "r2", 0.8), ("q3", "r7", 0.1)])
    assert s.uap == pytest.approx(1.0)
    assert s.recall_at_p90 == 1.0 and s.threshold_at_p90 == 0.8
    assert s.recall_at_1 == s.recall_at_10 == 1.0


def test_a_confident_false_match_costs_every_match_below_it():
    # order: false (p 0), q1 true (p 1/2, r 1/2), q2 true (p 2/3, r 1)
    s = evaluate(TRUTH, [("q3", "r1", 0.99), ("q1", "r1", 0.9), ("q2", "r2", 0.8)])
    assert s.uap == pytest.approx(0.5 * 0.5 + 0.5 * 2 / 3)
    assert s.recall_at_p90 is None and s.threshold_at_p90 is None


def test_equal_scores_count_false_matches_first_and_ranks_count_ties_against():
    s = evaluate(TRUTH, [("q1", "r1", 0.5), ("q1", "r9", 0.5), ("q2", "r2", 0.5)])
    assert s.uap == pytest.approx(0.5 * 0.5 + 0.5 * 2 / 3)   # false, true, true
    assert s.recall_at_1 == 0.5                             # q1's tie puts r1 at rank 1


def test_a_missing_query_lowers_recall_and_duplicates_are_refused():
    s = evaluate(TRUTH, [("q1", "r1", 0.9)])
    assert s.uap == pytest.approx(0.5) and s.recall_at_10 == 0.5 and s.recall_at_p90 == 0.5
    with pytest.raises(ValueError, match="more than once"):
        evaluate(TRUTH, [("q1", "r1", 0.9), ("q1", "r1", 0.3)])
