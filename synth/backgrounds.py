"""Video-like scenes drawn procedurally with NumPy + OpenCV (optionally on real photos).

No licensed photo collection is installable from the registries this project may use (the
only photograph already on the machine is matplotlib's public-domain `grace_hopper.jpg`), so
the scenes are procedural and varied on purpose: gradients, fractal noise through random
palettes, stripes/wood/tiles, an indoor wall-and-floor layout, in- and out-of-focus shapes,
bokeh, people-like silhouettes, blur, vignette and grain. A folder of the user's own photos
(`photos=`) adds real backgrounds. What matters for the task is that a watermark detector
cannot rely on a flat background and sees edges, bright blobs and skin/cloth shapes near the
top and bottom too.

A `Scene` is drawn once per video on a canvas slightly larger than the frame; each frame is a
view of it under a slowly moving camera (shift, zoom, tiny roll) with its own brightness, and
people sway on their own layer, so the frames of one video share the background like the
challenge's frames do.
"""
import colorsys
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from common.images import IMAGE_SUFFIXES, is_image_file

CANVAS_MARGIN = 1.12  # the canvas is this much larger than the frame: room for camera motion


# ---------------------------------------------------------------- colours and base layers

def _random_colour(rng, saturation=(0.0, 0.85), value=(0.08, 0.98)):
    """A BGR colour in [0, 255] as float32; HSV sampling gives natural-looking variety."""
    r, g, b = colorsys.hsv_to_rgb(rng.random(), rng.uniform(*saturation), rng.uniform(*value))
    return np.array([b, g, r], np.float32) * 255


def _palette_lut(rng, stops=None):
    """A 256x3 lookup table through 2-4 random colours: maps a [0,1] field to a colour image."""
    stops = stops if stops is not None else int(rng.integers(2, 5))
    colours = np.stack([_random_colour(rng) for _ in range(stops)])
    positions = np.linspace(0, 1, stops)
    t = np.linspace(0, 1, 256)
    return np.stack([np.interp(t, positions, colours[:, c]) for c in range(3)], 1).astype(np.float32)


def _apply_lut(field, lut):
    """field: HxW float in [0,1] -> HxWx3 float32 colours."""
    return lut[np.clip(field * 255, 0, 255).astype(np.uint8)]


def _coords(h, w):
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs / max(w - 1, 1), ys / max(h - 1, 1)


