"""The corruptions a frame may suffer after it left the video, at a strength 1-3: one
catalogue for the robustness benchmark (`pipeline.robustness`, fixed severities 1, 2, 3)
and the recogniser's training stream (`synth.crops`, strengths drawn between them).

Why one catalogue: at severity 2 only 1 of 11 corruptions stayed within 10 points of the
clean reading (bench/robustness.md, release 2) because the stream never showed noise,
rain, fog or rotation; seed 001 made detection robust by simulating exactly the
disturbances it tested. Values are chosen for frames 200-640 px tall whose mark is
6-15 px: severity 2 is what a re-encoded, re-scaled phone screenshot commonly suffers, 3 the
worst a person still reads. A strength between two severities interpolates their values
(discrete ones round); geometric corruptions move the text, so their callers pass boxes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import albumentations as A
import cv2
import numpy as np

SEVERITIES = (1, 2, 3)


@dataclass(frozen=True)
class Corruption:
    build: Callable              # value(s) at one strength -> an albumentations transform
    values: tuple                # the value at severity 1, 2, 3 (a number or a tuple)
    geometric: bool = False      # moves pixels: boxes must follow
    discrete: bool = False       # values are categories or odd kernels: round, not blend
    signed: bool = False         # training draws either sign of the value


def _odd(value) -> int:
    return int(value) | 1


class Haze(A.RandomFog):
    """albumentations' fog with its closing blur on the fog only, not on the scene.

    Why: RandomFog blends white particles into the image and then Gaussian-blurs the
    result by min(h, w) / 30 pixels at every strength: 7 on the demo's 212-pixel-wide test
    frames, which dissolves 4-5-pixel glyphs. The fog rows of bench/robustness.md measured
    that blur, not fog (release 9: 0.037 / 0.035 / 0.028 exact at severity 1 / 2 / 3,
    0.12 on ground-truth boxes: unreadable to a person, while the catalogue's severity 3
    is the worst a person still reads). The particles' blend is linear in the image
    (each step mixes white in with a weight), so the fog drawn on black is its white
    layer F, and the frame behind it is seen through 1 - F / 255."""

    def apply(self, img, particle_positions, radiuses, intensity, **params):
        fog = super().apply(np.zeros_like(img), particle_positions, radiuses, intensity, **params)
        fog = fog.astype(np.float32)
        return np.clip(img * (1 - fog / 255) + fog + 0.5, 0, 255).astype(np.uint8)


CATALOGUE: dict[str, Corruption] = {
    "gaussian noise": Corruption(lambda v: A.GaussNoise(std_range=(v, v), p=1),
                                 (0.03, 0.06, 0.12)),
    "salt and pepper": Corruption(lambda v: A.SaltAndPepper(amount=(v, v), p=1),
                                  (0.004, 0.012, 0.03)),
    "motion blur": Corruption(lambda v: A.MotionBlur(blur_limit=(_odd(v),) * 2, p=1),
                              (3, 5, 7), discrete=True),
    "defocus blur": Corruption(lambda v: A.Defocus(radius=(int(v),) * 2, alias_blur=(0.1, 0.1), p=1),
                               (1, 2, 3), discrete=True),
    "jpeg": Corruption(lambda v: A.ImageCompression(quality_range=(int(v),) * 2, p=1),
                       (40, 25, 10)),
    "rescale chain": Corruption(
        lambda v: A.Downscale(scale_range=(v, v), p=1, interpolation_pair={
            "downscale": cv2.INTER_AREA, "upscale": cv2.INTER_LINEAR}), (0.8, 0.6, 0.45)),
    "rain": Corruption(lambda v: A.RandomRain(rain_type=v, drop_width=1, blur_value=1,
                                              brightness_coefficient=0.9, p=1),
                       ("drizzle", "default", "heavy"), discrete=True),
    "fog": Corruption(lambda v: Haze(fog_coef_range=(v, v), alpha_coef=0.08, p=1),
                      (0.2, 0.4, 0.6)),
    "darker, less contrast": Corruption(
        lambda v: A.RandomBrightnessContrast(brightness_limit=(-v[0], -v[0]),
                                             contrast_limit=(-v[1], -v[1]), p=1),
        ((0.1, 0.15), (0.2, 0.3), (0.35, 0.5))),
    "rotation": Corruption(lambda v: A.Rotate(limit=(v, v), border_mode=cv2.BORDER_REFLECT_101, p=1),
                           (1.5, 3.0, 6.0), geometric=True, signed=True),
    "perspective": Corruption(lambda v: A.Perspective(scale=(v, v), keep_size=True, fit_output=True,
                                                      p=1), (0.02, 0.04, 0.07), geometric=True),
}


# Perspective keeps the whole frame in view (fit_output), as a camera filming a screen at
# an angle sees all of it: albumentations' default cuts the warped frame back to the
# original rectangle, and the marks sit at its edges. Measured on the demo's first 200 test
# frames: the ID's box reached the frame's edge (glyphs cut off) in 0.31 / 0.41 / 0.41 of
# frames at severity 1 / 2 / 3 that way, in none with fit_output (bench_high: 0.28 / 0.45 /
# 0.39). Rotation turns the frame about its centre at its own size, as an editor does:
# there the ID's box reaches the edge in 0.08 / 0.27 / 0.48 of the frames, and those read
# 0.39 / 0.32 / 0.20 against 0.49 for the rest at every severity (release 9, 400 demo
# frames). Not albumentations' SafeRotate, which keeps the corners by shrinking the frame
# (~0.7 for a portrait frame at 6 degrees) and mirrors the mark into the border.


def known(names) -> tuple[str, ...]:
    """`names` as a tuple, each a corruption of the catalogue (a ValueError names the others)."""
    unknown = sorted(set(names) - set(CATALOGUE))
    if unknown:
        raise ValueError(f"unknown corruption(s) {unknown}; the catalogue has {', '.join(CATALOGUE)}")
    return tuple(names)


def value_at(name: str, strength: float):
    """The corruption's parameter at `strength` in [1, 3]: a severity's own value at an
    integer, interpolated between two (rounded for discrete ones)."""
    c = CATALOGUE[name]
    s = float(np.clip(strength, SEVERITIES[0], SEVERITIES[-1]))
    if c.discrete:
        return c.values[int(round(s)) - 1]
    low = min(int(s), SEVERITIES[-1] - 1)
    a, b, t = np.asarray(c.values[low - 1]), np.asarray(c.values[low]), s - low
    value = a + (b - a) * t
    return tuple(float(x) for x in value) if value.ndim else float(value)


def transform(name: str, strength: float, negate: bool = False) -> A.BasicTransform:
    """One albumentations transform of `name` at `strength` (always applied)."""
    value = value_at(name, strength)
    if negate and CATALOGUE[name].signed:
        value = -value
    return CATALOGUE[name].build(value)


def apply(image: np.ndarray, name: str, strength: float, seed: int, negate: bool = False,
          boxes: list | None = None):
    """`image` under one corruption; the same seed gives the same pixels. With `boxes`
    ([x0, y0, x1, y1] in pixels) also returns them as the corruption moved them."""
    if boxes is None or not CATALOGUE[name].geometric:
        out = A.Compose([transform(name, strength, negate)], seed=seed)(image=image)["image"]
        return out if boxes is None else (out, [list(map(float, b)) for b in boxes])
    h, w = image.shape[:2]
    clipped = [[min(max(b[0], 0), w - 1), min(max(b[1], 0), h - 1),
                min(max(b[2], 1), w), min(max(b[3], 1), h)] for b in boxes]
    compose = A.Compose([transform(name, strength, negate)], seed=seed,
                        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["ids"],
                                                 clip=True, min_visibility=0.0))
    out = compose(image=image, bboxes=clipped, ids=list(range(len(boxes))))
    moved = {int(i): list(map(float, b)) for i, b in zip(out["ids"], out["bboxes"])}
    return out["image"], [moved.get(i, list(map(float, clipped[i]))) for i in range(len(boxes))]
