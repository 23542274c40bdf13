"""Read account IDs from a folder of full video frames (thin entry; see pipeline/cli.py).

Example:
  python tools/read_ids.py --frames data/demo/test --labels data/demo/test_labels.txt   # released models
  python tools/read_ids.py --frames data/demo/test --model configs/rec/svtr_tiny_cpu.yml \
      output/rec/svtr_tiny_cpu/best.pth --labels data/demo/test_labels.txt
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from pipeline.cli import read_ids_main  # noqa: E402


if __name__ == "__main__":
    run_tool(read_ids_main)
