"""`tools/read_ids.py`: a folder of full frames -> predictions.csv/json (+ accuracy if
labels are given). The same `--model CONFIG WEIGHTS | MODEL.onnx` convention as
`tools/ensemble.py` and `tools/pseudo_label.py`."""
from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

from common.atomic import atomic_write_text
from common.cli import positive_int
from common.split import video_id
from pipeline.assemble import add_reader_arguments, build_reader
from pipeline.reports import load_truth, score, write_readings
from ppocr_ext.consensus import consensus_by_video


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--frames", required=True, help="folder of full video frames")
    add_reader_arguments(p, threads=0)
    p.add_argument("--group-by", choices=["video"],
                   help="also write one consensus reading per video (`<video>_<frame>_` names; "
                        "for real watermarks, which keep one ID over a video) to videos.json")
    p.add_argument("--follow-symlinks", action="store_true",
                   help="read links that lead outside the frame folder (skipped by default)")
    p.add_argument("--labels", help="optional <image>\\t<ID> file: prints accuracy")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast for the recogniser")
    p.add_argument("--out", default="output/read_ids", help="folder for predictions.*")
    return p


def score_videos(videos: dict, truth: dict[str, str]) -> dict:
    """Exact match of the consensus over the videos whose labelled frames share one ID
    (real watermarks; the challenge's frames each carry their own and are left out)."""
    labels: dict[str, set] = {}
    for name, label in truth.items():
        labels.setdefault(video_id(name), set()).add(label)
    constant = {video: next(iter(ids)) for video, ids in labels.items() if len(ids) == 1}
    scored = [video for video in constant if video in videos]
    hits = sum(videos[video].text == constant[video] for video in scored)
    return {"videos": len(scored), "exact_match": hits / max(len(scored), 1)}


def read_ids_main(argv: list[str] | None = None) -> dict:
    """Read a folder of frames (`tools/read_ids.py`)."""
    p = parser()
    args = p.parse_args(argv)
    if Path(args.out).exists() and not Path(args.out).is_dir():
        p.error(f"--out {args.out} is a file; it must be a folder (created when missing)")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    reader = build_reader(args, batch_size=args.batch_size, bf16=args.bf16)
    truth = load_truth(args.labels, reader.recognizer.charset) if args.labels else None
    start = time.perf_counter()
    result = reader.read_folder(args.frames, keep_posteriors=args.group_by == "video",
                                follow_symlinks=args.follow_symlinks)
    seconds = time.perf_counter() - start
    out_dir = Path(args.out)
    summary = {"frames": len(result.readings), "skipped": len(result.skipped),
               "seconds": round(seconds, 2),
               "frames_per_second": round(len(result.readings) / max(seconds, 1e-9), 1),
               "files": write_readings(result.readings, result.skipped, out_dir)}
    if args.group_by == "video":
        videos = consensus_by_video([r.name for r in result.readings], [result.posteriors],
                                    reader.recognizer.charset, k=args.k)
        path = out_dir / "videos.json"
        atomic_write_text(path, json.dumps({video: asdict(c) for video, c in videos.items()},
                                           indent=1))
        summary["files"]["videos"] = str(path)
        summary["videos"] = len(videos)
    if truth is not None:
        summary["score"] = score(result.readings, truth, args.k)
        if args.group_by == "video":
            summary["score"]["video_consensus"] = score_videos(videos, truth)
        atomic_write_text(out_dir / "score.json", json.dumps(summary["score"], indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "score"}, indent=1))
    if truth is not None:
        s = summary["score"]
        print(f"exact match {s['exact_match']:.4f} on {s['n']} frames "
              f"(normalised edit distance {s['norm_edit_distance']:.4f}), "
              f"truth in top {args.k}: {s[f'truth_in_top{args.k}']:.4f}")
        if s.get("video_consensus", {}).get("videos"):   # none where every frame has its own ID
            v = s["video_consensus"]
            print(f"per-video consensus: {v['exact_match']:.4f} of {v['videos']} videos whose "
                  "frames share one label")
        for row in s["confusions"][:5]:
            print(f"  confusion {row['pair']}: {row['count']}")
    return summary
