"""Prefix beam search: alternatives and their probabilities are right on hand-made posteriors."""
import numpy as np
import pytest

from ctc_oracle import CHARS, brute_force, one_hot
from ppocr_ext.ctc import ctc_kbest


def test_certain_posteriors_give_the_collapsed_string():
    # a a blank a -> "aa"; I I -> "I"
    probs = one_hot([3, 3, 0, 3, 1, 1])
    (text, p), = ctc_kbest(probs, CHARS, k=1)
    assert text == "aaI"
    assert p == pytest.approx(1.0)


def test_ambiguous_glyph_yields_both_readings_with_their_probabilities():
    probs = one_hot([3, 0, 0])
    probs[1] = [0.0, 0.55, 0.45, 0.0]  # the model cannot tell I from l
    best = ctc_kbest(probs, CHARS, k=2)
    assert [t for t, _ in best] == ["aI", "al"]
    assert best[0][1] == pytest.approx(0.55)
    assert best[1][1] == pytest.approx(0.45)


def test_matches_exhaustive_sum_over_alignments():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(len(CHARS) + 1), size=5)
    expected = sorted(brute_force(probs).items(), key=lambda kv: kv[1], reverse=True)[:3]
    got = ctc_kbest(probs, CHARS, k=3, beam=64, cutoff=0.0)
    assert [t for t, _ in got] == [t for t, _ in expected]
    for (_, p), (_, q) in zip(got, expected):
        assert p == pytest.approx(q, rel=1e-9)


def test_steps_where_only_the_blank_matters_keep_the_exact_sums():
    # confident blanks between ambiguous steps, as on a real 64-position line: the blank-only
    # steps take the fast path and the readings still carry the exhaustive probabilities
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(len(CHARS) + 1), size=7)
    for t in (0, 2, 3, 6):
        probs[t] = [1.0, 0.0, 0.0, 0.0]
    expected = sorted(brute_force(probs).items(), key=lambda kv: kv[1], reverse=True)[:3]
    got = ctc_kbest(probs, CHARS, k=3, beam=64, cutoff=1e-12)   # only exact zeros pruned
    assert [t for t, _ in got] == [t for t, _ in expected]
    for (_, p), (_, q) in zip(got, expected):
        assert p == pytest.approx(q, rel=1e-9)


def test_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match="expected"):
        ctc_kbest(np.ones((4, 2)), CHARS)
