"""Encoders at the same CPU budget (thin entry; see ppocr_ext/encoder_bench.py).

Example (make bench-encoders trains the arms first):
  python tools/bench_encoders.py --budget-cpu-minutes 90 \
      --arm svtr_tiny=configs/rec/svtr_tiny_synth.yml:output/rec/svtr_tiny_synth
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from ppocr_ext.encoder_bench import bench_encoders_main  # noqa: E402


if __name__ == "__main__":
    run_tool(bench_encoders_main)
