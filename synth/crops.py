"""Recogniser inputs rendered directly: the `抖音号:<ID>` line as a localiser cuts it.

Why crops and not frames (DESIGN.md, measured 2026-12-03): a recogniser trained on the
demo's 6k localiser crops learned the generator's look and the localiser's exact crop
geometry (0.15-0.35 on frames made elsewhere, below an OCR never trained for the task),
while a throw-away crop renderer with many faces, sizes, edges, backgrounds and crop
geometries doubled that after 40 minutes. Rendering the crop alone costs a few ms, so
the stream has no end and no sample is seen twice.

Everything a real frame may vary is drawn per crop: the Latin face of the ID and the CJK
face of the prefix (`synth.fonts.font_catalog`, split by family into train and held-out),
text 5-40 px after the downscale, fill, opacity, stroke, shadow or glow, ':' or '：',
the background (`synth.backgrounds.crop_background`, split by source), the crop's
geometry (vertical offset and height, 0-2 glyphs of margin, part of the prefix cut, the
edge of the logo line above), and the resolution chain (video JPEG at the source size,
one or two downscales of 1/1-1/4 with one of four resamplers, 3x3 blur, JPEG 35-95), and,
where `CropConfig.corrupt_prob` asks for it, what the frame suffered afterwards: one or two
corruptions of the robustness benchmark's catalogue (`common.corruptions`: noise, blur,
JPEG 10-40, rescaling, rain, fog, darkening, rotation, perspective) at a strength 1-3,
applied at the frame's pixel scale before the crop is cut, so rotated text stays inside it.

`difficulty` in [0, 1] scales how far each of these departs from a clean, tight, large,
short crop: CTC from scratch sits on an all-blank output far longer on hard data
(bench/aug_ablation.md), so a run starts at 0 and ramps up (`ppocr_ext.synth_dataset`).
A crop is a pure function of (seed, index, difficulty): `render_crop(np.random.default_rng(...))`.
`render_aligned_crop` draws the same crop and also says where each ID glyph's ink lies
across it (the renderer knows; `ppocr_ext.aligned_ctc` uses it to end CTC's stall).
"""
from dataclasses import dataclass, field
from typing import NamedTuple

import albumentations as A
import cv2
import numpy as np

from common import corruptions
from common.screenshot import jpeg_roundtrip
from synth.backgrounds import crop_background
from synth.fonts import FontCatalog
from synth.ids import ID_MAX_LEN, ID_MIN_LEN, sample_id
from synth.watermark import (Placement, WatermarkStyle, blend_watermark, glyph_ink_spans,
                             render_patch)

RESAMPLERS = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_NEAREST)
RESAMPLER_WEIGHTS = np.array([0.5, 0.25, 0.15, 0.1])
FRAME_CONTEXT = (212, 376)  # a 360x640 frame at the test's 1/1.7 (landscape: the same area)
MAX_SOURCE_PX = 64          # render no larger than this before the downscale (cost ~ px^2)


@dataclass(frozen=True)
class CropConfig:
    """Ranges at full difficulty; at difficulty 0 each shrinks to its clean end."""
    text_px: tuple = (5.0, 40.0)      # Latin font size after the downscale, pixels
    clean_text_px: tuple = (12.0, 24.0)
    downscale: tuple = (1.0, 4.0)     # source size / final size
    id_len: tuple = (ID_MIN_LEN, ID_MAX_LEN)
    clean_max_len: int = 10           # at difficulty 0 IDs are 8..10 long
    jpeg: tuple = (35, 95)
    photos: tuple = field(default_factory=tuple)
    photo_prob: float = 0.3
    corrupt_prob: float = 0.0         # at difficulty 1; 0 draws nothing (older streams)
    corrupt_names: tuple = ()         # the catalogue's corruptions drawn from; () all of them


def _lerp(clean, hard, d):
    return clean + (hard - clean) * d


def _log_uniform(rng, lo, hi):
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def sample_crop_style(rng, catalog: FontCatalog, size: int, d: float) -> WatermarkStyle:
    """The mark's look for one crop: faces from the catalogue, edges and fill by `d`."""
    latin, cjk = catalog.sample(rng, "latin"), catalog.sample(rng, "cjk")
    edge = str(rng.choice(["stroke", "shadow", "both", "glow", "none"],
                          p=[0.35, 0.25, 0.2, 0.1, 0.1] if d > 0.3 else [0.4, 0.3, 0.3, 0, 0]))
    offset = (int(rng.integers(0, 2)), int(rng.integers(1, 3)))
    blur = rng.uniform(0.0, 1.2)
    if edge == "glow":  # a soft dark halo all round: a shadow without offset, blurred
        edge, offset, blur = "shadow", (0, 0), rng.uniform(1.0, 2.5)
    grey = int(rng.integers(int(_lerp(235, 190, d)), 256))
    fill = (grey, grey, grey) if rng.random() > 0.1 * d else \
        tuple(int(v) for v in rng.integers(170, 256, 3))
    return WatermarkStyle(
        latin_path=latin.path, latin_index=latin.index, cjk_path=cjk.path,
        cjk_index=cjk.index, size=size, cjk_scale=rng.uniform(0.85, 1.1), fill=fill,
        fill_alpha=rng.uniform(_lerp(0.9, 0.55, d), 1.0), edge=edge,
        edge_level=int(rng.integers(0, 80)), edge_alpha=rng.uniform(_lerp(0.6, 0.2, d), 0.95),
        shadow_offset=offset, shadow_blur=blur,
        colon_gap=float(rng.choice([0.0, 0.0, 0.15, 0.3])),
        logo=bool(rng.random() < 0.25 * d), corner="top-left", margin_x=0.0, margin_y=0.0,
        corner_jump=0.0, colon="：" if rng.random() < 0.2 else ":")


