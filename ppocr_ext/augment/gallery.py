"""A labelled grid of augmented versions of one crop, so a user sees what the model
trains on (and can spot an augmentation that destroys the text before a day of
training shows it, as the 5x5 blur did in seed 000)."""
from __future__ import annotations

import cv2
import numpy as np

from ppocr_ext.augment import build_preset
from ppocr_ext.augment.lowres import LowResAug
from ppocr_ext.augment.robustness import RobustnessAug
from ppocr_ext.augment.standard import StandardAug
from ppocr_ext.augment.tia import TIA

_TIA_OFF = dict(distort_prob=0, stretch_prob=0, perspective_prob=0)
_STD_OFF = dict(crop_prob=0, color_prob=0, blur_prob=0, invert_prob=0)


def gallery_rows() -> list[tuple[str, list]]:
    """(label, transforms) per row: each operation forced on, then the 'full' preset
    with its training probabilities (what a real batch looks like)."""
    return [
        ("TIA distort", [TIA(**{**_TIA_OFF, "distort_prob": 1})]),
        ("TIA stretch", [TIA(**{**_TIA_OFF, "stretch_prob": 1})]),
        ("TIA perspective", [TIA(**{**_TIA_OFF, "perspective_prob": 1})]),
        ("crop/pad", [StandardAug(**{**_STD_OFF, "crop_prob": 1})]),
        ("colour jitter", [StandardAug(**{**_STD_OFF, "color_prob": 1})]),
        ("blur 3x3", [StandardAug(**{**_STD_OFF, "blur_prob": 1})]),
        ("blur 5x5 (too much)", [StandardAug(**{**_STD_OFF, "blur_prob": 1, "blur_kernel": 5})]),
        ("invert", [StandardAug(**{**_STD_OFF, "invert_prob": 1})]),
        ("low-res domain", [LowResAug(motion_prob=1, downscale_prob=1, jpeg_prob=1)]),
        ("noise", [RobustnessAug(noise_prob=1, rain_prob=0, fog_prob=0)]),
        ("rain", [RobustnessAug(noise_prob=0, rain_prob=1, fog_prob=0)]),
        ("fog", [RobustnessAug(noise_prob=0, rain_prob=0, fog_prob=1)]),
        ("preset 'full'", build_preset("full")),
    ]


def build_gallery(image: np.ndarray, samples: int = 6, seed: int = 0, scale: int = 3,
                  label_width: int = 230) -> np.ndarray:
    """BGR grid: per row a label, the original, then `samples` augmented versions,
    each upscaled `scale`x with nearest neighbour so single pixels stay visible."""
    np.random.seed(seed)
    height, width = image.shape[:2]
    cell_h, cell_w, gap = height * scale, width * scale, 4
    rows = gallery_rows()
    columns = 1 + samples
    grid = np.full((len(rows) * (cell_h + gap) + gap,
                    label_width + columns * (cell_w + gap) + gap, 3), 255, np.uint8)
    for r, (label, ops) in enumerate(rows):
        top = gap + r * (cell_h + gap)
        cv2.putText(grid, label, (8, top + cell_h // 2 + 6), cv2.FONT_HERSHEY_SIMPLEX,
                    0.55, (0, 0, 0), 1, cv2.LINE_AA)
        for c in range(columns):
            data = {"image": image.copy()}
            if c > 0:
                for op in ops:
                    data = op(data)
            cell = cv2.resize(data["image"], (cell_w, cell_h), interpolation=cv2.INTER_NEAREST)
            left = label_width + gap + c * (cell_w + gap)
            grid[top:top + cell_h, left:left + cell_w] = cell
    return grid
