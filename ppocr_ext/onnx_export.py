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

`export_localizer` exports the localiser's networks the same way: the strip classifier
with DDT's projection baked in (outputs the presence logit, the heatmap, the classifier's
score map and, when the checkpoint has one, the line head's logits), and PSOL's
box regressor with its adaptive pooling written out exactly (the exporter specialises
`AdaptiveAvgPool2d` to the example's width).

Exporting uses torch's `torch.export`-based exporter (`dynamo=True`, needs `onnx` and
`onnxscript`); the older TorchScript exporter cannot export SVTR's adaptive pooling
with a dynamic batch. Running needs only `onnxruntime` (plus OpenOCR's preprocessing).
"""
from __future__ import annotations

import argparse
import inspect
import json
import logging
import os
import platform
import shlex
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import torch

from common.cli import positive_int
from ppocr_ext.engine import load_engine
from ppocr_ext.ensemble import atomic_write_text, greedy_reading
from ppocr_ext.posteriors import (Crop, CropSample, PosteriorRecognizer, TorchPosteriors,
                                  load_torch_recognizer, read_crops)
from ppocr_ext.rec_config import ConfigError, load_config, parse_overrides
from ppocr_ext.rec_train import config_arguments

SPEC_KEY = "ppocr_ext.inference_spec"
SOURCE_KEY = "ppocr_ext.source"
LOCALIZER_KEY = "ppocr_ext.localizer"
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


def export_module(net: torch.nn.Module, example: torch.Tensor, out_path: str | os.PathLike,
                  input_name: str, output_names: list[str], dynamic_axes: dict[int, str],
                  metadata: dict[str, dict], opset: int = OPSET) -> Path:
    """Export `net` (one tensor in) to a single `.onnx` file, atomically, with JSON
    `metadata`; `dynamic_axes` maps input dimensions to names (e.g. {0: "batch"})."""
    out_path = Path(out_path)
    if out_path.suffix != ".onnx":
        raise OnnxExportError(f"{out_path}: the output name must end in .onnx")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    dims = {axis: torch.export.Dim(name, min=1, max=1 << 16) for axis, name in dynamic_axes.items()}
    temporary = out_path.with_name(f".{out_path.name}.tmp-{os.getpid()}")
    try:
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
        os.replace(temporary, out_path)
    except Exception as err:
        raise OnnxExportError(f"exporting {type(net).__name__} to {out_path} failed: "
                              f"{type(err).__name__}: {err}") from err
    finally:
        temporary.unlink(missing_ok=True)
    return out_path


def _forward_argument(net: torch.nn.Module) -> str:
    """Name of the forward's tensor argument (torch.export keys dynamic shapes by it)."""
    return next(iter(inspect.signature(net.forward).parameters))


def export_recognizer(recognizer: TorchPosteriors, out_path: str | os.PathLike,
                      opset: int = OPSET) -> Path:
    """Write `recognizer` as a self-contained ONNX file (atomically); return its path."""
    return export_module(_Posteriors(recognizer.model), _example_batch(recognizer), out_path,
                         INPUT_NAME, [OUTPUT_NAME], {0: "batch"},
                         {SPEC_KEY: recognizer.spec,
                          SOURCE_KEY: {"weights": recognizer.name, "torch": torch.__version__}},
                         opset)


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
    from localization.model import INPUT_FORMAT   # the localiser is optional here
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
    from localization.locator import WorkParams      # optional package: only when asked
    from localization.training import load_classifier, load_line_head, load_regressor

    try:
        work = WorkParams(**torch.load(classifier_path, map_location="cpu",
                                       weights_only=True)["work"])
        classifier, projection = load_classifier(Path(classifier_path), work)
        line_head = load_line_head(Path(classifier_path))
        regressor = load_regressor(Path(regressor_path), work) if regressor_path else None
    except (OSError, KeyError, TypeError, ValueError, RuntimeError) as err:
        raise OnnxExportError(f"{classifier_path}{', ' + str(regressor_path) if regressor_path else ''}: "
                              f"not a localisation checkpoint this version reads ({err})") from err
    return classifier, projection, regressor, asdict(work), line_head


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


def check_crops(source: str | None, count: int = 64) -> list[Crop]:
    """Crops to compare torch and ONNX on: the first `count` of a folder/LMDB, or
    seeded random images when none is given."""
    if source:
        return [sample.data for sample in read_crops(source)[:count]]
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (32, 160, 3), dtype=np.uint8) for _ in range(16)]


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


