"""Which ID glyphs the generator's low-resolution pixels still tell apart, per face and
size, and the exact-match ceiling that follows (synth/glyph_bench.py); writes
bench/glyphs.md and .json.

    python tools/bench_glyphs.py [--conditions train test test_2.45] [--contexts 12]
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from synth.glyph_bench import bench_glyphs_main  # noqa: E402


if __name__ == "__main__":
    run_tool(bench_glyphs_main)