def _fractal_noise(rng, h, w, octaves=5, persistence=0.55, base_cells=None):
    """Value noise summed over octaves (clouds, foliage, stone) normalised to [0, 1]."""
    base = base_cells or int(rng.integers(2, 6))
    field = np.zeros((h, w), np.float32)
    amplitude, total = 1.0, 0.0
    for octave in range(octaves):
        cells = base * 2 ** octave
        grid = rng.random((max(2, cells * h // max(h, w)) + 1, max(2, cells * w // max(h, w)) + 1))
        field += amplitude * cv2.resize(grid.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
        total += amplitude
        amplitude *= persistence
    field /= total
    lo, hi = np.percentile(field, [1, 99])
    return np.clip((field - lo) / max(hi - lo, 1e-6), 0, 1)


def _linear_gradient(rng, h, w):
    xs, ys = _coords(h, w)
    angle = rng.uniform(0, 2 * np.pi)
    t = xs * np.cos(angle) + ys * np.sin(angle)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    return _apply_lut(t, _palette_lut(rng))


def _radial_gradient(rng, h, w):
    xs, ys = _coords(h, w)
    cx, cy = rng.uniform(0.1, 0.9, 2)
    t = np.sqrt((xs - cx) ** 2 + ((ys - cy) * h / w) ** 2)
    return _apply_lut(np.clip(t / max(float(t.max()), 1e-6), 0, 1), _palette_lut(rng))


def _noise_texture(rng, h, w):
    return _apply_lut(_fractal_noise(rng, h, w), _palette_lut(rng))


def _stripes(rng, h, w):
    """Stripes bent by noise: fabric, wood grain, water ripples."""
    xs, ys = _coords(h, w)
    angle = rng.uniform(0, np.pi)
    frequency = rng.uniform(4, 40)
    warp = rng.uniform(0, 3) * _fractal_noise(rng, h, w, octaves=3)
    phase = (xs * np.cos(angle) + ys * np.sin(angle) * h / w) * frequency + warp
    t = 0.5 + 0.5 * np.sin(2 * np.pi * phase)
    return _apply_lut(t ** rng.uniform(0.5, 2.0), _palette_lut(rng, 2))


def _tiles(rng, h, w):
    """Floor tiles / bricks / shelves: a grid with grout lines and per-tile tint."""
    out = np.empty((h, w, 3), np.float32)
    out[:] = _random_colour(rng, value=(0.05, 0.6))  # grout
    tile_w = int(rng.integers(max(8, w // 16), max(9, w // 3)))
    tile_h = int(tile_w * rng.uniform(0.3, 1.2)) or 1
    grout = int(rng.integers(1, 4))
    base = _random_colour(rng)
    for row, y in enumerate(range(0, h, tile_h)):
        offset = (tile_w // 2) * (row % 2) if rng.random() < 0.5 else 0
        for x in range(-offset, w, tile_w):
            tint = np.clip(base * rng.uniform(0.8, 1.2) + rng.normal(0, 8, 3), 0, 255)
            cv2.rectangle(out, (x + grout, y + grout), (x + tile_w - 1, y + tile_h - 1),
                          tint.tolist(), -1)
    grain = _fractal_noise(rng, h, w, octaves=4, base_cells=8)[..., None]
    return out * (0.85 + 0.3 * grain)


def _room(rng, h, w):
    """Indoor shot: a wall and a floor split by a horizon, each lit by a soft gradient."""
    horizon = int(h * rng.uniform(0.45, 0.85))
    out = np.empty((h, w, 3), np.float32)
    out[:horizon] = _linear_gradient(rng, horizon, w)
    out[horizon:] = (_tiles(rng, h - horizon, w) if rng.random() < 0.5
                     else _noise_texture(rng, h - horizon, w))
    light = _radial_gradient(rng, h, w).mean(axis=2, keepdims=True) / 255
    return out * (0.6 + 0.6 * light)


@lru_cache(maxsize=16)
def _read_photo(path: str):
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot decode background photo {path}")
    return image


def _photo(rng, h, w, photos):
    """A random crop of a photo, flipped and zoomed, resized to the canvas."""
    image = _read_photo(photos[int(rng.integers(len(photos)))])
    ih, iw = image.shape[:2]
    scale = rng.uniform(0.35, 1.0)
    crop_w = min(iw, max(8, int(round(min(iw, ih * w / h) * scale))))
    crop_h = min(ih, max(8, int(round(crop_w * h / w))))
    x = int(rng.integers(0, iw - crop_w + 1))
    y = int(rng.integers(0, ih - crop_h + 1))
    crop = image[y:y + crop_h, x:x + crop_w]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return cv2.resize(crop, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)


def bundled_photos() -> list[str]:
    """Photos shipped by packages already installed: matplotlib's public-domain sample."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        return []
    path = Path(spec.origin).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"
    return [str(path)] if path.is_file() else []


def list_photos(folder) -> list[str]:
    """Image files below a folder (sorted, so a seed gives the same scenes on every run)."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"photo folder {root} does not exist")
    found = sorted(str(p) for p in root.rglob("*") if is_image_file(p))
    if not found:
        raise FileNotFoundError(f"photo folder {root} holds no {sorted(IMAGE_SUFFIXES)} files")
    return found


# ---------------------------------------------------------------- clutter on the base layer

def _shapes(rng, canvas, count, blur):
    """Furniture, windows, signs, objects: filled polygons, ellipses and boxes."""
    h, w = canvas.shape[:2]
    layer = canvas.copy()
    for _ in range(count):
        colour = _random_colour(rng).tolist()
        kind = rng.integers(4)
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        size = int(rng.uniform(0.05, 0.45) * max(h, w))
        if kind == 0:
            cv2.rectangle(layer, (cx - size // 2, cy - size // 3), (cx + size // 2, cy + size // 3),
                          colour, -1 if rng.random() < 0.7 else int(rng.integers(2, 8)))
        elif kind == 1:
            cv2.ellipse(layer, (cx, cy), (size // 2, int(size * rng.uniform(0.2, 0.6))),
                        rng.uniform(0, 180), 0, 360, colour, -1)
        elif kind == 2:
            points = rng.normal([cx, cy], size / 3, (int(rng.integers(3, 7)), 2)).astype(np.int32)
            cv2.fillPoly(layer, [points], colour)
        else:
            cv2.line(layer, (int(rng.integers(0, w)), int(rng.integers(0, h))),
                     (int(rng.integers(0, w)), int(rng.integers(0, h))), colour,
                     int(rng.integers(1, max(2, size // 10))))
    if blur > 0:
        layer = cv2.GaussianBlur(layer, (0, 0), blur)
    alpha = rng.uniform(0.5, 1.0)
    return canvas * (1 - alpha) + layer * alpha


def _bokeh(rng, canvas):
    """Out-of-focus lights: soft bright discs added on top (street lights, lamps)."""
    h, w = canvas.shape[:2]
    light = np.zeros_like(canvas)
    for _ in range(int(rng.integers(5, 30))):
        radius = int(rng.uniform(0.01, 0.06) * max(h, w)) + 1
        cv2.circle(light, (int(rng.integers(0, w)), int(rng.integers(0, h))), radius,
                   (_random_colour(rng, value=(0.6, 1.0)) * rng.uniform(0.2, 0.7)).tolist(), -1)
    return canvas + cv2.GaussianBlur(light, (0, 0), rng.uniform(1, 4))


SKIN_TONES_RGB = np.array([[255, 224, 196], [241, 194, 160], [224, 172, 135], [198, 134, 98],
                           [141, 85, 54], [93, 60, 40]], np.float32)


def _person(rng, layer, alpha, cx, cy, head):
    """A talking-head silhouette: hair, face, neck, shoulders/torso and arms."""
    skin = SKIN_TONES_RGB[int(rng.integers(len(SKIN_TONES_RGB)))][::-1] * rng.uniform(0.8, 1.1)
    cloth = _random_colour(rng).tolist()
    hair = (_random_colour(rng, saturation=(0.2, 0.7), value=(0.02, 0.45))).tolist()
    skin = np.clip(skin, 0, 255).tolist()
    face_axes = (int(head * 0.42), int(head * 0.55))
    torso_top = cy + int(head * 0.75)
    shoulders = np.array([[cx - head * 1.3, torso_top + head * 0.35], [cx - head * 0.5, torso_top],
                          [cx + head * 0.5, torso_top], [cx + head * 1.3, torso_top + head * 0.35],
                          [cx + head * 1.6, torso_top + head * 4], [cx - head * 1.6, torso_top + head * 4]],
                         np.int32)
    for target, value in ((layer, None), (alpha, 1.0)):
        pick = (lambda c: c) if value is None else (lambda c: value)
        cv2.fillPoly(target, [shoulders], pick(cloth))
        cv2.rectangle(target, (cx - head // 6, cy + head // 3), (cx + head // 6, torso_top + 2),
                      pick(skin), -1)
        cv2.ellipse(target, (cx, cy - head // 10), (int(head * 0.48), int(head * 0.55)), 0, 180, 360,
                    pick(hair), -1)
        cv2.ellipse(target, (cx, cy), face_axes, 0, 0, 360, pick(skin), -1)
        if rng.random() < 0.5:  # arms raised towards the camera
            for side in (-1, 1):
                cv2.line(target, (cx + side * int(head * 1.2), torso_top + head),
                         (cx + side * int(head * rng.uniform(0.4, 1.4)), torso_top + int(head * 0.3)),
                         pick(skin), max(2, head // 4))
    # a little shading so faces are not flat discs
    eye_y = cy - head // 10
    for side in (-1, 1):
        cv2.circle(layer, (cx + side * head // 6, eye_y), max(1, head // 16), (30, 30, 30), -1)
    cv2.ellipse(layer, (cx, cy + head // 4), (head // 7, max(1, head // 20)), 0, 0, 180, (60, 50, 120), -1)


def _people(rng, h, w):
    """1-3 people on their own RGBA layer (they sway between frames, the room does not)."""
    layer = np.zeros((h, w, 3), np.float32)
    alpha = np.zeros((h, w), np.float32)
    count = int(rng.choice([1, 1, 1, 2, 3]))
    for i in range(count):
        head = int(rng.uniform(0.08, 0.22) * min(w, h * 0.75) * (1.8 if count == 1 else 1.0))
        cx = int(w * (rng.uniform(0.3, 0.7) if count == 1 else rng.uniform(0.1, 0.9)))
        cy = int(h * rng.uniform(0.25, 0.6))
        _person(rng, layer, alpha, cx, cy, head)
    soft = rng.uniform(0.6, 2.0)
    return cv2.GaussianBlur(layer, (0, 0), soft), cv2.GaussianBlur(alpha, (0, 0), soft)[..., None]


# ---------------------------------------------------------------- the scene and its frames

BASES = {"linear": _linear_gradient, "radial": _radial_gradient, "noise": _noise_texture,
         "stripes": _stripes, "tiles": _tiles, "room": _room}
BASE_WEIGHTS = np.array([0.14, 0.11, 0.23, 0.13, 0.11, 0.28])


def _vignette(h, w, strength):
    xs, ys = _coords(h, w)
    r2 = (xs - 0.5) ** 2 + (ys - 0.5) ** 2
    return (1 - strength * r2 / 0.5)[..., None].astype(np.float32)


@dataclass
class Scene:
    """One video's background: a canvas, optional people layer, camera path and look."""
    canvas: np.ndarray           # Hc x Wc x 3 float32 BGR, larger than the content area
    people: tuple | None         # (colour layer, alpha) in canvas coordinates, or None
    content_size: tuple          # (w, h) of the picture inside the frame
    frame_size: tuple            # (w, h) of the frame
    letterbox: str               # "none" | "black" | "blur": how a wide clip sits in a tall frame
    camera_start: np.ndarray     # (dx, dy, zoom, roll) at the first frame
    camera_end: np.ndarray       # ... and at the last
    sway: float                  # how far people move between frames (pixels)
    vignette: np.ndarray | None
    grain: float

    def render(self, rng, progress: float) -> np.ndarray:
        """The frame at `progress` in [0, 1] along the clip, as uint8 BGR."""
        cw, ch = self.content_size
        dx, dy, zoom, roll = self.camera_start + (self.camera_end - self.camera_start) * progress
        hc, wc = self.canvas.shape[:2]
        matrix = cv2.getRotationMatrix2D((wc / 2 + dx, hc / 2 + dy), roll, zoom * cw / (wc / CANVAS_MARGIN))
        matrix[:, 2] += (cw / 2 - (wc / 2 + dx), ch / 2 - (hc / 2 + dy))
        view = cv2.warpAffine(self.canvas, matrix, (cw, ch), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT)
        if self.people is not None:  # in-place float32 maths: this runs for every frame
            person_matrix = matrix.copy()
            person_matrix[:, 2] += rng.normal(0, self.sway, 2)
            colour = cv2.warpAffine(self.people[0], person_matrix, (cw, ch), flags=cv2.INTER_LINEAR)
            alpha = cv2.warpAffine(self.people[1], person_matrix, (cw, ch), flags=cv2.INTER_LINEAR)
            colour -= view
            colour *= alpha[..., None]
            view += colour
        gain, bias = rng.uniform(0.92, 1.08), rng.normal(0, 4)  # exposure flicker
        view *= self.vignette * gain if self.vignette is not None else gain
        view += bias
        if self.grain > 0:  # luminance grain
            view += rng.standard_normal((ch, cw, 1), dtype=np.float32) * self.grain
        content = np.clip(view, 0, 255, out=view).astype(np.uint8)
        return self._place(content)

    def _place(self, content):
        fw, fh = self.frame_size
        cw, ch = self.content_size
        if (cw, ch) == (fw, fh):
            return content
        if self.letterbox == "blur":  # Douyin's fill: the clip zoomed to cover, blurred, dimmed
            small_h = max(8, fh // 8)
            small_w = max(1, int(round(cw * small_h / ch)))
            small = cv2.resize(content, (small_w, small_h), interpolation=cv2.INTER_AREA)
            x = max(0, (small_w - fw // 8) // 2)
            small = cv2.GaussianBlur(small[:, x:x + max(1, fw // 8)], (0, 0), 2.5)
            frame = (cv2.resize(small, (fw, fh), interpolation=cv2.INTER_LINEAR) * 0.6).astype(np.uint8)
        else:
            frame = np.zeros((fh, fw, 3), np.uint8)
        y, x = (fh - ch) // 2, (fw - cw) // 2
        frame[y:y + ch, x:x + cw] = content
        return frame


def make_scene(rng, width: int, height: int, photos=(), photo_prob: float = 0.0,
               bases: dict | None = None) -> Scene:
    """Draw one video's scene for frames of width x height pixels; with probability
    photo_prob its base is a crop of one of `photos` instead of a procedural layer.
    `bases`: name -> function(rng, h, w) to draw from, at BASE_WEIGHTS (an average
    weight for the others; default: all of BASES; synth.textures.scene_bases gives each
    domain's)."""
    letterbox = "none"
    content_w, content_h = width, height
    if height > width and rng.random() < 0.15:  # a landscape clip shown in a portrait frame
        letterbox = "blur" if rng.random() < 0.5 else "black"
        content_h = int(round(width * rng.uniform(0.5, 0.8)))
    wc, hc = int(content_w * CANVAS_MARGIN), int(content_h * CANVAS_MARGIN)

    if photos and rng.random() < photo_prob:
        canvas = _photo(rng, hc, wc, photos)
    else:
        pool = BASES if bases is None else bases
        known = dict(zip(BASES, BASE_WEIGHTS))   # the others weigh as an average base
        weights = np.array([known.get(name, BASE_WEIGHTS.mean()) for name in pool])
        base = list(pool)[int(rng.choice(len(pool), p=weights / weights.sum()))]
        canvas = pool[base](rng, hc, wc)

    for _ in range(int(rng.integers(0, 4))):
        canvas = _shapes(rng, canvas, int(rng.integers(1, 12)), blur=rng.choice([0, 0, 2, 6, 15]))
    if rng.random() < 0.2:
        canvas = _bokeh(rng, canvas)
    if rng.random() < 0.35:  # depth of field: the whole background out of focus
        canvas = cv2.GaussianBlur(canvas, (0, 0), rng.uniform(1, 6))
    canvas = canvas * rng.uniform(0.6, 1.25) + rng.normal(0, 15)  # exposure / colour cast

    people = _people(rng, hc, wc) if rng.random() < 0.45 else None
    travel = np.array([0.04 * wc, 0.04 * hc, 0.03, 1.0])
    start = rng.uniform(-1, 1, 4) * travel
    end = start + rng.normal(0, 0.3, 4) * travel
    start[2] += 1.0
    end[2] += 1.0
    return Scene(
        canvas=canvas.astype(np.float32), people=people, content_size=(content_w, content_h),
        frame_size=(width, height), letterbox=letterbox, camera_start=start, camera_end=end,
        sway=rng.uniform(0, 0.01) * wc,
        vignette=_vignette(content_h, content_w, rng.uniform(0.1, 0.6)) if rng.random() < 0.5 else None,
        grain=float(rng.choice([0, 0, 2, 4, 7])))


# ---------------------------------------------------------------- crop-level backgrounds

# Background sources split like the fonts (synth.fonts.SPLITS): the recogniser trains on
# the first group, the unseen-domain test draws its backgrounds from the second only.
BASE_SPLITS = {"train": ("linear", "radial", "noise", "room", "flat"),
               "heldout": ("stripes", "tiles", "flat")}


def _flat(rng, h, w):
    """A flat colour with a faint gradient: the sky, a wall, a letterbox, a UI panel."""
    return np.full((h, w, 3), _random_colour(rng), np.float32) + \
        _linear_gradient(rng, h, w) * rng.uniform(0, 0.15)


def crop_background(rng, h: int, w: int, split: str = "train", photos=(),
                    photo_prob: float = 0.0) -> np.ndarray:
    """A small float32 BGR background for one recogniser crop: a base of the split's
    sources (or a crop of one of `photos`), then the clutter, blur, exposure and grain
    `make_scene` gives whole frames, at a fraction of its cost."""
    if photos and rng.random() < photo_prob:
        canvas = _photo(rng, h, w, photos)
    else:
        names = BASE_SPLITS[split]
        base = names[int(rng.integers(len(names)))]
        canvas = _flat(rng, h, w) if base == "flat" else BASES[base](rng, h, w)
    if rng.random() < 0.5:
        canvas = _shapes(rng, canvas, int(rng.integers(1, 6)), blur=rng.choice([0, 0, 2, 6]))
    if rng.random() < 0.15:
        canvas = _bokeh(rng, canvas)
    if rng.random() < 0.3:
        canvas = cv2.GaussianBlur(canvas, (0, 0), rng.uniform(0.5, 4))
    canvas = canvas * rng.uniform(0.5, 1.3) + rng.normal(0, 15)
    if rng.random() < 0.4:
        canvas = canvas + rng.standard_normal((h, w, 1), dtype=np.float32) * rng.uniform(1, 8)
    return np.clip(canvas, 0, 255).astype(np.float32)
