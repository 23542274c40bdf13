"""Augmentation ablation: train configs/rec/ablation/*.yml and read the low-res test crops.

    python tools/bench_aug_ablation.py [--train output/demo/loc/train --val ... --test ...]
        [--arms none standard ...] [-o Global.epoch_num=3] [--results bench/aug_ablation.md]
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from ppocr_ext.augment.ablation import bench_aug_ablation_main  # noqa: E402


if __name__ == "__main__":
    run_tool(bench_aug_ablation_main)
