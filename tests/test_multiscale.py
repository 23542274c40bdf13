"""Multi-scale testing: crops with other margins, fused at string level."""
import numpy as np
import pytest

from localization.locator import Locator, Margins, WorkParams
from pipeline.multiscale import fuse_kbest, scaled_rows
from pipeline.read_ids import IdReader
from test_read_ids import ScriptedRecognizer

CHARSET = list("ABIl")


def posterior(columns: list[dict[str, float]]) -> np.ndarray:
    """(T, C) posteriors: each step a {symbol or '-': probability} dict."""
    out = np.full((len(columns), len(CHARSET) + 1), 1e-6, np.float32)
    for t, column in enumerate(columns):
        for symbol, p in column.items():
            out[t, 0 if symbol == "-" else CHARSET.index(symbol) + 1] = p
    return out / out.sum(axis=1, keepdims=True)


def test_margins_grow_and_shrink_about_the_box_inside_the_frame():
    rows = [[(10.0, 20.0, 110.0, 40.0)]]
    assert scaled_rows(rows, 1.0, 200, 100) is rows
    (x0, y0, x1, y1), = scaled_rows(rows, 1.5, 200, 100)[0]
    assert (x0, y0, x1, y1) == (0.0, 15.0, 120.0, 45.0)       # 10 px on x (clipped), 5 on y
    (x0, y0, x1, y1), = scaled_rows(rows, 0.9, 200, 100)[0]
    assert (x0, y0, x1, y1) == pytest.approx((12.0, 21.0, 108.0, 39.0))


def test_fusion_follows_what_the_scales_agree_on():
    sure = posterior([{"A": 0.9, "-": 0.1}, {"-": 1.0}, {"I": 0.55, "l": 0.45}])
    other = posterior([{"A": 0.8, "-": 0.2}, {"-": 1.0}, {"l": 0.7, "I": 0.3}])
    fused = fuse_kbest([sure, other], CHARSET, k=2)
    assert [text for text, _ in fused] == ["Al", "AI"]        # the second scale tips I/l
    assert 0 < fused[1][1] < fused[0][1] < 1


def test_a_reader_refuses_scales_without_the_localisers_own_crop():
    locator = Locator("direct", WorkParams(), Margins())
    with pytest.raises(ValueError, match="include 1.0"):
        IdReader(locator, ScriptedRecognizer([]), scales=(0.9, 1.1))
    frames = [np.full((640, 360, 3), 0, np.uint8)]
    reader = IdReader(locator, ScriptedRecognizer(["AB12"]), scales=(1.0, 1.1))
    assert reader.read(frames, ["f.jpg"])[0].text == "AB12"
