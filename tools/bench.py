"""End-to-end benchmark on full frames (thin entry; see pipeline/bench.py).

Example (what `make bench` runs):
  python tools/bench.py --set low=data/demo/test:data/demo/test_labels.txt \
      --model configs/rec/svtr_tiny_cpu.yml output/demo/rec/best.pth \
      --train-log output/demo/rec/train.log --out bench/results
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from pipeline.bench import bench_e2e_main  # noqa: E402


if __name__ == "__main__":
    run_tool(bench_e2e_main)
