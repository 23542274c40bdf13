"""Can the pixels tell a query's frame from the other frames of its video? The copy
benchmark's frame-level limit, measured without any search (issue #21).

Verified search finds the right video for ~0.97 of the queries but the right frame for
~0.74 (`bench/copy.md`): the rest land on a neighbouring frame of the same video. Whether
that is the method's fault or the benchmark's is a question about pixels, asked here the
way the glyph observer asks it of the reader (synth/glyph_ambiguity.py): give the
observer the geometry the edit left, and see whether the truth is the frame of the video
that looks most like the query. The observer brings the query to each reference frame's
size (a resize is undone; every other edit it scores keeps the frame's size), compares
it with that frame and its mirror image by whole-frame correlation (zero-mean, normalised:
exposure and colour shifts cost it nothing) and picks the best frame.

Only queries whose geometry the benchmark keeps are scored (`KEPT_GEOMETRY`): a crop,
the watermark band cut off, or a chain moves the frame by an offset queries.csv does not
record. Measured on data/copies (seed 11, bench/copy.md): all 357 copies so scored pick
their own frame (a resize to a third can leave a video's frames within 0.01 of each other
on a smaller benchmark), while the held-out frames of the same video pick their nearest
frame in time 31 of 61 times unedited, 13 of 31 edited (36-37 of 61 with both sides
shrunk to 1/4 or 1/8 first, which takes the grain out): the generator's per-frame draws
(exposure flicker, grain, sway, the mark's 2-px jitter) change a frame about as much as
its camera moves between neighbouring moments, so "nearest in time" is often not "most
alike" for any whole-frame comparison.

The same comparison answers queries (`most_alike_first`, `search(..., frames=)`): where
verified search puts a whole-frame repost on another frame of the right video, the frame
it looks most like is the right one. On data/copies frame-level uAP 0.677 -> 0.746,
recall@1 0.741 -> 0.809 (captions, foreign marks and resizes 1.000 at rank 1; the same
video's frames 0.30 -> 0.45), on the dev benchmark (seed 12) 0.665 -> 0.742 / 0.735 ->
0.810 (tools/synth_copies.py --size small --seed 12; the two rows of
pipeline.copy_bench.run_method), at ~10% fewer queries/s (3-10 frames of the video
compared at full size).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np

from common.images import read_image, to_gray
from common.split import video_id

# edits that leave the frame where it was (or mirrored, or scaled as a whole)
KEPT_GEOMETRY = ("none", "caption", "colour", "foreign watermark", "reencode", "stickers",
                 "mirror", "resize")


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Zero-mean normalised cross-correlation of two equally sized grey images."""
    a = a - a.mean()
    b = b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum()) / norm if norm > 0 else 0.0


def likeness(query: np.ndarray, reference: np.ndarray) -> float:
    """How much `query` looks like `reference` (float grey images) at the geometry a
    kept-geometry edit leaves: brought to the reference's size, as is or mirrored."""
    h, w = reference.shape
    if query.shape != reference.shape:
        query = cv2.resize(query, (w, h), interpolation=cv2.INTER_LINEAR)
    return max(correlation(query, reference), correlation(query[:, ::-1], reference))


def _grey(path: Path) -> np.ndarray:
    return _grey_of(read_image(path))


def group_of(query: dict) -> str:
    """The row a query is counted in: its edit for a copy, the same video's frames apart."""
    if query["kind"] == "same_video":
        return "same video, unedited" if query["edit"] == "none" else "same video, edited"
    return query["edit"]


def sibling_choices(bench_dir, references: list[dict], queries: list[dict],
                    truth: dict[str, str]) -> dict[str, dict]:
    """{group: {"queries", "right", "chance"}} over the queries with a match whose edit
    keeps the geometry: how many pick their truth as the most alike frame of the video,
    and how many a blind pick among those frames would get on average."""
    bench_dir = Path(bench_dir)
    frames_of: dict[str, list[str]] = defaultdict(list)
    for row in references:
        frames_of[row["video"]].append(row["reference_id"])
    scored = sorted((q for q in queries if q["query_id"] in truth and q["edit"] in KEPT_GEOMETRY),
                    key=lambda q: (q["video"], q["query_id"]))
    cache: dict[str, np.ndarray] = {}   # one video's frames at a time

    def reference(name: str) -> np.ndarray:
        if name not in cache:
            cache[name] = _grey(bench_dir / "references" / name)
        return cache[name]

    counts: dict[str, dict] = defaultdict(lambda: {"queries": 0, "right": 0, "chance": 0.0})
    for i, query in enumerate(scored):
        if i and scored[i - 1]["video"] != query["video"]:
            cache.clear()
        siblings = sorted(frames_of[query["video"]])
        chosen = most_alike(_grey(bench_dir / "queries" / query["query_id"]), siblings, reference)
        row = counts[group_of(query)]
        row["queries"] += 1
        row["right"] += chosen == truth[query["query_id"]]
        row["chance"] += 1.0 / len(siblings)
    return {group: {**row, "chance": round(row["chance"], 2)} for group, row in sorted(counts.items())}


def most_alike(query: np.ndarray, names: list[str], grey) -> str:
    """Of `names`, the frame the float grey `query` looks most like (`likeness`; `grey`:
    name -> that frame's float grey image); ties go to the later name."""
    return max(names, key=lambda name: (likeness(query, grey(name)), name))


class VideoFrames(Mapping):
    """Reference frames by id (any mapping: a dict in memory, copydetect.search.FolderFrames
    on disk) and, grouped once, each video's ids: what `most_alike_first` compares a
    whole-frame query with."""

    def __init__(self, frames: Mapping[str, np.ndarray]):
        self.frames = frames
        self.videos: dict[str, list[str]] = defaultdict(list)
        for name in frames:
            self.videos[video_id(name)].append(name)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.frames[name]

    def __iter__(self):
        return iter(self.frames)

    def __len__(self) -> int:
        return len(self.frames)


def most_alike_first(image: np.ndarray, names: list[str], frames: VideoFrames,
                     aspect_tolerance: float = 0.02) -> list[str]:
    """One query's ranked candidates with the frame of the top candidate's video that the
    query looks most like (`likeness`, whole) first, so that it takes the top score; the
    others keep their order below it, as many as before. Only where the query has those
    frames' aspect ratio (a whole-frame repost: overlaid, re-encoded, colour-shifted,
    mirrored or resized, not cropped); else unchanged. Each frame of the video is read
    once (from disk, for a FolderFrames)."""
    if not names:
        return names
    h, w = image.shape[:2]
    siblings = {name: frames[name] for name in frames.videos.get(video_id(names[0]), [names[0]])}
    same_aspect = [name for name, frame in siblings.items()
                   if abs((h / w) / (frame.shape[0] / frame.shape[1]) - 1.0) <= aspect_tolerance]
    if len(same_aspect) < 2:
        return names
    chosen = most_alike(_grey_of(image), same_aspect, lambda name: _grey_of(siblings[name]))
    reordered = [chosen] + [name for name in names if name != chosen]
    return reordered[:len(names)]


def _grey_of(image: np.ndarray) -> np.ndarray:
    return to_gray(image).astype(np.float32)
