"""Measure augmentation throughput (crops/s on one core) and write bench/aug_speed.md.

    python tools/bench_aug.py [--height 40 --width 300 --calls 500 --out bench/aug_speed.md]
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # one core: before NumPy is imported
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from common.atomic import atomic_write_text  # noqa: E402
from common.command import command_line  # noqa: E402
from common.hardware import describe_machine  # noqa: E402
from ppocr_ext.augment.speed import benchmark_rows  # noqa: E402

TARGET = 300


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=40)
    parser.add_argument("--width", type=int, default=300)
    parser.add_argument("--calls", type=int, default=500, help="crops per timed repeat")
    parser.add_argument("--out", type=Path, default=Path("bench/aug_speed.md"))
    args = parser.parse_args(argv)

    machine_at_start = describe_machine()
    rows = benchmark_rows(args.height, args.width, args.calls)
    command = command_line("bench_aug.py", argv)
    lines = [
        "# Augmentation loader throughput",
        "",
        f"Command: `{command}`  ",
        f"Crops: {args.height}x{args.width} px, 15-symbol IDs; one process, "
        f"`cv2.setNumThreads(1)`; best of 3 repeats of {args.calls} crops, timed as "
        "process CPU time (= one core's cost) and as wall time.  ",
        f"Machine: {machine_at_start} at start (shared with other jobs: "
        "wall-time figures are lower bounds).  ",
        f"Target: >= {TARGET} crops/s per core.",
        "",
        "| augmentation | crops per CPU-second | crops per wall-second | meets target |",
        "|---|---:|---:|:---:|",
    ]
    lines += [f"| {label} | {cpu:.0f} | {wall:.0f} | {'yes' if cpu >= TARGET else 'NO'} |"
              for label, (cpu, wall) in rows]
    atomic_write_text(args.out, "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    run_tool(main)
