"""Burned-in text that is NOT the watermark: subtitles, titles and @-handles.

Douyin clips very often carry large white captions with a black outline, and a title band
near the top; some show Latin handles or numbers. They are the natural distractors of a
watermark localiser (white text with a dark edge, sometimes near the same edges), so a
generator without them would make localisation look easier than it is.
"""
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from synth.fonts import FontSet, load_font
from synth.ids import ID_ALPHABET

# Frequent characters of everyday Chinese captions (all in WenQuanYi Micro Hei).
COMMON_HANZI = ("的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就那要下以"
                "生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看"
                "文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些"
                "与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几"
                "很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并"
                "内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马"
                "今天真的太好吃了哈喜欢关注点赞分享快乐生活每一天")
FILL_COLOURS = ((255, 255, 255), (0, 230, 255), (255, 255, 255), (90, 220, 255))  # BGR


@dataclass
class CaptionStyle:
    """One video's caption look: where it sits, how big, what colour, which script."""
    y_fraction: float
    size: int
    fill: tuple
    outline: int
    latin: bool
    latin_path: str
    cjk_path: str
    cjk_index: int
    show_prob: float


def sample_caption_style(rng, frame_w, frame_h, fonts: FontSet) -> CaptionStyle:
    latin_face, latin_path = fonts.latin[int(rng.integers(len(fonts.latin)))]
    cjk_face, cjk_path = fonts.pick_cjk(rng)
    title = rng.random() < 0.25  # a title band near the top instead of a subtitle
    return CaptionStyle(
        y_fraction=rng.uniform(0.08, 0.2) if title else rng.uniform(0.6, 0.88),
        size=max(8, int(min(frame_w, frame_h) * rng.uniform(0.05, 0.085))),
        fill=FILL_COLOURS[int(rng.integers(len(FILL_COLOURS)))],
        outline=int(rng.integers(1, 3)), latin=bool(rng.random() < 0.2),
        latin_path=latin_path, cjk_path=cjk_path, cjk_index=cjk_face.index,
        show_prob=rng.uniform(0.5, 1.0))


def _caption_text(rng, latin: bool) -> str:
    if latin:
        handle = "".join(ID_ALPHABET[i] for i in rng.integers(0, 62, int(rng.integers(4, 10))))
        return "@" + handle if rng.random() < 0.6 else str(int(rng.integers(10, 99999)))
    return "".join(COMMON_HANZI[i] for i in rng.integers(0, len(COMMON_HANZI), int(rng.integers(3, 13))))


def _overlaps(a, b, margin):
    return not (a[2] + margin <= b[0] or b[2] + margin <= a[0] or
                a[3] + margin <= b[1] or b[3] + margin <= a[1])


def draw_caption(frame: np.ndarray, style: CaptionStyle, rng, avoid=None) -> list | None:
    """Draw one caption line (new text each frame, sometimes none) in place and return its
    box; skipped when it would cover the `avoid` box (the watermark must stay readable)."""
    if rng.random() > style.show_prob:
        return None
    h, w = frame.shape[:2]
    text = _caption_text(rng, style.latin)
    font = load_font(style.latin_path, style.size) if style.latin else \
        load_font(style.cjk_path, style.size, style.cjk_index)
    while font.getlength(text) > 0.92 * w and len(text) > 2:
        text = text[:-1]
    canvas = Image.fromarray(np.ascontiguousarray(frame[..., ::-1]))  # PIL draws RGB
    draw = ImageDraw.Draw(canvas)
    anchor_xy = (w / 2, h * style.y_fraction)
    box = [int(v) for v in draw.textbbox(anchor_xy, text, font=font, anchor="mm",
                                          stroke_width=style.outline)]
    if avoid is not None and _overlaps(box, avoid, margin=4):
        return None
    draw.text(anchor_xy, text, font=font, fill=tuple(reversed(style.fill)), anchor="mm",
              stroke_width=style.outline, stroke_fill=(0, 0, 0))
    frame[:] = np.asarray(canvas)[..., ::-1]
    return box
