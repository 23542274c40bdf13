"""Localise whole folders and write the crops where recognition training reads them.

Output of one run (`output.dir`):
    boxes.json          {"train"|"test": {name: {"box" | "rows", "side", "score",
                         "fallback", "frame_size"}}} in pixels of each frame file
    {train,val}/high    crops of the train frames at their own resolution
    {train,val}/low     the same boxes cut from the train frames shrunk by
                        `output.train_downscale` (1.7: the test resolution), as the seed
                        trained on, and JPEG re-compressed at that size with a quality
                        in `output.train_low_jpeg` (fixed per frame name) like a
                        screenshot; with `output.train_low_video_jpeg` and
                        `train_low_linear` the whole chain of the test frames
                        (`common.screenshot.Screenshot`; the engine reads every LMDB
                        under `train/`)
    test                crops of the test frames
Train crops are split by video (`common.split`), so no background is on both sides.
Labels (`<image>\\t<ID>`) are carried into the LMDBs. A split without a label file has no
reading to carry: its crops go to `<split>_crops/` as image files instead.

Frames are localised in one pass (boxes kept, crops not), then each database re-reads
its frames to cut them: memory stays flat on challenge-sized folders, and every set of
databases is published together only once complete (common.lmdb_io).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
from tqdm import tqdm

from common.atomic import atomic_write_text
from common.images import read_frame
from common.lmdb_io import fill_lmdb, replacing_dirs
from common.split import split_by_video
from common.screenshot import Screenshot, low_res_version
from localization.frame_records import FrameRecord
from localization.geometry import crop_rows, scale_rows
from localization.locator import Localisation, Locator

log = logging.getLogger(__name__)


def box_entry(result: Localisation, width: int, height: int) -> dict:
    entry = {"rows": [[[round(v, 2) for v in box] for box in row] for row in result.rows]}
    if len(result.rows) == 1 and len(result.rows[0]) == 1:
        entry = {"box": entry["rows"][0][0]}
    entry.update(side=result.side, score=None if result.score is None else round(result.score, 3),
                 fallback=result.fallback, frame_size=[width, height])
    if result.tilt is not None:   # the box is in the frame levelled by this turn
        entry["tilt"] = [round(v, 3) for v in result.tilt]
    return entry


def localise_records(locator: Locator, records: list[FrameRecord], batch_size: int,
                     desc: str) -> dict[str, dict]:
    """name -> box entry for every readable frame; unreadable ones are logged and left out."""
    boxes: dict[str, dict] = {}
    for start in tqdm(range(0, len(records), batch_size), desc=desc, unit="batch"):
        batch, grays = [], []
        for record in records[start:start + batch_size]:
            gray = read_frame(record.path, gray=True)
            if gray is not None:
                batch.append(record)
                grays.append(gray)
        for record, gray, result in zip(batch, grays, locator.locate(grays)):
            boxes[record.name] = box_entry(result, gray.shape[1], gray.shape[0])
    return boxes


def entry_rows(entry: dict) -> list:
    return [[entry["box"]]] if "box" in entry else entry["rows"]


def cut(record: FrameRecord, entry: dict, shrink: float, image_format: str,
        screenshot: Screenshot = Screenshot()) -> bytes | None:
    """Encoded crop of one frame (optionally shrunk, as a `screenshot`, first), or None if
    it became unreadable."""
    frame = read_frame(record.path)
    if frame is None:
        return None
    rows, tilt = entry_rows(entry), entry.get("tilt")
    width, height = entry["frame_size"]
    if (frame.shape[1], frame.shape[0]) != (width, height):
        log.warning("skipping %s: it changed size since it was localised", record.path)
        return None
    if shrink != 1:
        frame = low_res_version(frame, shrink, *screenshot.params(record.name))
        factor_x, factor_y = frame.shape[1] / width, frame.shape[0] / height
        rows = scale_rows(rows, factor_x, factor_y)
        tilt = None if tilt is None else (tilt[0], tilt[1] * factor_x, tilt[2] * factor_y)
    ok, encoded = cv2.imencode(image_format, crop_rows(frame, rows, tilt))
    if not ok:
        raise ValueError(f"cannot encode a crop of {record.path} as {image_format}")
    return encoded.tobytes()


def crop_samples(records: list[FrameRecord], boxes: dict, shrink: float, image_format: str,
                 screenshot: Screenshot = Screenshot()) -> Iterator[tuple[str, bytes, str]]:
    for record in records:
        if record.name not in boxes:
            continue
        data = cut(record, boxes[record.name], shrink, image_format, screenshot)
        if data is not None:
            yield record.name, data, record.label


def write_crop_lmdbs(targets: dict[Path, list[FrameRecord]], boxes: dict, shrink: float,
                     image_format: str,
                     screenshot: Screenshot = Screenshot()) -> dict[str, int]:
    """Fill several LMDBs, published together (a failure keeps the previous outputs)."""
    paths = list(targets)
    counts = {}
    with replacing_dirs(paths) as stagings:
        for path, staging in zip(paths, stagings):
            records = [r for r in targets[path] if r.name in boxes]
            counts[str(path)] = fill_lmdb(
                staging, crop_samples(records, boxes, shrink, image_format, screenshot),
                total=len(records), desc=f"writing {path}")
    return counts


def write_crop_files(folder: Path, records: list[FrameRecord], boxes: dict,
                     image_format: str) -> int:
    """Unlabeled frames: crops as `<frame stem><image_format>` files."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for name, data, _ in tqdm(crop_samples(records, boxes, 1.0, image_format), total=len(records),
                              desc=f"writing {folder}", unit="img"):
        (folder / (Path(name).stem + image_format)).write_bytes(data)
        count += 1
    return count


