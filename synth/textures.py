"""Busy scene bases for frames from the wild (issue #17): foliage, gravel, woven fabric,
text-rich scenes and screen recordings with UI chrome.

The demo's localiser bled into textured photographs (a third of its crops >= 1.5x the
mark's width on frames made elsewhere): every base it trained on was smooth or
periodic. These are the opposite: high-frequency, edge-dense, and (text, UI) full of
small bright strokes that look like the mark. Split like the fonts: the localiser trains
on WILD_SPLITS["train"], the wild benchmark draws from WILD_SPLITS["heldout"] only.
"""
from __future__ import annotations

import string

import cv2
import numpy as np

from synth.backgrounds import (BASE_SPLITS, BASES, _fractal_noise, _noise_texture,
                               _palette_lut, _apply_lut, _random_colour)

_MAX_STROKES = 4000   # bounds the cost on a 1080p canvas (~1.5 MP)


def _as_uint8(image: np.ndarray) -> np.ndarray:
    """OpenCV 5 draws text on 8-bit images only."""
    return np.clip(image, 0, 255).astype(np.uint8)


def _count(h: int, w: int, per_pixel: float) -> int:
    return int(min(_MAX_STROKES, h * w * per_pixel))


def foliage(rng, h: int, w: int) -> np.ndarray:
    """Leaves: thousands of small ellipses in greens and browns over a dark shaded layer."""
    out = (_apply_lut(_fractal_noise(rng, h, w), _palette_lut(rng, 2)) * 0.35).astype(np.float32)
    hue_shift = rng.uniform(-0.15, 0.15)
    size = max(2.0, min(h, w) * rng.uniform(0.006, 0.02))
    for _ in range(_count(h, w, 1 / (size * size * 1.5))):
        green = np.array([rng.uniform(20, 90), rng.uniform(70, 200), rng.uniform(20, 120)])
        colour = green * (1 + hue_shift) * rng.uniform(0.4, 1.3)
        axes = (int(size * rng.uniform(0.6, 1.6)), int(size * rng.uniform(0.25, 0.7)))
        cv2.ellipse(out, (int(rng.integers(0, w)), int(rng.integers(0, h))), axes,
                    float(rng.uniform(0, 180)), 0, 360, np.clip(colour, 0, 255).tolist(), -1)
    return out


def gravel(rng, h: int, w: int) -> np.ndarray:
    """Stones: small polygons of greys and browns, each with its own tint and highlight."""
    out = np.empty((h, w, 3), np.float32)
    out[:] = _random_colour(rng, saturation=(0, 0.3), value=(0.15, 0.5))
    size = max(2.0, min(h, w) * rng.uniform(0.005, 0.018))
    base = _random_colour(rng, saturation=(0, 0.35), value=(0.3, 0.8))
    for _ in range(_count(h, w, 1 / (size * size))):
        cx, cy = rng.integers(0, w), rng.integers(0, h)
        angles = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(5, 8))))
        radius = size * rng.uniform(0.5, 1.2, len(angles))
        points = np.stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)], 1)
        tint = np.clip(base * rng.uniform(0.5, 1.4) + rng.normal(0, 12, 3), 0, 255)
        cv2.fillPoly(out, [points.astype(np.int32)], tint.tolist())
    grain = _fractal_noise(rng, h, w, octaves=3, base_cells=16)[..., None]
    return (out * (0.8 + 0.4 * grain)).astype(np.float32)


