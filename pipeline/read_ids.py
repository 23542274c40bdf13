"""Full frames -> located watermark, the ID read, its confidence and the k best readings.

The two learned stages meet here and nowhere else: a `localization.Locator` finds the
watermark (no labels needed) and crops it from the frame exactly as
`tools/localize.py` cropped the training data, then a CTC recogniser
(`ppocr_ext.posteriors`, torch or ONNX) gives per-crop posteriors from which prefix
beam search (`ppocr_ext.ctc`) takes the k most probable strings. Users need the
alternatives: at this resolution I and l can be nearly pixel-identical.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from tqdm import tqdm

from common.images import decode_frames, list_image_files, to_gray
from common.restore import restored
from localization.geometry import crop_rows, integer_box
from localization.locator import Locator
from pipeline.multiscale import fuse_kbest, scaled_rows
from ppocr_ext.ctc import ctc_kbest
from ppocr_ext.posteriors import PosteriorRecognizer

LOG = logging.getLogger(__name__)


@dataclass
class FrameReading:
    name: str
    text: str                                   # the most probable reading
    confidence: float                           # its probability P(text | crop)
    box: list[int]                              # x0, y0, x1, y1 (exclusive) in frame pixels
    side: str | None                            # "top"/"bottom" (learned locators)
    alternatives: list[tuple[str, float]] = field(default_factory=list)  # k best, best first


@dataclass
class FolderReading:
    readings: list[FrameReading]
    skipped: list[dict]                         # {"name", "reason"}: unreadable frames
    posteriors: list[np.ndarray] | None = None  # (T, C) per reading, when asked to keep them


class IdReader:
    """A trained locator and recogniser, batched on CPU.

    reader = IdReader(load_locator(load_config("configs/loc/ddt.yml")),
                      load_torch_recognizer("configs/rec/svtr_tiny_cpu.yml", "best.pth"))
    reader.read([frame_bgr, ...], names)
    """

    def __init__(self, locator: Locator, recognizer: PosteriorRecognizer, k: int = 3,
                 batch_size: int = 64, scales: Sequence[float] = (1.0,), restore: bool = True):
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if not scales or 1.0 not in scales or min(scales) <= 0:
            raise ValueError(f"scales must be positive and include 1.0, got {list(scales)}")
        self.locator, self.recognizer, self.k, self.batch_size = locator, recognizer, k, batch_size
        self.scales = tuple(scales)   # > 1 scale: multi-scale testing (pipeline.multiscale)
        self.restore = restore        # impulses and strong grain out first (common.restore)

    def prepared(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The frames as this reader reads them: salt and pepper and strong grain taken
        out where a frame carries them (common/restore.py), unless `restore` is off."""
        return [restored(f) for f in frames] if self.restore else list(frames)

    def crops(self, frames: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list]:
        """The recogniser's input crops and the localisations they came from."""
        located = self.locator.locate([to_gray(f) for f in frames])
        return [crop_rows(f, loc.rows, loc.tilt) for f, loc in zip(frames, located)], located

    def level_or_straight(self, frames: Sequence[np.ndarray], crops: list[np.ndarray],
                          located: list) -> np.ndarray:
        """Posteriors of the crops. Where the localiser found the line tilted and levelled
        it, its level cut is read too and kept (in `located` as well) where its best
        reading is the surer one: levelling turns a few level frames by a wrong degree
        (2% of data/bench_video's, -0.4 points read), while on frames turned 1.5 / 3
        degrees it reads 0.48 / 0.50 against 0.30 / 0.21 (300 dev frames); keeping the
        surer reading keeps the level frames' 0.630 and 0.47 / 0.49 of the turned ones."""
        tilted = [i for i, loc in enumerate(located) if loc.straight_rows is not None]
        probs = self.recognizer.posteriors(
            crops + [crop_rows(frames[i], located[i].straight_rows) for i in tilted],
            batch_size=self.batch_size)
        probs, straight = probs[:len(crops)], probs[len(crops):]
        charset = self.recognizer.charset
        for i, level_cut in zip(tilted, straight):
            if ctc_kbest(level_cut, charset, k=1)[0][1] > ctc_kbest(probs[i], charset, k=1)[0][1]:
                probs[i], located[i] = level_cut, located[i].straightened()
        return probs

    def read(self, frames: Sequence[np.ndarray], names: Sequence[str],
             timing: dict[str, float] | None = None,
             posteriors: list | None = None) -> list[FrameReading]:
        """BGR uint8 frames (any sizes) -> one reading each, in order. `timing`, when
        given, accumulates the seconds of each stage (localise, recognise, beam_search);
        `posteriors`, when given, receives each frame's (T, C) CTC posteriors."""
        clock = StageClock(timing)
        frames = self.prepared(frames)
        crops, located = self.crops(frames)
        clock.lap("localise")
        probs = self.level_or_straight(frames, crops, located)
        other_scales = [self.recognizer.posteriors(
            [crop_rows(f, scaled_rows(loc.rows, scale, f.shape[1], f.shape[0]), loc.tilt)
             for f, loc in zip(frames, located)], batch_size=self.batch_size)
            for scale in self.scales if scale != 1.0]
        clock.lap("recognise")
        if posteriors is not None:
            posteriors.extend(probs)
        readings = []
        for i, (name, frame, loc, p) in enumerate(zip(names, frames, located, probs)):
            kbest = (fuse_kbest([p, *(q[i] for q in other_scales)], self.recognizer.charset, self.k)
                     if other_scales else ctc_kbest(p, self.recognizer.charset, k=self.k))
            height, width = frame.shape[:2]
            readings.append(FrameReading(
                name=name, text=kbest[0][0], confidence=kbest[0][1],
                box=list(integer_box(loc.frame_box(), width, height)), side=loc.side,
                alternatives=kbest))
        clock.lap("beam_search")
        return readings

    def read_folder(self, folder: str | Path, progress: bool = True,
                    timing: dict[str, float] | None = None,
                    keep_posteriors: bool = False, follow_symlinks: bool = False) -> FolderReading:
        """Every image of `folder` (sorted, not recursive). A file that cannot be read
        (not an image, undecodable, a link leading outside the folder unless
        `follow_symlinks`) is logged and listed by name; it never stops the folder.
        `timing`: as in `read`, plus 'decode'. `keep_posteriors`: also return each
        frame's posteriors (for the per-video consensus; ~16 KB a frame)."""
        paths, skipped = list_image_files(folder, follow_symlinks)
        for item in skipped:
            LOG.warning("%s: %s, skipped", Path(folder) / item["name"], item["reason"])
        readings: list[FrameReading] = []
        posteriors = [] if keep_posteriors else None
        with tqdm(total=len(paths), desc="read ids", unit="frame", disable=not progress) as bar:
            for batch in batches(paths, self.batch_size):
                clock = StageClock(timing)
                frames, names = decode_frames(batch, skipped)
                clock.lap("decode")
                if frames:
                    readings.extend(self.read(frames, names, timing, posteriors))
                bar.update(len(batch))
        return FolderReading(readings, skipped, posteriors)


class StageClock:
    """Adds the seconds since the previous lap to `timing[stage]`; does nothing without
    a `timing` dict, so the reading path costs the same whether or not it is measured."""

    def __init__(self, timing: dict[str, float] | None):
        self.timing, self.last = timing, time.perf_counter()

    def lap(self, stage: str) -> None:
        if self.timing is not None:
            now = time.perf_counter()
            self.timing[stage] = self.timing.get(stage, 0.0) + now - self.last
            self.last = now


def batches(items: list, size: int) -> Iterator[list]:
    for first in range(0, len(items), size):
        yield items[first:first + size]


def alternatives_text(alternatives) -> str:
    """k-best readings as one CSV/Parquet cell: 'text:prob|text:prob'."""
    return "|".join(f"{t}:{p:.4f}" for t, p in alternatives)


def reading_rows(readings: Sequence[FrameReading]) -> list[dict]:
    """Flat rows for CSV/JSON: box as 'x0 y0 x1 y1', alternatives as 'text:prob|...'."""
    rows = []
    for r in readings:
        row = asdict(r)
        row["box"] = " ".join(map(str, r.box))
        row["alternatives"] = alternatives_text(r.alternatives)
        rows.append(row)
    return rows
