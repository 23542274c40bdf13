"""The copy-detection scores (copydetect/metrics.py, pipeline/copy_bench.py) on cases worked by hand."""
import pytest

from copydetect.metrics import evaluate
from pipeline.copy_bench import copies_only, source_ids

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


def test_each_matched_query_ends_in_one_outcome_at_rank_1():
    """The frame-level misses split into another frame of the right video (what a camera
    moving a few pixels between frames causes) and another video, or no answer at all."""
    from copydetect.breakdown import OUTCOMES, outcomes
    truth = [("q1", "v1_3_"), ("q2", "v2_1_"), ("q3", "v3_2_"), ("q4", "v4_5_")]
    queries = [{"query_id": f"q{i}", "video": f"v{i}"} for i in range(1, 5)] + \
        [{"query_id": "q5", "video": "v9"}]
    rows = [("q1", "v1_3_", 0.9), ("q1", "v1_4_", 0.5),      # right, a worse sibling below
            ("q2", "v2_2_", 0.8), ("q2", "v2_1_", 0.7),      # a sibling ranked first
            ("q3", "v7_1_", 0.6),                            # another video
            ("q5", "v1_3_", 0.4)]                            # a distractor: not counted
    assert outcomes(truth, rows, queries) == dict(zip(OUTCOMES, (1, 1, 1, 1)))


def test_copies_only_leaves_out_the_same_videos_held_out_frames():
    query_rows = [{"query_id": "q1", "kind": "copy"}, {"query_id": "q2", "kind": "same_video"},
                  {"query_id": "q3", "kind": "distractor"}]
    truth = [("q1", "r1"), ("q2", "r2")]
    rows = [("q1", "r1", 0.9), ("q2", "r9", 0.95), ("q3", "r3", 0.1)]   # q2 answered wrong, confidently
    assert evaluate(truth, rows).uap < 0.5
    scores = copies_only(rows, truth, query_rows)
    assert scores.uap == pytest.approx(1.0) and scores.recall_at_1 == pytest.approx(1.0)


def test_source_ids_count_the_matched_queries_and_forgive_only_i_and_l():
    query_rows = [{"query_id": "q1", "kind": "copy", "video": "va", "account_id": "AbIl9"},
                  {"query_id": "q2", "kind": "copy", "video": "vb", "account_id": "Xyz12"},
                  {"query_id": "q3", "kind": "copy", "video": "vc", "account_id": "Qq7"},
                  {"query_id": "q4", "kind": "distractor", "video": "vd", "account_id": "D1"}]
    rows = [("q1", "va_0_.jpg", 1.0), ("q2", "vb_3_.jpg", 0.9), ("q3", "va_1_.jpg", 0.8), ("q4", "va_0_.jpg", 0.7)]
    sources = {"va": {"id": "Abll9"}, "vb": {"id": "Xyz1Z"}}          # an I/l swap, a real misread
    assert source_ids(rows, query_rows, sources) == {"correctly_matched": 2, "source_id_right": 0,
                                                     "share": 0.0, "share_il_forgiven": 0.5}
