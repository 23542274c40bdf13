"""Frame copy detection: index reference frames, query with reposts, score like the 2021
Image Similarity Challenge.

    python tools/copy_detect.py index --references DIR --out INDEX [--method cnn|phash|orb]
        [--model output/copy/descriptor/descriptor.pt] [--kind flat|ivf|hnsw] [--verify]
    python tools/copy_detect.py query --index INDEX --queries DIR --out predictions.csv
        [--background INDEX] [--k 10] [--top 1] [--verify-top 10] [--references DIR]
    python tools/copy_detect.py eval --predictions predictions.csv --ground-truth ground_truth.csv
        --out DIR [--queries-csv queries.csv]

`index` writes INDEX (faiss) and INDEX.json (ids, kind) plus INDEX.describer.json (method,
model); ORB's keypoints are kept in INDEX.npz. `--background`: an index of frames that
match nothing (e.g. the generator's training frames), whose similarities normalise the
CNN's scores. `--verify` also keeps the reference frames' ORB keypoints (INDEX.orb.npz), so
that `query --verify-top N` checks each query's first N candidates with ORB + RANSAC and
ranks the verified ones first (slower, and the frame-level answer is much more often the
exact frame: bench/copy.md); `query --references DIR` (the indexed frames' folder) then
answers each query with the frame of its best video it looks most like, the query placed
on it at its scale, offset and mirror (copydetect/siblings.py: frame uAP 0.677 -> 0.855
on the benchmark). `eval` writes
scores.json (uAP, recall at precision 0.9 with its threshold, recall@1/@10, per edit with
--queries-csv) and pr_curve.png. A benchmark with ground
truth: tools/synth_copies.py.
"""
from __future__ import annotations

import argparse
import csv
import logging
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from copydetect.breakdown import per_group, pr_curve_png  # noqa: E402
from copydetect.metrics import evaluate  # noqa: E402
from copydetect.search import (METHODS, FolderFrames, frame_batches, load_search_index,  # noqa: E402
                               load_verifier, save_search_index, search, write_json,
                               write_predictions)
from copydetect.siblings import VideoFrames  # noqa: E402
from synth.copies import read_csv  # noqa: E402


def _index(args) -> None:
    describer, index, skipped = save_search_index(args.out, args.references, args.method, args.model,
                                                  args.kind, verifier=args.verify)
    print(f"indexed {len(index)} reference frames ({describer.method}, {len(skipped)} skipped) -> {args.out}")


def _query(args) -> None:
    describer, index = load_search_index(args.index)
    background = load_search_index(args.background)[1] if args.background else None
    verifier = load_verifier(args.index) if args.verify_top else None
    references = VideoFrames(FolderFrames(args.references, index.ids)) if args.references else None
    rows, queries = [], 0
    for frames in frame_batches(args.queries):   # any number of queries, one batch in memory
        rows += search(describer, index, frames.images, frames.names, k=args.k, background=background,
                       top=args.top, verifier=verifier, verify_top=args.verify_top, frames=references)
        queries += len(frames.names)
    write_predictions(args.out, rows)
    print(f"{len(rows)} predictions for {queries} queries -> {args.out}")


def _read_pairs(path, columns) -> list[tuple]:
    with Path(path).open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: no column {missing[0]!r} (has: {reader.fieldnames})")
        return [tuple(row[c] for c in columns) for row in reader]


def _eval(args) -> None:
    truth = _read_pairs(args.ground_truth, ("query_id", "reference_id"))
    rows = [(q, r, float(s)) for q, r, s in _read_pairs(args.predictions, ("query_id", "reference_id", "score"))]
    scores = evaluate(truth, rows)
    out = Path(args.out)
    payload = {"uap": scores.uap, "recall_at_p90": scores.recall_at_p90,
               "threshold_at_p90": scores.threshold_at_p90, "recall_at_1": scores.recall_at_1,
               "recall_at_10": scores.recall_at_10, "predictions": len(rows), "ground_truth": len(truth)}
    if args.queries_csv:
        payload["per_edit"] = {group: {"uap": s.uap, "recall_at_1": s.recall_at_1}
                               for group, s in per_group(truth, rows, read_csv(args.queries_csv)).items()}
    write_json(out / "scores.json", payload)
    pr_curve_png(out / "pr_curve.png", {Path(args.predictions).stem: scores}, str(args.predictions))
    print(f"uAP {scores.uap:.4f}, recall@P90 {scores.recall_at_p90}, recall@1 {scores.recall_at_1:.4f} "
          f"-> {out}/scores.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    index = commands.add_parser("index", help="describe and index reference frames")
    index.add_argument("--references", required=True, help="folder of reference frames")
    index.add_argument("--out", required=True, help="index file to write")
    index.add_argument("--method", choices=METHODS, default="cnn")
    index.add_argument("--model", help="the cnn descriptor (tools/train_descriptor.py)")
    index.add_argument("--kind", choices=("flat", "ivf", "hnsw"), default="flat",
                       help="faiss index of the cnn descriptors: exact, or approximate for >= 1M")
    index.add_argument("--verify", action="store_true",
                       help="also keep ORB keypoints, for query --verify-top")
    query = commands.add_parser("query", help="search query frames in an index")
    query.add_argument("--index", required=True)
    query.add_argument("--queries", required=True, help="folder of query frames")
    query.add_argument("--out", required=True, help="predictions CSV to write")
    query.add_argument("--background", help="index of non-matching frames, to normalise scores")
    query.add_argument("--k", type=int, default=10, help="neighbours searched per query")
    query.add_argument("--top", type=int, default=1, help="predictions kept per query")
    query.add_argument("--verify-top", type=int, default=0,
                       help="verify this many candidates per query with ORB + RANSAC (index built "
                            "with --verify; 0: off)")
    query.add_argument("--references", help="the indexed reference frames' folder: each query "
                       "then answers the frame of its best video it looks most like, placed on it "
                       "(copydetect/siblings.py)")
    score = commands.add_parser("eval", help="uAP, recall@P90, recall@1/10 and a PR curve")
    score.add_argument("--predictions", required=True)
    score.add_argument("--ground-truth", required=True)
    score.add_argument("--queries-csv", help="the benchmark's queries.csv: scores per edit")
    score.add_argument("--out", required=True, help="folder for scores.json and pr_curve.png")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    {"index": _index, "query": _query, "eval": _eval}[args.command](args)


if __name__ == "__main__":
    run_tool(main)
