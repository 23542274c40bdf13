"""The recogniser under torch (fp32, bf16 autocast) and onnxruntime on the same crops:
network throughput, agreement with torch fp32, and accuracy when labels are known (the
logic of tools/bench_onnx.py, which writes bench/onnx.md).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import torch

from common.atomic import atomic_write_text
from common.command import command_line
from common.cli import positive_int
from common.config import ConfigError, flatten_overrides
from common.hardware import describe_machine
from common.onnx_io import quantize_int8
from ppocr_ext.ctc import greedy_reading
from ppocr_ext.engine import load_engine
from ppocr_ext.onnx_export import export_recognizer
from ppocr_ext.posteriors import (CropSample, PosteriorRecognizer, load_onnx_recognizer,
                                  load_torch_recognizer, read_crops)
from ppocr_ext.rec_config import load_config
from ppocr_ext.rec_train import config_arguments


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


def bench_onnx_main(argv: list[str] | None = None) -> list[dict]:
    """Compare torch (fp32, bf16 autocast) and onnxruntime on the same crops: network
    throughput, agreement with torch fp32, and accuracy when labels are known."""
    parser = config_arguments(argparse.ArgumentParser(description=bench_onnx_main.__doc__))
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
    command = command_line("bench_onnx.py", argv)
    overrides = flatten_overrides(args.opt)
    machine_at_start = describe_machine()
    with tempfile.TemporaryDirectory() as scratch:
        weights = args.weights or random_weights(args.config, Path(scratch) / "random.pth",
                                                 overrides)
        fp32 = load_torch_recognizer(args.config, weights, overrides)
        bf16 = load_torch_recognizer(args.config, weights, overrides, bf16=True)
        onnx_path = args.onnx or export_recognizer(fp32, Path(scratch) / "model.onnx")
        int8_path = quantize_int8(onnx_path, Path(scratch) / "model.int8.onnx")
        samples = _bench_samples(args.crops, args.labels, fp32.charset, args.count)
        start = time.perf_counter()
        prepared = [fp32.prepare(sample.data) for sample in samples]
        prep_rate = len(prepared) / (time.perf_counter() - start)
        rows, reference = [], None
        for threads in args.threads:
            torch.set_num_threads(threads)
            for label, recognizer in (("torch fp32", fp32), ("torch bf16 autocast", bf16),
                                      ("onnxruntime fp32", load_onnx_recognizer(onnx_path, threads)),
                                      ("onnxruntime int8 (dynamic)",
                                       load_onnx_recognizer(int8_path, threads))):
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
        f"Machine: {machine_at_start} at start (shared with other jobs: figures are lower "
        f"bounds, and more threads than free cores slow torch down); onnxruntime "
        f"{ort.__version__}.",
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
