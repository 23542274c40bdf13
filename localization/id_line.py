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
PAD = 0.5            # padding above and below the found line, as a share of its height


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


def id_line_rows(gray: np.ndarray) -> tuple[int, int]:
    """Rows [y0, y1) of the lowest text line of a watermark crop (the whole crop when
    no line stands out)."""
    height = gray.shape[0]
    profile = row_energy(gray)
    low, high = np.percentile(profile, 10), profile.max()
    if high <= low:
        return 0, height
    on = profile > low + THRESHOLD * (high - low)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
    runs = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])
            if b - a >= max(2, height // 20)]
    if not runs:
        return 0, height
    y0, y1 = runs[-1]
    pad = max(1, int(PAD * (y1 - y0)))
    return max(0, y0 - pad), min(height, y1 + pad)


def cut_id_line(crop: np.ndarray) -> np.ndarray:
    """The ID line of a BGR or gray watermark crop, full width."""
    gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    y0, y1 = id_line_rows(gray)
    return crop[y0:y1]
