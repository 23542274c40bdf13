"""Localise the watermark in every train and test frame and write the crops as LMDBs.

    python tools/localize.py -c configs/loc/ddt.yml [-o data.root=DIR method=psol ...]

Fits what is missing first (strip classifier + DDT projection, and the PSOL regressor for
method psol) and reuses checkpoints found on disk (train.force / psol.force refit).
Writes under output.dir: boxes.json, train/{high,low}, val/{high,low} (low: train frames
shrunk by output.train_downscale) and test (see localization/export.py).
Unreadable frames are logged by name and skipped.
"""
from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from common.labels import LabelFileError  # noqa: E402
from localization.config import argument_parser, config_from_args  # noqa: E402
from localization.export import export_split, sides_summary, write_json  # noqa: E402
from localization.frame_records import list_frames  # noqa: E402
from localization.locator_factory import build_locator, data_path  # noqa: E402


def main() -> None:
    args = argument_parser(__doc__).parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        localize(args)
    except (LabelFileError, KeyError, ValueError, OSError) as err:
        # bad input (label rows outside the dictionary, a missing folder, an unknown config
        # key): one line naming the file, not a traceback; outputs written so far are kept
        raise SystemExit(f"error: {err}") from err


def localize(args) -> None:
    config = config_from_args(args)
    out_dir = Path(config["output"]["dir"])
    locator = build_locator(config)
    all_boxes, counts, summary = {}, {}, {}
    for split in ("train", "test"):
        folder = data_path(config, f"{split}_dir")
        if not folder.is_dir():
            logging.info("no %s folder at %s: skipped", split, folder)
            continue
        records = list_frames(folder, data_path(config, f"{split}_labels"))
        started = time.perf_counter()
        boxes, written = export_split(locator, split, records, out_dir, config["output"],
                                      int(config["inference"]["batch_size"]))
        all_boxes[split] = boxes
        counts.update(written)
        summary[split] = {**sides_summary(boxes), "seconds": round(time.perf_counter() - started, 1)}
        write_json(out_dir / "boxes.json", all_boxes)   # after each split: nothing done is lost
    report = {"method": config["method"], "config": args.config, "overrides": args.opt,
              "splits": summary, "written": counts}
    write_json(out_dir / "summary.json", report)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    run_tool(main)
