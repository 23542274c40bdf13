"""A stand-in ID crop for previews, benchmarks and tests when no real crop is at hand:
white text with a dark edge (as the watermark is drawn) on a textured background, the
size of a localised crop (~40 px tall, ~14 px glyphs)."""
from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

DEFAULT_FONT = "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"


def textured_background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth coloured blotches plus fine grain, like a busy video frame behind the text."""
    coarse = rng.uniform(0, 255, size=(max(2, height // 8), max(2, width // 8), 3))
    smooth = cv2.resize(coarse.astype(np.float32), (width, height),
                        interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 12, size=(height, width, 3))
    return np.clip(0.6 * smooth + 40 + grain, 0, 255).astype(np.uint8)


def render_sample_crop(text: str = "a8Kx3lQ9z2Wm", height: int = 40, glyph_px: int = 14,
                       seed: int = 0, font_path: str = DEFAULT_FONT,
                       width: int | None = None) -> np.ndarray:
    """An HxWx3 uint8 BGR crop with `text` centred; the width is `width`, or the text's
    plus a margin of half the height on each side."""
    rng = np.random.default_rng(seed)
    try:
        font = ImageFont.truetype(font_path, glyph_px)
    except OSError as err:
        raise FileNotFoundError(f"font {font_path} not found (run `make fonts`)") from err
    left, top, right, bottom = font.getbbox(text, stroke_width=1)
    width = right - left + 2 * (height // 2) if width is None else width
    margin = (width - (right - left)) // 2
    canvas = Image.fromarray(textured_background(height, width, rng)[:, :, ::-1])
    y = (height - (bottom - top)) // 2 - top
    ImageDraw.Draw(canvas).text((margin - left, y), text, font=font, fill=(255, 255, 255),
                                stroke_width=1, stroke_fill=(30, 30, 30))
    return np.ascontiguousarray(np.asarray(canvas)[:, :, ::-1])
