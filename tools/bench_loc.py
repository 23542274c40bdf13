"""Benchmark the localisers on frames with ground-truth boxes (the generator's boxes.json).

    python tools/bench_loc.py -c configs/loc/ddt.yml [-o data.root=DIR ...] [--split test]

Rows: direct crop (the seed's first scheme), strip classifier + DDT (the classifier's
top/bottom decision, then the blob holding its score peak; beside it DDT's own
largest-blob rule and the seed's logits-only side decision), DDT alone over strip 1 +
strip N (the seed's code path), PSOL (box regressor on DDT's pseudo-boxes); fp32 and
bf16; with and without the ID-line cut (localization/id_line.py), its line chosen by the
line head or by the lowest-line rule. Reports hit-rate, IoU, crop area, decision accuracy and
frames/s on `inference.threads` CPU threads, into bench/loc.md and bench/loc.json with
the command.
Fits missing checkpoints first (resumable, see tools/localize.py).
"""
from __future__ import annotations

import copy
import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import NamedTuple

import torch

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from common.atomic import atomic_write_text  # noqa: E402
from common.command import command_line, report_file  # noqa: E402
from common.hardware import describe_machine  # noqa: E402
from localization.bench import MISS_KINDS, check_truths, score, timed_locate  # noqa: E402
from common.config import apply_overrides  # noqa: E402
from localization.config import argument_parser, config_from_args  # noqa: E402
from localization.frame_records import list_frames  # noqa: E402
from localization.locator_factory import build_locator, data_path  # noqa: E402


class Row(NamedTuple):
    name: str
    method: str
    decision: str | None = None
    id_line: bool = False
    overrides: dict = {}       # config keys changed for this row only


ROWS = (
    Row("direct crop", "direct"),
    Row("strip classifier + DDT, largest blob", "ddt", "classifier", overrides={"ddt.pick": "area"}),
    Row("strip classifier + DDT, side by logits only", "ddt", "classifier",
        overrides={"ddt.side_peak_weight": 0.0}),
    Row("strip classifier + DDT", "ddt", "classifier"),
    Row("strip classifier + DDT, fp32", "ddt", "classifier", overrides={"inference.bf16": False}),
    Row("strip classifier + DDT + ID-line cut, lowest-line rule", "ddt", "classifier", True,
        {"line_head.use": False}),
    Row("strip classifier + DDT + ID-line cut", "ddt", "classifier", True),
    Row("DDT over strip 1 + strip N", "ddt", "ddt"),
    Row("PSOL regressor", "psol", "classifier"),
    Row("PSOL regressor, fp32", "psol", "classifier", overrides={"inference.bf16": False}),
    Row("PSOL regressor + ID-line cut", "psol", "classifier", True),
)


def markdown(report: dict) -> str:
    lines = [f"# Watermark localisation benchmark ({report['split']} frames)", "",
             f"Command: `{report['command']}`", "",
             f"Data: `{report['data']}` ({report['frames']} frames); machine: {report['machine']}; "
             f"torch threads: {report['threads']}; {report['date']}.",
             # reports before the machine line carried the load average apart
             f"Load average when run: {report['load_average']} (other jobs share the cores: "
             "frames/s are lower bounds)." if "load_average" in report else
             "Other jobs may share the cores (the load average is in the machine line): "
             "frames/s are lower bounds.", "",
             "| method | hit-rate | portrait | landscape | IoU | crop area % | side acc. | fallback | frames/s |",
             "|---|---|---|---|---|---|---|---|---|"]

    def fmt(value, pattern="{:.3f}"):
        return "–" if value is None else pattern.format(value)
    for row in report["rows"]:
        lines.append(f"| {row['name']} | {fmt(row['hit_rate'])} | {fmt(row['hit_rate_portrait'])} | "
                     f"{fmt(row['hit_rate_landscape'])} | {fmt(row['mean_iou'])} | "
                     f"{fmt(row['crop_area_pct'], '{:.2f}')} | {fmt(row['side_accuracy'])} | "
                     f"{fmt(row['fallback_rate'])} | {fmt(row['frames_per_second'], '{:.0f}')} |")
    lines += ["", "hit: the whole `抖音号:ID` ink box inside one cropped box. IoU: with the union "
              "of the cropped boxes. frames/s: JPEG decode + localisation, batches of "
              f"{report['batch_size']}.", "",
              f"Why the misses missed (frames of {report['frames']}; a crop cut at two edges "
              "counts under both):", "",
              "| method | misses | " + " | ".join(MISS_KINDS) + " |",
              "|---|---|" + "---|" * len(MISS_KINDS)]
    for row in report["rows"]:
        misses = round((1 - row["hit_rate"]) * row["frames"])
        lines.append(f"| {row['name']} | {misses} | "
                     + " | ".join(str(row["miss_kinds"].get(kind, 0)) for kind in MISS_KINDS) + " |")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--split", choices=("train", "test"), default="test")
    parser.add_argument("--out", default="bench/loc", help="writes OUT.md and OUT.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    config = config_from_args(args)
    records = list_frames(data_path(config, f"{args.split}_dir"), data_path(config, f"{args.split}_labels"))
    boxes_path = data_path(config, "boxes")
    truths = json.loads(boxes_path.read_text(encoding="utf-8"))[args.split]
    records = check_truths(records, truths, str(boxes_path))
    batch_size = int(config["inference"]["batch_size"])
    rows = []
    for row in ROWS:
        locator = build_locator(apply_overrides(copy.deepcopy(config), row.overrides),
                                row.method, row.decision, row.id_line)
        if row.method != "direct":       # a forced refit happens once, on the first learned row
            for fitted in ("train", "line_head") + (("psol",) if row.method == "psol" else ()):
                config[fitted]["force"] = False
        kept, grays, results, fps = timed_locate(locator, records, batch_size)
        scores = score(kept, grays, results, truths, fps)
        rows.append({"name": row.name, "method": row.method, "decision": row.decision,
                     "id_line": row.id_line, "overrides": row.overrides, **asdict(scores)})
        logging.info("%s: hit %.3f, area %.2f%%, %.0f frames/s", row.name, scores.hit_rate,
                     scores.crop_area_pct, fps)
    report = {"command": command_line("bench_loc.py"),
              "split": args.split, "data": str(data_path(config, f"{args.split}_dir")),
              "frames": len(records), "batch_size": batch_size, "threads": torch.get_num_threads(),
              "machine": describe_machine(),
              "date": time.strftime("%Y-%m-%d %H:%M"), "config": config, "rows": rows}
    out = Path(args.out)
    atomic_write_text(report_file(out, ".json"), json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(report_file(out, ".md"), markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    run_tool(main)