def export_main(argv: list[str] | None = None) -> dict:
    """Export a trained CTC recogniser (and/or the localiser's networks) to ONNX and
    check onnxruntime against torch."""
    parser = argparse.ArgumentParser(description=export_main.__doc__)
    parser.add_argument("-c", "--config", help="recogniser config, e.g. configs/rec/svtr_tiny_cpu.yml")
    parser.add_argument("-o", "--opt", nargs="*", action="append", metavar="KEY=VALUE",
                        help="override recogniser config keys")
    parser.add_argument("--weights", help="recogniser weights, e.g. best.pth")
    parser.add_argument("--out", help="recogniser output file, e.g. output/rec/model.onnx")
    parser.add_argument("--check-crops", help="folder or LMDB of crops to compare torch and "
                        "ONNX on (default: 16 random images)")
    parser.add_argument("--loc-classifier", help="localisation checkpoint (strip classifier "
                        "+ DDT), the localization config's model.checkpoint")
    parser.add_argument("--loc-regressor", help="PSOL box regressor checkpoint (psol.checkpoint)")
    parser.add_argument("--loc-out", help="folder for strip_classifier.onnx / box_regressor.onnx")
    parser.add_argument("--opset", type=int, default=OPSET)
    args = parser.parse_args(argv)
    recogniser = [args.config, args.weights, args.out]
    if any(recogniser) and not all(recogniser):
        parser.error("a recogniser export needs -c CONFIG, --weights and --out")
    if bool(args.loc_classifier) != bool(args.loc_out):
        parser.error("a localiser export needs --loc-classifier and --loc-out")
    if not any(recogniser) and not args.loc_classifier:
        parser.error("nothing to export: give -c/--weights/--out and/or --loc-classifier/--loc-out")
    result = {}
    try:
        if all(recogniser):
            torch_recognizer = load_torch_recognizer(args.config, args.weights,
                                                     parse_overrides(args.opt))
            path = export_recognizer(torch_recognizer, args.out, args.opset)
            result = compare(torch_recognizer, load_onnx_recognizer(path),
                             check_crops(args.check_crops))
            print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
            print(f"torch vs onnxruntime on {result['crops']} crops: same string on "
                  f"{result['same_strings']}, largest posterior difference "
                  f"{result['max_abs_diff']:.2e}")
        if args.loc_classifier:
            classifier, projection, regressor, work, line_head = load_localizer_checkpoints(
                args.loc_classifier, args.loc_regressor)
            paths = export_localizer(classifier, projection, args.loc_out, regressor, work,
                                     args.opset, line_head)
            result["localizer_max_abs_diff"] = check_localizer(
                paths, classifier, projection, regressor, work["strip_height"], line_head)
            print(f"wrote {', '.join(map(str, paths))}; torch vs onnxruntime: largest "
                  f"relative difference {result['localizer_max_abs_diff']:.2e}")
    except (ConfigError, OnnxExportError, OSError) as err:
        raise SystemExit(f"error: {err}") from err
    if result.get("localizer_max_abs_diff", 0.0) > 1e-3:
        raise SystemExit("error: the exported localiser differs from torch")
    if result.get("differing"):
        raise SystemExit(f"error: ONNX reads differ from torch: {result['differing'][:5]}")
    return result


# ------------------------------------------------------------------ speed

def timed_forward(recognizer: PosteriorRecognizer, prepared: list, batch_size: int,
                  repeats: int = 3) -> tuple[float, np.ndarray]:
    """Best-of-`repeats` crops/s of the network alone on prepared crops (preprocessing
    is the same code for both back ends, so it is measured apart), and the posteriors."""
    best, probs = 0.0, None
    for _ in range(repeats):
        start = time.perf_counter()
        outputs = [recognizer.forward(prepared[i:i + batch_size])
                   for i in range(0, len(prepared), batch_size)]
        best = max(best, len(prepared) / (time.perf_counter() - start))
        probs = np.concatenate(outputs)
    return best, probs


def random_weights(config: str | os.PathLike, path: Path, overrides=(), seed: int = 0) -> Path:
    """Untrained weights for `config`: speed does not depend on training."""
    load_engine()
    from openrec.modeling import build_model   # importable once the engine is loaded
    from openrec.postprocess import build_post_process

    cfg = load_config(config, overrides)
    arch = cfg["Architecture"]
    arch["Decoder"]["out_channels"] = build_post_process(
        cfg["PostProcess"], cfg["Global"]).get_character_num()
    torch.manual_seed(seed)
    torch.save({"state_dict": build_model(arch).state_dict()}, path)
    return path


