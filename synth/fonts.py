"""The watermark's typefaces, where they live, and which Debian package installs each.

The `抖音号` prefix needs a CJK face (WenQuanYi Micro Hei); the ':' and the ID are set in a
Latin sans. Several Latin faces are mixed on purpose: Liberation Sans has Arial's metrics and
its `I` and `l` are both a bare vertical bar (at 14 px they differ by one pixel of height and a
fraction of advance; after the 1/1.7 downscale by at most 7/255: the task's accuracy
ceiling), while DejaVu Sans and FreeSans draw them further apart. Fonts come from Debian packages (`make
fonts`) rather than from the repository, so a missing file is reported with the package
that provides it instead of a bare OSError from FreeType.
"""
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

DEFAULT_FONT_ROOT = Path("/usr/share/fonts/truetype")


@dataclass(frozen=True)
class FontFace:
    """A font file below the font root, the package that ships it, and its sampling weight."""
    name: str
    relative_path: str
    package: str
    weight: float = 1.0
    index: int = 0  # face index inside a .ttc collection


# Weights favour the Arial-metric face (the typical system sans of a phone export) while
# keeping enough of the others that a recogniser does not learn one face only.
LATIN_FACES = {face.name: face for face in (
    FontFace("liberation-sans", "liberation/LiberationSans-Regular.ttf", "fonts-liberation", 3.0),
    FontFace("liberation-sans-bold", "liberation/LiberationSans-Bold.ttf", "fonts-liberation", 2.0),
    FontFace("dejavu-sans", "dejavu/DejaVuSans.ttf", "fonts-dejavu-core", 1.0),
    FontFace("dejavu-sans-bold", "dejavu/DejaVuSans-Bold.ttf", "fonts-dejavu-core", 1.0),
    FontFace("free-sans", "freefont/FreeSans.ttf", "fonts-freefont-ttf", 1.0),
    FontFace("free-sans-bold", "freefont/FreeSansBold.ttf", "fonts-freefont-ttf", 1.0),
)}
CJK_FACE = FontFace("wqy-microhei", "wqy/wqy-microhei.ttc", "fonts-wqy-microhei")


class FontMissingError(FileNotFoundError):
    """A watermark font file is absent; the message names the file and its Debian package."""


@dataclass(frozen=True)
class FontSet:
    """Resolved, existing font files: the Latin faces to sample from and the CJK face."""
    latin: tuple[tuple[FontFace, str], ...]  # (face, absolute path)
    cjk: tuple[FontFace, str]

    def latin_weights(self):
        total = sum(face.weight for face, _ in self.latin)
        return [face.weight / total for face, _ in self.latin]


def resolve_fonts(latin_names=None, font_root=DEFAULT_FONT_ROOT) -> FontSet:
    """Check that every requested face exists under font_root; fail naming file and package.

    latin_names: names from LATIN_FACES (default: all of them).
    """
    names = list(LATIN_FACES) if latin_names is None else list(latin_names)
    unknown = [n for n in names if n not in LATIN_FACES]
    if unknown or not names:
        raise ValueError(f"unknown Latin font(s) {unknown or names}; choose from "
                         f"{', '.join(LATIN_FACES)}")
    root = Path(font_root)
    resolved = []
    for face in [LATIN_FACES[n] for n in names] + [CJK_FACE]:
        path = root / face.relative_path
        if not path.is_file():
            raise FontMissingError(
                f"watermark font '{face.name}' not found: {path} does not exist. Install the "
                f"Debian package {face.package} (`make fonts`, or `apt-get install "
                f"{face.package}`), or point --font-root at a folder holding "
                f"{face.relative_path}.")
        resolved.append((face, str(path)))
    return FontSet(latin=tuple(resolved[:-1]), cjk=resolved[-1])


@lru_cache(maxsize=512)
def load_font(path: str, size: int, index: int = 0) -> ImageFont.FreeTypeFont:
    """A FreeType font at a pixel size, cached per process (loading costs ~1 ms)."""
    return ImageFont.truetype(path, size, index=index)
