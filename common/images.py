"""One decoding path for every tool that reads images, with the same verdicts.

Measured on hostile input (issue #18): a 103-byte PNG of 3000x2 pixels made the
localiser build a 480000x320 working image (7.7 GB, 45 s); a 74-byte PNG declaring
60000x60000 pixels crashed three tools with a cv2.error; a truncated JPEG decoded as a
frame with a grey bottom half in one tool and was refused by two others. Here the header
is read first (Pillow reads only the header until asked for pixels), so the declared
size is checked before a byte is decoded; a JPEG without its end-of-image marker is
truncated; and whatever is refused raises `BadImage` with a reason that names no library.
"""
from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


@dataclass(frozen=True)
class ImageLimits:
    """What a tool accepts: decoded pixels bound memory (3 bytes a pixel in BGR)."""
    max_pixels: int = 40_000_000     # 120 MB decoded; a 4K frame is 8.3 MP
    max_aspect: float = 40.0         # long side / short side


FRAME_LIMITS = ImageLimits(max_pixels=40_000_000, max_aspect=6.0)   # video frames: 21:9 is 2.3
CROP_LIMITS = ImageLimits(max_pixels=4_000_000, max_aspect=40.0)     # an ID line is ~5-20:1


class BadImage(ValueError):
    """An image that cannot be read; the message says why, without the file name (the
    caller names the file)."""


def declared_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the header alone; BadImage when there is no readable one."""
    previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None   # our limits apply
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                return image.size
    except Exception as err:   # Pillow raises many kinds on garbage
        raise BadImage("cannot be decoded (corrupt or not an image)") from err
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def check_encoded(data: bytes, limits: ImageLimits = ImageLimits()) -> tuple[int, int]:
    """The declared size of encoded image bytes that pass `limits`; BadImage otherwise."""
    if not data:
        raise BadImage("has zero bytes")
    width, height = declared_size(data)
    if width < 1 or height < 1:
        raise BadImage(f"declares {width}x{height} pixels")
    if width * height > limits.max_pixels:
        raise BadImage(f"declares {width}x{height} pixels, more than the limit of "
                       f"{limits.max_pixels:,}")
    aspect = max(width, height) / min(width, height)
    if aspect > limits.max_aspect:
        raise BadImage(f"is {width}x{height} pixels: aspect ratio {aspect:.0f}:1 is beyond "
                       f"{limits.max_aspect:g}:1")
    if data[:2] == b"\xff\xd8" and b"\xff\xd9" not in data[-4096:]:
        # in entropy-coded JPEG data 0xFF is always stuffed, so FFD9 is only the marker
        raise BadImage("is a truncated JPEG (no end-of-image marker)")
    return width, height


def decode_image(data: bytes, limits: ImageLimits = ImageLimits(), gray: bool = False) -> np.ndarray:
    """Encoded bytes -> BGR (or grey) uint8 array, checked first; BadImage otherwise."""
    check_encoded(data, limits)
    flag = cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    except cv2.error as err:
        raise BadImage("cannot be decoded (corrupt or not an image)") from err
    if image is None or image.size == 0:
        raise BadImage("cannot be decoded (corrupt or not an image)")
    return image


def read_bytes(path: str | Path) -> bytes:
    """A file's bytes; BadImage naming what is wrong with the path."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as err:
        raise BadImage("image file not found") from err
    except IsADirectoryError as err:
        raise BadImage("is a folder, not an image file") from err
    except OSError as err:
        raise BadImage(f"cannot be read ({err.strerror})") from err


def read_image(path: str | Path, limits: ImageLimits = ImageLimits(), gray: bool = False) -> np.ndarray:
    """Decode an image file with `decode_image`'s checks."""
    return decode_image(read_bytes(path), limits, gray)


def is_image_file(path: str | Path) -> bool:
    """Whether a file name has one of the image suffixes (any case)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_frame(path: Path, gray: bool = False) -> np.ndarray | None:
    """Decoded frame, or None (logged with its name and the reason) when it is refused."""
    try:
        return read_image(path, FRAME_LIMITS, gray=gray)
    except BadImage as err:
        log.warning("skipping frame %s: %s", path, err)
        return None


def to_gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
