"""Off-the-shelf OCR peers (RapidOCR, Tesseract) on the same frames (thin entry; see
pipeline/peers.py). Install the peers first with `make setup-peers`.

Example (what `make bench-peers` runs):
  OMP_NUM_THREADS=1 python tools/bench_peers.py --frames data/demo/test \
      --labels data/demo/test_labels.txt --crops output/demo/loc/test --out bench/peers
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from pipeline.peers import bench_peers_main  # noqa: E402


if __name__ == "__main__":
    run_tool(bench_peers_main)
