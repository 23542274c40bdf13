"""What every augmentation plugin shares: the engine's calling convention and seeding.

Engine contract (openocr 0.1.5 `openrec.preprocess`): a transform is built as
`Class(**params, **Global)` — every key of the config's `Global` section is passed too,
and Global *overrides* same-named params — so constructors take `**kwargs` and our
parameter names avoid Global's (`seed`, `max_text_length`, ...). It is called with the
sample dict and returns it; `data['image']` is an HxWx3 uint8 array (the engine's
`DecodeImage` gives RGB by default, BGR with `img_mode: BGR`; nothing here depends on
channel order except the hue part of colour jitter, where either is fine).

Seeding: every random draw comes from NumPy's global generator (`np.random`), one
fresh `np.random.Generator` per call seeded from it. So `np.random.seed(s)` makes any
sequence of calls reproducible, the trainer's `Global.seed` seeds the main process, and
PyTorch's DataLoader reseeds NumPy differently in each worker (torch >= 1.9), so
workers do not repeat each other. albumentations keeps a private generator per
transform (created at construction, so forked workers would share it and global seeds
would not reach it); `AlbumentationsStep` therefore hands it our per-call generator.
"""
from __future__ import annotations

import random

import albumentations as A
import numpy as np


def call_rng() -> np.random.Generator:
    """A generator for one call, drawn from (and advancing) NumPy's global state."""
    return np.random.default_rng(np.random.randint(0, 2**31 - 1))


def check_image(data: dict, owner: str) -> np.ndarray:
    """The sample's image, or a clear error naming the transform and what it got."""
    image = data.get("image") if isinstance(data, dict) else None
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3):
        got = type(image).__name__ if not isinstance(image, np.ndarray) else \
            f"ndarray {image.dtype} {image.shape}"
        raise TypeError(f"{owner} needs data['image'] as an HxWx3 uint8 numpy array "
                        f"(put it after DecodeImage, before the resize); got {got}")
    return image


def check_probability(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value}")
    return value


def as_range(name: str, value, low: float | None = None) -> tuple[float, float]:
    """A (min, max) pair from YAML (a list) or a scalar (a fixed value)."""
    pair = (value, value) if np.isscalar(value) else tuple(value)
    if len(pair) != 2 or pair[0] > pair[1] or (low is not None and pair[0] < low):
        raise ValueError(f"{name} must be a [min, max] range"
                         f"{'' if low is None else f' with min >= {low}'}, got {value!r}")
    return float(pair[0]), float(pair[1])


class AlbumentationsStep:
    """Base for plugins that are an `A.Compose` of albumentations transforms, each with
    its own probability; subclasses build the list in `_build`. Steps whose probability
    is 0 are left out, so an all-zero configuration is exactly the identity."""

    def __init__(self, steps: list):
        self.compose = A.Compose([s for s in steps if s.p > 0], p=1.0)

    def __call__(self, data: dict) -> dict:
        image = check_image(data, type(self).__name__)
        if not self.compose.transforms:
            return data
        seed = np.random.randint(0, 2**31 - 1)
        self.compose.set_random_state(np.random.default_rng(seed), random.Random(seed))
        data["image"] = self.compose(image=image)["image"]
        return data

    def __repr__(self) -> str:
        names = ", ".join(f"{type(t).__name__}(p={t.p})" for t in self.compose.transforms)
        return f"{type(self).__name__}([{names}])"
