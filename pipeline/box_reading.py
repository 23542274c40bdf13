"""Reading the generator's ground-truth boxes instead of the localiser's crops.

Measured on frames made elsewhere (DESIGN.md), the demo's recogniser read *less* from
ground-truth boxes with a little padding (0.26) than from its own localiser's crops: it
had learned that crop geometry rather than the glyphs. A recogniser that reads glyphs
reads both alike; this is the check (`make bench`, column "GT boxes").
"""
from __future__ import annotations

import json
from pathlib import Path

from common.images import FRAME_LIMITS, read_image
from ppocr_ext.ctc import ctc_kbest


def padded_box(box, frame_w: int, frame_h: int, pad: float = 0.3) -> tuple[int, int, int, int]:
    """The `抖音号:ID` ink box [x0, y0, x1, y1) grown by `pad` line heights on every
    side, inside the frame."""
    x0, y0, x1, y1 = box
    margin = pad * (y1 - y0)
    return (max(0, int(x0 - margin)), max(0, int(y0 - margin)),
            min(frame_w, int(round(x1 + margin))), min(frame_h, int(round(y1 + margin))))


def read_boxes(recognizer, frames: Path, boxes_json: Path, split: str, truth: dict[str, str],
               k: int = 3, batch_size: int = 64) -> dict:
    """Exact match and truth-in-top-k of the recogniser on padded ground-truth boxes of
    the labelled frames of `split` in `boxes_json`."""
    boxes = json.loads(Path(boxes_json).read_text(encoding="utf-8"))[split]
    names = [name for name in sorted(truth) if name in boxes and (Path(frames) / name).is_file()]
    exact = top = 0
    for first in range(0, len(names), batch_size):
        batch = names[first:first + batch_size]
        crops = []
        for name in batch:
            frame = read_image(Path(frames) / name, FRAME_LIMITS)
            x0, y0, x1, y1 = padded_box(boxes[name]["box"], frame.shape[1], frame.shape[0])
            crops.append(frame[y0:y1, x0:x1])
        for name, probs in zip(batch, recognizer.posteriors(crops, batch_size=batch_size)):
            kbest = ctc_kbest(probs, recognizer.charset, k=k)
            exact += kbest[0][0] == truth[name]
            top += any(text == truth[name] for text, _ in kbest)
    n = max(len(names), 1)
    return {"n": len(names), "exact_match": round(exact / n, 4),
            f"truth_in_top{k}": round(top / n, 4)}
