"""Evaluate trained recogniser weights on the config's Eval LMDB (case-sensitive exact
match and normalised edit distance).

    python tools/eval.py -c configs/rec/svtr_tiny_cpu.yml \
        -o Global.pretrained_model=output/rec/svtr_tiny_cpu/best.pth
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from ppocr_ext.rec_train import eval_main  # noqa: E402


if __name__ == "__main__":
    run_tool(eval_main)
