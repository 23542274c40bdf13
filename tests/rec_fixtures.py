"""Shared helpers of the recogniser tests: rendered crops, LMDBs and a tiny config.

The tiny config inherits the real `svtr_tiny_cpu.yml` (so it exercises `_BASE_`, the
dictionary, loss, metric and schedule of the shipped recipe) and only shrinks the
network and the input (32x64) so that a few dozen steps take seconds on a shared CPU.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from common.lmdb_io import write_lmdb

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs" / "rec"
DICT = ROOT / "common" / "dicts" / "id62.txt"
WORDS = ("a1B2c3D4", "Zz09Yy18", "QwEr7Ty5", "k3K8m5M6")


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Run these tests on one intra-op thread: on a CPU shared with other jobs, two
    OpenMP threads that wait on each other made a tiny training step 60x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def render_crop(text: str, seed: int = 0) -> bytes:
    """PNG of white text on a dark background, with a seed-dependent shade and shift."""
    rng = np.random.default_rng(seed)
    image = np.full((32, 200, 3), int(rng.integers(0, 80)), np.uint8)
    cv2.putText(image, text, (int(rng.integers(2, 8)), 24), cv2.FONT_HERSHEY_SIMPLEX, 0.8,
                (255, 255, 255), 2)
    return cv2.imencode(".png", image)[1].tobytes()


def make_lmdb(path: Path, count: int, first_seed: int = 0, identical: bool = False) -> Path:
    """LMDB of `count` crops cycling through WORDS (all the same crop if `identical`)."""
    samples = [(f"crop{i}", render_crop(WORDS[0] if identical else WORDS[i % len(WORDS)],
                                        0 if identical else first_seed + i),
                WORDS[0] if identical else WORDS[i % len(WORDS)]) for i in range(count)]
    write_lmdb(path, samples)
    return path


def _pipeline(encode: str, keep: list[str]) -> list[dict]:
    return [{"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
            {encode: None},
            {"SVTRResize": {"image_shape": [3, 32, 64], "padding": False}},
            {"KeepKeys": {"keep_keys": keep}}]


def tiny_config(tmp_path: Path, train_dir: Path, val_dir: Path | None, **global_keys) -> Path:
    """A YAML file deriving from svtr_tiny_cpu.yml with a tiny SVTR at 32x64."""
    cfg = {
        "_BASE_": [str(CONFIGS / "svtr_tiny_cpu.yml")],
        "Global": {"output_dir": str(tmp_path / "out"), "epoch_num": 2, "print_batch_step": 4,
                   "eval_batch_step": [0, 1000], "save_iter_step": [0, 1000], **global_keys},
        "LRScheduler": {"warmup_epoch": 0.25},
        "Optimizer": {"lr": 0.002},
        "Architecture": {"Encoder": {
            "img_size": [32, 64], "out_char_num": 16, "out_channels": 64,
            "embed_dim": [32, 48, 64], "depth": [1, 1, 1], "num_heads": [2, 2, 2],
            "mixer": ["Local", "Global", "Global"]}},
        "Train": {"dataset": {"data_dir": str(train_dir),
                              "transforms": _pipeline("CTCLabelEncode",
                                                      ["image", "label", "length"])},
                  "loader": {"batch_size_per_card": 16, "num_workers": 0}},
        "Eval": None if val_dir is None else {   # None: no evaluation at all
            "dataset": {"data_dir": str(val_dir),
                        "transforms": _pipeline("CTCLabelEncode", ["image", "label", "length"])},
            "loader": {"batch_size_per_card": 16, "num_workers": 0}},
    }
    path = tmp_path / "tiny.yml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path
