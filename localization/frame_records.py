"""The frames a localisation run reads: `<dir>/<video>_<frame>_.jpg` plus a `<image>\\t<ID>`
file, listed as `FrameRecord`s, and the low-resolution version of a frame.

Works on any user's folder of real frames: boxes are never read here, and a folder
without a label file is accepted (every frame gets an empty label).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.images import is_image_file
from common.labels import (DEFAULT_DICT, LabelFileError, format_problems, load_dictionary,
                           read_label_file)
from common.screenshot import jpeg_roundtrip, shrink_as_player


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


def low_res_version(image: np.ndarray, factor: float, jpeg_quality: int | None,
                    video_quality: int | None = None, linear: bool = False) -> np.ndarray:
    """A frame as a low-resolution screenshot shows it: (optionally compressed as a video
    first) shrunk by `factor` (1.7 = the challenge's test resolution), then (when a
    quality is given) JPEG re-compressed at that size, which is where test frames lose
    most of their glyph detail. Gray or BGR in, the same out."""
    h, w = image.shape[:2]
    size = (max(1, round(w / factor)), max(1, round(h / factor)))
    small = shrink_as_player(image, size, video_quality, linear)
    return small if jpeg_quality is None else jpeg_roundtrip(small, jpeg_quality)
