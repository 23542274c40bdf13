"""ONNX export of a trained CTC recogniser, and an onnxruntime recogniser that
reads crops exactly like the torch one.

    export_recognizer(load_torch_recognizer(config, weights), "model.onnx")
    recognizer = load_onnx_recognizer("model.onnx")    # needs no config, no .pth
    probs = recognizer(crops)                           # (N, T, C), as TorchPosteriors

The file is self-contained: the network (one `image` input with a dynamic batch
dimension, `probs` output = the softmax posteriors) and, in its metadata, the
`inference_spec` (dictionary, Eval preprocessing, algorithm) that
`ppocr_ext.posteriors.CropPreprocessor` rebuilds. Weights are stored inside the
`.onnx` (not as a `.onnx.data` side file) so the model is one file to ship.

Exporting uses torch's `torch.export`-based exporter (`dynamo=True`, needs `onnx` and
`onnxscript`); the older TorchScript exporter cannot export SVTR's adaptive pooling
with a dynamic batch. Running needs only `onnxruntime` (plus OpenOCR's preprocessing).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from ppocr_ext.ensemble import greedy_reading
from ppocr_ext.posteriors import (Crop, PosteriorRecognizer, TorchPosteriors,
                                  load_torch_recognizer, read_crops)
from ppocr_ext.rec_config import ConfigError, parse_overrides
from ppocr_ext.rec_train import config_arguments

SPEC_KEY = "ppocr_ext.inference_spec"
SOURCE_KEY = "ppocr_ext.source"
INPUT_NAME, OUTPUT_NAME = "image", "probs"
OPSET = 18


class OnnxExportError(RuntimeError):
    """An export that failed or a file that is not one of ours; says which."""


class _Posteriors(torch.nn.Module):
    """The recogniser with the single tensor input ONNX needs (CTC models ignore the
    engine's extra `data` argument)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.model(image)


@contextmanager
def _quiet_exporter():
    """The exporter logs a warning per torchvision op it cannot register (we never
    install torchvision); keep the user's terminal for what matters."""
    logger = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _example_batch(recognizer: PosteriorRecognizer) -> torch.Tensor:
    """Two preprocessed crops (batch 2, so the exporter keeps the batch dynamic)."""
    crop = np.full((32, 128, 3), 40, np.uint8)
    prepared = [recognizer.prepare(crop)] * 2
    return torch.from_numpy(np.stack([image for image, _ in prepared]))


def export_recognizer(recognizer: TorchPosteriors, out_path: str | os.PathLike,
                      opset: int = OPSET) -> Path:
    """Write `recognizer` as a self-contained ONNX file (atomically); return its path."""
    out_path = Path(out_path)
    if out_path.suffix != ".onnx":
        raise OnnxExportError(f"{out_path}: the output name must end in .onnx")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    net = _Posteriors(recognizer.model).float().eval().cpu()
    example = _example_batch(recognizer)
    batch = torch.export.Dim("batch", min=1, max=4096)
    temporary = out_path.with_name(f".{out_path.name}.tmp-{os.getpid()}")
    try:
        with warnings.catch_warnings(), _quiet_exporter():
            warnings.simplefilter("ignore")   # exporter chatter (torchvision ops, treespec)
            program = torch.onnx.export(net, (example,), dynamo=True, opset_version=opset,
                                        input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                                        dynamic_shapes={"image": {0: batch}}, verbose=False)
        program.save(str(temporary), external_data=False)
        model = onnx.load(str(temporary))
        for key, value in ((SPEC_KEY, json.dumps(recognizer.spec)),
                           (SOURCE_KEY, json.dumps({"weights": recognizer.name,
                                                    "torch": torch.__version__}))):
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.checker.check_model(model)
        onnx.save(model, str(temporary))
        os.replace(temporary, out_path)
    except Exception as err:
        if isinstance(err, OnnxExportError):
            raise
        raise OnnxExportError(f"exporting {recognizer.name} to {out_path} failed: "
                              f"{type(err).__name__}: {err}") from err
    finally:
        temporary.unlink(missing_ok=True)
    return out_path


class OnnxPosteriors(PosteriorRecognizer):
    """An exported recogniser run by onnxruntime; same interface as TorchPosteriors.
    `threads`: onnxruntime's intra-op threads (default: its own choice)."""

    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        path = Path(path)
        if not path.is_file():
            raise OnnxExportError(f"{path}: ONNX file not found")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), options,
                                                providers=ort.get_available_providers())
        except Exception as err:   # onnxruntime raises its own exception types
            raise OnnxExportError(f"{path}: onnxruntime cannot load it ({err})") from err
        metadata = self.session.get_modelmeta().custom_metadata_map
        if SPEC_KEY not in metadata:
            raise OnnxExportError(f"{path}: no '{SPEC_KEY}' metadata; export recognisers "
                                  "with tools/export_onnx.py")
        super().__init__(json.loads(metadata[SPEC_KEY]), name=str(path))
        self.source = json.loads(metadata.get(SOURCE_KEY, "{}"))

    def _forward(self, batch: np.ndarray, ratios: np.ndarray) -> np.ndarray:
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]


def load_onnx_recognizer(path: str | os.PathLike, threads: int | None = None) -> OnnxPosteriors:
    """An exported `.onnx` recogniser as a `PosteriorRecognizer` (call it on crops)."""
    return OnnxPosteriors(path, threads)


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


def _check_crops(source: str | None, count: int = 64) -> list[Crop]:
    """Crops to compare torch and ONNX on: the first `count` of a folder/LMDB, or
    seeded random images when none is given."""
    if source:
        return [sample.data for sample in read_crops(source)[:count]]
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (32, 160, 3), dtype=np.uint8) for _ in range(16)]


def export_main(argv: list[str] | None = None) -> dict:
    """Export a trained CTC recogniser to ONNX and check onnxruntime against torch."""
    parser = config_arguments(argparse.ArgumentParser(description=export_main.__doc__))
    parser.add_argument("--weights", required=True, help="trained weights, e.g. best.pth")
    parser.add_argument("--out", required=True, help="output file, e.g. output/rec/model.onnx")
    parser.add_argument("--check-crops", help="folder or LMDB of crops to compare torch and "
                        "ONNX on (default: 16 random images)")
    parser.add_argument("--opset", type=int, default=OPSET)
    args = parser.parse_args(argv)
    try:
        torch_recognizer = load_torch_recognizer(args.config, args.weights,
                                                 parse_overrides(args.opt))
        path = export_recognizer(torch_recognizer, args.out, args.opset)
        check = compare(torch_recognizer, load_onnx_recognizer(path),
                        _check_crops(args.check_crops))
    except (ConfigError, OnnxExportError, OSError) as err:
        raise SystemExit(f"error: {err}") from err
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    print(f"torch vs onnxruntime on {check['crops']} crops: same string on "
          f"{check['same_strings']}, largest posterior difference {check['max_abs_diff']:.2e}")
    if check["differing"]:
        raise SystemExit(f"error: ONNX reads differ from torch: {check['differing'][:5]}")
    return check
