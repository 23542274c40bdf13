"""The frames a localisation run reads: `<dir>/<video>_<frame>_.jpg` plus a `<image>\\t<ID>`
file, listed as `FrameRecord`s (a frame's low-resolution version: common.screenshot).

Works on any user's folder of real frames: boxes are never read here, and a folder
without a label file is accepted (every frame gets an empty label).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
