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

import numpy as np
from PIL import ImageFont

from common.errors import UserError

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


class FontMissingError(UserError, FileNotFoundError):
    """A watermark font file is absent; the message names the file and its Debian package."""


@dataclass(frozen=True)
class FontSet:
    """Resolved, existing font files: the Latin faces to sample from and the CJK face."""
    latin: tuple[tuple[FontFace, str], ...]  # (face, absolute path)
    cjk: tuple[FontFace, str]
    cjk_alternatives: tuple[tuple[FontFace, str], ...] = ()   # drawn from with `cjk`

    def pick_cjk(self, rng) -> tuple[FontFace, str]:
        """The prefix's face: `cjk`, or one of the alternatives when there are any (the
        demo's single face draws nothing from `rng`, so its frames stay byte-identical)."""
        if not self.cjk_alternatives:
            return self.cjk
        choices = (self.cjk,) + self.cjk_alternatives
        return choices[int(rng.integers(len(choices)))]

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


# ------------------------------------------------------------- the crop renderer's faces
# The demo's six faces above are what its frames use; a recogniser trained on them alone
# learns their look (DESIGN.md: 0.15-0.35 on frames made with other faces). The catalogue
# below is every upright free sans (and a few serif, condensed and mono faces) that
# Debian's font packages install, in several weights, split by FAMILY into the faces the
# recogniser trains on and the faces only the unseen-domain test uses, so that test says
# whether it reads glyphs or remembers faces. Paths are relative to CATALOG_ROOT.
CATALOG_ROOT = Path("/usr/share/fonts")
SPLITS = ("train", "heldout")


@dataclass(frozen=True)
class FontFamily:
    """Files of one family: glob patterns below CATALOG_ROOT, its package and split."""
    name: str
    package: str
    patterns: tuple[str, ...]
    split: str
    script: str = "latin"     # "latin" (the ':' and the ID) | "cjk" (the 抖音号 prefix)
    index: int = 0            # face index inside a .ttc collection
    weight: float = 1.0       # sampling weight of the family (shared by its files)
    wide: bool = False        # in the "train" split only when asked (`wide_faces`)


