"""Benchmark the recogniser under torch (fp32, bf16 autocast) and onnxruntime: network
throughput on the same crops, agreement with torch fp32, exact match when labelled.
Writes bench/onnx.md with the command that produced it.

    python tools/bench_onnx.py -c configs/rec/svtr_tiny_cpu.yml \
        --weights output/rec/svtr_tiny_cpu/best.pth [--onnx model.onnx] \
        [--crops data/lmdb/val] [--count 512] [--threads 2] [--out bench/onnx.md]

Without --weights an untrained model of the config is timed (speed does not depend on
training); without --crops, rendered random IDs are used.
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from ppocr_ext.onnx_bench import bench_onnx_main  # noqa: E402


if __name__ == "__main__":
    run_tool(bench_onnx_main)
