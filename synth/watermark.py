"""The `抖音号:<ID>` watermark: white, partly transparent text with a dark edge.

What is imitated (DESIGN.md): small white text with a dark stroke and/or drop shadow near
the top or bottom edge, left- or right-aligned; the `抖音号` prefix in a CJK face and the ':'
and the ID in a Latin sans; glyphs ~14 px on a 360x640 frame. The size follows the frame's
SHORT side (3.4-4.6% of it, i.e. ~2.2% of a portrait frame's height) because Douyin scales
the watermark with the video width, so a landscape clip carries as legible an ID as a
portrait one. Douyin also shows a logo line (a note icon with its cyan/red fringes and
`抖音`) above the ID line, and moves the mark from the top-left to the bottom-right corner
part-way through a video; both are reproduced.

Boxes are the tight boxes of the white ink (alpha > 0 of the fill), [x0, y0, x1, y1) in
frame pixels with exclusive ends; `box` covers `抖音号:ID`, `id_box` the ID alone; the logo
line is outside both.
"""
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from synth.fonts import FontSet, load_font

PREFIX = "抖音号"
LOGO_TEXT = "抖音"
LOGO_GLYPH = "♪"
DOUYIN_CYAN = (238, 244, 37)   # BGR of #25F4EE
DOUYIN_RED = (85, 44, 254)     # BGR of #FE2C55
CORNERS = ("top-left", "bottom-right", "top-right", "bottom-left")
CORNER_WEIGHTS = (0.3, 0.3, 0.2, 0.2)  # Douyin's own placements first
SIZE_OF_SHORT_SIDE = (0.034, 0.046)


@dataclass
class WatermarkStyle:
    """Everything about the mark that stays fixed over one video."""
    latin_path: str
    latin_index: int
    cjk_path: str
    cjk_index: int
    size: int                 # Latin font size in pixels
    cjk_scale: float          # CJK prefix size relative to the Latin size
    fill: int                 # grey level of the text (near white)
    fill_alpha: float
    edge: str                 # "stroke" | "shadow" | "both"
    edge_level: int           # grey level of the dark edge
    edge_alpha: float
    shadow_offset: tuple
    shadow_blur: float
    colon_gap: float          # extra space after ':' in units of the font size
    logo: bool
    corner: str
    margin_x: float           # distance of the ink from the side edge, fraction of width
    margin_y: float           # ... from the top/bottom edge, fraction of height
    corner_jump: float        # chance that a frame shows the mark in the opposite corner
    colon: str = ":"          # ':' or the full-width '：' some players draw


def sample_style(rng, frame_w: int, frame_h: int, fonts: FontSet, logo_prob: float = 0.5,
                 corner_jump: float = 0.25) -> WatermarkStyle:
    face_i = int(rng.choice(len(fonts.latin), p=fonts.latin_weights()))
    latin_face, latin_path = fonts.latin[face_i]
    cjk_face, cjk_path = fonts.pick_cjk(rng)
    size = max(6, int(round(min(frame_w, frame_h) * rng.uniform(*SIZE_OF_SHORT_SIDE))))
    return WatermarkStyle(
        latin_path=latin_path, latin_index=latin_face.index, cjk_path=cjk_path,
        cjk_index=cjk_face.index, size=size, cjk_scale=rng.uniform(0.9, 1.05),
        fill=int(rng.integers(232, 256)), fill_alpha=rng.uniform(0.78, 1.0),
        edge=str(rng.choice(["stroke", "shadow", "both"], p=[0.4, 0.3, 0.3])),
        edge_level=int(rng.integers(0, 70)), edge_alpha=rng.uniform(0.35, 0.9),
        shadow_offset=(int(rng.integers(0, 2)), int(rng.integers(1, 3))),
        shadow_blur=rng.uniform(0.0, 1.2), colon_gap=rng.choice([0.0, 0.0, 0.15, 0.3]),
        logo=bool(rng.random() < logo_prob),
        corner=CORNERS[int(rng.choice(len(CORNERS), p=CORNER_WEIGHTS))],
        margin_x=rng.uniform(0.02, 0.07), margin_y=rng.uniform(0.02, 0.12),
        corner_jump=corner_jump)


def _opposite(corner: str) -> str:
    vertical, horizontal = corner.split("-")
    return ("bottom" if vertical == "top" else "top") + "-" + ("right" if horizontal == "left" else "left")


