"""Which ID glyphs the generator's low-resolution frames still tell apart, per font and size.

Exact match has a ceiling below 1 that no recogniser can pass where two symbols render to
(nearly) the same pixels after the screenshot chain (DESIGN.md: `I` and `l` in Liberation
Sans at 14 px differ by at most 7/255 after a 1/1.7 shrink, before any JPEG). This module
measures that ceiling for the generator's own faces instead of guessing it.

The observer is a 62-way nearest-template reader that knows more than any recogniser: the
face, the size, the two neighbouring glyphs and the flat background behind them. It does
not know the nuisance of the screenshot chain: the drawing's sub-pixel phase against the
shrink's grid (8 phases), the video's JPEG quality, the screenshot's JPEG quality and the
kind of shrink; it holds templates of every symbol over a grid of them (`Condition.grid`)
and reads the symbol of the nearest template (a tie between k symbols is 1/k right). Each
observation is one symbol drawn like the watermark (near-white fill, a 1-px dark stroke)
between the context's neighbours, at fixed pen positions (a slot as wide as the widest
symbol, so only shapes differ, not advances), through the chain with random phase and
qualities (`common.screenshot`, the test frames' own functions).

Why the grid spans the whole range of every nuisance: a first, pairwise observer with a
coarse grid (video quality fixed at the middle of its range, area shrinks only; 2026-12-07,
36 observations a glyph) read I/l wrong 47% / 39% of the time in Liberation Sans Bold at
12 px through the test chain and 11% / 8% in Liberation Sans at 14 px; with the full grid
39% / 19% and 0% / 0%: the unmodelled nuisance, not the glyphs, made most of its errors.
bench/glyphs.md has this observer's figures for every face and size.

`observe_corrupted` asks the same after the robustness benchmark's corruptions
(bench/glyphs_corrupted.md, severity 2 through the test chain): through a blur, rescale or
rotation it knows, the observer reads as well as without (ceiling 0.97-0.99 vs 0.969), so
the recogniser's losses there are its own; JPEG 25 costs it 2.2% per symbol (0.763).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import albumentations as A
import numpy as np
from PIL import Image, ImageDraw

from common import corruptions
from common.screenshot import Screenshot, low_res_version
from synth.degrade import TEST_CHAIN, TEST_JPEG_QUALITY, TEST_SCALE, TRAIN_CHAIN, VIDEO_JPEG_QUALITY
from synth.fonts import load_font
from synth.ids import ID_ALPHABET, ID_MAX_LEN, ID_MIN_LEN

FILL, EDGE = 245, 30                 # the watermark's near-white text and its dark stroke
PHASES = tuple(itertools.product(range(4), range(2)))   # (dx, dy) train pixels: sub-pixel phase after a shrink
VIDEO_STEP, JPEG_STEP = 8, 5         # the observer's template grid over the qualities


@dataclass(frozen=True)
class Condition:
    """A named screenshot chain: the shrink factor and what the chain does around it."""
    name: str
    scale: float
    chain: Screenshot

    def grid(self) -> list[tuple[int | None, int | None, bool]]:
        """The (JPEG quality, video quality, bilinear) nuisance the templates cover."""
        return self.chain.grid(JPEG_STEP, VIDEO_STEP)


CONDITIONS = {
    "train": Condition("train resolution (JPEG 75-95)", 1.0, TRAIN_CHAIN),
    "test": Condition(f"test frames (video JPEG {VIDEO_JPEG_QUALITY[0]}-{VIDEO_JPEG_QUALITY[1]}, "
                      f"1/{TEST_SCALE}, JPEG {TEST_JPEG_QUALITY[0]}-{TEST_JPEG_QUALITY[1]})",
                      TEST_SCALE, TEST_CHAIN),
    # the robustness bench's train-resolution frames (data/bench_high: --test-scale 1)
    "test_1": Condition("test chain at train resolution (bench_high's frames)", 1.0, TEST_CHAIN),
    # the real challenge's smallest test frames (DESIGN.md: shrunk 1/1.55 to 1/2.45)
    "test_2.45": Condition("test chain at 1/2.45 (the real challenge's smallest frames)", 2.45, TEST_CHAIN),
}


class GlyphRenderer:
    """Three glyphs of one face and size in the watermark's style on a flat grey, at fixed
    pen positions: the middle slot as wide as the widest ID symbol."""

    def __init__(self, font_path: str, size: int, font_index: int = 0):
        self.font = load_font(font_path, size, font_index)
        ascent, descent = self.font.getmetrics()
        self.height = ascent + descent + 6 + max(dy for _, dy in PHASES)
        self.slot = max(self.font.getlength(c) for c in ID_ALPHABET)
        self.pad = 3 + max(dx for dx, _ in PHASES)

    def draw(self, left: str, glyph: str, right: str, background: int, phase: tuple[int, int]) -> np.ndarray:
        width = int(np.ceil(2 * self.slot + self.font.getlength(right))) + 2 * self.pad
        image = Image.new("L", (width, self.height), background)
        draw = ImageDraw.Draw(image)
        for x, char in ((self.slot - self.font.getlength(left), left), (self.slot, glyph), (2 * self.slot, right)):
            draw.text((3 + phase[0] + x, 3 + phase[1]), char, font=self.font, fill=FILL,
                      stroke_width=1, stroke_fill=EDGE)
        return np.asarray(image)


def degrade(image: np.ndarray, condition: Condition, quality: int | None, video_quality: int | None,
            linear: bool) -> np.ndarray:
    """`image` through the condition's chain with its nuisance fixed (uint8, the chain's size)."""
    return low_res_version(image, condition.scale, quality, video_quality, linear)


# The robustness catalogue's corruptions (common.corruptions) as the observer meets them,
# applied to the glyphs after the screenshot chain as bench_robust applies them to a frame.
# Noise is drawn afresh for every observation and the templates stay clean (the observer
# cannot know it); every other corruption is one draw per context applied alike to the
# templates and the observations (the observer knows the blur's kernel and direction, the
# JPEG quality, the rotation's angle and sign), so what it loses is what the corruption
# takes from the pixels, not what it hides from a reader that has to guess it. Left out are
# those albumentations sizes by the whole frame, which a glyph patch does not carry: rain
# and fog (RandomRain: height // 3 drops of height // 8 px) and perspective (its corners
# move by a share of the image's size: on a 12 x 30 patch severity 2 moves no pixel).
NOISE = ("gaussian noise", "salt and pepper")
OBSERVABLE = tuple(name for name in corruptions.CATALOGUE if name not in ("rain", "fog", "perspective"))
CANVAS = 48    # photometric corruptions see the patch inside a flat canvas at least this big


def corrupt(images: np.ndarray, name: str, severity: float, seed: int, negate: bool,
            background: int) -> np.ndarray:
    """A stack of grey glyph patches (n x h x w uint8) under one corruption at `severity`,
    with one draw of its parameters for all. Photometric corruptions see each patch on a
    flat canvas of its background (a blur's or JPEG block's reach past the patch's edge is
    the flat scene, as in a frame); geometric ones turn the patch about its centre."""
    if name not in OBSERVABLE:
        raise ValueError(f"the glyph observer cannot apply {name!r}; it applies {', '.join(OBSERVABLE)}")
    compose = A.Compose([corruptions.transform(name, severity, negate)], seed=seed)
    if corruptions.CATALOGUE[name].geometric:
        return compose(images=images)["images"]
    h, w = images.shape[1:]
    pad_y, pad_x = max(0, CANVAS - h) // 2, max(0, CANVAS - w) // 2
    canvas = np.pad(images, ((0, 0), (pad_y, pad_y), (pad_x, pad_x)), constant_values=background)
    return compose(images=canvas)["images"][:, pad_y:pad_y + h, pad_x:pad_x + w]


def observe(renderer: GlyphRenderer, condition: Condition, rng, contexts: int = 8,
            observations: int = 2, alphabet: str = ID_ALPHABET) -> np.ndarray:
    """Confusion counts (truth x read, in `alphabet`'s order) of the nearest-template
    observer over `contexts` random (neighbours, background) and `observations` draws of
    each symbol in each."""
    return observe_corrupted(renderer, condition, rng, (), contexts=contexts,
                             observations=observations, alphabet=alphabet)[None]


def observe_corrupted(renderer: GlyphRenderer, condition: Condition, rng, names: tuple[str, ...],
                      severity: float = 2, contexts: int = 8, observations: int = 2,
                      alphabet: str = ID_ALPHABET) -> dict[str | None, np.ndarray]:
    """`observe`'s confusion counts as they are (key None) and under each corruption of
    `names` at `severity` (key: its name), all on the same observations. The corruptions
    draw from a child of `rng` (`spawn` leaves its state alone), so the clean counts are
    `observe`'s whatever `names` holds."""
    n = len(alphabet)
    corruption_rng = rng.spawn(1)[0] if names else None
    counts = {name: np.zeros((n, n)) for name in (None, *names)}
    grid = condition.grid()
    for _ in range(contexts):
        left, right = rng.choice(list(ID_ALPHABET), 2)
        background = int(rng.integers(30, 200))
        clean = [[renderer.draw(left, g, right, background, p) for p in PHASES] for g in alphabet]
        templates = np.stack([degrade(image, condition, *nuisance)
                              for row in clean for image in row for nuisance in grid])
        truths = np.repeat(np.arange(n), observations)
        seen = np.stack([degrade(clean[t][int(rng.integers(len(PHASES)))], condition, *condition.chain.sample(rng))
                         for t in truths])
        _tally(templates, seen, truths, counts[None])
        for name in names:
            seed, negate = int(corruption_rng.integers(2**31 - 1)), bool(corruption_rng.random() < 0.5)
            if name in NOISE:
                noisy = np.concatenate([corrupt(s[None], name, severity, seed + j, negate, background)
                                        for j, s in enumerate(seen)])
                _tally(templates, noisy, truths, counts[name])
            else:
                _tally(corrupt(templates, name, severity, seed, negate, background),
                       corrupt(seen, name, severity, seed, negate, background), truths, counts[name])
    return counts


def _tally(templates: np.ndarray, seen: np.ndarray, truths: np.ndarray, counts: np.ndarray) -> None:
    """Adds each observation's nearest-template reading to `counts` (a tie between k
    symbols is 1/k right); templates come symbol by symbol, in `counts`' order."""
    t = templates.reshape(len(templates), -1).astype(np.float64)   # exact sums for ties
    s = seen.reshape(len(seen), -1).astype(np.float64)
    distances = (t ** 2).sum(1)[:, None] - 2.0 * t @ s.T + (s ** 2).sum(1)[None, :]
    nearest = distances.reshape(len(counts), -1, len(truths)).min(axis=1)   # symbol x observation
    best = nearest.min(axis=0)
    for j, truth in enumerate(truths):
        tied = np.flatnonzero(nearest[:, j] <= best[j] + 1e-3)
        counts[truth, tied] += 1.0 / len(tied)


def exact_ceiling(counts: np.ndarray) -> float:
    """Exact match of a uniform random ID (lengths 8..15) read symbol by symbol with the
    accuracy of `counts` (truth x read)."""
    accuracy = float(np.mean(np.diag(counts) / counts.sum(axis=1)))
    return float(np.mean([accuracy ** n for n in range(ID_MIN_LEN, ID_MAX_LEN + 1)]))


def top_confusions(counts: np.ndarray, alphabet: str = ID_ALPHABET, k: int = 3) -> list[tuple[str, float]]:
    """The `k` unordered symbol pairs read for each other most often, with their share of
    the two symbols' observations."""
    if len(alphabet) != len(counts):
        raise ValueError(f"{len(counts)} rows of counts for an alphabet of {len(alphabet)} symbols")
    rates = []
    for i, j in itertools.combinations(range(len(alphabet)), 2):
        wrong = counts[i, j] + counts[j, i]
        if wrong > 0:
            rates.append((alphabet[i] + "/" + alphabet[j], float(wrong / (counts[i].sum() + counts[j].sum()))))
    return sorted(rates, key=lambda pr: -pr[1])[:k]
