"""Read IDs from crop images with trained weights: the logic behind tools/infer_rec.py.

Preprocessing is the config's Eval pipeline without its label steps, so inference sees
exactly what evaluation saw. Images that cannot be read or decoded are skipped by name,
logged, and listed in the JSON output: one bad file never stops a folder.
"""
from __future__ import annotations

import argparse
import copy
import csv
import io
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from common.atomic import atomic_write_text
from common.cli import positive_int
from common.config import ConfigError, flatten_overrides
from common.images import CROP_LIMITS, BadImage, check_encoded, list_image_files
from common.torch_files import CheckpointError
from ppocr_ext.checkpoint import load_weights
from ppocr_ext.engine import fused_attention, infer_forward, load_engine
from ppocr_ext.rec_config import check_config, load_config
from ppocr_ext.rec_train import config_arguments, setup_logging
from ppocr_ext.released import RELEASED_CONFIG, RELEASED_WEIGHTS, require_released

LOG = logging.getLogger(__name__)


@dataclass
class Reading:
    name: str
    text: str
    confidence: float


@dataclass
class InferResult:
    readings: list[Reading] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)     # {"name": ..., "reason": ...}
    seconds: float = 0.0


class Recognizer:
    """A trained recogniser built from its config; `Global.pretrained_model` (or
    `checkpoints`) names the weights. `bf16` runs the model under bfloat16 autocast
    (faster on CPUs with avx512_bf16, about half a point less accurate)."""

    def __init__(self, cfg: dict, bf16: bool = False):
        load_engine()
        from openrec.modeling import build_model
        from openrec.postprocess import build_post_process
        from openrec.preprocess import create_operators

        glob = cfg["Global"]
        self.algorithm = cfg["Architecture"]["algorithm"]
        self.post_process = build_post_process(cfg["PostProcess"], glob)
        arch = copy.deepcopy(cfg["Architecture"])
        arch["Decoder"]["out_channels"] = self.post_process.get_character_num()
        self.model = build_model(arch)
        self.weights = glob.get("checkpoints") or glob.get("pretrained_model")
        load_weights(self.model, self.weights, strict=True)
        use_gpu = glob.get("device") == "gpu" and torch.cuda.is_available()
        self.device = torch.device("cuda" if use_gpu else "cpu")
        self.model.to(self.device).eval()
        self.bf16 = bf16
        if not (cfg.get("Eval") or {}).get("dataset"):
            raise ConfigError(f"{cfg.get('filename')}: inference preprocesses images like "
                              "Eval.dataset.transforms, and the config has no Eval section")
        steps = [op for op in cfg["Eval"]["dataset"]["transforms"]
                 if not next(iter(op)).endswith("LabelEncode") and next(iter(op)) != "KeepKeys"]
        if not steps or not next(iter(steps[0])).startswith("Decode"):
            raise ConfigError(f"{cfg.get('filename')}: Eval.dataset.transforms must start "
                              "with a Decode step (e.g. DecodeImage)")
        self.decode = create_operators(steps[:1], glob)
        self.preprocess = create_operators(steps[1:], glob)

    def prepare(self, raw: bytes) -> tuple[np.ndarray, float]:
        """Decode and preprocess one encoded image; `BadImage` if it cannot be decoded."""
        check_encoded(raw, CROP_LIMITS)
        try:
            data = self.decode[0]({"image": raw})
        except (AssertionError, TypeError, ValueError) as err:
            raise BadImage("cannot be decoded (empty or corrupt)") from err
        if not isinstance(data["image"], np.ndarray) or data["image"].size == 0:
            raise BadImage("cannot be decoded (corrupt or not an image)")
        for op in self.preprocess:
            data = op(data)
        return data["image"], float(data.get("valid_ratio", 1.0))

    @torch.no_grad()
    def read(self, samples: list[tuple[np.ndarray, float]]) -> list[tuple[str, float]]:
        """(text, confidence) for a batch of prepared samples."""
        height = max(image.shape[-2] for image, _ in samples)
        width = max(image.shape[-1] for image, _ in samples)
        batch = np.zeros((len(samples), samples[0][0].shape[0], height, width), np.float32)
        for index, (image, _) in enumerate(samples):
            batch[index, :, :image.shape[-2], :image.shape[-1]] = image
        images = torch.from_numpy(batch).to(self.device)
        ratios = torch.tensor([ratio for _, ratio in samples], device=self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            preds = infer_forward(self.model, images, ratios, self.algorithm)
        return [(text, float(conf)) for text, conf in self.post_process(preds.float())]


def list_images(path: str | os.PathLike, follow_symlinks: bool = False
                ) -> tuple[list[Path], list[dict]]:
    """Image files of a folder (sorted, not recursive) or the one given; plus the other
    files with the reason each is skipped (common.images.list_image_files)."""
    path = Path(path)
    if path.is_file():
        return [path], []
    return list_image_files(path, follow_symlinks)


def read_images(recognizer: Recognizer, paths: list[Path], batch_size: int = 64) -> InferResult:
    """Read every image, skipping (and logging by name) those that cannot be decoded."""
    result = InferResult()
    start = time.perf_counter()
    for first in tqdm(range(0, len(paths), batch_size), desc="reading", unit="batch",
                      disable=len(paths) <= batch_size):
        names, samples = [], []
        for path in paths[first:first + batch_size]:
            try:
                samples.append(recognizer.prepare(path.read_bytes()))
                names.append(path.name)
            except (OSError, BadImage) as err:
                reason = str(err) if isinstance(err, BadImage) else f"cannot be read ({err})"
                LOG.warning("skipped %s: %s", path, reason)
                result.skipped.append({"name": path.name, "reason": reason})
        if samples:
            result.readings += [Reading(name, text, conf)
                                for name, (text, conf) in zip(names, recognizer.read(samples))]
    result.seconds = time.perf_counter() - start
    return result


def write_results(result: InferResult, stem: Path, meta: dict) -> tuple[Path, Path]:
    """`<stem>.csv` (name,text,confidence) and `<stem>.json` (same rows, the skipped
    files with reasons, and where the readings came from)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "text", "confidence"])
    writer.writerows([r.name, r.text, f"{r.confidence:.4f}"] for r in result.readings)
    csv_path, json_path = stem.with_name(stem.name + ".csv"), stem.with_name(stem.name + ".json")
    atomic_write_text(csv_path, buffer.getvalue())
    atomic_write_text(json_path, json.dumps({**meta, "predictions": [asdict(r) for r in result.readings],
                                       "skipped": result.skipped},
                                      indent=2, ensure_ascii=False))
    return csv_path, json_path


def infer(config: str, overrides: list[str] = (), out: str | None = None,
          batch_size: int = 64, bf16: bool = False,
          follow_symlinks: bool = False) -> tuple[InferResult, Path, Path]:
    """Read `Global.infer_img` (folder or image) and write CSV + JSON to `out` (a path
    stem; default `<output_dir>/predictions`)."""
    cfg = load_config(config, overrides)
    check_config(cfg, "infer")
    recognizer = Recognizer(cfg, bf16=bf16)
    paths, not_read = list_images(cfg["Global"]["infer_img"], follow_symlinks)
    result = read_images(recognizer, paths, batch_size)
    result.skipped[:0] = not_read
    stem = Path(out) if out else Path(cfg["Global"]["output_dir"]) / "predictions"
    if stem.suffix in (".csv", ".json"):
        stem = stem.with_suffix("")
    meta = {"config": str(Path(config).resolve()), "weights": recognizer.weights,
            "input": cfg["Global"]["infer_img"], "bf16": bf16}
    csv_path, json_path = write_results(result, stem, meta)
    return result, csv_path, json_path


def summary(result: InferResult, csv_path: Path, json_path: Path) -> str:
    count = len(result.readings)
    lines = [f"read {count} images in {result.seconds:.1f} s "
             f"({count / max(result.seconds, 1e-9):.1f} crops/s)"]
    if count:
        mean = sum(r.confidence for r in result.readings) / count
        low = sum(r.confidence < 0.5 for r in result.readings)
        lines.append(f"mean confidence {mean:.3f}; {low} below 0.5")
    lines.append(f"skipped {len(result.skipped)}" + "".join(
        f"\n  {item['name']}: {item['reason']}" for item in result.skipped))
    lines.append(f"wrote {csv_path} and {json_path}")
    return "\n".join(lines)


def infer_rec_main(argv: list[str] | None = None) -> InferResult:
    parser = config_arguments(argparse.ArgumentParser(description=infer.__doc__), required=False,
                              default_help=" (default: the released model, models/svtr_tiny_synth)")
    parser.add_argument("--out", help="output path stem: writes STEM.csv and STEM.json "
                        "(default <output_dir>/predictions)")
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast (faster on CPU)")
    parser.add_argument("--follow-symlinks", action="store_true",
                        help="read links that lead outside the folder (skipped by default)")
    args = parser.parse_args(argv)
    setup_logging()
    overrides = flatten_overrides(args.opt)
    try:
        if args.config is None:   # the released model; a later -o still wins
            args.config = str(require_released(RELEASED_CONFIG))
            overrides = [f"Global.pretrained_model={require_released(RELEASED_WEIGHTS)}", *overrides]
        with fused_attention():
            result, csv_path, json_path = infer(args.config, overrides, args.out,
                                                args.batch_size, args.bf16, args.follow_symlinks)
    except (ConfigError, CheckpointError) as err:
        raise SystemExit(f"error: {err}") from err
    print(summary(result, csv_path, json_path))
    return result
