"""Make a copy-detection benchmark with the generator (synth/copies.py).

    python tools/synth_copies.py --out data/copies --size small [--seed 0] [--workers 2]

Sizes (reference videos, ~6.5 frames each): smoke 40, small 400, medium 3000, large 16000
(>= 100k reference frames); --videos overrides. Writes references/, queries/,
references.csv, queries.csv and ground_truth.csv (query_id,reference_id, the 2021
challenge's format).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.cli import positive_int  # noqa: E402
from common.errors import run_tool  # noqa: E402
from synth.copies import SIZES, CopyBenchConfig, make_copy_benchmark  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--videos", type=positive_int, help="reference videos (overrides --size)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=positive_int, default=2)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()
    config = CopyBenchConfig(videos=args.videos or SIZES[args.size], seed=args.seed)
    print(json.dumps(make_copy_benchmark(args.out, config, workers=args.workers, overwrite=args.overwrite)))


if __name__ == "__main__":
    run_tool(main)
