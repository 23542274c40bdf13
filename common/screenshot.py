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