FONT_FAMILIES = (
    FontFamily("liberation", "fonts-liberation", (
        "truetype/liberation/LiberationSans-Regular.ttf", "truetype/liberation/LiberationSans-Bold.ttf",
        "truetype/liberation/LiberationSansNarrow-Regular.ttf",
        "truetype/liberation/LiberationSerif-Regular.ttf"), "train", weight=2.0),
    FontFamily("dejavu", "fonts-dejavu-core", (
        "truetype/dejavu/DejaVuSans.ttf", "truetype/dejavu/DejaVuSans-Bold.ttf",
        "truetype/dejavu/DejaVuSansCondensed.ttf", "truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
        "truetype/dejavu/DejaVuSans-ExtraLight.ttf", "truetype/dejavu/DejaVuSerif.ttf"), "train"),
    FontFamily("freefont", "fonts-freefont-ttf", (
        "truetype/freefont/FreeSans.ttf", "truetype/freefont/FreeSansBold.ttf",
        "truetype/freefont/FreeSerif.ttf"), "train"),
    FontFamily("roboto", "fonts-roboto-unhinted", (
        "truetype/roboto/unhinted/RobotoTTF/Roboto-[RLMB]*[!c].ttf",
        "truetype/roboto/unhinted/RobotoCondensed-[RLMB]*[!c].ttf"), "train", weight=1.5),
    FontFamily("open-sans", "fonts-open-sans", (
        "truetype/open-sans/OpenSans-[RSBLC]*[!c].ttf",), "train", weight=1.5),
    FontFamily("croscore", "fonts-croscore", (
        "truetype/croscore/Arimo-Regular.ttf", "truetype/croscore/Arimo-Bold.ttf",
        "truetype/croscore/Cousine-Regular.ttf", "truetype/croscore/Tinos-Regular.ttf"), "train"),
    FontFamily("noto", "fonts-noto-core", (
        "truetype/noto/NotoSans-Regular.ttf", "truetype/noto/NotoSans-Bold.ttf",
        "truetype/noto/NotoSansDisplay-Regular.ttf", "truetype/noto/NotoSansDisplay-Bold.ttf",
        "truetype/noto/NotoSerif-Regular.ttf"), "train"),
    FontFamily("inter", "fonts-inter", (
        "opentype/inter/Inter-Regular.otf", "opentype/inter/Inter-Medium.otf",
        "opentype/inter/Inter-SemiBold.otf", "opentype/inter/Inter-Bold.otf",
        "opentype/inter/Inter-Light.otf"), "train"),
    FontFamily("urw-nimbus", "fonts-urw-base35", (
        "opentype/urw-base35/NimbusSans-Regular.otf", "opentype/urw-base35/NimbusSans-Bold.otf",
        "opentype/urw-base35/NimbusSansNarrow-Regular.otf",
        "opentype/urw-base35/NimbusSansNarrow-Bold.otf",
        "opentype/urw-base35/NimbusRoman-Regular.otf", "opentype/urw-base35/C059-Roman.otf"), "train"),
    # The wide training faces (`font_catalog(..., wide=True)`, the crop stream's
    # `wide_faces`; release 9's stage): every other upright free sans Debian ships here,
    # geometric (League Spartan, Manrope), rounded (Quicksand, Comfortaa, Dosis), humanist
    # (Oxygen, Gillius, Andika, Tuffy, Karla), square (Jura) and M+ (Thin to Bold). Why:
    # release 8's per-face table (bench/release.md) reads the unseen domain's geometric
    # and light faces lowest (URW Gothic Book 0.12 / 0.42 exact, Lato Light 0.15 / 0.55,
    # Cantarell Light 0.15 / 0.69 at 1/1.7 / train resolution) while its training faces
    # held no geometric sans and few light weights. Older stages' streams stay as they were.
    FontFamily("league-spartan", "fonts-league-spartan", (
        "opentype/league-spartan/LeagueSpartan-ExtraLight.otf", "opentype/league-spartan/LeagueSpartan-Light.otf",
        "opentype/league-spartan/LeagueSpartan-Regular.otf", "opentype/league-spartan/LeagueSpartan-SemiBold.otf",
        "opentype/league-spartan/LeagueSpartan-Bold.otf"), "train", wide=True),
    FontFamily("manrope", "fonts-manrope", (
        "truetype/manrope/Manrope-ExtraLight.ttf", "truetype/manrope/Manrope-Light.ttf",
        "truetype/manrope/Manrope-Regular.ttf", "truetype/manrope/Manrope-SemiBold.ttf",
        "truetype/manrope/Manrope-Bold.ttf"), "train", wide=True),
    FontFamily("quicksand", "fonts-quicksand", (
        "truetype/quicksand/Quicksand-Light.ttf", "truetype/quicksand/Quicksand-Regular.ttf",
        "truetype/quicksand/Quicksand-Bold.ttf"), "train", wide=True),
    FontFamily("comfortaa", "fonts-comfortaa", (
        "truetype/comfortaa/Comfortaa-Light.ttf", "truetype/comfortaa/Comfortaa-Regular.ttf",
        "truetype/comfortaa/Comfortaa-Bold.ttf"), "train", wide=True),
    FontFamily("dosis", "fonts-dosis", (
        "opentype/dosis/Dosis-ExtraLight.otf", "opentype/dosis/Dosis-Light.otf",
        "opentype/dosis/Dosis-Book.otf", "opentype/dosis/Dosis-SemiBold.otf",
        "opentype/dosis/Dosis-Bold.otf"), "train", wide=True),
    FontFamily("oxygen", "fonts-oxygen", (
        "truetype/oxygen/Oxygen-Sans.ttf", "truetype/oxygen/Oxygen-Sans-Bold.ttf"), "train", wide=True),
    FontFamily("gillius", "fonts-adf-gillius", (
        "truetype/adf/GilliusADF-Regular.otf", "truetype/adf/GilliusADF-Bold.otf",
        "truetype/adf/GilliusADF-Cond.otf", "truetype/adf/GilliusADFNo2-Regular.otf"), "train", wide=True),
    FontFamily("andika", "fonts-sil-andika", (
        "truetype/andika/Andika-Regular.ttf", "truetype/andika/Andika-Bold.ttf"), "train", wide=True),
    FontFamily("tuffy", "fonts-tuffy", (
        "truetype/tuffy/Tuffy.ttf", "truetype/tuffy/Tuffy_Bold.ttf"), "train", wide=True),
    FontFamily("karla", "fonts-karla", (
        "truetype/karla/Karla-ExtraLight.otf", "truetype/karla/Karla-Light.otf",
        "truetype/karla/Karla-Regular.otf", "truetype/karla/Karla-Bold.otf"), "train", wide=True),
    FontFamily("jura", "fonts-jura", (
        "opentype/jura/Jura-Light.otf", "opentype/jura/Jura-Regular.otf",
        "opentype/jura/Jura-Bold.otf"), "train", wide=True),
    FontFamily("mplus", "fonts-mplus", (
        "opentype/mplus/Mplus1-Thin.otf", "opentype/mplus/Mplus1-Light.otf",
        "opentype/mplus/Mplus1-Regular.otf", "opentype/mplus/Mplus1-Bold.otf",
        "opentype/mplus/Mplus2-Light.otf", "opentype/mplus/Mplus2-Regular.otf"), "train", wide=True),
    # held out: never seen in training, only by the unseen-domain test
    FontFamily("lato", "fonts-lato", (
        "truetype/lato/Lato-Regular.ttf", "truetype/lato/Lato-Medium.ttf",
        "truetype/lato/Lato-Semibold.ttf", "truetype/lato/Lato-Bold.ttf",
        "truetype/lato/Lato-Heavy.ttf", "truetype/lato/Lato-Light.ttf"), "heldout"),
    FontFamily("carlito", "fonts-crosextra-carlito", (
        "truetype/crosextra/Carlito-Regular.ttf", "truetype/crosextra/Carlito-Bold.ttf"), "heldout"),
    FontFamily("cantarell", "fonts-cantarell", (
        "opentype/cantarell/Cantarell-Regular.otf", "opentype/cantarell/Cantarell-Bold.otf",
        "opentype/cantarell/Cantarell-Light.otf"), "heldout"),
    FontFamily("urw-gothic", "fonts-urw-base35", (
        "opentype/urw-base35/URWGothic-Book.otf", "opentype/urw-base35/URWGothic-Demi.otf",
        "opentype/urw-base35/P052-Roman.otf"), "heldout"),
    # the 抖音号 prefix
    FontFamily("wqy-microhei", "fonts-wqy-microhei", ("truetype/wqy/wqy-microhei.ttc",), "train", "cjk"),
    FontFamily("wqy-zenhei", "fonts-wqy-zenhei", ("truetype/wqy/wqy-zenhei.ttc",), "train", "cjk"),
    FontFamily("arphic-uming", "fonts-arphic-uming", ("truetype/arphic/uming.ttc",), "train", "cjk"),
    FontFamily("noto-cjk", "fonts-noto-cjk", ("opentype/noto/NotoSansCJK-Regular.ttc",
                                              "opentype/noto/NotoSansCJK-Bold.ttc"),
               "heldout", "cjk", index=2),   # index 2: the Simplified Chinese face
    FontFamily("arphic-ukai", "fonts-arphic-ukai", ("truetype/arphic/ukai.ttc",), "heldout", "cjk"),
)
CATALOG_PACKAGES = tuple(sorted({family.package for family in FONT_FAMILIES}))


