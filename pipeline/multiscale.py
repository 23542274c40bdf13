"""Multi-scale testing (issue #17 item 3, seed 001's lesson for detection): read the mark
from crops of two or three sizes around the localiser's box and fuse what they say.

The recogniser resizes every crop to its input height, so a "scale" here is how much of
the surroundings the crop keeps: 0.9 trims the box's margins, 1.15 adds context. CTC
posteriors of different crops do not align frame by frame, so they are fused at string
level: every candidate of any scale's k best is scored under every scale's posteriors by
the CTC forward algorithm, and candidates rank by their mean log-probability (the
geometric mean of their probabilities, reported as the fused confidence).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from localization.geometry import Rows
from ppocr_ext.ctc import ctc_kbest, ctc_string_logprob


def scaled_rows(rows: Rows, scale: float, width: int, height: int) -> Rows:
    """Every box grown (scale > 1) or shrunk about its centre by `scale` times its
    height on each axis' margin, inside the frame; scale 1 keeps the rows."""
    if scale == 1.0:
        return rows
    out = []
    for row in rows:
        boxes = []
        for x0, y0, x1, y1 in row:
            grow = (scale - 1.0) * (y1 - y0)          # the same margin change on every side
            boxes.append((max(0.0, x0 - grow), max(0.0, y0 - grow / 2),
                          min(float(width), x1 + grow), min(float(height), y1 + grow / 2)))
        out.append(boxes)
    return out


def fuse_kbest(probs: Sequence[np.ndarray], charset: list[str], k: int) -> list[tuple[str, float]]:
    """The k best strings over several posteriors of one mark, by mean CTC log-probability."""
    candidates = {text for p in probs for text, _ in ctc_kbest(p, charset, k=k)}
    scored = []
    for text in candidates:
        logps = [ctc_string_logprob(p, text, charset) for p in probs]
        mean = sum(logps) / len(logps)
        scored.append((text, math.exp(mean) if math.isfinite(mean) else 0.0))
    scored.sort(key=lambda item: -item[1])
    return scored[:k]
