"""Read IDs from a folder of crops (or one image) with trained weights; writes CSV and
JSON of name,text,confidence and prints a summary. Undecodable images are skipped and
named.

    python tools/infer_rec.py -c configs/rec/svtr_tiny_cpu.yml \
        -o Global.pretrained_model=output/rec/svtr_tiny_cpu/best.pth Global.infer_img=crops/ \
        [--out results/crops] [--bf16]
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from ppocr_ext.rec_infer import infer_rec_main  # noqa: E402


if __name__ == "__main__":
    run_tool(infer_rec_main)