def write_json(path: Path, payload: dict) -> None:
    atomic_write_text(path, json.dumps(payload, indent=0, ensure_ascii=False) + "\n")


def low_res_screenshot(output: dict) -> Screenshot:
    """The `output.train_low_*` keys as a Screenshot (a missing key: that step is off)."""
    def quality_range(key):
        value = output.get(key)
        return tuple(int(q) for q in value) if value else None
    return Screenshot(quality_range("train_low_jpeg"), quality_range("train_low_video_jpeg"),
                      float(output.get("train_low_linear") or 0.0))


def export_split(locator: Locator, split: str, records: list[FrameRecord], out_dir: Path,
                 output: dict, batch_size: int) -> tuple[dict, dict[str, int]]:
    """Localise one split's frames and write its crops; returns (boxes, counts)."""
    boxes = localise_records(locator, records, batch_size, f"localising {split} frames")
    skipped = len(records) - len(boxes)
    if skipped:
        log.warning("%s: %d unreadable frame(s) skipped (named above)", split, skipped)
    image_format = output["image_format"]
    labeled = bool(records) and all(r.label for r in records)
    if not boxes:
        return boxes, {}
    if not labeled:
        return boxes, {str(out_dir / f"{split}_crops"): write_crop_files(
            out_dir / f"{split}_crops", records, boxes, image_format)}
    if split == "test":
        return boxes, write_crop_lmdbs({out_dir / "test": records}, boxes, 1.0, image_format)
    kept = [r for r in records if r.name in boxes]
    train_names, val_names = split_by_video([r.name for r in kept], output["val_fraction"],
                                            output["split_seed"])
    by_name = {r.name: r for r in kept}
    counts = {}
    for variant, shrink, screenshot in (("high", 1.0, Screenshot()),
                                        ("low", float(output["train_downscale"]),
                                         low_res_screenshot(output))):
        targets = {out_dir / "train" / variant: [by_name[n] for n in train_names]}
        if val_names:
            targets[out_dir / "val" / variant] = [by_name[n] for n in val_names]
        counts.update(write_crop_lmdbs(targets, boxes, shrink, image_format, screenshot))
    return boxes, counts


def sides_summary(boxes: dict) -> dict:
    sides = [entry.get("side") for entry in boxes.values()]
    return {"frames": len(boxes), "top": sides.count("top"), "bottom": sides.count("bottom"),
            "fallback": int(np.sum([entry.get("fallback", False) for entry in boxes.values()]))}
