"""DiG self-supervised pre-training of a recogniser's encoder on unlabeled crops.

    python tools/pretrain_ssl.py -c configs/ssl/dig_tiny.yml [-o Key.sub=value ...]
    python tools/pretrain_ssl.py -c configs/ssl/dig_tiny.yml --resume   # after a kill
    python tools/train.py -c configs/rec/svtr_tiny_cpu.yml \\
        -o Global.pretrained_model=output/ssl/dig_tiny/encoder.pth     # fine-tune
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from ppocr_ext.ssl.pretrain import pretrain_ssl_main  # noqa: E402


if __name__ == "__main__":
    run_tool(pretrain_ssl_main)
