"""Write a labelled PNG grid of every training augmentation applied to one crop.

    python tools/aug_gallery.py --image CROP.png --out gallery.png [--n 6] [--seed 0]

Without --image it renders a sample ID crop (white text, dark edge, textured background).
"""
import argparse
import sys
from pathlib import Path

import cv2

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from ppocr_ext.augment.gallery import build_gallery  # noqa: E402
from ppocr_ext.augment.sample import render_sample_crop  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, help="a crop (any OpenCV-readable image)")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    parser.add_argument("--n", type=int, default=6, help="augmented samples per row")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=int, default=3, help="nearest-neighbour zoom")
    args = parser.parse_args(argv)

    if args.image is None:
        crop = render_sample_crop(seed=args.seed)
    else:
        crop = cv2.imread(str(args.image), cv2.IMREAD_COLOR)
        if crop is None:
            sys.exit(f"error: cannot read image {args.image}")
    grid = build_gallery(crop, samples=args.n, seed=args.seed, scale=args.scale)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.out), grid):
        sys.exit(f"error: cannot write {args.out}")
    print(f"wrote {args.out} ({grid.shape[1]}x{grid.shape[0]})")
    return 0


if __name__ == "__main__":
    run_tool(main)
