"""Training-time augmentations for low-resolution ID crops, as engine transforms.

Config names (registered in `ppocr_ext/plugins.py`): `TIA`, `StandardAug`,
`LowResAug`, `RobustnessAug`. Put them in `Train.dataset.transforms` after
`DecodeImage` and before the label encoder/resize. Randomness comes from NumPy's
global generator (see `base.py`): `np.random.seed(s)` reproduces a run.

`aug_preset(name)` gives the transform lists of the ablation ladder of seed 000
(none -> standard -> +TIA -> +low-res domain -> +robustness) so experiments differ
only by a preset name; `with_preset(transforms, name)` splices one into a config list,
`build_preset(name)` instantiates one for use outside the engine.
"""
from __future__ import annotations

import copy

from ppocr_ext.augment.lowres import LowResAug
from ppocr_ext.augment.robustness import RobustnessAug
from ppocr_ext.augment.standard import StandardAug
from ppocr_ext.augment.tia import TIA

# Pipeline order, the order a real frame meets these effects: the text's geometry,
# then border/colour/blur, then the scene (noise, rain, fog), then the video's
# downscale and JPEG last.
TRANSFORM_CLASSES = {cls.__name__: cls for cls in (TIA, StandardAug, RobustnessAug, LowResAug)}
# The ablation ladder: each preset adds one family to the previous one.
_LADDER = [("standard", "StandardAug"), ("standard_tia", "TIA"),
           ("standard_tia_lowres", "LowResAug"), ("full", "RobustnessAug")]
PRESETS = ("none",) + tuple(name for name, _ in _LADDER)


def aug_preset(name: str) -> list[dict]:
    """Transform dicts (engine config form, default parameters) of a preset, in
    pipeline order."""
    if name not in PRESETS:
        raise ValueError(f"unknown augmentation preset {name!r}; choose one of {PRESETS}")
    chosen = {family for _, family in _LADDER[:PRESETS.index(name)]}
    return [{family: {}} for family in TRANSFORM_CLASSES if family in chosen]


def build_preset(name: str) -> list:
    """The preset's transforms as callables on an `{'image': ...}` dict (no engine)."""
    return [TRANSFORM_CLASSES[op](**params)
            for step in aug_preset(name) for op, params in step.items()]


def with_preset(transforms: list[dict], name: str) -> list[dict]:
    """A copy of a config's transform list with preset `name` right after
    `DecodeImage` (which yields the numpy image they need), replacing any of ours."""
    kept = [copy.deepcopy(t) for t in transforms if next(iter(t)) not in TRANSFORM_CLASSES]
    decoders = [i for i, t in enumerate(kept) if next(iter(t)) == "DecodeImage"]
    if not decoders:
        raise ValueError("transform list has no DecodeImage step to put augmentations after")
    at = decoders[0] + 1
    return kept[:at] + aug_preset(name) + kept[at:]


__all__ = ["TIA", "StandardAug", "LowResAug", "RobustnessAug", "TRANSFORM_CLASSES",
           "PRESETS", "aug_preset", "build_preset", "with_preset"]
