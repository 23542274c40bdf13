"""ONNX export of the localiser's networks: the strip classifier with DDT's projection
baked in (outputs the presence logit, the heatmap, the classifier's score map and, when
the checkpoint has one, the line head's logits), and PSOL's box regressor with its
adaptive pooling written out exactly (the exporter specialises `AdaptiveAvgPool2d` to
the example's width). `check_localizer` compares onnxruntime with torch.

Files exported before this code moved here (from `ppocr_ext.onnx_export`) carry the
same metadata key, `LOCALIZER_KEY`.
"""
from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from common.onnx_io import OPSET, OnnxExportError, export_module
from localization.locator import WorkParams
from localization.model import INPUT_FORMAT
from localization.training import load_classifier, load_line_head, load_regressor, read_payload

LOCALIZER_KEY = "ppocr_ext.localizer"


class _StripScorer(torch.nn.Module):
    """The localiser's strip classifier with DDT's projection baked in: one pass gives
    everything `localization.locator.Locator` computes from the descriptor map: the
    "watermark present" logit, the DDT heatmap (positive = watermark), the classifier's
    score map (side decision, blob pick) and the line head's logits (ID-line choice)."""

    def __init__(self, classifier: torch.nn.Module, mean: np.ndarray, component: np.ndarray,
                 line_head: torch.nn.Module | None = None):
        super().__init__()
        self.classifier, self.line_head = classifier, line_head
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("component",
                             torch.as_tensor(component, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        features = self.classifier.features(image)
        outputs = (self.classifier.score(features), ((features - self.mean) * self.component).sum(1),
                   self.classifier.score_map(features))
        return outputs + ((self.line_head(features),) if self.line_head is not None else ())


def _pool_matrix(size: int, bins: int) -> torch.Tensor:
    """(size, bins) averaging weights of torch's adaptive average pooling along one
    axis: bin i covers [floor(i*size/bins), ceil((i+1)*size/bins))."""
    index = torch.arange(bins)
    starts = (index * size) // bins
    ends = ((index + 1) * size + bins - 1) // bins
    positions = torch.arange(size).unsqueeze(1)
    inside = (positions >= starts.unsqueeze(0)) & (positions < ends.unsqueeze(0))
    return inside.float() / (ends - starts).float().unsqueeze(0)


class _ExactPoolRegressor(torch.nn.Module):
    """PSOL's box regressor with its adaptive pooling written as two matrix products.
    The exporter specialises `AdaptiveAvgPool2d` to the example's size (measured: other
    band widths came out up to 2e-3 off, or failed), so this exact form is exported."""

    def __init__(self, regressor: torch.nn.Module):
        super().__init__()
        self.regressor = regressor

    def forward(self, band: torch.Tensor) -> torch.Tensor:
        net = self.regressor
        features = torch.relu(net.reduce(net.features(band)))
        rows, columns = net.grid
        pooled = features @ _pool_matrix(features.shape[-1], columns)
        pooled = (pooled.transpose(-1, -2) @ _pool_matrix(features.shape[-2], rows)).transpose(-1, -2)
        return torch.sigmoid(net.head(pooled))


def export_localizer(classifier: torch.nn.Module, projection, out_dir: str | os.PathLike,
                     regressor: torch.nn.Module | None = None, work: dict | None = None,
                     opset: int = OPSET, line_head: torch.nn.Module | None = None) -> list[Path]:
    """Write `out_dir/strip_classifier.onnx` (input `image`: gray working-resolution
    pixels as `localization.model.normalise` makes them, (B, 1, H, W), all dynamic;
    outputs `logit` (B,), `heatmap` and `score_map` (B, H/4, W/4), and with a
    `line_head` `line` (B, H/4, W/4)) and, for PSOL,
    `out_dir/box_regressor.onnx` (input `band` (B, 1, strip_height, W); output `box`
    (B, 4), fractions of the band). `work` (the working resolution) goes into both
    files' metadata so a runtime can prepare frames without the training config, and the
    line head's typical line height (`line_height`, the ID-line cut's floor) with it."""
    out_dir = Path(out_dir)
    strip_height = int((work or {}).get("strip_height", 32))
    info = {"work": work, "stride": 4, "normalise": INPUT_FORMAT,
            "line_height": getattr(line_head, "line_height", None), "torch": torch.__version__}
    outputs = ["logit", "heatmap", "score_map"] + (["line"] if line_head is not None else [])
    paths = [export_module(_StripScorer(classifier, projection.mean, projection.component, line_head),
                           torch.zeros(2, 1, 2 * strip_height, 160),
                           out_dir / "strip_classifier.onnx", "image", outputs,
                           {0: "batch", 2: "height", 3: "width"},
                           {LOCALIZER_KEY: {**info, "network": "strip_classifier+ddt"}}, opset)]
    if regressor is not None:
        paths.append(export_module(_ExactPoolRegressor(regressor),
                                   torch.zeros(2, 1, strip_height, 160),
                                   out_dir / "box_regressor.onnx", "band", ["box"],
                                   {0: "batch", 3: "width"},
                                   {LOCALIZER_KEY: {**info, "network": "box_regressor"}}, opset))
    return paths


def load_localizer_checkpoints(classifier_path: str | os.PathLike,
                               regressor_path: str | os.PathLike | None = None):
    """(classifier, DDT projection, regressor or None, working resolution, line head or
    None) from the checkpoints `localization` saves (`model.checkpoint`, `psol.checkpoint`)."""
    try:
        work = WorkParams(**read_payload(Path(classifier_path), "work")["work"])
        classifier, projection = load_classifier(Path(classifier_path), work)
        line_head = load_line_head(Path(classifier_path))
        regressor = load_regressor(Path(regressor_path), work) if regressor_path else None
    except (OSError, KeyError, TypeError, ValueError, RuntimeError) as err:
        raise OnnxExportError(f"{classifier_path}{', ' + str(regressor_path) if regressor_path else ''}: "
                              f"not a localisation checkpoint this version reads ({err})") from err
    return classifier, projection, regressor, asdict(work), line_head


def check_localizer(paths: list[Path], classifier, projection, regressor=None,
                    strip_height: int = 32, line_head=None) -> float:
    """Largest difference between onnxruntime and torch outputs of the exported
    localiser networks on seeded random inputs of a size unseen at export, relative to
    the output's scale (heatmaps are unnormalised projections)."""
    rng = np.random.default_rng(0)
    worst = 0.0
    nets = [(_StripScorer(classifier, projection.mean, projection.component, line_head),
             (3, 1, 96, 248))]
    if regressor is not None:
        nets.append((regressor, (3, 1, strip_height, 248)))
    for path, (net, shape) in zip(paths, nets):
        image = rng.uniform(-0.5, 0.5, shape).astype(np.float32)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        with torch.no_grad():
            expected = net.eval()(torch.from_numpy(image))
        expected = expected if isinstance(expected, tuple) else (expected,)
        for got, want in zip(session.run(None, {session.get_inputs()[0].name: image}), expected):
            scale = max(float(np.abs(want.numpy()).max()), 1.0)
            worst = max(worst, float(np.abs(got - want.numpy()).max()) / scale)
    return worst
