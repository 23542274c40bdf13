"""The learned copy descriptor: a small CNN mapping a frame to a 128-d unit vector such that
a repost of a frame lands near it (trained in copydetect.training, configs/copy/).

Why this shape: the seed's write-up (a triplet-loss ResNet, 0.46 uAP) and SSCD (~0.7 on
the 2021 challenge) both use a CNN with global pooling and an L2-normalised projection;
here the frames are generated, small and the budget is two CPU cores, so the network is
four stride-2 stages of two 3x3 convolutions (32-192 channels, 0.88M parameters) on a
128x128 input with GeM pooling (SSCD's choice: it keeps the strongest local evidence,
which survives crops and overlays better than an average). The square input ignores the
aspect ratio on purpose: crops change it.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from common.atomic import atomic_path
from common.torch_files import CheckpointError, read_checkpoint

MEAN = np.array([0.45, 0.45, 0.45], np.float32)
STD = np.array([0.25, 0.25, 0.25], np.float32)


def _stage(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class GeM(nn.Module):
    """Generalised mean pooling, p learned (3 at the start, as SSCD)."""

    def __init__(self, p: float = 3.0):
        super().__init__()
        self.p = nn.Parameter(torch.tensor(p))

    def forward(self, x):
        return x.clamp(min=1e-6).pow(self.p).mean((2, 3)).pow(1.0 / self.p)


class CopyDescriptor(nn.Module):
    def __init__(self, channels=(32, 64, 128, 192), dim: int = 128, input_size: int = 128):
        super().__init__()
        self.config = {"channels": list(channels), "dim": dim, "input_size": input_size}
        self.stem = nn.Sequential(nn.Conv2d(3, channels[0], 3, 2, 1, bias=False),
                                  nn.BatchNorm2d(channels[0]), nn.ReLU(inplace=True))
        self.stages = nn.Sequential(*[_stage(a, b) for a, b in zip([channels[0], *channels[:-1]], channels)])
        self.pool = GeM()
        self.project = nn.Linear(channels[-1], dim)

    def forward(self, x):
        return F.normalize(self.project(self.pool(self.stages(self.stem(x)))).float(), dim=1)


def preprocess(images, input_size: int) -> torch.Tensor:
    """BGR uint8 frames of any size -> a normalised (n, 3, s, s) float batch."""
    small = np.empty((len(images), input_size, input_size, 3), np.uint8)
    for i, image in enumerate(images):
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        small[i] = cv2.resize(image, (input_size, input_size), interpolation=cv2.INTER_AREA)
    # normalised in one tensor operation, not per frame in NumPy: half the time (0.26 vs
    # 0.46 s for 512 frames on 2 cores), the same values
    batch = torch.from_numpy(small[..., ::-1].copy()).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(MEAN, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32).view(1, 3, 1, 1)
    return ((batch - mean) / std).contiguous()


@torch.inference_mode()
def describe(model: CopyDescriptor, images, batch: int = 128) -> np.ndarray:
    """(n, dim) float32 unit vectors of `images` (BGR uint8), in order."""
    model.eval()
    size = model.config["input_size"]
    # channels-last convolutions: 1.1 s instead of 1.8 s for 512 frames on 2 AVX2 cores
    # (the same vectors within 4e-7)
    out = [model(preprocess(images[i:i + batch], size).contiguous(memory_format=torch.channels_last)).numpy()
           for i in range(0, len(images), batch)]
    return np.concatenate(out) if out else np.zeros((0, model.config["dim"]), np.float32)


def save_descriptor(model: CopyDescriptor, path, extra: dict | None = None) -> None:
    """The weights and the shape needed to rebuild the network, written atomically."""
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save({"config": model.config, "state_dict": model.state_dict(), **(extra or {})}, tmp)


def load_descriptor(path) -> CopyDescriptor:
    payload = read_checkpoint(path)
    if "config" not in payload or "state_dict" not in payload:
        raise CheckpointError(f"{Path(path)}: not a copy descriptor (no 'config'/'state_dict'); "
                              "train one with tools/train_descriptor.py")
    model = CopyDescriptor(**payload["config"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as err:
        raise CheckpointError(f"{Path(path)}: weights do not fit the descriptor network "
                              f"({str(err).splitlines()[0]})") from err
    return model.eval().to(memory_format=torch.channels_last)   # see describe()
