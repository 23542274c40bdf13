"""Recogniser speed on this CPU: training img/s and inference crops/s, fp32 and bf16
autocast, at each config's input size; writes bench/rec_speed.md and .json.

    python tools/bench_rec.py [--configs configs/rec/svtr_tiny.yml ...] [--seconds 10]
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from ppocr_ext.rec_bench import bench_rec_main  # noqa: E402


if __name__ == "__main__":
    run_tool(bench_rec_main)
