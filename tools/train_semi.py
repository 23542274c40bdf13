"""Semi-supervised fine-tuning: CTC on labelled crops + EMA-teacher consistency on
unlabeled crops (see ppocr_ext/ssl/semi.py).

    python tools/train_semi.py -c configs/rec/svtr_tiny_cpu_semi.yml [-o Key.sub=value ...]
    python tools/train_semi.py -c configs/rec/svtr_tiny_cpu_semi.yml --resume   # after a kill
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from ppocr_ext.ssl.semi import train_semi_main  # noqa: E402


if __name__ == "__main__":
    run_tool(train_semi_main)
