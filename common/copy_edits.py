"""What a repost does to a frame, at a strength 1-3: one catalogue for the copy-detection
benchmark's queries (`synth.copies`) and the copy descriptor's training views
(`copydetect.train`), as `common.corruptions` is for the reader.

The edits are those the 2021 Image Similarity Challenge's queries carry (seed 004) and a
re-uploader's tools make: crops, mirroring, re-encoding, resizing, colour shifts, stickers,
captions, another platform's watermark, and cutting off the band that holds the original
watermark. Standard ones are albumentations transforms; the overlays (stickers, captions,
a foreign watermark) are drawn here because no maintained library draws them. A chain of
edits (`random_chain`) is what most reposts suffer and what the descriptor trains on.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import albumentations as A
import cv2
import numpy as np

STRENGTHS = (1, 2, 3)
_PLATFORMS = ("kuaishou", "weibo", "bilibili", "xhs", "reels", "shorts", "huoshan")
_GLYPHS = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class Edit:
    apply: Callable          # (image, strength 1-3, rng, mark_box or None) -> image
    description: str


def _albu(transform, image):
    return transform(image=image)["image"]


def _crop(image, strength, rng, mark_box=None):
    """Keep an area fraction 0.8 / 0.6 / 0.4 of the frame, at a random place."""
    keep = (0.8, 0.6, 0.4)[strength - 1]
    h, w = image.shape[:2]
    aspect = rng.uniform(0.8, 1.25)
    ch = int(np.clip(round(h * np.sqrt(keep * aspect)), 8, h))
    cw = int(np.clip(round(w * np.sqrt(keep / aspect)), 8, w))
    y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return _albu(A.Crop(x_min=x0, y_min=y0, x_max=x0 + cw, y_max=y0 + ch, p=1), image)


def _mirror(image, strength, rng, mark_box=None):
    return _albu(A.HorizontalFlip(p=1), image)


def _reencode(image, strength, rng, mark_box=None):
    quality = (50, 30, 15)[strength - 1]
    return _albu(A.ImageCompression(quality_range=(quality, quality), p=1), image)


def _resize(image, strength, rng, mark_box=None):
    scale = (0.75, 0.5, 0.33)[strength - 1]
    h, w = image.shape[:2]
    size = (max(16, int(round(w * scale))), max(16, int(round(h * scale))))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _colour(image, strength, rng, mark_box=None):
    hue, sat, val = ((8, 20, 15), (18, 40, 30), (35, 60, 45))[strength - 1]
    sign = lambda: float(rng.choice((-1, 1)))  # noqa: E731 - a fixed shift, either way
    transform = A.HueSaturationValue(hue_shift_limit=(sign() * hue,) * 2,
                                     sat_shift_limit=(sign() * sat,) * 2,
                                     val_shift_limit=(sign() * val,) * 2, p=1)
    return _albu(transform, image)


def _random_colour(rng):
    return tuple(int(c) for c in rng.integers(0, 256, 3))


def _stickers(image, strength, rng, mark_box=None):
    """Opaque discs, rounded squares and stars covering ~5 / 12 / 25% of the frame."""
    out = image.copy()
    h, w = out.shape[:2]
    target, covered = (0.05, 0.12, 0.25)[strength - 1] * h * w, 0.0
    while covered < target:
        r = int(rng.uniform(0.06, 0.16) * min(h, w)) + 2
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        kind = int(rng.integers(3))
        if kind == 0:
            cv2.circle(out, (cx, cy), r, _random_colour(rng), -1, cv2.LINE_AA)
        elif kind == 1:
            cv2.rectangle(out, (cx - r, cy - r), (cx + r, cy + r), _random_colour(rng), -1)
        else:
            angles = np.linspace(0, 2 * np.pi, 11)[:-1]
            radii = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
            points = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1)
            cv2.fillPoly(out, [points.astype(np.int32)], _random_colour(rng), cv2.LINE_AA)
        covered += np.pi * r * r * 0.8
    return out


def _text(rng, length):
    return "".join(_GLYPHS[i] for i in rng.integers(0, len(_GLYPHS), length))


def _outlined_text(image, text, origin, scale, colour, thickness):
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0),
                thickness + 2, cv2.LINE_AA)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA)


def _caption(image, strength, rng, mark_box=None):
    """1 / 2 / 3 lines of large outlined text across the frame (a re-uploader's caption)."""
    out = image.copy()
    h, w = out.shape[:2]
    scale = min(h, w) / 260
    for _ in range(strength):
        y = int(rng.uniform(0.15, 0.9) * h)
        _outlined_text(out, _text(rng, int(rng.integers(6, 14))), (int(rng.uniform(0, 0.2) * w), y),
                       scale, (255, 255, 255), max(1, int(scale * 2)))
    return out


def _foreign_mark(image, strength, rng, mark_box=None):
    """Another platform's watermark (`@handle platform`) in a random corner, larger with
    strength; a logo block beside it from strength 2."""
    out = image.copy()
    h, w = out.shape[:2]
    scale = min(h, w) / (520, 380, 260)[strength - 1]
    text = f"@{_text(rng, int(rng.integers(5, 11)))} {_PLATFORMS[int(rng.integers(len(_PLATFORMS)))]}"
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x = int(0.03 * w) if rng.random() < 0.5 else max(0, w - tw - int(0.03 * w))
    y = int(0.06 * h) + th if rng.random() < 0.5 else h - int(0.06 * h)
    _outlined_text(out, text, (x, y), scale, (235, 235, 235), max(1, int(scale)))
    if strength >= 2:
        side = int(th * 2.2)
        x0 = max(0, min(w - side, x - side - 4 if x > side + 4 else x + tw + 4))
        cv2.rectangle(out, (x0, y - side), (x0 + side, y), _random_colour(rng), -1)
    return out


def _cut_mark(image, strength, rng, mark_box=None):
    """Cut off the band of the frame that holds the watermark (the box's side when
    `mark_box` is given, else a random top or bottom band): 10 / 16 / 24% of the height,
    and always at least the mark's box."""
    h = image.shape[0]
    band = int((0.10, 0.16, 0.24)[strength - 1] * h)
    if mark_box is not None:
        top = (mark_box[1] + mark_box[3]) / 2 < h / 2
        band = max(band, int(mark_box[3]) + 2 if top else h - int(mark_box[1]) + 2)
    else:
        top = rng.random() < 0.5
    band = min(band, h // 2)
    return image[band:] if top else image[:h - band]


EDITS: dict[str, Edit] = {
    "crop": Edit(_crop, "a random crop keeping 80 / 60 / 40% of the area"),
    "mirror": Edit(_mirror, "horizontal flip (same at every strength)"),
    "reencode": Edit(_reencode, "JPEG quality 50 / 30 / 15"),
    "resize": Edit(_resize, "downscaled to 0.75 / 0.5 / 0.33"),
    "colour": Edit(_colour, "hue, saturation and value shifted"),
    "stickers": Edit(_stickers, "shapes over 5 / 12 / 25% of the frame"),
    "caption": Edit(_caption, "1 / 2 / 3 lines of large outlined text"),
    "foreign watermark": Edit(_foreign_mark, "another platform's @handle in a corner"),
    "watermark cut": Edit(_cut_mark, "the band holding the watermark cut off"),
}


def apply_edit(image: np.ndarray, name: str, strength: int, rng, mark_box=None) -> np.ndarray:
    """`image` (HxWx3 uint8, BGR) after the edit `name` at `strength` 1-3."""
    if name not in EDITS:
        raise KeyError(f"unknown copy edit {name!r}; known: {', '.join(EDITS)}")
    if strength not in STRENGTHS:
        raise ValueError(f"strength must be one of {STRENGTHS}, got {strength!r}")
    return np.ascontiguousarray(EDITS[name].apply(image, strength, rng, mark_box))


def random_chain(rng, max_edits: int = 3, names=tuple(EDITS)) -> list[tuple[str, int]]:
    """1..max_edits distinct edits, each at a random strength, in a random order."""
    count = int(rng.integers(1, max_edits + 1))
    chosen = rng.choice(len(names), size=min(count, len(names)), replace=False)
    return [(names[i], int(rng.integers(1, 4))) for i in chosen]


def apply_chain(image: np.ndarray, chain, rng, mark_box=None) -> np.ndarray:
    """The edits of `chain` in turn; `mark_box` only reaches edits before any geometric
    one (a crop or resize moves the mark)."""
    for name, strength in chain:
        image = apply_edit(image, name, strength, rng, mark_box)
        if name in ("crop", "mirror", "resize", "watermark cut"):
            mark_box = None
    return image
