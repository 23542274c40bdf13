"""Read frames by the million on Ray Data (needs `make setup-scale`).

    python tools/read_ids_ray.py data/demo/test --actors 2 --threads 1 --out output/ray
    python tools/read_ids_ray.py 's3://bucket/frames/*.jpg' --address auto --actors 64
"""
import sys
from pathlib import Path

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from pipeline.ray_read import read_ids_ray_main  # noqa: E402


if __name__ == "__main__":
    run_tool(read_ids_ray_main)
