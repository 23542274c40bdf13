"""The learning-rate schedule of the project's own training loops (the localiser's
networks, the copy descriptor): linear warm-up, then a cosine to zero. The recognisers
use the engine's schedulers instead."""
from __future__ import annotations

import math


def cosine_lr(optimizer, base_lr: float, step: int, steps: int, warmup: int) -> float:
    """Set every parameter group's lr for `step` (0-based) of `steps`; return it."""
    lr = base_lr * (step + 1) / warmup if step < warmup else \
        base_lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr
