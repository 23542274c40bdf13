"""How a video frame becomes a low-resolution screenshot, in one place for the frame
generator's test frames (`synth/degrade.py`) and the localiser's low-resolution training
crops (`localization/export.py`): the video's own compression at full size, a downscale
by the player or screenshot tool (area-averaging or bilinear), then a JPEG save.

Measured (`bench/limits.md`, release 7 on the demo's 651 validation marks): training crops
that were only shrunk and JPEG-saved read 0.674, the same marks through the whole chain
0.639, the demo's test frames 0.603: the video compression before the shrink is part of
the look a recogniser has to learn.
"""
from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass

import cv2
import numpy as np


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV failed to encode a JPEG")
    return data.tobytes()


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """The image as a JPEG of `quality` would decode it (gray stays gray)."""
    flag = cv2.IMREAD_GRAYSCALE if image.ndim == 2 else cv2.IMREAD_COLOR
    return cv2.imdecode(np.frombuffer(encode_jpeg(image, quality), np.uint8), flag)


def shrink_as_player(frame: np.ndarray, size: tuple[int, int], video_quality: int | None = None,
                     linear: bool = False) -> np.ndarray:
    """`frame` compressed as a video at `video_quality` (None: not) and resized to
    `size` = (w, h) by area-averaging, or bilinear interpolation when `linear`. The
    screenshot's own JPEG is the caller's: a frame file is saved as one, a crop is
    re-compressed with `jpeg_roundtrip`."""
    if video_quality is not None:
        frame = jpeg_roundtrip(frame, video_quality)
    return cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR if linear else cv2.INTER_AREA)


def low_res_version(image: np.ndarray, factor: float, jpeg_quality: int | None,
                    video_quality: int | None = None, linear: bool = False) -> np.ndarray:
    """A frame as a low-resolution screenshot shows it: (optionally compressed as a video
    first) shrunk by `factor` (1.7 = the challenge's test resolution), then (when a
    quality is given) JPEG re-compressed at that size, which is where test frames lose
    most of their glyph detail. Gray or BGR in, the same out."""
    h, w = image.shape[:2]
    size = (max(1, round(w / factor)), max(1, round(h / factor)))
    small = shrink_as_player(image, size, video_quality, linear)
    return small if jpeg_quality is None else jpeg_roundtrip(small, jpeg_quality)


@dataclass(frozen=True)
class Screenshot:
    """One screenshot chain's ranges: the video's compression at full size (`video_jpeg`
    quality range, None: none), a bilinear instead of an area-averaging shrink for a
    `linear_share` of frames, and the screenshot's JPEG (`jpeg` quality range, None: none).
    The generator's test frames are one (`synth.degrade.TEST_CHAIN`); the localiser's
    low-resolution training crops fix each choice by the frame's name (`params`, so reruns
    and resumed exports write the same bytes), the glyph observer draws them (`sample`) and
    covers them (`grid`)."""

    jpeg: tuple[int, int] | None = None
    video_jpeg: tuple[int, int] | None = None
    linear_share: float = 0.0

    def params(self, name: str) -> tuple[int | None, int | None, bool]:
        """(JPEG quality, video quality, linear) of the frame `name`."""
        key = zlib.crc32(name.encode("utf-8"))
        jpeg = None if self.jpeg is None else self.jpeg[0] + key % (self.jpeg[1] - self.jpeg[0] + 1)
        if self.video_jpeg is None and not self.linear_share:
            return jpeg, None, False
        rng = np.random.default_rng(key)
        video = None if self.video_jpeg is None else \
            int(rng.integers(self.video_jpeg[0], self.video_jpeg[1] + 1))
        return jpeg, video, bool(rng.random() < self.linear_share)

    def sample(self, rng) -> tuple[int | None, int | None, bool]:
        """(JPEG quality, video quality, linear) drawn from `rng` (the video's quality
        first, then the JPEG's, then the kind of shrink)."""
        video = None if self.video_jpeg is None else int(rng.integers(*self.video_jpeg, endpoint=True))
        jpeg = None if self.jpeg is None else int(rng.integers(*self.jpeg, endpoint=True))
        return jpeg, video, bool(rng.random() < self.linear_share)

    def grid(self, jpeg_step: int, video_step: int) -> list[tuple[int | None, int | None, bool]]:
        """Every (JPEG quality, video quality, linear) of the chain: each quality range at
        its step, both ends included, and both kinds of shrink where both occur."""
        def steps(quality_range, step):
            if quality_range is None:
                return [None]
            low, high = quality_range
            return sorted(set(range(low, high + 1, step)) | {high})
        shrinks = (False, True) if self.linear_share > 0 else (False,)
        return [(jpeg, video, linear) for video, jpeg, linear in
                itertools.product(steps(self.video_jpeg, video_step), steps(self.jpeg, jpeg_step), shrinks)]
