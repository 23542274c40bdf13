"""The ID-line cut keeps the `抖音号:<ID>` line and drops the logo line above it."""
import json

import cv2
import numpy as np
import pytest

from localization.id_line import cut_id_line, id_line_rows
from synth.frames import generate


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    generate(out, videos=12, seed=5, test_videos=4, progress=False)
    return out, json.loads((out / "boxes.json").read_text())


@pytest.mark.parametrize("split", ["train", "test"])
def test_lowest_line_is_the_id_line(frames, split):
    out, boxes = frames
    hits = total = 0
    for name, entry in boxes[split].items():
        gray = cv2.imread(str(out / split / name), cv2.IMREAD_GRAYSCALE)
        x0, y0, x1, y1 = (int(round(v)) for v in entry["box"])
        line = y1 - y0
        # a loose localiser crop: room for the logo line above and a margin below
        top, bottom = max(0, y0 - 3 * line), min(gray.shape[0], y1 + line // 2)
        r0, r1 = id_line_rows(gray[top:bottom, max(0, x0 - line):x1 + line])
        total += 1
        hits += (top + r0 <= y0 + 1) and (top + r1 >= y1 - 1) and (top + r0 >= y0 - line)
    assert hits / total >= 0.9, f"{hits}/{total} crops cut to the ID line"


def test_flat_crop_is_kept_whole():
    flat = np.full((30, 120, 3), 90, np.uint8)
    assert id_line_rows(cv2.cvtColor(flat, cv2.COLOR_BGR2GRAY)) == (0, 30)
    assert cut_id_line(flat).shape == flat.shape


def _text_line(canvas: np.ndarray, text: str, baseline: int, scale: float) -> None:
    """White text with a dark rim, as the watermark and captions are drawn."""
    for colour, thickness in ((20, 3), (250, 1)):
        cv2.putText(canvas, text, (4, baseline), cv2.FONT_HERSHEY_SIMPLEX, scale, colour,
                    thickness, cv2.LINE_AA)


def test_anchor_keeps_the_id_line_above_a_caption():
    crop = np.full((60, 200), 110, np.uint8)
    _text_line(crop, "ID a7Kq92x", 16, 0.4)                # the mark's ID line, rows ~8..16
    _text_line(crop, "@caption", 50, 0.6)                  # a caption under it, rows ~38..50
    lowest = id_line_rows(crop)
    anchored = id_line_rows(crop, anchor=6.0)              # evidence peaks just above the ID
    assert lowest[0] > 30                                  # without the anchor: the caption
    assert anchored[0] <= 9 and 16 <= anchored[1] < 30     # with it: the ID line
