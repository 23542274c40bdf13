"""Pseudo-label unlabelled crops with a trained recogniser: keep readings whose sequence
confidence AND weakest character pass the thresholds, write them as a NEW LMDB (and
label file), and report the precision those thresholds reach on a labelled validation
set. The input is never modified; an output inside (or over) an input is refused.

    python tools/pseudo_label.py --model configs/rec/svtr_tiny_cpu.yml \
        output/rec/svtr_tiny_cpu/best.pth --crops data/lmdb/test --out data/pseudo \
        --val data/lmdb/val --merge-train data/lmdb/train [--confidence 0.9 --char-min 0.8]

Then retrain: python tools/train.py -c configs/rec/svtr_tiny_cpu_pseudo.yml
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from ppocr_ext.pseudo_label import pseudo_label_main  # noqa: E402


if __name__ == "__main__":
    run_tool(pseudo_label_main)
