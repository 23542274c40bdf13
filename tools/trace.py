"""Trace reposted frames to their source video and account ID.

    python tools/trace.py --index output/copy/refs.index --references data/copies/references \
        --queries data/copies/queries --out output/trace [--threshold 0.5] [--verify-top 10] [--exact-frame]

For each query frame: the matched reference frame and video with its score (the copy
search of tools/copy_detect.py: build INDEX with `copy_detect.py index`), the source
account ID (the per-video consensus of the reference frames, read once with the released
models and cached at INDEX.ids.json) and the ID read from the query itself; written to
traces.csv and traces.json. `--threshold`: below it a best match is reported as
unmatched (the benchmark's threshold at precision 0.9 is a good start: bench/copy.md).
The video (and so the source ID) is the descriptor's answer; the exact reference frame is
found far more often with `--verify-top 10` (an index built with `copy_detect.py index
--verify`) and `--exact-frame` (each query placed on the frames of its best video:
copydetect/siblings.py), at ~10 queries/s instead of hundreds (bench/copy.md).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from copydetect.search import FolderFrames, frame_batches, load_search_index, load_verifier  # noqa: E402
from copydetect.siblings import VideoFrames  # noqa: E402
from pipeline.assemble import add_reader_arguments, build_reader  # noqa: E402
from pipeline.trace import reference_ids, trace, write_traces  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", required=True, help="index of the reference frames (copy_detect.py index)")
    parser.add_argument("--references", required=True, help="the reference frames the index was built from")
    parser.add_argument("--queries", required=True, help="folder of query frames")
    parser.add_argument("--out", default="output/trace", help="folder for traces.csv/json")
    parser.add_argument("--threshold", type=float, help="minimum match score (default: report every best match)")
    parser.add_argument("--verify-top", type=int, default=0,
                        help="verify this many candidates per query with ORB + RANSAC (index built with "
                             "--verify; 0: off)")
    parser.add_argument("--exact-frame", action="store_true",
                        help="answer the frame of the best video each query looks most like, placed on "
                             "the video's frames (slower)")
    add_reader_arguments(parser, threads=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    reader = build_reader(args)
    sources = reference_ids(reader, args.references, args.index)
    searcher = load_search_index(args.index)
    verifier = load_verifier(args.index) if args.verify_top else None
    references = VideoFrames(FolderFrames(args.references, searcher[1].ids)) if args.exact_frame else None
    rows = []
    for frames in frame_batches(args.queries):   # any number of queries, one batch in memory
        rows += trace(frames, searcher, reader, sources, threshold=args.threshold, verifier=verifier,
                      verify_top=args.verify_top, frames=references)
    files = write_traces(rows, args.out)
    matched = sum(r.matched for r in rows)
    print(f"{matched} of {len(rows)} queries matched; {sum(r.agrees for r in rows)} carry the "
          f"source's ID themselves -> {files['csv']}")


if __name__ == "__main__":
    run_tool(main)
