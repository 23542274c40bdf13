"""Ray Data vs the single-process reader on the same frames and cores (`make bench-scale`)."""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from pipeline.scale_bench import bench_scale_main  # noqa: E402


if __name__ == "__main__":
    run_tool(bench_scale_main)
