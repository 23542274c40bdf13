"""Measure which ID glyphs a font renders to (nearly) the same pixels at watermark size.

DESIGN.md: in Arial-metric fonts `I` and `l` can be pixel-identical once a 14 px glyph
is downscaled by 1/1.7. When pixels cannot decide, a reader can only guess, so the
exact-match ceiling on random IDs is below 1. This module measures it per font instead
of assuming it: render every symbol the way the watermark does (white on black, same
baseline, same cell), downscale to test resolution, and group symbols whose images
differ by at most `tolerance` grey levels.
"""
from __future__ import annotations

import string
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase


def render_glyphs(font_path: str | Path, size_px: int = 14, scale: float = 1 / 1.7,
                  symbols: str = ALPHABET) -> dict[str, np.ndarray]:
    """Each symbol drawn alone in a common cell (shared baseline and left edge, as in a
    line of text) and downscaled with area averaging, like a low-resolution frame."""
    font = ImageFont.truetype(str(font_path), size_px)
    cell_w, cell_h = size_px * 2, size_px * 2
    glyphs = {}
    for ch in symbols:
        img = Image.new("L", (cell_w, cell_h), 0)
        ImageDraw.Draw(img).text((size_px // 2, size_px // 2), ch, fill=255, font=font)
        small = cv2.resize(np.asarray(img), None, fx=scale, fy=scale,
                           interpolation=cv2.INTER_AREA)
        glyphs[ch] = small.astype(np.int16)
    return glyphs


def indistinguishable_groups(glyphs: dict[str, np.ndarray], tolerance: int = 8) -> list[str]:
    """Groups (size >= 2) of symbols whose images differ by <= tolerance grey levels
    everywhere. Grouping is transitive (connected components of the 'same' relation)."""
    symbols = list(glyphs)
    parent = {c: c for c in symbols}

    def find(c: str) -> str:
        while parent[c] != c:
            c = parent[c]
        return c

    for i, a in enumerate(symbols):
        for b in symbols[i + 1:]:
            if np.abs(glyphs[a] - glyphs[b]).max() <= tolerance:
                parent[find(b)] = find(a)
    groups: dict[str, str] = {}
    for c in symbols:
        groups[find(c)] = groups.get(find(c), "") + c
    return sorted("".join(sorted(g)) for g in groups.values() if len(g) > 1)


def closest_pairs(glyphs: dict[str, np.ndarray], n: int = 5) -> list[tuple[str, int]]:
    """The `n` symbol pairs with the smallest largest-pixel difference, e.g.
    [("I/l", 10), ...]: what a reader is most likely to confuse in this font."""
    symbols = list(glyphs)
    dists = [(f"{a}/{b}", int(np.abs(glyphs[a] - glyphs[b]).max()))
             for i, a in enumerate(symbols) for b in symbols[i + 1:]]
    return sorted(dists, key=lambda d: d[1])[:n]


def coin_flip_ceiling(groups: list[str], alphabet: str = ALPHABET,
                      lengths: range = range(8, 16)) -> float:
    """Expected exact-match of a reader that is perfect except that it must guess
    uniformly within each indistinguishable group, on IDs uniform over `alphabet`
    with length uniform over `lengths` (the challenge's distribution)."""
    size = {c: 1 for c in alphabet}
    for g in groups:
        for c in g:
            size[c] = len(g)
    per_symbol = float(np.mean([1.0 / size[c] for c in alphabet]))
    return float(np.mean([per_symbol ** n for n in lengths]))