def fabric(rng, h: int, w: int) -> np.ndarray:
    """A weave: warp and weft threads a few pixels wide, with folds of shading."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    period = rng.uniform(2.5, 8.0)
    warp = 0.5 + 0.5 * np.sin(2 * np.pi * xs / period)
    weft = 0.5 + 0.5 * np.sin(2 * np.pi * ys / (period * rng.uniform(0.8, 1.25)))
    checker = (np.floor(xs / period) + np.floor(ys / period)) % 2
    weave = np.where(checker > 0, warp, weft)
    folds = _fractal_noise(rng, h, w, octaves=3)
    field = np.clip(0.55 * weave + 0.45 * folds, 0, 1)
    thread = _random_colour(rng, value=(0.35, 0.95))     # one dye, lit by the weave and folds
    return (thread * (0.35 + 0.85 * field[..., None])).astype(np.float32)


_GLYPHS = string.ascii_letters + string.digits + "@#:/.-_"


def text_scene(rng, h: int, w: int) -> np.ndarray:
    """Signs, menus, chat screenshots: lines of random Latin text and digits of every
    size, brightness and slant, some white with a dark edge like the mark itself."""
    out = _as_uint8(_noise_texture(rng, h, w) if rng.random() < 0.5 else
                    np.full((h, w, 3), _random_colour(rng), np.float32))
    for _ in range(int(min(400, h * w / 1500))):
        text = "".join(rng.choice(list(_GLYPHS), size=int(rng.integers(3, 18))))
        scale = float(rng.uniform(0.25, 1.6)) * min(h, w) / 600
        thickness = max(1, int(round(scale * rng.uniform(1, 2.5))))
        origin = (int(rng.integers(-20, w)), int(rng.integers(0, h + 10)))
        font = int(rng.choice([cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX,
                               cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_COMPLEX]))
        if rng.random() < 0.3:   # white with a dark rim: the mark's own look
            cv2.putText(out, text, origin, font, scale, (20, 20, 20), thickness + 2, cv2.LINE_AA)
            colour = [float(rng.uniform(225, 255))] * 3
        else:
            colour = _random_colour(rng).tolist()
        cv2.putText(out, text, origin, font, scale, colour, thickness, cv2.LINE_AA)
    return out.astype(np.float32)


def ui_chrome(rng, h: int, w: int) -> np.ndarray:
    """A screen recording: a status bar (clock, signal, battery), a bottom navigation bar
    of icons and labels, and the side column of like/comment/share counts short-video
    apps draw, over a photo-like base."""
    out = _as_uint8(_noise_texture(rng, h, w))
    unit = max(4, min(h, w) // 30)
    white = (245.0, 245.0, 245.0)
    bar = int(unit * rng.uniform(1.2, 2.0))
    if rng.random() < 0.6:
        cv2.rectangle(out, (0, 0), (w, bar), (20.0, 20.0, 20.0), -1)
    cv2.putText(out, f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}",
                (unit, int(bar * 0.75)), cv2.FONT_HERSHEY_SIMPLEX, unit / 28, white, 1, cv2.LINE_AA)
    cv2.rectangle(out, (w - 3 * unit, bar // 4), (w - unit, bar * 3 // 4), white, 1)
    for k in range(4):   # signal bars
        x = w - 5 * unit + k * unit // 3
        cv2.rectangle(out, (x, bar * 3 // 4 - k * bar // 8), (x + unit // 5, bar * 3 // 4), white, -1)
    nav = int(unit * rng.uniform(2.0, 3.2))
    cv2.rectangle(out, (0, h - nav), (w, h), (15.0, 15.0, 15.0) if rng.random() < 0.7 else white, -1)
    labels = ["Home", "Friends", "+", "Inbox", "Me"]
    for k, label in enumerate(labels):
        cx = int((k + 0.5) * w / len(labels))
        cv2.circle(out, (cx, h - nav * 2 // 3), max(2, unit // 3), white, 1, cv2.LINE_AA)
        cv2.putText(out, label, (cx - unit, h - nav // 6), cv2.FONT_HERSHEY_SIMPLEX,
                    unit / 40, white, 1, cv2.LINE_AA)
    for k in range(int(rng.integers(3, 6))):   # the side column of counts
        cy = int(h * 0.45 + k * 2.4 * unit)
        cv2.circle(out, (w - 2 * unit, cy), unit // 2 + 1, white, -1 if k == 0 else 2, cv2.LINE_AA)
        count = f"{rng.uniform(1, 999):.1f}w" if rng.random() < 0.5 else str(int(rng.integers(1, 9999)))
        cv2.putText(out, count, (w - 3 * unit, cy + unit + 2), cv2.FONT_HERSHEY_SIMPLEX,
                    unit / 40, white, 1, cv2.LINE_AA)
    return out.astype(np.float32)


WILD_TEXTURES = {"foliage": foliage, "gravel": gravel, "fabric": fabric, "text": text_scene,
                 "ui": ui_chrome}
WILD_SPLITS = {"train": ("foliage", "fabric", "text"), "heldout": ("gravel", "ui")}


def scene_bases(domain: str) -> dict | None:
    """The scene bases (name -> function, drawn uniformly) of a generator domain; None:
    the demo's own mixture (synth.backgrounds.BASES at BASE_WEIGHTS)."""
    if domain == "demo":
        return None
    split = "heldout" if domain in ("heldout", "wild_heldout") else "train"
    bases = {name: BASES[name] for name in BASE_SPLITS[split] if name in BASES}
    if domain.startswith("wild"):
        bases.update({name: WILD_TEXTURES[name] for name in WILD_SPLITS[split]})
    return bases
