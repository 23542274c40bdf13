"""Copy-detection benchmark (thin entry; see pipeline/copy_bench.py): `make bench-copy`.

    python tools/bench_copy.py --bench data/copies --model output/copy/descriptor/descriptor.pt \
        --background data/copy_train/train --out bench/copy
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from pipeline.copy_bench import bench_copy_main  # noqa: E402


if __name__ == "__main__":
    run_tool(bench_copy_main)