@dataclass(frozen=True)
class CatalogFace:
    family: str
    path: str
    index: int
    weight: float


@dataclass(frozen=True)
class FontCatalog:
    """The resolved faces of one split: Latin faces for the ID, CJK faces for the prefix."""
    split: str
    latin: tuple[CatalogFace, ...]
    cjk: tuple[CatalogFace, ...]

    def sample(self, rng, script: str) -> CatalogFace:
        faces = self.latin if script == "latin" else self.cjk
        weights = np.array([face.weight for face in faces])
        return faces[int(rng.choice(len(faces), p=weights / weights.sum()))]


def font_catalog(split: str, root=CATALOG_ROOT, wide: bool = False) -> FontCatalog:
    """Every face of `split` that is installed (with the wide training faces when `wide`);
    fail naming the packages of any family that has no file (`make fonts` installs them all)."""
    if split not in SPLITS:
        raise ValueError(f"font split must be one of {SPLITS}, got {split!r}")
    root = Path(root)
    faces, missing = {"latin": [], "cjk": []}, []
    for family in (f for f in FONT_FAMILIES if f.split == split and (wide or not f.wide)):
        paths = sorted({str(p) for pattern in family.patterns for p in root.glob(pattern)})
        if not paths:
            missing.append(f"{family.name} ({family.package})")
        faces[family.script] += [CatalogFace(family.name, p, family.index, family.weight / len(paths))
                                 for p in paths]
    if missing:
        raise FontMissingError(f"no font file under {root} for the {split} famil"
                               f"{'y' if len(missing) == 1 else 'ies'} {', '.join(missing)}: "
                               "install the packages with `make fonts`")
    return FontCatalog(split, tuple(faces["latin"]), tuple(faces["cjk"]))


def catalog_fontset(split: str, root=CATALOG_ROOT) -> FontSet:
    """The frame generator's FontSet made of one catalogue split: frames whose faces the
    recogniser never trained on (`synth_frames.py --domain heldout`)."""
    catalog = font_catalog(split, root)
    as_pair = lambda face: (FontFace(face.family, face.path, face.family, face.weight, face.index),
                            face.path)
    cjk = [as_pair(face) for face in catalog.cjk]
    return FontSet(latin=tuple(as_pair(face) for face in catalog.latin), cjk=cjk[0],
                   cjk_alternatives=tuple(cjk[1:]))
