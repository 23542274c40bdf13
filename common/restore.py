"""Noise taken out of a frame before it is read, only where the frame carries it: impulse
noise (salt and pepper: isolated black and white pixels) and strong Gaussian grain.
Clean frames pass unchanged, byte for byte. `pipeline.read_ids.IdReader` reads frames
this way (`--no-restore` reads them as they are); the learned localiser despeckles the
frames it is given too (`localization.locator.WorkParams.work`).

Why selective and per pixel: a 3x3 median over the whole frame also thins the 1-pixel
glyph strokes of a low-resolution mark (on clean dev frames it cost the localiser's
classifier its side on 1% of frames, hit 0.996 -> 0.964), and the recogniser reads the
frame's own pixels. So only impulse pixels are replaced by their 3x3 median: a pixel
black or white in every channel that stands more than IMPULSE_STEP grey levels off at
least IMPULSE_APART of its 8 neighbours. A stroke pixel has stroke neighbours along the
stroke, an impulse has none, or one where two impulses touch; a stroke's 1-pixel tip is
the price of catching those pairs (all 8 neighbours instead: 0.610 / 0.545 / 0.345 at
severity 1 / 2 / 3 below, against 0.620 / 0.593 / 0.487). The frame is touched only when
such pixels are more than IMPULSE_SHARE of it: clean frames hold 0.003-0.013% at p99 (the
demo's, bench_high, unseen, wild and bench_video test frames), salt and pepper at
severity 1 ~0.36%.
Measured with release 10 on data/bench_video (400 dev frames, the catalogue's
salt and pepper): exact 0.515 / 0.372 / 0.158 at severity 1 / 2 / 3 -> 0.620 / 0.593 /
0.487 (clean 0.642, unchanged); the localiser's old whole-frame median of its working
frame had reached 0.350 at severity 2. Now the ID-line cut sees the despeckled frame too:
on the robustness frames (bench/robustness.md) its hit at severity 2 went 0.963 -> 0.998.

Grain is smoothed by a bilateral filter (edges kept) whose colour reach follows the
frame's noise level, estimated from the Laplacian-difference response (Immerkaer, "Fast
noise variance estimation", CVIU 1996), and only above GRAIN_SIGMA: the generator's
clean train-resolution and wild frames carry grain of their own up to 8.3 (0.6 median),
and smoothing those read 2 of bench_high's 99 such frames worse; the catalogue's Gaussian
noise reads 5.0 / 10.1 / 19.9 (median) at severity 1 / 2 / 3, on every set. On the dev
frames (data/bench_video, 400) it is worth +13.5 points at severity 3 (0.205 -> 0.340),
nothing at 2 (0.573 -> 0.575; 89% of the frames smoothed) and never fires at 1. Non-local means (cv2.fastNlMeansDenoisingColored, h = sigma) read worse
than the noisy frame (severity 2 on 400 demo test frames: 0.512 -> 0.497, 50 ms a frame),
a Gaussian blur worse still (0.465 at 0.6 px): both wipe the 1-pixel strokes the
bilateral filter keeps.
"""
from __future__ import annotations

import cv2
import numpy as np

from common.images import to_gray

IMPULSE_SHARE = 0.0015    # above this share of impulse pixels, they are replaced
IMPULSE_STEP = 48         # grey levels an impulse stands off its neighbours ...
IMPULSE_APART = 7         # ... and how many of its 8 neighbours it stands off
GRAIN_SIGMA = 9.0         # estimated grain (grey levels) above which the frame is smoothed
GRAIN_REACH = 4.5         # the bilateral filter's colour sigma, in estimated grain sigmas

_NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
_LAPLACE_DIFF = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def _saturated(gray: np.ndarray) -> np.ndarray:
    """Where a grey uint8 image is black or white (uint8 mask): a colour pixel's grey is
    0 or 255 only when (nearly) every channel is."""
    return cv2.inRange(gray, 0, 0) | cv2.inRange(gray, 255, 255)


def impulse_mask(gray: np.ndarray, saturated: np.ndarray | None = None) -> np.ndarray:
    """Where a grey uint8 image (a frame's grey: `common.images.to_gray`) has impulse
    pixels (see the module note). Only its black and white pixels (`saturated`, computed
    when not given) are examined."""
    mask = (_saturated(gray) if saturated is None else saturated) > 0
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return mask
    padded = np.pad(gray.astype(np.int16), 1, mode="edge")
    level = padded[ys + 1, xs + 1]
    apart = sum((np.abs(level - padded[ys + 1 + dy, xs + 1 + dx]) > IMPULSE_STEP).astype(np.uint8)
                for dy, dx in _NEIGHBOURS)
    mask[ys, xs] = apart >= IMPULSE_APART
    return mask


def despeckled(image: np.ndarray) -> np.ndarray:
    """The image with its impulse pixels replaced by their 3x3 median, when more than
    IMPULSE_SHARE of it are impulses; else the image itself (clean frames: 0.006-0.013%
    at p99, salt and pepper at severity 1 ~0.36%). A frame with too few black and white
    pixels to hold that many impulses costs ~0.5 ms (a demo test frame)."""
    image = np.ascontiguousarray(image)
    gray = to_gray(image)
    saturated = _saturated(gray)
    limit = IMPULSE_SHARE * saturated.size
    if cv2.countNonZero(saturated) <= limit:
        return image
    mask = impulse_mask(gray, saturated)
    if np.count_nonzero(mask) <= limit:
        return image
    out = image.copy()
    out[mask] = cv2.medianBlur(image, 3)[mask]
    return out


def grain_sigma(image: np.ndarray) -> float:
    """The standard deviation of the Gaussian noise of the image's grey (Immerkaer):
    noise drawn per colour channel shows ~0.67 of its sigma there."""
    gray = to_gray(image).astype(np.float32)
    if min(gray.shape) < 3:
        return 0.0
    response = cv2.filter2D(gray, -1, _LAPLACE_DIFF)[1:-1, 1:-1]
    return float(np.sqrt(np.pi / 2) * np.abs(response).mean() / 6)


def smoothed(image: np.ndarray) -> np.ndarray:
    """The image under an edge-keeping bilateral filter when its grain exceeds
    GRAIN_SIGMA; else the image itself."""
    sigma = grain_sigma(image)
    if sigma <= GRAIN_SIGMA:
        return image
    return cv2.bilateralFilter(image, 5, GRAIN_REACH * sigma, 3)


def restored(frame: np.ndarray) -> np.ndarray:
    """The frame as the reader reads it: impulses replaced, then strong grain smoothed
    (the impulses would otherwise count as grain)."""
    return smoothed(despeckled(frame))
