"""The ID-line cut keeps the `抖音号:<ID>` line and drops the logo line above it."""
import json

import cv2
import numpy as np
import pytest

from localization.id_line import MIN_LINES, TRIM_PAD, cut_id_line, fit_along_line, id_line_rows, padded
from localization.locator import Localisation, cut_to_id_line
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


def test_line_evidence_picks_the_id_line_over_a_caption_under_it():
    crop = np.full((60, 200), 110, np.uint8)
    _text_line(crop, "ID a7Kq92x", 16, 0.4)                # rows ~8..16
    _text_line(crop, "@caption", 50, 0.6)                  # rows ~38..50
    evidence = np.full(60, -4.0)
    evidence[8:17] = 3.0                                   # the line head points at the ID
    y0, y1 = id_line_rows(crop, evidence=evidence)
    assert y0 <= 9 and 16 <= y1 < 30
    evidence = evidence[::-1].copy()                       # ... or at the caption
    assert id_line_rows(crop, evidence=evidence)[0] > 30


def test_line_evidence_finds_a_small_id_a_bold_caption_hides_from_the_rule():
    crop = np.full((60, 200), 110, np.uint8)
    _text_line(crop, "BOLD CAPTION", 22, 0.8)              # rows ~6..22: sets the bar
    _text_line(crop, "ID a7Kq92x", 48, 0.35)               # rows ~43..48: under it
    assert id_line_rows(crop)[1] < 36                      # the rule only sees the caption
    evidence = np.full(60, -4.0)
    evidence[40:49] = 3.0
    y0, y1 = id_line_rows(crop, evidence=evidence)
    assert 36 <= y0 <= 43 and y1 >= 48


def test_fitting_reaches_a_prefix_the_box_cut_off_and_nothing_on_a_flat_background():
    rows = np.full((20, 300), 110, np.uint8)
    _text_line(rows, "AB:cdefgh", 15, 0.5)                 # ink from x = 4 to 76
    left, right = fit_along_line(rows, 40, 80, line_height=8)
    assert left <= 4 and right == 80
    flat = np.full((20, 300), 110, np.uint8)
    assert fit_along_line(flat, 40, 80, line_height=8) == (40.0, 80.0)


def test_fitting_trims_a_box_that_overhangs_the_line_to_its_text_plus_padding():
    rows = np.full((20, 300), 110, np.uint8)
    _text_line(rows, "AB:cdefgh", 15, 0.5)                 # ink from x = 4 to 76
    ink = np.flatnonzero(np.abs(rows.astype(int) - 110).max(axis=0) > 0)
    left, right = fit_along_line(rows, 0, 200, line_height=8)   # 120 columns of background
    assert ink[0] - TRIM_PAD * 8 - 3 <= left <= ink[0]
    assert ink[-1] + 1 <= right <= ink[-1] + 1 + TRIM_PAD * 8 + 3


def test_fitting_trims_to_the_text_on_a_grainy_frame_too():
    # grain carries text energy into every column; only the line's own rows carry more
    rows = np.full((24, 300), 110, np.uint8)
    _text_line(rows, "AB:cdefgh", 16, 0.5)                 # ink: columns 4-79, rows 4-19
    ink = np.flatnonzero(np.abs(rows.astype(int) - 110).max(axis=0) > 0)
    grain = np.random.default_rng(0).normal(0, 25, rows.shape)
    noisy = np.clip(rows + grain, 0, 255).astype(np.uint8)
    assert fit_along_line(noisy, 0, 200, line_height=8)[1] > 150         # grain kept as "text"
    left, right = fit_along_line(noisy, 0, 200, line_height=8, core=(4, 20))
    assert ink[0] - TRIM_PAD * 8 - 3 <= left <= ink[0]
    assert ink[-1] + 1 <= right <= ink[-1] + 1 + TRIM_PAD * 8 + 3


def test_fitting_trims_a_grainy_box_the_text_fills_a_fifth_of():
    # under noise DDT's box spans the frame: its 75th-percentile column is grain, so the
    # text's level must come from the strongest columns (TEXT_SPAN line heights)
    rows = np.full((24, 400), 110, np.uint8)
    _text_line(rows, "AB:cdefgh", 16, 0.5)                 # ink: columns 4-79 of a 400-wide box
    ink = np.flatnonzero(np.abs(rows.astype(int) - 110).max(axis=0) > 0)
    noisy = np.clip(rows + np.random.default_rng(1).normal(0, 25, rows.shape), 0, 255).astype(np.uint8)
    left, right = fit_along_line(noisy, 0, 400, line_height=8, core=(4, 20))
    assert ink[0] - TRIM_PAD * 8 - 3 <= left <= ink[0]
    assert ink[-1] + 1 <= right <= ink[-1] + 1 + TRIM_PAD * 8 + 3


def test_padding_never_keeps_fewer_rows_than_asked_around_the_run():
    assert padded((20, 30), 60) == (14, 36)                  # PAD of the run's own height
    assert padded((20, 30), 60, min_rows=12) == (14, 36)     # already taller: unchanged
    assert padded((24, 26), 60, min_rows=12) == (19, 31)     # a fragment: 12 rows around it
    assert padded((1, 3), 60, min_rows=12) == (0, 8)         # clipped to the crop


