"""Read crops with several recognisers and report each model's and the ensemble's
exact-match accuracy: confidence-weighted string vote, CTC posterior fusion (models
with the same output length), and with --group-by video a per-video consensus.

    python tools/ensemble.py --model configs/rec/svtr_tiny_cpu.yml output/rec/a/best.pth \
        --model configs/rec/svtr_tiny_cpu.yml output/rec/b/best.pth --model model.onnx \
        --crops data/crops/test --labels data/crops/test_labels.txt \
        [--group-by video] [--out output/ensemble]

Writes OUT/frames.csv (every reading of every frame), OUT/report.json and OUT/report.md.
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from ppocr_ext.ensemble import ensemble_main  # noqa: E402


if __name__ == "__main__":
    run_tool(ensemble_main)
