"""Train the copy descriptor (copydetect/training.py) from a config.

    python tools/train_descriptor.py -c configs/copy/descriptor.yml [-o train.steps=500 ...] [--resume]

Writes under output.dir: latest.pt (every train.save_every steps; --resume continues
from it), train.log (loss, InfoNCE, KoLeo, in-batch retrieval accuracy) and, at the end,
descriptor.pt, the file tools/copy_detect.py and tools/trace.py take.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.cli import positive_int  # noqa: E402
from common.config import parse_overrides  # noqa: E402
from common.errors import run_tool  # noqa: E402
from copydetect.training import load_config, train_descriptor  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", required=True, help="YAML config under configs/copy/")
    parser.add_argument("-o", "--opt", nargs="*", default=[], help="overrides such as train.steps=500")
    parser.add_argument("--resume", action="store_true", help="continue from output.dir/latest.pt")
    parser.add_argument("--stop-after", type=positive_int, help="train at most this many steps in "
                        "this run, then save latest.pt and stop (continue with --resume)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    path = train_descriptor(load_config(args.config, parse_overrides(args.opt)), resume=args.resume,
                            stop_after=args.stop_after)
    print(f"descriptor written to {path}" if path else "stopped early: continue with --resume")


if __name__ == "__main__":
    run_tool(main)