def test_cut_keeps_the_typical_line_height_where_texture_hides_most_of_the_id():
    # vertical stripes: every row carries the same energy, but two rows of the ID stand
    # out; the rule finds just that fragment of a line typically 8 rows tall
    frame = np.tile(np.where(np.arange(200) % 6 < 3, 200, 60).astype(np.uint8), (100, 1))
    frame[44:46, 20:120:2] = 255
    def cut(line_height):
        result = Localisation([[(10.0, 30.0, 130.0, 60.0)]])
        cut_to_id_line(frame, result, line_height)
        return result.rows[0][0]
    bare = cut(None)
    assert bare[3] - bare[1] < 10                            # the fragment, barely padded
    x0, y0, x1, y1 = cut(0.08)                               # typical line: 8 rows of 100
    assert y1 - y0 >= MIN_LINES * 8 and y0 <= 45 - 7 and y1 >= 45 + 7


def _turned_line(angle: float) -> np.ndarray:
    """A gray 240x80 image of one white ID line turned by `angle` degrees about its centre."""
    from PIL import Image, ImageDraw, ImageFont
    image = Image.new("L", (240, 80), 40)
    font = ImageFont.truetype("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", 18)
    ImageDraw.Draw(image).text((20, 30), "Ab3xKq9LmWe2Zt", fill=235, font=font)
    matrix = cv2.getRotationMatrix2D((120, 40), angle, 1.0)
    return cv2.warpAffine(np.asarray(image), matrix, (240, 80), borderMode=cv2.BORDER_REFLECT_101)


@pytest.mark.parametrize("angle", [-5.0, -2.0, 1.5, 3.0, 6.0])
def test_a_tilted_line_is_measured_and_levelled(angle):
    from localization.geometry import level
    from localization.id_line import line_tilt

    tilted = _turned_line(angle)
    tilt = line_tilt(tilted)
    assert abs(tilt + angle) <= 0.6                  # the turn back, OpenCV's convention
    assert line_tilt(level(tilted, (tilt, 120, 40))) == 0.0


def test_level_lines_and_blank_crops_are_not_turned():
    from localization.id_line import line_tilt

    assert line_tilt(_turned_line(0.0)) == 0.0
    assert line_tilt(_turned_line(0.6)) == 0.0        # under MIN_TILT
    assert line_tilt(np.full((30, 120), 90, np.uint8)) == 0.0
    assert line_tilt(np.zeros((2, 2), np.uint8)) == 0.0


def test_a_tilted_mark_is_cut_level_with_its_level_cut_kept_beside_it():
    from localization.geometry import crop_rows, integer_box, turn_box
    from localization.id_line import line_tilt

    frame = np.full((200, 400), 40, np.uint8)
    frame[60:140, 80:320] = _turned_line(4.0)
    result = Localisation([[(70.0, 50.0, 330.0, 150.0)]])
    cut_to_id_line(frame, result)
    assert result.tilt is not None and abs(result.tilt[0] + 4.0) <= 0.6
    (box,), = result.rows
    crop = crop_rows(frame, result.rows, result.tilt)
    x0, y0, x1, y1 = integer_box(box, 400, 200)
    assert crop.shape == (y1 - y0, x1 - x0)
    assert line_tilt(crop) == 0.0 and crop.shape[0] < 40   # a level strip of the one line
    (straight,), = result.straight_rows
    assert straight[3] - straight[1] < 60                  # the level cut through the tilted line
    frame_box = result.frame_box()                          # back in the frame's pixels
    assert frame_box == pytest.approx(turn_box(box, result.tilt, inverse=True))
    assert 60 <= frame_box[0] and frame_box[2] <= 340
    level_result = result.straightened()
    assert level_result.tilt is None and level_result.rows == result.straight_rows


def test_the_localisers_crop_files_keep_the_tilt_also_when_shrunk(tmp_path):
    """`tools/localize.py` writes the reader's cut: box entries carry the tilt, the crop
    LMDBs are cut from the levelled frame, at train resolution and shrunk alike."""
    from localization.export import box_entry, cut
    from localization.frame_records import FrameRecord
    from localization.id_line import line_tilt

    frame = np.full((200, 400), 40, np.uint8)
    frame[60:140, 80:320] = _turned_line(4.0)
    path = tmp_path / "v0_0_.png"
    cv2.imwrite(str(path), frame)
    result = Localisation([[(70.0, 50.0, 330.0, 150.0)]])
    cut_to_id_line(frame, result)
    entry = json.loads(json.dumps(box_entry(result, 400, 200)))
    assert entry["tilt"] == pytest.approx(list(result.tilt), abs=1e-3)
    record = FrameRecord("v0_0_.png", "Ab3xKq9LmWe2Zt", path)
    for shrink in (1.0, 1.7):
        crop = cv2.imdecode(np.frombuffer(cut(record, entry, shrink, ".png"), np.uint8),
                            cv2.IMREAD_GRAYSCALE)
        assert line_tilt(crop) == 0.0 and crop.shape[0] < 40 / shrink
        del entry["tilt"]
        straight = cv2.imdecode(np.frombuffer(cut(record, entry, shrink, ".png"), np.uint8),
                                cv2.IMREAD_GRAYSCALE)
        assert line_tilt(straight) != 0.0                 # without it the crop stays turned
        entry["tilt"] = list(result.tilt)
