"""Reading under test-time corruptions (thin entry; see pipeline/robustness.py).

Example:
  python tools/bench_robust.py --frames data/demo/test --labels data/demo/test_labels.txt
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from pipeline.robustness import bench_robust_main  # noqa: E402


if __name__ == "__main__":
    run_tool(bench_robust_main)
