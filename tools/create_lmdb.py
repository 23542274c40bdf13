"""Images folder + `<image>\\t<ID>` label file -> train/val recognition LMDBs.

    python tools/create_lmdb.py --images DIR --labels FILE --out OUT \\
        [--val-fraction 0.1] [--seed 0] [--dict common/dicts/id62.txt] [--skip-bad]

Writes OUT/train and OUT/val (split by video id), or the single LMDB OUT with
--val-fraction 0. Strict by default: any bad row stops the run before anything is written
and every problem is listed as `FILE:LINE: reason`; --skip-bad writes the good rows and
lists the skipped ones. See common/lmdb_io.py for the rules.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from common.labels import DEFAULT_DICT  # noqa: E402
from common.lmdb_io import CreateSummary, create_lmdb  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", required=True, help="folder the label file's names are relative to")
    parser.add_argument("--labels", required=True, help="label file, one '<image>\\t<ID>' per line")
    parser.add_argument("--out", required=True, help="output folder (OUT/train, OUT/val)")
    parser.add_argument("--val-fraction", type=float, default=0.1,
                        help="share of videos for validation; 0 writes one LMDB at OUT")
    parser.add_argument("--seed", type=int, default=0, help="seed of the video split")
    parser.add_argument("--dict", default=str(DEFAULT_DICT), help="dictionary, one symbol per line")
    parser.add_argument("--skip-bad", action="store_true",
                        help="write the good rows and report the bad ones instead of stopping")
    parser.add_argument("--follow-symlinks", action="store_true",
                        help="read listed images that are links leading outside --images "
                             "(bad rows by default)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> CreateSummary:
    args = parse_args(argv)
    summary = create_lmdb(args.images, args.labels, args.out, val_fraction=args.val_fraction,
                          seed=args.seed, dict_path=args.dict, skip_bad=args.skip_bad,
                          follow_symlinks=args.follow_symlinks)
    print(summary)
    return summary


if __name__ == "__main__":
    run_tool(main)
