"""Train a recogniser from a config, PaddleOCR-style.

    python tools/train.py -c configs/rec/svtr_tiny_cpu.yml [-o Key.sub=value ...]
    python tools/train.py -c configs/rec/svtr_tiny_cpu.yml --resume   # after a kill
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from ppocr_ext.rec_train import train_main  # noqa: E402


if __name__ == "__main__":
    run_tool(train_main)
