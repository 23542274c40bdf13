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
from typing import Iterable

import cv2
import numpy as np
from PIL import Image

from common.errors import UserError

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


@dataclass(frozen=True)
class ImageLimits:
    """What a tool accepts: decoded pixels bound memory (3 bytes a pixel in BGR)."""
    max_pixels: int = 40_000_000     # 120 MB decoded; a 4K frame is 8.3 MP
    max_aspect: float = 40.0         # long side / short side


FRAME_LIMITS = ImageLimits(max_pixels=40_000_000, max_aspect=6.0)   # video frames: 21:9 is 2.3
CROP_LIMITS = ImageLimits(max_pixels=4_000_000, max_aspect=40.0)     # an ID line is ~5-20:1


class NoImages(UserError, ValueError):
    """A folder given as images that holds none."""


class BadImage(UserError, ValueError):
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


def link_outside(path: Path, root: Path) -> str | None:
    """Why `path`, a file of folder `root`, is refused as a link, or None. A symbolic link
    that resolves outside `root` reads a file the folder's owner never put there (a
    shared upload folder linking to `/etc/...` or another user's data), so the tools
    refuse it unless `--follow-symlinks` is given; links within the folder are fine."""
    if not path.is_symlink():
        return None
    target = path.resolve()
    if target.is_relative_to(root.resolve()):
        return None
    return f"is a symbolic link to {target}, outside {root} (--follow-symlinks reads it)"


def list_image_files(folder: str | Path, follow_symlinks: bool = False
                     ) -> tuple[list[Path], list[dict]]:
    """The image files of `folder` (sorted, not recursive), and every other file as
    `{"name", "reason"}`: not an image suffix, or a link leading outside the folder.
    A missing folder or one without images is an error naming it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    images, skipped = [], []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        reason = (None if is_image_file(path) else
                  f"not an image file (suffixes read: {' '.join(sorted(IMAGE_SUFFIXES))})")
        reason = reason or (None if follow_symlinks else link_outside(path, folder))
        if reason:
            skipped.append({"name": path.name, "reason": reason})
        else:
            images.append(path)
    if not images:
        raise NoImages(f"{folder}: holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})"
                       + (f"; {len(skipped)} other files skipped" if skipped else ""))
    return images, skipped


def read_frame(path: Path, gray: bool = False) -> np.ndarray | None:
    """Decoded frame, or None (logged with its name and the reason) when it is refused."""
    try:
        return read_image(path, FRAME_LIMITS, gray=gray)
    except BadImage as err:
        log.warning("skipping frame %s: %s", path, err)
        return None


def decode_frames(paths: Iterable[Path], skipped: list[dict]) -> tuple[list[np.ndarray], list[str]]:
    """Decoded BGR frames and their names; an undecodable file is logged and appended to
    `skipped` by name (with the reason) instead. `paths` may be a progress bar."""
    frames, names = [], []
    for path in paths:
        try:
            frame = read_image(path, FRAME_LIMITS)
        except BadImage as err:
            log.warning("%s: %s, skipped", path, err)
            skipped.append({"name": path.name, "reason": str(err)})
            continue
        frames.append(frame)
        names.append(path.name)
    return frames, names


def to_gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
