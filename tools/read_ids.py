"""Read account IDs from a folder of full video frames (thin entry; see pipeline/cli.py).

Example:
  python tools/read_ids.py --frames data/demo/test --labels data/demo/test_labels.txt   # released models
  python tools/read_ids.py --frames data/demo/test --model configs/rec/svtr_tiny_cpu.yml \
      output/rec/svtr_tiny_cpu/best.pth --labels data/demo/test_labels.txt
"""
import sys

from pipeline.cli import main

if __name__ == "__main__":
    try:
        main()
    except (FileNotFoundError, ValueError, KeyError) as err:
        sys.exit(f"error: {err}")
