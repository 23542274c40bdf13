"""A tiny randomly initialised CTC recogniser (config + weights) for fast tests of
posteriors, ensembles, pseudo-labels and ONNX export.

The decoder's weights are scaled up so the untrained network is confidently wrong
(peaked posteriors, non-empty strings) instead of near-uniform: comparisons between
torch and onnxruntime then never hinge on a near tie.
"""
from __future__ import annotations

import copy
from pathlib import Path

import torch

from ppocr_ext.engine import load_engine
from ppocr_ext.rec_config import load_config
from rec_fixtures import tiny_config


def make_tiny_model(folder: Path, seed: int = 0, sharpen: float = 6.0) -> tuple[Path, Path]:
    """Write `folder/tiny.yml` (32x64 input, 16 CTC frames) and `folder/tiny.pth`."""
    load_engine()
    from openrec.modeling import build_model
    from openrec.postprocess import build_post_process

    folder.mkdir(parents=True, exist_ok=True)
    config = tiny_config(folder, folder / "train", folder / "val")
    cfg = load_config(config)
    arch = copy.deepcopy(cfg["Architecture"])
    arch["Decoder"]["out_channels"] = build_post_process(
        cfg["PostProcess"], cfg["Global"]).get_character_num()
    torch.manual_seed(seed)
    model = build_model(arch).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.startswith("decoder"):
                parameter.mul_(sharpen)
    weights = folder / "tiny.pth"
    torch.save({"state_dict": model.state_dict()}, weights)
    return config, weights