def _crop_window(rng, line_box, id_box, size, d, shape):
    """The crop a localiser might cut around the line's ink box [x0, y0, x1, y1):
    its height 1.1-2.4 line heights, offset up or down, 0-2 glyphs of side margin, and
    sometimes part of the prefix cut (never the ID)."""
    x0, y0, x1, y1 = line_box
    line_h = y1 - y0
    height = line_h * rng.uniform(_lerp(1.3, 1.1, d), _lerp(1.6, 2.4, d))
    centre = (y0 + y1) / 2 + rng.uniform(-1, 1) * (height - line_h) / 2
    glyph = 0.55 * size
    left = x0 - rng.uniform(0, _lerp(0.5, 2.0, d)) * glyph
    if rng.random() < 0.15 * d:   # the localiser lost part of the faint prefix
        left = x0 + rng.uniform(0, 0.8) * (id_box[0] - x0)
    right = x1 + rng.uniform(0, _lerp(0.5, 2.0, d)) * glyph
    h, w = shape
    box = [int(np.floor(max(0, left))), int(np.floor(max(0, centre - height / 2))),
           int(np.ceil(min(w, right))), int(np.ceil(min(h, centre + height / 2)))]
    return box


def _degrade(rng, image, downscale, d, jpeg):
    """Video JPEG at the source size, one or two downscales, blur, a final JPEG."""
    if rng.random() < 0.6 * d:
        image = jpeg_roundtrip(image, int(rng.integers(60, 96)))
    h, w = image.shape[:2]
    steps = [downscale] if rng.random() > 0.3 * d else [np.sqrt(downscale)] * 2
    for step in steps:
        h, w = max(2, int(round(h / step))), max(2, int(round(w / step)))
        resampler = RESAMPLERS[int(rng.choice(len(RESAMPLERS), p=RESAMPLER_WEIGHTS))]
        image = cv2.resize(image, (w, h), interpolation=resampler)
    if rng.random() < 0.2 * d:
        image = cv2.GaussianBlur(image, (3, 3), rng.uniform(0.3, 0.9))
    return jpeg_roundtrip(image, int(rng.integers(int(_lerp(85, jpeg[0], d)), jpeg[1] + 1)))


