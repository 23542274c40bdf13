"""Measuring localisers against the generator's ground-truth watermark boxes.

Per method: hit-rate (the whole `抖音号:ID` box inside one cropped box), IoU with the
crop, crop area as a share of the frame, top/bottom decision accuracy, fallbacks,
frames/s of decode + localisation on CPU, and why each miss missed (`miss_kinds`: the
wrong side, other text cropped instead, or the mark cut at its left / right / top /
bottom edge). Boxes are read only here, never for fitting.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from common.images import read_frame
from localization.frame_records import FrameRecord
from localization.geometry import Box, hit, integer_box, intersection, iou, is_landscape, rows_area
from localization.locator import Localisation, Locator

CUT_EDGES = ("left", "right", "top", "bottom")
MISS_KINDS = ("wrong side", "other text", *(f"cut {edge}" for edge in CUT_EDGES))


@dataclass
class Scores:
    frames: int
    hit_rate: float
    mean_iou: float
    crop_area_pct: float
    side_accuracy: float | None
    fallback_rate: float
    hit_rate_portrait: float | None
    hit_rate_landscape: float | None
    frames_per_second: float
    # misses by kind (MISS_KINDS; a crop cut at two edges counts under both)
    miss_kinds: dict[str, int] = field(default_factory=dict)


def timed_locate(locator: Locator, records: list[FrameRecord], batch_size: int):
    """Decode (grayscale) + localise in batches; returns (records read, their frames,
    results, frames/s). Unreadable frames are logged by name and left out. The first
    batch is run once untimed so one-off allocations do not count."""
    warm = [g for g in (read_frame(r.path, gray=True) for r in records[:batch_size]) if g is not None]
    locator.locate(warm)
    kept, grays, results = [], [], []
    started = time.perf_counter()
    for start in range(0, len(records), batch_size):
        pairs = [(r, read_frame(r.path, gray=True)) for r in records[start:start + batch_size]]
        pairs = [(r, g) for r, g in pairs if g is not None]
        results += locator.locate([g for _, g in pairs])
        kept += [r for r, _ in pairs]
        grays += [g for _, g in pairs]
    seconds = time.perf_counter() - started
    return kept, grays, results, len(records) / seconds


def right_side(truth: Box, side: str, height: int) -> bool:
    """Whether the located side ("top"/"bottom") is the half holding the mark's centre."""
    return (side == "top") == ((truth[1] + truth[3]) / 2 < height / 2)


def miss_kinds(truth: Box, result: Localisation, width: int, height: int) -> list[str]:
    """Why a `result` that misses the mark missed: the wrong side, other text cropped
    instead (no crop box overlaps the mark), or the edges of the mark that the crop box
    overlapping it most cuts off."""
    if result.side is not None and not right_side(truth, result.side, height):
        return ["wrong side"]
    best = max((integer_box(b, width, height) for row in result.rows for b in row),
               key=lambda box: intersection(box, truth))
    if intersection(best, truth) == 0:
        return ["other text"]
    cut = (best[0] > truth[0], best[2] < truth[2], best[1] > truth[1], best[3] < truth[3])
    return [f"cut {edge}" for edge, is_cut in zip(CUT_EDGES, cut) if is_cut]


def score(records: list[FrameRecord], grays, results, truths: dict, fps: float) -> Scores:
    hits, ious, areas, sides, falls, orient = [], [], [], [], [], []
    kinds = Counter()
    for record, gray, result in zip(records, grays, results):
        truth = truths[record.name]["box"]
        height, width = gray.shape
        hits.append(hit(truth, result.rows, width, height))
        if not hits[-1]:
            kinds.update(miss_kinds(truth, result, width, height))
        ious.append(iou(truth, result.rows, width, height))
        areas.append(rows_area(result.rows, width, height) / (width * height))
        if result.side is not None:
            sides.append(right_side(truth, result.side, height))
        falls.append(result.fallback)
        orient.append(is_landscape(width, height))
    hits, orient = np.array(hits), np.array(orient)

    def share(mask):
        return float(hits[mask].mean()) if mask.any() else None
    return Scores(frames=len(records), hit_rate=float(hits.mean()), mean_iou=float(np.mean(ious)),
                  crop_area_pct=100 * float(np.mean(areas)),
                  side_accuracy=float(np.mean(sides)) if sides else None,
                  fallback_rate=float(np.mean(falls)), hit_rate_portrait=share(~orient),
                  hit_rate_landscape=share(orient), frames_per_second=fps,
                  miss_kinds=dict(kinds))


def check_truths(records: list[FrameRecord], truths: dict, where: str) -> list[FrameRecord]:
    missing = [r.name for r in records if r.name not in truths]
    if missing:
        raise KeyError(f"{where} has no box for {len(missing)} frame(s), e.g. {missing[:3]}")
    return records
