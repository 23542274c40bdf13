"""From scratch vs DiG pre-trained vs semi-supervised SVTR-Tiny at fixed label budgets
(1k, 10k crops) and a fixed CPU budget; writes bench/ssl.md with the command.

    python tools/bench_ssl.py --train data/lmdb/train --test data/lmdb/test \\
        [--budgets 1000 10000] [--minutes 40] [--pretrain-minutes 60]
    python tools/bench_ssl.py --smoke      # tiny end-to-end run (~1 min), checks the plumbing
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from ppocr_ext.ssl.bench import bench_ssl_main  # noqa: E402


if __name__ == "__main__":
    run_tool(bench_ssl_main)
