"""`tools/read_ids.py`: a folder of full frames -> predictions.csv/json (+ accuracy if
labels are given). The same `--model CONFIG WEIGHTS | MODEL.onnx` convention as
`tools/ensemble.py` and `tools/pseudo_label.py`."""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import torch

from localization.config import load_config, parse_overrides
from localization.pipeline import build_locator
from pipeline.read_ids import IdReader
from pipeline.reports import load_truth, score, write_readings
from ppocr_ext.posteriors import load_recognizer


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--frames", required=True, help="folder of full video frames")
    p.add_argument("--loc-config", default="configs/loc/ddt.yml",
                   help="localiser config; its trained checkpoint is loaded (never retrained "
                        "here unless it is missing)")
    p.add_argument("--loc-opt", nargs="*", default=[], help="localiser overrides key=value")
    p.add_argument("--model", nargs="+", required=True, metavar="PATH",
                   help="recogniser: CONFIG.yml WEIGHTS.pth, or one MODEL.onnx")
    p.add_argument("--labels", help="optional <image>\\t<ID> file: prints accuracy")
    p.add_argument("--k", type=int, default=3, help="alternatives per frame")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast for the recogniser")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--out", default="output/read_ids", help="folder for predictions.*")
    return p


def main(argv: list[str] | None = None) -> dict:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    locator = build_locator(load_config(args.loc_config, parse_overrides(args.loc_opt)))
    if args.threads:
        torch.set_num_threads(args.threads)
    recognizer = load_recognizer(args.model, bf16=args.bf16)
    truth = load_truth(args.labels, recognizer.charset) if args.labels else None
    reader = IdReader(locator, recognizer, k=args.k, batch_size=args.batch_size)
    start = time.perf_counter()
    result = reader.read_folder(args.frames)
    seconds = time.perf_counter() - start
    out_dir = Path(args.out)
    summary = {"frames": len(result.readings), "skipped": len(result.skipped),
               "seconds": round(seconds, 2),
               "frames_per_second": round(len(result.readings) / max(seconds, 1e-9), 1),
               "files": write_readings(result.readings, result.skipped, out_dir)}
    if truth is not None:
        summary["score"] = score(result.readings, truth, args.k)
        (out_dir / "score.json").write_text(json.dumps(summary["score"], indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "score"}, indent=1))
    if truth is not None:
        s = summary["score"]
        print(f"exact match {s['exact_match']:.4f} on {s['n']} frames "
              f"(normalised edit distance {s['norm_edit_distance']:.4f}), "
              f"truth in top {args.k}: {s[f'truth_in_top{args.k}']:.4f}")
        for row in s["confusions"][:5]:
            print(f"  confusion {row['pair']}: {row['count']}")
    return summary
