"""Render a fixed LMDB of ID-line crops (synth.crops) with the train or the held-out fonts
and backgrounds: the recogniser's evaluation sets, or a finite training set.

    python tools/render_crops.py --out data/crops/heldout_eval --split heldout --count 2000 --seed 7
"""
import argparse
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from common.labels import DEFAULT_DICT  # noqa: E402
from common.lmdb_io import write_lmdb  # noqa: E402
from ppocr_ext.synth_dataset import fixed_crop_samples  # noqa: E402
from synth.backgrounds import list_photos  # noqa: E402
from synth.fonts import SPLITS  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="LMDB folder to write (replaced atomically)")
    parser.add_argument("--split", choices=SPLITS, default="heldout")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--difficulty", type=float, nargs=2, default=(0.5, 1.0),
                        metavar=("LO", "HI"), help="difficulty drawn uniformly from LO..HI")
    parser.add_argument("--photos", help="folder of background photos")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    photos = tuple(list_photos(args.photos)) if args.photos else ()
    charset = Path(DEFAULT_DICT).read_text(encoding="utf-8").split()
    written = write_lmdb(args.out, fixed_crop_samples(args.seed, args.count, args.split,
                                                      tuple(args.difficulty), photos),
                         charset=charset, total=args.count, desc=f"rendering {args.split} crops")
    print(f"{written} crops written to {args.out}")
    return 0


if __name__ == "__main__":
    run_tool(main)