def _ink_box(mask: np.ndarray):
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


def render_patch(account_id: str, style: WatermarkStyle, right_aligned: bool):
    """Masks of the mark on a transparent patch: list of (mask, BGR level, alpha) layers
    in drawing order, the ink boxes of the whole line and of the ID, and the top of the
    logo line's ink (None without logo), all in patch coordinates."""
    latin = load_font(style.latin_path, style.size, style.latin_index)
    cjk = load_font(style.cjk_path, max(6, round(style.size * style.cjk_scale)), style.cjk_index)
    stroke = 1 if style.edge in ("stroke", "both") else 0
    pad = 3 + stroke + max(style.shadow_offset)

    prefix_w = cjk.getlength(PREFIX)
    colon_font = cjk if style.colon == "：" else latin
    colon_w = colon_font.getlength(style.colon) + style.colon_gap * style.size
    line_w = prefix_w + colon_w + latin.getlength(account_id)
    ascent = max(latin.getmetrics()[0], cjk.getmetrics()[0])
    descent = max(latin.getmetrics()[1], cjk.getmetrics()[1])
    logo_font = load_font(style.cjk_path, round(style.size * 1.35), style.cjk_index) if style.logo else None
    logo_h = int(logo_font.getmetrics()[0] * 1.25) if logo_font else 0
    logo_w = logo_font.getlength(LOGO_GLYPH + LOGO_TEXT) + 2 if logo_font else 0

    width = int(np.ceil(max(line_w, logo_w))) + 2 * pad
    height = logo_h + ascent + descent + 2 * pad
    line_x = pad + (width - 2 * pad - line_w if right_aligned else 0)
    baseline = pad + logo_h + ascent

    prefix_mask = Image.new("L", (width, height))
    id_mask = Image.new("L", (width, height))
    draw_prefix, draw_id = ImageDraw.Draw(prefix_mask), ImageDraw.Draw(id_mask)
    draw_prefix.text((line_x, baseline), PREFIX, font=cjk, fill=255, anchor="ls")
    draw_prefix.text((line_x + prefix_w, baseline), style.colon, font=colon_font, fill=255,
                     anchor="ls")
    draw_id.text((line_x + prefix_w + colon_w, baseline), account_id, font=latin, fill=255, anchor="ls")

    fill_np = np.maximum(np.asarray(prefix_mask), np.asarray(id_mask))
    logo_ink, fringes = None, []
    if logo_font:  # a note icon with Douyin's cyan/red fringes, then the word 抖音
        logo_mask = Image.new("L", (width, height))
        logo_x = pad + (width - 2 * pad - logo_w if right_aligned else 0)
        logo_base = pad + logo_font.getmetrics()[0]
        draw_logo = ImageDraw.Draw(logo_mask)
        draw_logo.text((logo_x + 1, logo_base), LOGO_GLYPH, font=logo_font, fill=255, anchor="ls")
        note = np.asarray(logo_mask).copy()
        draw_logo.text((logo_x + logo_font.getlength(LOGO_GLYPH) + 2, logo_base), LOGO_TEXT,
                       font=logo_font, fill=255, anchor="ls")
        logo_ink = np.asarray(logo_mask)
        fringes = [(np.roll(note, (-1, -1), (0, 1)), DOUYIN_CYAN, 0.9 * style.fill_alpha),
                   (np.roll(note, (1, 1), (0, 1)), DOUYIN_RED, 0.9 * style.fill_alpha)]

    glyphs = Image.fromarray(fill_np if logo_ink is None else np.maximum(fill_np, logo_ink))
    edge = np.zeros((height, width), np.uint8)
    if stroke:
        edge = np.asarray(glyphs.filter(ImageFilter.MaxFilter(3)))
    if style.edge in ("shadow", "both"):
        shadow = Image.new("L", (width, height))
        shadow.paste(glyphs, style.shadow_offset)
        if style.shadow_blur > 0.2:
            shadow = shadow.filter(ImageFilter.GaussianBlur(style.shadow_blur))
        edge = np.maximum(edge, np.asarray(shadow))
    # the edge shows around the glyphs, not through them: a translucent fill over its own
    # shadow would turn grey instead of white
    edge = (edge.astype(np.float32) * (1 - np.asarray(glyphs, np.float32) / 255)).astype(np.uint8)

    layers = [(edge, style.edge_level, style.edge_alpha)] + fringes
    if logo_ink is not None:
        layers.append((logo_ink, style.fill, style.fill_alpha))
    layers.append((fill_np, style.fill, style.fill_alpha))
    logo_top = None if logo_ink is None else _ink_box(logo_ink)[1]
    return layers, _ink_box(fill_np), _ink_box(np.asarray(id_mask)), logo_top


