"""Second stage: cut the ID line out of a localised watermark crop.

DDT's blob is the whole salient mark: on Douyin frames that is often two lines, the
'♪抖音' logo above and '抖音号:<ID>' below, plus margins. Squeezed into a 16- or
32-pixel-high recogniser input, the ID line would keep a quarter of the rows. The ID
is always the LAST line of the mark, and a line of the mark is rows where many pixels
are both brighter than their row neighbours (white glyphs: horizontal white top-hat)
and on a vertical edge (the glyphs' dark rim): so take the lowest run of such rows.
No learning and no boxes: a layout rule of the watermark, measured in the benchmark
against keeping the whole crop (`output.id_line` in configs/loc).
"""
from __future__ import annotations

import cv2
import numpy as np

THRESHOLD = 0.3      # a text row carries this share of the crop's range of row energy
PAD = 0.65           # padding above and below the found line, as a share of its height
ANCHOR_REACH = 2.5   # see id_line_rows


def row_energy(gray: np.ndarray) -> np.ndarray:
    """Per-row text energy: white top-hat x |horizontal gradient|, averaged over the
    strongest third of the row so that a long dark background stretch does not dilute
    a short ID."""
    width = gray.shape[1]
    white = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT,
                             cv2.getStructuringElement(cv2.MORPH_RECT, (9, 1)))
    edge = np.abs(cv2.Sobel(gray.astype(np.float32), cv2.CV_32F, 1, 0, ksize=3))
    energy = white.astype(np.float32) * edge
    strongest = np.sort(energy, axis=1)[:, -max(1, width // 3):].mean(axis=1)
    return np.convolve(strongest, np.ones(3) / 3, mode="same")


def id_line_rows(gray: np.ndarray, anchor: float | None = None) -> tuple[int, int]:
    """Rows [y0, y1) of the lowest text line of a watermark crop (the whole crop when
    no line stands out).

    `anchor`: the row where the classifier's evidence for the mark peaks. On generated
    frames that peak sits 0.6 line heights above the ID line's top (median; 90% between
    1.1 above and 0.7 below), on the logo line or the top of the ID, so a line starting
    more than ANCHOR_REACH of its heights below the anchor is a caption under the mark,
    not the ID. PAD and ANCHOR_REACH were chosen on a dev set (data/bench_video, seed
    102), not on the benchmark's frames."""
    height = gray.shape[0]
    profile = row_energy(gray)
    runs = text_runs(profile, min_rows=max(2, height // 20))
    if anchor is not None:
        far = [run for run in runs if run[0] > anchor + ANCHOR_REACH * (run[1] - run[0])]
        if far and far[0][0] > 0:
            # rows from the first caption down are not the mark's: find the lines again
            # without them, so a bold caption does not set the bar the ID must clear
            runs = text_runs(profile[:far[0][0]], min_rows=max(2, height // 20)) or runs
    if not runs:
        return 0, height
    y0, y1 = runs[-1]
    pad = max(1, int(PAD * (y1 - y0)))
    return max(0, y0 - pad), min(height, y1 + pad)


def text_runs(profile: np.ndarray, min_rows: int) -> list[tuple[int, int]]:
    """Runs [y0, y1) of rows whose energy clears THRESHOLD of the profile's range."""
    low, high = np.percentile(profile, 10), profile.max()
    if high <= low:
        return []
    on = profile > low + THRESHOLD * (high - low)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_rows]


def cut_id_line(crop: np.ndarray) -> np.ndarray:
    """The ID line of a BGR or gray watermark crop, full width."""
    gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    y0, y1 = id_line_rows(gray)
    return crop[y0:y1]
