"""The glyph measurement finds identical glyphs and turns groups into a ceiling."""
from pathlib import Path

import numpy as np
import pytest

from ppocr_ext.glyph_ceiling import (ALPHABET, closest_pairs, coin_flip_ceiling,
                                     indistinguishable_groups, render_glyphs)

LIBERATION = Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf")


def test_groups_are_transitive_and_exclude_distinct_glyphs():
    a = np.zeros((4, 4), np.int16)
    glyphs = {"I": a, "l": a + 3, "1": a + 6, "O": a + 200}
    assert indistinguishable_groups(glyphs, tolerance=4) == ["1Il"]
    assert indistinguishable_groups(glyphs, tolerance=2) == []


def test_ceiling_of_one_pair_matches_hand_computation():
    per_symbol = (60 + 2 * 0.5) / 62
    expected = np.mean([per_symbol ** n for n in range(8, 16)])
    assert coin_flip_ceiling(["Il"]) == pytest.approx(expected)
    assert coin_flip_ceiling([]) == 1.0


@pytest.mark.skipif(not LIBERATION.exists(), reason="fonts-liberation not installed")
def test_liberation_sans_I_and_l_are_its_closest_pair_at_low_resolution():
    glyphs = render_glyphs(LIBERATION, size_px=10)
    assert set(glyphs) == set(ALPHABET)
    pairs = dict(closest_pairs(glyphs, n=len(ALPHABET) ** 2))
    assert min(pairs, key=pairs.get) == "I/l"
    assert pairs["I/l"] < pairs["0/O"] / 4  # DESIGN: O/0 and S/5 do differ at these sizes
    assert pairs["I/l"] < pairs["5/S"] / 4
    assert any({"I", "l"} <= set(g) for g in indistinguishable_groups(glyphs, pairs["I/l"]))
