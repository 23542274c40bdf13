"""Export a trained CTC recogniser to one self-contained ONNX file (network + dictionary
+ preprocessing) and check that onnxruntime reads the same strings as torch.

    python tools/export_onnx.py -c configs/rec/svtr_tiny_cpu.yml \
        --weights output/rec/svtr_tiny_cpu/best.pth --out output/rec/svtr_tiny_cpu/model.onnx \
        [--check-crops data/lmdb/val]

Use it with ppocr_ext.posteriors.load_onnx_recognizer(path), or as a --model of
tools/ensemble.py and tools/pseudo_label.py.

The localiser's networks (strip classifier with the DDT projection baked in, and the
PSOL box regressor), from the checkpoints of configs/loc/ddt.yml:

    python tools/export_onnx.py --loc-classifier output/loc/model/strip_ddt.pt \
        [--loc-regressor output/loc/model/psol.pt] --loc-out output/loc/onnx
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from pipeline.export_onnx import export_onnx_main  # noqa: E402


if __name__ == "__main__":
    run_tool(export_onnx_main)
