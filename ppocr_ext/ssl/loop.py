"""What the pre-training and semi-supervised loops share: config sections with
checked keys, seeding, bf16 autocast, the run log file and running averages."""
from __future__ import annotations

import logging
import random
from collections import defaultdict, deque
from pathlib import Path

import numpy as np
import torch

from common.hardware import bf16_where_native
from ppocr_ext.rec_config import ConfigError


def section(cfg: dict, name: str, defaults: dict, required: tuple[str, ...] = ()) -> dict:
    """`cfg[name]` merged over `defaults`; unknown or missing keys are errors that
    name the config and list the valid keys (a typo must not silently fall back)."""
    given = cfg.get(name) or {}
    if not isinstance(given, dict):
        raise ConfigError(f"{cfg.get('filename', 'config')}: section '{name}' must be a mapping")
    unknown = sorted(set(given) - set(defaults) - set(required))
    if unknown:
        raise ConfigError(f"{cfg.get('filename', 'config')}: unknown key(s) {unknown} in "
                          f"'{name}'; valid: {sorted(set(defaults) | set(required))}")
    missing = [key for key in required if given.get(key) in (None, "", [])]
    if missing:
        raise ConfigError(f"{cfg.get('filename', 'config')}: '{name}' needs {missing}")
    return {**defaults, **given}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def autocast(enabled: bool):
    """bfloat16 autocast on the CPU when `Global.use_amp` asks for it and the CPU does
    bf16 natively (1.9-2.7x faster there, DESIGN.md; emulated, slower: common.hardware)."""
    return torch.autocast("cpu", dtype=torch.bfloat16,
                          enabled=bf16_where_native(bool(enabled), key="Global.use_amp"))


def log_to_file(logger: logging.Logger, output_dir: str | Path) -> logging.Handler:
    """Also write `logger`'s records to `<output_dir>/train.log` (appending, so a
    resumed run keeps the earlier lines). Returns the handler to remove later."""
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(Path(output_dir) / "train.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s: %(message)s",
                                           "%Y/%m/%d %H:%M:%S"))
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    return handler


class Averages:
    """Running means of the last `window` values of each named number (the log line)."""

    def __init__(self, window: int = 20):
        self.values: dict[str, deque] = defaultdict(lambda: deque(maxlen=window))

    def add(self, **numbers: float) -> None:
        for name, value in numbers.items():
            self.values[name].append(float(value))

    def mean(self, name: str) -> float:
        values = self.values[name]
        return sum(values) / len(values) if values else float("nan")

    def line(self) -> str:
        return ", ".join(f"{name}: {self.mean(name):.4f}" for name in self.values)