def bench_main(argv: list[str] | None = None) -> list[dict]:
    """Compare torch (fp32, bf16 autocast) and onnxruntime on the same crops: network
    throughput, agreement with torch fp32, and accuracy when labels are known."""
    parser = config_arguments(argparse.ArgumentParser(description=bench_main.__doc__))
    parser.add_argument("--weights", help="trained weights (default: untrained, random "
                        "weights: same speed, but agreement figures then mean little)")
    parser.add_argument("--onnx", help="exported model of the same weights (default: "
                        "export one to a temporary folder)")
    parser.add_argument("--crops", help="folder or LMDB of crops (default: rendered text)")
    parser.add_argument("--labels", help="label file of a crops folder")
    parser.add_argument("--count", type=int, default=512, help="crops to time")
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--threads", type=int, nargs="+",
                        default=sorted({1, os.cpu_count() or 1}),
                        help="intra-op thread counts to time both back ends with")
    parser.add_argument("--out", default="bench/onnx.md")
    args = parser.parse_args(argv)
    command = " ".join(["python tools/bench_onnx.py",
                        *map(shlex.quote, sys.argv[1:] if argv is None else argv)])
    overrides = parse_overrides(args.opt)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        weights = args.weights or random_weights(args.config, Path(scratch) / "random.pth",
                                                 overrides)
        fp32 = load_torch_recognizer(args.config, weights, overrides)
        bf16 = load_torch_recognizer(args.config, weights, overrides, bf16=True)
        onnx_path = args.onnx or export_recognizer(fp32, Path(scratch) / "model.onnx")
        samples = _bench_samples(args.crops, args.labels, fp32.charset, args.count)
        start = time.perf_counter()
        prepared = [fp32.prepare(sample.data) for sample in samples]
        prep_rate = len(prepared) / (time.perf_counter() - start)
        rows, reference = [], None
        for threads in args.threads:
            torch.set_num_threads(threads)
            for label, recognizer in (("torch fp32", fp32), ("torch bf16 autocast", bf16),
                                      ("onnxruntime fp32", load_onnx_recognizer(onnx_path, threads))):
                recognizer.forward(prepared[:args.batch_size])   # warm-up
                rate, probs = timed_forward(recognizer, prepared, args.batch_size)
                texts = [greedy_reading(p, fp32.charset).text for p in probs]
                reference = texts if reference is None else reference
                truth = [(t, s.label) for t, s in zip(texts, samples) if s.label is not None]
                rows.append({"back end": label, "threads": threads, "crops/s": rate,
                             "same": sum(a == b for a, b in zip(texts, reference)),
                             "exact match": (sum(t == l for t, l in truth) / len(truth))
                             if truth else None})
    table = ["| back end | threads | crops/s | same string as torch fp32 | exact match |",
             "|---|---:|---:|---:|---:|"]
    for row in rows:
        accuracy = "n/a" if row["exact match"] is None else f"{row['exact match']:.4f}"
        table.append(f"| {row['back end']} | {row['threads']} | {row['crops/s']:.1f} | "
                     f"{row['same']} / {len(samples)} | {accuracy} |")
    text = "\n\n".join([
        "# ONNX vs torch: recogniser speed and agreement", f"Command: `{command}`",
        f"Model: `{args.config}`, weights `{args.weights or 'untrained (random)'}`; "
        f"{len(samples)} crops ({args.crops or 'rendered random IDs'}), batch "
        f"{args.batch_size}, best of 3 repeats after a warm-up batch, network only "
        f"(preprocessing is shared by both back ends: {prep_rate:.0f} crops/s on one core).",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, load average "
        f"{load_before:.1f} at start (shared with other jobs: figures are lower bounds, "
        f"and more threads than free cores slow torch down); torch {torch.__version__}, "
        f"onnxruntime {ort.__version__}.",
        "\n".join(table)]) + "\n"
    atomic_write_text(Path(args.out), text)
    print("\n".join(table))
    print("wrote", args.out)
    return rows


def _bench_samples(crops: str | None, labels: str | None, charset, count: int):
    """The first `count` crops of a set, or rendered random IDs (cycled to `count`)."""
    if crops:
        samples = read_crops(crops, labels, charset)[:count]
        if not samples:
            raise ConfigError(f"{crops}: no crops")
        return samples
    rng = np.random.default_rng(0)
    samples = []
    for index in range(count):
        text = "".join(rng.choice(list(charset), size=int(rng.integers(8, 16))))
        image = np.full((32, 256, 3), int(rng.integers(0, 90)), np.uint8)
        cv2.putText(image, text, (4, 23), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
        samples.append(CropSample(f"render{index}", cv2.imencode(".png", image)[1].tobytes(),
                                  None))
    return samples