def _in_frame_context(image, name, strength, seed, negate):
    """A photometric corruption as a whole frame suffers it: fog's haze scales with the
    image, so a 30x120 crop alone would be fogged out; the crop is reflected out to a
    low-res frame's size (FRAME_CONTEXT), corrupted, and cut back."""
    h, w = image.shape[:2]
    pad_y, pad_x = max(0, (FRAME_CONTEXT[0] - h) // 2), max(0, (FRAME_CONTEXT[1] - w) // 2)
    framed = cv2.copyMakeBorder(image, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_REFLECT_101)
    return corruptions.apply(framed, name, strength, seed, negate)[pad_y:pad_y + h, pad_x:pad_x + w]


def corrupt_crop(rng, image, boxes=None, names: tuple = ()):
    """`image` under one (a fifth of the time two) corruptions of the catalogue (or of its
    `names`) at a strength uniform in 1-3; geometric ones only when `boxes` can follow
    (returned moved)."""
    names = corruptions.known(names)
    names = [n for n, c in corruptions.CATALOGUE.items()
             if (not names or n in names) and (boxes is not None or not c.geometric)]
    if not names:
        return image if boxes is None else (image, boxes)
    for _ in range(2 if rng.random() < 0.2 else 1):
        name = names[int(rng.integers(len(names)))]
        strength, seed = rng.uniform(1, 3), int(rng.integers(2**31 - 1))
        negate = bool(rng.random() < 0.5)
        if corruptions.CATALOGUE[name].geometric:
            image, boxes = corruptions.apply(image, name, strength, seed, negate, boxes)
        else:
            image = _in_frame_context(image, name, strength, seed, negate)
    return image if boxes is None else (image, boxes)


# Release 9 read the demo's low-resolution test frames 0.73 exact where the median grey
# inside the ID's box is 50-100, 0.48 at 125-150, 0.24 at 150-175 and 0.04 above (27% of
# the frames are at 125 or more), and the same marks replayed on flat greys no better
# (bench/flat.md): a white mark over a bright scene is the look it reads worst. A gamma of
# 0.25-0.7 lifts a scene of grey 60 to 92-178 and the rim of grey 30 to 57-149 while the
# near-white fill stays near white. Release 10, trained with 30% of its samples lightened
# (and more crops): 0.647 / 0.526 at 100-125 / 125-150 (release 9 0.613 / 0.478), the same
# above 150 (bench/release.md).
LIGHTEN_GAMMA = (0.25, 0.7)


def lighten_crop(rng, image: np.ndarray) -> np.ndarray:
    """`image` as if its mark sat on a bright background: a gamma below 1 (albumentations'
    RandomGamma, at a gamma drawn from `rng`) lifts the dark scene and the mark's dark rim
    far more than its near-white fill, the low contrast of a white mark over sky or wall."""
    gamma = 100 * rng.uniform(*LIGHTEN_GAMMA)
    return A.Compose([A.RandomGamma(gamma_limit=(gamma, gamma), p=1.0)])(image=image)["image"]


class AlignedCrop(NamedTuple):
    image: np.ndarray     # uint8 BGR, any size (the engine resizes it)
    label: str            # the ID
    spans: np.ndarray     # (len(label), 2) float32: each glyph's ink [x0, x1) / crop width


def render_aligned_crop(rng, catalog: FontCatalog, difficulty: float,
                        config: CropConfig = CropConfig(), split: str = "train",
                        account_id: str | None = None) -> AlignedCrop:
    """One recogniser input, its ID and where each ID glyph lies across it."""
    d = float(np.clip(difficulty, 0.0, 1.0))
    if account_id is None:
        max_len = int(round(_lerp(config.clean_max_len, config.id_len[1], min(1.0, 2 * d))))
        account_id = sample_id(rng, config.id_len[0], max(config.id_len[0], max_len))
    text_px = _log_uniform(rng, _lerp(config.clean_text_px[0], config.text_px[0], d),
                           _lerp(config.clean_text_px[1], config.text_px[1], d))
    downscale = _log_uniform(rng, config.downscale[0], _lerp(1.3, config.downscale[1], d))
    size = int(round(min(MAX_SOURCE_PX, max(6.0, text_px * downscale))))
    downscale = max(1.0, size / text_px)

    style = sample_crop_style(rng, catalog, size, d)
    layers, line_box, id_box, _ = render_patch(account_id, style, right_aligned=False)
    glyph_boxes = [[x0, id_box[1], x1, id_box[3]]
                   for x0, x1 in glyph_ink_spans(account_id, style, id_box)]
    ph, pw = layers[0][0].shape
    pad_y, pad_x = int(size * rng.uniform(0.6, 1.5)), int(size * rng.uniform(1.0, 2.5))
    height, width = ph + 2 * pad_y, pw + 2 * pad_x
    canvas = crop_background(rng, height, width, split, config.photos, config.photo_prob)
    canvas = canvas.astype(np.uint8)
    shift = lambda box: [box[0] + pad_x, box[1] + pad_y, box[2] + pad_x, box[3] + pad_y]
    blend_watermark(canvas, Placement(layers, pad_x, pad_y, shift(line_box), shift(id_box)))

    small = _degrade(rng, canvas, downscale, d, config.jpeg)
    scale_y, scale_x = small.shape[0] / height, small.shape[1] / width
    to_small = lambda box: [box[0] * scale_x, box[1] * scale_y, box[2] * scale_x, box[3] * scale_y]
    boxes = [to_small(shift(box)) for box in [line_box, id_box] + glyph_boxes]
    if config.corrupt_prob > 0 and rng.random() < config.corrupt_prob * d:
        small, boxes = corrupt_crop(rng, small, boxes, config.corrupt_names)
    x0, y0, x1, y1 = _crop_window(rng, boxes[0], boxes[1], size * scale_y, d, small.shape[:2])
    spans = np.array([[(b[0] - x0) / (x1 - x0), (b[2] - x0) / (x1 - x0)] for b in boxes[2:]],
                     np.float32).reshape(-1, 2)
    return AlignedCrop(small[y0:y1, x0:x1], account_id, spans)


def render_crop(rng, catalog: FontCatalog, difficulty: float, config: CropConfig = CropConfig(),
                split: str = "train", account_id: str | None = None) -> tuple[np.ndarray, str]:
    """One recogniser input (uint8 BGR, any size; the engine resizes it) and its ID."""
    crop = render_aligned_crop(rng, catalog, difficulty, config, split, account_id)
    return crop.image, crop.label
