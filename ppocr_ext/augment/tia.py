"""TIA — Text Image Augmentation (Luo et al., "Learn to Augment: Joint Data
Augmentation and Network Optimization for Text Recognition", CVPR 2020).

A text image is cut along its width into `n` segments; the 2(n+1) segment corners on
the top and bottom edges are fiducial points. Moving them and warping the image with
moving least squares (see `mls.py`) gives three label-preserving deformations:

- distort: every fiducial point moves a little in x and y (corners only inwards, so the
  ends of the text stay in the frame) — strokes bend as in hand-held or curved text;
- stretch: each inner cut moves left or right (top and bottom together) — some
  segments get wider, others narrower, like uneven letter spacing or font width;
- perspective: the top and bottom edges tilt, each end moving inwards by its own
  amount — the text seen from an angle.

The winning low-resolution TikTok-ID solution gained 3.8 points of exact match from
TIA on top of standard augmentation (seed 000: 0.568 -> 0.606). The moves scale with
the crop *height* (and segment width) rather than the whole width as in the
PaddleOCR reference, whose width-based radius wrecks long single-line crops such as
a 40x300 ID.
"""
from __future__ import annotations

import numpy as np

from ppocr_ext.augment.base import call_rng, check_image, check_probability, as_range
from ppocr_ext.augment.mls import MLS_MODES, warp_mls


def _fiducials(width: int, height: int, segments: int) -> np.ndarray:
    """Top-edge points left to right, then bottom-edge points left to right: (2(n+1), 2)."""
    xs = np.linspace(0.0, width - 1.0, segments + 1)
    top = np.stack([xs, np.zeros_like(xs)], axis=1)
    bottom = np.stack([xs, np.full_like(xs, height - 1.0)], axis=1)
    return np.concatenate([top, bottom])


def distort_points(width: int, height: int, segments: int, radius_ratio: float,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(src, dst) fiducials for a distortion. The radius is `radius_ratio` x height,
    capped at a third of a segment (so neighbouring points never cross)."""
    src = _fiducials(width, height, segments)
    radius = min(radius_ratio * height, (width - 1.0) / segments / 3.0)
    move = rng.uniform(-radius / 2, radius / 2, size=src.shape)
    n = segments + 1
    corners = [0, n - 1, n, 2 * n - 1]                     # TL, TR, BL, BR
    inwards = np.array([[1, 1], [-1, 1], [1, -1], [-1, -1]])
    move[corners] = rng.uniform(0, radius, size=(4, 2)) * inwards
    return src, src + move


def stretch_points(width: int, height: int, segments: int, shift_ratio: float,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(src, dst) fiducials for a stretch: inner cuts shift by up to `shift_ratio` of a
    segment width, the same at top and bottom; the ends stay put."""
    src = _fiducials(width, height, segments)
    cut = (width - 1.0) / segments
    shift = np.zeros(segments + 1)
    shift[1:-1] = rng.uniform(-shift_ratio * cut, shift_ratio * cut, size=segments - 1)
    dst = src.copy()
    dst[:, 0] += np.concatenate([shift, shift])
    return src, dst


def perspective_points(width: int, height: int, segments: int, tilt_ratio: float,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(src, dst) fiducials for a perspective: at each end the top edge moves down and
    the bottom edge up by up to `tilt_ratio` x height; points in between follow the
    straight line, so the result is a trapezoid rather than a bend."""
    src = _fiducials(width, height, segments)
    ends = rng.uniform(0, tilt_ratio * height, size=(2, 2))   # [top, bottom] x [left, right]
    along = np.linspace(0.0, 1.0, segments + 1)
    top = ends[0, 0] + (ends[0, 1] - ends[0, 0]) * along
    bottom = ends[1, 0] + (ends[1, 1] - ends[1, 0]) * along
    dst = src.copy()
    dst[:, 1] += np.concatenate([top, -bottom])
    return src, dst


class TIA:
    """Engine transform: distort, stretch and perspective, each applied with its own
    probability (in that order), each drawing its segment count from `segments`
    (inclusive range). Crops smaller than `min_size` pixels on a side pass through.

    Defaults follow the PaddleOCR reference (probability 0.4 each, 3..6 segments).
    `grid_step` is the spacing, in pixels, of the grid the MLS map is computed on.
    """

    def __init__(self, distort_prob: float = 0.4, stretch_prob: float = 0.4,
                 perspective_prob: float = 0.4, segments=(3, 6),
                 distort_radius: float = 0.25, stretch_shift: float = 0.4,
                 perspective_tilt: float = 0.3, mls_mode: str = "similarity",
                 grid_step: int = 4, min_size: int = 8, **kwargs):
        self.distort_prob = check_probability("distort_prob", distort_prob)
        self.stretch_prob = check_probability("stretch_prob", stretch_prob)
        self.perspective_prob = check_probability("perspective_prob", perspective_prob)
        low, high = as_range("segments", segments, low=1)
        self.segments = (int(low), int(high))
        self.distort_radius = float(distort_radius)
        self.stretch_shift = float(stretch_shift)
        self.perspective_tilt = float(perspective_tilt)
        if mls_mode not in MLS_MODES:
            raise ValueError(f"mls_mode must be one of {MLS_MODES}, got {mls_mode!r}")
        self.mls_mode = mls_mode
        self.grid_step = max(1, int(grid_step))
        self.min_size = int(min_size)
        self._warps = (
            (self.distort_prob, distort_points, self.distort_radius),
            (self.stretch_prob, stretch_points, self.stretch_shift),
            (self.perspective_prob, perspective_points, self.perspective_tilt),
        )

    def __call__(self, data: dict) -> dict:
        image = check_image(data, "TIA")
        height, width = image.shape[:2]
        if min(height, width) < self.min_size:
            return data
        rng = call_rng()
        for prob, make_points, magnitude in self._warps:
            if prob > 0 and rng.random() < prob:
                segments = int(rng.integers(self.segments[0], self.segments[1] + 1))
                src, dst = make_points(width, height, segments, magnitude, rng)
                image = warp_mls(image, src, dst, self.grid_step, self.mls_mode)
        data["image"] = image
        return data

    def __repr__(self) -> str:
        return (f"TIA(distort_prob={self.distort_prob}, stretch_prob={self.stretch_prob}, "
                f"perspective_prob={self.perspective_prob}, segments={self.segments}, "
                f"mls_mode={self.mls_mode!r})")
