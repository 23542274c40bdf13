"""Exponential moving averages of weights: DiG's momentum branch and the semi-supervised
mean teacher.

Written here, a few lines, rather than taken from `lightly` (whose `update_momentum`
and cosine schedule are the same formulas): lightly requires torchvision, which does not
install beside this project's torch 2.13 CPU build (DESIGN.md).
"""
from __future__ import annotations

import copy
import math

import torch


@torch.no_grad()
def ema_update(target: torch.nn.Module, source: torch.nn.Module, decay: float) -> None:
    """target <- decay * target + (1 - decay) * source for every parameter. Buffers
    (BatchNorm running statistics, which are averages already) are copied."""
    target_params = dict(target.named_parameters())
    source_params = dict(source.named_parameters())
    if target_params.keys() != source_params.keys():
        raise ValueError("EMA target and source have different parameters: "
                         f"{sorted(target_params.keys() ^ source_params.keys())[:5]}")
    for name, param in target_params.items():
        param.mul_(decay).add_(source_params[name].detach(), alpha=1.0 - decay)
    source_buffers = dict(source.named_buffers())
    for name, buffer in target.named_buffers():
        buffer.copy_(source_buffers[name])


def cosine_momentum(step: int, total_steps: int, base: float, final: float = 1.0) -> float:
    """BYOL's schedule: the decay rises from `base` at step 0 to `final` at the end,
    so the target moves less and less as the online network settles."""
    progress = min(max(step / max(total_steps, 1), 0.0), 1.0)
    return final - (final - base) * (math.cos(math.pi * progress) + 1.0) / 2.0


def frozen_copy(module: torch.nn.Module) -> torch.nn.Module:
    """A copy that receives no gradients and runs in eval mode (no dropout/drop-path
    noise in the targets; BatchNorm uses the running statistics EMA copies over)."""
    copied = copy.deepcopy(module).eval()
    for param in copied.parameters():
        param.requires_grad_(False)
    return copied
