"""What limits low-resolution reading: the same located marks read at train resolution,
shrunk to the test resolution, and shrunk + JPEG at fixed qualities; writes
bench/limits.md and .json.

    python tools/bench_limits.py [--model models/svtr_tiny_synth/model.onnx ...]
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from pipeline.limits import bench_limits_main  # noqa: E402


if __name__ == "__main__":
    run_tool(bench_limits_main)
