"""The frames a localisation run reads: `<dir>/<video>_<frame>_.jpg` plus a `<image>\\t<ID>`
file, listed as `FrameRecord`s, and the low-resolution version of a frame.

Works on any user's folder of real frames: boxes are never read here, and a folder
without a label file is accepted (every frame gets an empty label).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from common.images import is_image_file
from common.labels import (DEFAULT_DICT, LabelFileError, format_problems, load_dictionary,
                           read_label_file)


@dataclass(frozen=True)
class FrameRecord:
    name: str
    label: str
    path: Path


def list_frames(image_dir: str | Path, label_file: str | Path | None = None,
                dict_path: str | Path = DEFAULT_DICT) -> list[FrameRecord]:
    """Frames named by the label file (in its order), or every image in the folder when
    there is no label file. Label rows are checked like the LMDB writer checks them
    (common.labels); one error lists every bad `file:line` before anything runs."""
    image_dir = Path(image_dir)
    if not image_dir.is_dir():
        raise FileNotFoundError(f"frame folder {image_dir} does not exist")
    if label_file is not None and Path(label_file).is_file():
        entries, problems = read_label_file(label_file, load_dictionary(dict_path))
        if problems:
            raise LabelFileError(format_problems(f"{label_file}: fix these rows", problems))
        return [FrameRecord(e.name, e.label, image_dir / e.name) for e in entries]
    names = sorted(p.name for p in image_dir.iterdir() if is_image_file(p))
    return [FrameRecord(name, "", image_dir / name) for name in names]


def downscale(image: np.ndarray, factor: float) -> np.ndarray:
    """Shrink by `factor` (1.7 = the test resolution of the challenge)."""
    h, w = image.shape[:2]
    size = (max(1, round(w / factor)), max(1, round(h / factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def low_res_version(image: np.ndarray, factor: float, jpeg_quality: int | None) -> np.ndarray:
    """A frame as a low-resolution screenshot shows it: shrunk by `factor`, then (when a
    quality is given) JPEG re-compressed at that size, which is where test frames lose
    most of their glyph detail. Gray or BGR in, the same out."""
    small = downscale(image, factor)
    if jpeg_quality is None:
        return small
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
    flag = cv2.IMREAD_GRAYSCALE if small.ndim == 2 else cv2.IMREAD_COLOR
    return cv2.imdecode(encoded, flag) if ok else small
