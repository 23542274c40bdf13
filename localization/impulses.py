"""Impulse noise (salt and pepper: isolated black and white pixels) hidden from the
learned localiser, which was trained on clean frames.

Under the robustness catalogue's salt-and-pepper noise at severity 2 (1.2% of the pixels)
the strip classifier chose the wrong edge of the frame for 11% of the dev frames
(data/bench_video, every second one) and the reader's hit fell to 0.84. A 3x3 median
removes isolated pixels but also thins 1-pixel glyph strokes: on every clean frame it cost
the classifier its side on 1% of the dev frames and the hit 0.996 -> 0.964. So the median
is taken only where impulses are present: pixels at 0-5 or 250-255 that differ from their
3x3 median by more than 60 grey levels. Their share of a frame, measured on 300 frames of
each set: clean p99 0.0011 (data/bench_video), 0.0026 (wild dev frames, at most 0.0064),
0.0010 (the demo's test frames), Gaussian noise 2 at most 0.0036; salt and pepper at
severity 1 (0.4%) p50 0.0033-0.0036, at severity 2 p50 0.0098-0.0106. Only the working
frame the classifier and DDT see is cleaned; the ID-line cut keeps the frame's own pixels
(a cut on the median frame hit 0.926 on the noisy dev frames, on the frame's own 0.959).
Measured with the released models on data/bench_video: salt and pepper 2 exact 0.243 ->
0.350, hit 0.837 -> 0.959, crops within 1.3x of the mark 0.48 -> 0.95; clean frames and
the 1,000 wild dev frames read exactly as before (the gate never fired).
"""
from __future__ import annotations

import cv2
import numpy as np

IMPULSE_SHARE = 0.007      # above this share of isolated extreme pixels, the frame is cleaned
IMPULSE_STEP = 60          # grey levels an impulse stands off its 3x3 median
EXTREMES = (5, 250)        # impulses sit at the ends of the grey range


def _extremes(gray: np.ndarray) -> np.ndarray:
    """Where a grey uint8 frame sits at either end of the grey range (EXTREMES)."""
    return cv2.inRange(gray, EXTREMES[0] + 1, EXTREMES[1] - 1) == 0


def impulse_share(gray: np.ndarray, median: np.ndarray | None = None,
                  extremes: np.ndarray | None = None) -> float:
    """The share of a grey frame's pixels that are isolated extremes (see the module note)."""
    gray = np.ascontiguousarray(gray)
    median = cv2.medianBlur(gray, 3) if median is None else median
    extremes = _extremes(gray) if extremes is None else extremes
    isolated = np.abs(gray.astype(np.int16) - median) > IMPULSE_STEP
    return float((isolated & extremes).mean())


def despeckled(gray: np.ndarray) -> np.ndarray:
    """The grey uint8 frame, 3x3-median filtered when impulse noise is present. Most
    frames have too few extreme pixels to hold that many impulses and skip the median:
    0.05 ms a demo test frame on average instead of 0.3 ms, ~3% of its reading time."""
    gray = np.ascontiguousarray(gray)
    extremes = _extremes(gray)
    if np.count_nonzero(extremes) <= IMPULSE_SHARE * gray.size:
        return gray
    median = cv2.medianBlur(gray, 3)
    return median if impulse_share(gray, median, extremes) > IMPULSE_SHARE else gray
