"""Draw DDT heatmaps and boxes over frames into one PNG grid, to LOOK at the localiser.

Each tile: the frame with the DDT heatmap of the whole frame blended in, the ground-truth
watermark box in green (when data.boxes exists), DDT's raw blob box in yellow, and the
padded crop of the config's method in red.

    python tools/show_loc.py -c configs/loc/ddt.yml --split test --count 24 --out bench/loc_show.png
"""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import cv2
import numpy as np

# Import from the project root, not from tools/ (a plain script folder: see ppocr_ext.engine).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from common.errors import run_tool  # noqa: E402
from common.images import read_frame, to_gray  # noqa: E402
from localization.config import argument_parser, config_from_args  # noqa: E402
from localization.frame_records import list_frames  # noqa: E402
from localization.geometry import integer_box  # noqa: E402
from localization.locator_factory import build_locator, data_path  # noqa: E402

GREEN, YELLOW, RED = (0, 200, 0), (0, 230, 255), (0, 0, 255)


def draw_box(image: np.ndarray, box, colour, scale: float) -> None:
    x0, y0, x1, y1 = integer_box([c * scale for c in box], image.shape[1], image.shape[0])
    cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), colour, 1)


def tile(frame: np.ndarray, heat: np.ndarray, result, truth, tile_height: int,
         crop) -> np.ndarray:
    scale = tile_height / frame.shape[0]
    size = (max(1, round(frame.shape[1] * scale)), tile_height)
    image = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    heat = cv2.resize(heat, size, interpolation=cv2.INTER_LINEAR)
    positive = np.clip(heat / (np.abs(heat).max() + 1e-6), 0, 1)
    colour = cv2.applyColorMap((positive * 255).astype(np.uint8), cv2.COLORMAP_JET)
    alpha = (0.6 * positive)[..., None]
    image = (image * (1 - alpha) + colour * alpha).astype(np.uint8)
    if truth is not None:
        draw_box(image, truth, GREEN, scale)
    if result.raw_box is not None:
        draw_box(image, result.raw_box, YELLOW, scale)
    for row in crop.rows:
        for box in row:
            draw_box(image, box, RED, scale)
    label = f"{result.side or ''} {'' if result.score is None else f'{result.score:+.1f}'}"
    cv2.putText(image, label, (3, tile_height - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                (255, 255, 255), 1, cv2.LINE_AA)
    return image


def grid(tiles: list[np.ndarray], columns: int) -> np.ndarray:
    """Rows of `columns` tiles side by side (tiles keep their own widths)."""
    rows = [tiles[i:i + columns] for i in range(0, len(tiles), columns)]
    height = max(t.shape[0] for t in tiles)
    width = max(sum(t.shape[1] + 4 for t in row) for row in rows)
    canvas = np.full((len(rows) * (height + 4), width, 3), 40, np.uint8)
    for r, row in enumerate(rows):
        x = 0
        for image in row:
            y = r * (height + 4)
            canvas[y:y + image.shape[0], x:x + image.shape[1]] = image
            x += image.shape[1] + 4
    return canvas


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--split", choices=("train", "test"), default="test")
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--columns", type=int, default=6)
    parser.add_argument("--tile-height", type=int, default=320)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench/loc_show.png")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    config = config_from_args(args)
    records = list_frames(data_path(config, f"{args.split}_dir"),
                          data_path(config, f"{args.split}_labels"))
    rng = np.random.default_rng(args.seed)
    records = [records[i] for i in rng.permutation(len(records))[:args.count]]
    boxes_path = data_path(config, "boxes")
    truths = json.loads(boxes_path.read_text())[args.split] if boxes_path.is_file() else {}
    ddt = build_locator(config, "ddt", "classifier")
    shown = build_locator(config) if config["method"] != "ddt" else ddt
    tiles = []
    for record in records:
        frame = read_frame(record.path)
        if frame is None:
            continue
        gray = to_gray(frame)
        heat = ddt.frame_heatmap(gray)
        ddt_result = ddt.locate([gray])[0]
        shown_result = shown.locate([gray])[0]
        truth = truths.get(record.name, {}).get("box")
        tiles.append(tile(frame, heat, ddt_result, truth, args.tile_height, shown_result))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, grid(tiles, args.columns))
    print(f"wrote {args.out} ({len(tiles)} frames; green truth, yellow DDT blob, "
          f"red {config['method']} crop)")


if __name__ == "__main__":
    run_tool(main)
