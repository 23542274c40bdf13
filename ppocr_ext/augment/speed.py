"""Loader throughput of the augmentations, in crops per second on one core.

Training on two CPU cores must not wait for its data: the model itself runs at tens of
images per second, so the loader needs a few hundred crops/s per core of headroom.
Times are the best of several repeats, as process CPU time (the per-core cost, even
while other jobs share the cores) and as wall time.
"""
from __future__ import annotations

import time

import cv2
import numpy as np

from common.labels import DEFAULT_DICT
from ppocr_ext.augment import PRESETS, build_preset, with_preset
from ppocr_ext.augment.lowres import LowResAug
from ppocr_ext.augment.robustness import RobustnessAug
from ppocr_ext.augment.sample import render_sample_crop
from ppocr_ext.augment.standard import StandardAug
from ppocr_ext.augment.tia import TIA
from ppocr_ext.engine import load_engine



def sample_crops(count: int, height: int, width: int) -> list[np.ndarray]:
    """Distinct 15-symbol ID crops of the benchmark size."""
    rng = np.random.default_rng(0)
    symbols = list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    return [render_sample_crop("".join(rng.choice(symbols, 15)), height=height,
                               width=width, seed=i) for i in range(count)]


def crops_per_second(ops: list, samples: list[dict], calls: int,
                     repeats: int = 3) -> tuple[float, float]:
    """(per CPU-second, per wall-second) rates of the chain `ops` over `samples`
    (cycled), each the best of `repeats`. CPU time is the per-core cost even while
    other jobs compete for the cores; wall time is what this process saw."""
    best_cpu = best_wall = float("inf")
    np.random.seed(0)
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(calls):
            data = dict(samples[i % len(samples)])
            for op in ops:
                data = op(data)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return calls / best_cpu, calls / best_wall


def engine_ops(preset: str) -> list:
    """What a loader worker runs per sample: decode the stored JPEG, augment, encode
    the label, resize to a 32x256 model input (the width DESIGN.md recommends)."""
    load_engine()
    from openrec.preprocess import create_operators
    base = [{"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
            {"CTCLabelEncode": None},
            {"SVTRResize": {"image_shape": [3, 32, 256], "padding": False}},
            {"KeepKeys": {"keep_keys": ["image", "label", "length"]}}]
    global_config = {"character_dict_path": str(DEFAULT_DICT), "max_text_length": 25,
                     "use_space_char": False}
    return create_operators(with_preset(base, preset), global_config)


def benchmark_rows(height: int = 40, width: int = 300,
                   calls: int = 500) -> list[tuple[str, tuple[float, float]]]:
    """(what, (crops per CPU-second, per wall-second)) for each family with every step forced on, each
    preset at its training probabilities, and the whole per-sample engine pipeline."""
    cv2.setNumThreads(1)                      # one core: no OpenCV thread pool
    crops = sample_crops(32, height, width)
    arrays = [{"image": crop} for crop in crops]
    encoded = [{"image": cv2.imencode(".jpg", crop)[1].tobytes(), "label": "a8Kx3lQ9z2Wm"}
               for crop in crops]
    forced = [
        ("TIA, all three warps on", [TIA(distort_prob=1, stretch_prob=1, perspective_prob=1)]),
        ("StandardAug, all steps on", [StandardAug(crop_prob=1, color_prob=1, blur_prob=1,
                                                   invert_prob=1)]),
        ("LowResAug, all steps on", [LowResAug(motion_prob=1, downscale_prob=1, jpeg_prob=1)]),
        ("RobustnessAug, all steps on", [RobustnessAug(noise_prob=1, rain_prob=1, fog_prob=1)]),
    ]
    forced.append(("everything on (4 families, every step)",
                   [op for _, ops in forced for op in ops]))
    presets = [(f"preset '{name}' (training probabilities)",
                build_preset(name)) for name in PRESETS[1:]]
    rows = [(label, crops_per_second(ops, arrays, calls)) for label, ops in forced + presets]
    rows += [(f"engine pipeline: decode + preset '{name}' + CTC encode + resize 32x256",
              crops_per_second(engine_ops(name), encoded, calls))
             for name in ("none", "full")]
    return rows
