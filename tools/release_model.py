"""Release a trained recogniser into models/<name>/ (model.onnx, float16 model.pth,
config.yml); see ppocr_ext/release.py.

    python tools/release_model.py -c configs/rec/svtr_tiny_synth_ft.yml \
        --weights output/rec/svtr_tiny_synth_ft/best.pth --out models/svtr_tiny_synth
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from ppocr_ext.release import release_main  # noqa: E402


if __name__ == "__main__":
    run_tool(release_main)