def glyph_ink_spans(account_id: str, style: WatermarkStyle, id_box: list) -> list[tuple[float, float]]:
    """Each ID glyph's ink extent [x0, x1) along the line, in the coordinates of `id_box`
    (the ID's ink box from `render_patch`): where a recogniser should read each symbol,
    the alignment `ppocr_ext.aligned_ctc` supervises. Advances come from the face (no
    kerning, as PIL draws it), the pen's start from the first glyph's ink."""
    latin = load_font(style.latin_path, style.size, style.latin_index)
    pen = id_box[0] - latin.getbbox(account_id[0], anchor="ls")[0]
    spans = []
    for i, symbol in enumerate(account_id):
        x = pen + latin.getlength(account_id[:i])
        x0, _, x1, _ = latin.getbbox(symbol, anchor="ls")
        spans.append((x + x0, x + x1))
    return spans


@dataclass
class Placement:
    """A rendered mark and where it goes: blend it after everything else is drawn."""
    layers: list              # (mask, BGR level or colour, alpha) in drawing order
    left: int                 # frame position of the patch's top-left corner
    top: int
    box: list                 # [x0, y0, x1, y1) of `抖音号:ID` ink in the frame
    id_box: list              # ... of the ID alone

    @property
    def extent(self) -> list:
        """Frame box of the whole patch (logo line and edge included): keep other text out."""
        ph, pw = self.layers[0][0].shape
        return [self.left, self.top, self.left + pw, self.top + ph]


def place_watermark(frame_w: int, frame_h: int, account_id: str, style: WatermarkStyle,
                    rng) -> Placement:
    """Render the mark for one frame and choose its position (corner, margins, jitter)."""
    corner = _opposite(style.corner) if rng.random() < style.corner_jump else style.corner
    vertical, horizontal = corner.split("-")
    layers, line_box, id_box, logo_top = render_patch(account_id, style, horizontal == "right")
    jitter_x, jitter_y = rng.integers(-2, 3, size=2)
    margin_x = int(style.margin_x * frame_w) + int(jitter_x)
    margin_y = int(style.margin_y * frame_h) + int(jitter_y)
    # place the patch so that the ID line's ink sits at the chosen margins, inside the frame
    left = margin_x - line_box[0] if horizontal == "left" else frame_w - margin_x - line_box[2]
    top = margin_y - line_box[1] if vertical == "top" else frame_h - margin_y - line_box[3]
    left = int(np.clip(left, -line_box[0], frame_w - line_box[2]))
    top = int(np.clip(top, -line_box[1], frame_h - line_box[3]))
    if logo_top is not None:  # push the mark down rather than cut its logo line off
        top = max(top, -logo_top)

    def to_frame(box):
        return [box[0] + left, box[1] + top, box[2] + left, box[3] + top]
    return Placement(layers, left, top, to_frame(line_box), to_frame(id_box))


def blend_watermark(frame: np.ndarray, placement: Placement) -> None:
    """Alpha-blend the mark into `frame` (HxWx3 uint8 BGR) in place; a logo line that
    sticks out of the frame is cut off."""
    h, w = frame.shape[:2]
    ph, pw = placement.layers[0][0].shape
    left, top = placement.left, placement.top
    fx0, fy0, fx1, fy1 = max(left, 0), max(top, 0), min(left + pw, w), min(top + ph, h)
    px0, py0 = fx0 - left, fy0 - top
    region = frame[fy0:fy1, fx0:fx1].astype(np.float32)
    for mask, colour, alpha in placement.layers:
        a = mask[py0:py0 + fy1 - fy0, px0:px0 + fx1 - fx0].astype(np.float32)[..., None] * (alpha / 255)
        region = region * (1 - a) + np.asarray(colour, np.float32) * a
    frame[fy0:fy1, fx0:fx1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)
