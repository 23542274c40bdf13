"""Writing a torch network as one self-contained `.onnx` file with JSON metadata: the
helper both stages' exports use (`ppocr_ext.onnx_export` for the recogniser,
`localization.onnx_export` for the localiser).

Exporting uses torch's `torch.export`-based exporter (`dynamo=True`, needs `onnx` and
`onnxscript`); the older TorchScript exporter cannot export SVTR's adaptive pooling
with a dynamic batch. Weights are stored inside the `.onnx` (not as a `.onnx.data` side
file) so a model is one file to ship.
"""
from __future__ import annotations

import inspect
import json
import logging
import os
import warnings
from contextlib import contextmanager
from pathlib import Path

import onnx
import torch

from common.atomic import atomic_path
from common.errors import UserError

OPSET = 18


class OnnxExportError(UserError, RuntimeError):
    """An export that failed or a file that is not one of ours; says which."""


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


def export_module(net: torch.nn.Module, example: torch.Tensor, out_path: str | os.PathLike,
                  input_name: str, output_names: list[str], dynamic_axes: dict[int, str],
                  metadata: dict[str, dict], opset: int = OPSET) -> Path:
    """Export `net` (one tensor in) to a single `.onnx` file, atomically, with JSON
    `metadata`; `dynamic_axes` maps input dimensions to names (e.g. {0: "batch"})."""
    out_path = Path(out_path)
    if out_path.suffix != ".onnx":
        raise OnnxExportError(f"{out_path}: the output name must end in .onnx")
    dims = {axis: torch.export.Dim(name, min=1, max=1 << 16) for axis, name in dynamic_axes.items()}
    try:
        with atomic_path(out_path) as temporary:
            with warnings.catch_warnings(), _quiet_exporter():
                warnings.simplefilter("ignore")   # exporter chatter (torchvision ops, treespec)
                program = torch.onnx.export(net.float().eval().cpu(), (example,), dynamo=True,
                                            opset_version=opset, input_names=[input_name],
                                            output_names=output_names,
                                            dynamic_shapes={_forward_argument(net): dims},
                                            verbose=False)
            program.save(str(temporary), external_data=False)
            model = onnx.load(str(temporary))
            for key, value in metadata.items():
                entry = model.metadata_props.add()
                entry.key, entry.value = key, json.dumps(value)
            onnx.checker.check_model(model)
            onnx.save(model, str(temporary))
    except Exception as err:
        raise OnnxExportError(f"exporting {type(net).__name__} to {out_path} failed: "
                              f"{type(err).__name__}: {err}") from err
    return out_path


def _forward_argument(net: torch.nn.Module) -> str:
    """Name of the forward's tensor argument (torch.export keys dynamic shapes by it)."""
    return next(iter(inspect.signature(net.forward).parameters))


def quantize_int8(source: str | os.PathLike, out_path: str | os.PathLike) -> Path:
    """An int8 copy of an exported model (onnxruntime's dynamic quantisation: weights of
    MatMul/Conv in int8, activations quantised per batch at run time), metadata kept, one
    file written atomically. Why: on 2 AVX512 cores the released recogniser runs 150
    crops/s instead of 114-122 (fp32) and reads the same share of 512 validation crops
    (0.6816; 483 of 512 strings identical), at a third of the size (6.1 vs 18.6 MB)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    out_path = Path(out_path)
    if out_path.suffix != ".onnx":
        raise OnnxExportError(f"{out_path}: the output name must end in .onnx")
    try:
        with atomic_path(out_path) as temporary:
            quantize_dynamic(str(source), str(temporary), weight_type=QuantType.QInt8)
    except Exception as err:
        raise OnnxExportError(f"quantising {source} to int8 failed: {type(err).__name__}: "
                              f"{err}") from err
    return out_path
