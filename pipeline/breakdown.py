"""Exact match broken down by what the generator knows of each frame: the glyph pitch
(how many pixels a symbol has), the grey behind the ID and the Latin face the mark is
set in.

The two say what limits the reading (issue #16): pixels where every face reads alike at
one pitch, faces where one face reads far below the others at the same pitch, and, per
face, how much of the loss is the I/l pair (in Arial-metric faces both are bare bars
~0.04 em apart in height: DESIGN.md).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, NamedTuple

import cv2
import numpy as np
from rapidfuzz.distance import Levenshtein

from common.split import video_id

# glyph pitch bins (frame pixels per ID symbol): the demo's 1/1.7 test frames span 3.5-7.5
PITCH_EDGES = (4.0, 5.0, 6.0, 7.0, 8.0, 10.0)
# bins of the median grey inside the ID's box (its white glyphs included)
GREY_EDGES = (50.0, 100.0, 125.0, 150.0, 175.0)
AMBIGUOUS = frozenset("Il")
_FORGIVE_IL = str.maketrans("l", "I")


class Scored(NamedTuple):
    """One labelled reading, scored."""
    exact: bool
    in_alternatives: bool    # the truth among the k best
    il_forgiven: bool        # exact once I and l count as one symbol
    il_swaps: int            # I/l substitutions
    il_symbols: int          # I or l in the truth


def _scored(readings, truth: dict[str, str], key: Callable[[str, str], object]) -> dict:
    """{key: [Scored]} over the labelled readings whose key is not None."""
    groups: dict = {}
    for reading in readings:
        text = truth.get(reading.name)
        group = None if text is None else key(reading.name, text)
        if group is None:
            continue
        swaps = sum(1 for op in Levenshtein.editops(text, reading.text) if op.tag == "replace"
                    and {text[op.src_pos], reading.text[op.dest_pos]} == AMBIGUOUS)
        groups.setdefault(group, []).append(Scored(
            reading.text == text, any(alt == text for alt, _ in reading.alternatives),
            reading.text.translate(_FORGIVE_IL) == text.translate(_FORGIVE_IL),
            swaps, sum(ch in AMBIGUOUS for ch in text)))
    return groups


def _rates(rows: list[Scored]) -> dict:
    n = len(rows)
    return {"n": n, "exact_match": round(sum(r.exact for r in rows) / n, 4),
            "truth_in_alternatives": round(sum(r.in_alternatives for r in rows) / n, 4)}


def _pitch(box: dict, text: str) -> float:
    x0, _, x1, _ = box["id_box"]
    return (x1 - x0) / len(text)


def _binned(readings, truth: dict[str, str], value: Callable[[str, str], float | None],
            edges: tuple, key: str) -> list[dict]:
    """Exact match and truth among the alternatives per bin of `value(name, truth)` (None:
    the frame is left out); each row names its bin `[low, high]` under `key` (high None:
    no upper edge)."""
    def bin_of(name, text):
        measured = value(name, text)
        return None if measured is None else int(np.searchsorted(edges, measured, side="right"))

    groups = _scored(readings, truth, bin_of)
    bounds = (0.0, *edges, None)
    return [{key: [bounds[i], bounds[i + 1]], **_rates(groups[i])} for i in sorted(groups)]


def exact_by_pitch(readings, boxes: dict, truth: dict[str, str]) -> list[dict]:
    """Exact match and truth among the alternatives per glyph pitch: the ID's ink width
    in frame pixels over its length (the generator's `id_box`, `split_boxes`). Measured on
    the demo's test frames with release 8: 0.42 exact at 4-5 px per glyph, 0.69 at 5-6,
    0.81 at 6-7 (bench/release.md)."""
    return _binned(readings, truth, lambda name, text: _pitch(boxes[name], text) if name in boxes else None,
                   PITCH_EDGES, "pitch_px")


def exact_by_grey(readings, frames: Path, boxes: dict, truth: dict[str, str]) -> list[dict]:
    """Exact match and truth among the alternatives per median grey inside the ID's box
    (the generator's `id_box` on the frame in `frames`): a white mark over a bright scene
    has little contrast left. Measured with release 10 on the demo's low-resolution test
    frames: 0.73-0.79 exact below 100, 0.53 at 125-150, 0.24 at 150-175, 0.04 above
    (bench/release.md)."""
    def grey(name, _):
        image = cv2.imread(str(frames / name), cv2.IMREAD_GRAYSCALE) if name in boxes else None
        if image is None:
            return None
        x0, y0, x1, y1 = boxes[name]["id_box"]
        region = image[max(0, y0):y1, max(0, x0):x1]
        return float(np.median(region)) if region.size else None

    return _binned(readings, truth, grey, GREY_EDGES, "grey")


def exact_by_face(readings, faces: dict[str, str], boxes: dict, truth: dict[str, str]) -> list[dict]:
    """Per Latin face (`faces`: video name -> face, synth.frames.video_faces), most frames
    first: exact match, truth among the alternatives, exact with I/l forgiven, the I/l swap
    rate (I/l substitutions per I or l in the truths; 0.5 would be a coin flip) and the
    face's own `exact_by_pitch`, so that faces compare at equal pixels per glyph."""
    face_of = lambda name: faces.get(video_id(name))
    groups = _scored(readings, truth, lambda name, _: face_of(name))
    rows = []
    for face in sorted(groups, key=lambda f: (-len(groups[f]), f)):
        scored = groups[face]
        ambiguous = sum(r.il_symbols for r in scored)
        rows.append({"face": face, **_rates(scored),
                     "exact_il_forgiven": round(sum(r.il_forgiven for r in scored) / len(scored), 4),
                     "il_symbols": ambiguous,
                     "il_swap_rate": round(sum(r.il_swaps for r in scored) / ambiguous, 4) if ambiguous else None,
                     "by_pitch": exact_by_pitch([r for r in readings if face_of(r.name) == face],
                                                boxes, truth)})
    return rows
