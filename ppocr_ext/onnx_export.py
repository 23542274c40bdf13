"""ONNX export of a trained CTC recogniser, and the check that onnxruntime reads crops
exactly like torch.

    export_recognizer(load_torch_recognizer(config, weights), "model.onnx")
    recognizer = load_onnx_recognizer("model.onnx")    # ppocr_ext.posteriors: needs no
    probs = recognizer(crops)                           # config, no .pth; (N, T, C)

The file is self-contained: the network (one `image` input with a dynamic batch
dimension, `probs` output = the softmax posteriors) and, in its metadata, the
`inference_spec` (dictionary, Eval preprocessing, algorithm) that
`ppocr_ext.posteriors.CropPreprocessor` rebuilds. Weights are stored inside the
`.onnx` (not as a `.onnx.data` side file) so the model is one file to ship
(`common.onnx_io.export_module`). Running needs only `onnxruntime` (plus OpenOCR's
preprocessing): `ppocr_ext.posteriors.OnnxPosteriors`.

The localiser's networks export in `localization.onnx_export`; `tools/export_onnx.py`
(`pipeline.export_onnx`) drives both.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from common.onnx_io import OPSET, OnnxExportError, export_module
from ppocr_ext.ctc import greedy_reading
from ppocr_ext.posteriors import (INPUT_NAME, OUTPUT_NAME, SOURCE_KEY, SPEC_KEY, Crop,
                                  PosteriorRecognizer, TorchPosteriors, read_crops)


class _Posteriors(torch.nn.Module):
    """The recogniser with the single tensor input ONNX needs (CTC models ignore the
    engine's extra `data` argument)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.model(image)


def _example_batch(recognizer: PosteriorRecognizer) -> torch.Tensor:
    """Two preprocessed crops (batch 2, so the exporter keeps the batch dynamic)."""
    crop = np.full((32, 128, 3), 40, np.uint8)
    prepared = [recognizer.prepare(crop)] * 2
    return torch.from_numpy(np.stack([image for image, _ in prepared]))


def export_recognizer(recognizer: TorchPosteriors, out_path: str | os.PathLike,
                      opset: int = OPSET) -> Path:
    """Write `recognizer` as a self-contained ONNX file (atomically); return its path."""
    return export_module(_Posteriors(recognizer.model), _example_batch(recognizer), out_path,
                         INPUT_NAME, [OUTPUT_NAME], {0: "batch"},
                         {SPEC_KEY: recognizer.spec,
                          SOURCE_KEY: {"weights": recognizer.name, "torch": torch.__version__}},
                         opset)


def compare(reference: PosteriorRecognizer, other: PosteriorRecognizer,
            crops: list[Crop]) -> dict:
    """How far two recognisers' posteriors and greedy strings are apart on `crops`."""
    a, b = reference(crops), other(crops)
    if a.shape != b.shape:
        raise OnnxExportError(f"posterior shapes differ: {a.shape} vs {b.shape}")
    texts_a = [greedy_reading(p, reference.charset).text for p in a]
    texts_b = [greedy_reading(p, other.charset).text for p in b]
    return {"crops": len(crops), "max_abs_diff": float(np.abs(a - b).max()) if a.size else 0.0,
            "same_strings": sum(x == y for x, y in zip(texts_a, texts_b)),
            "differing": [(i, x, y) for i, (x, y) in enumerate(zip(texts_a, texts_b)) if x != y]}


def check_crops(source: str | None, count: int = 64) -> list[Crop]:
    """Crops to compare torch and ONNX on: the first `count` of a folder/LMDB, or
    seeded random images when none is given."""
    if source:
        return [sample.data for sample in read_crops(source)[:count]]
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (32, 160, 3), dtype=np.uint8) for _ in range(16)]
