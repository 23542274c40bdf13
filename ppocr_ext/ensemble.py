"""Combining recognisers: voting and fusion of their readings.

Two ways to combine several models' readings of one crop (the seed's 5-model
ensemble gained ~2 points):
- `vote`: each model casts its string, weighted by its confidence. Works for any
  recogniser (CTC or attention) and any output length.
- `fuse_posteriors`: average the models' per-frame CTC posteriors, then decode once.
  Finer (two models that each hesitate on a different glyph can agree on both), but
  only meaningful when the models share the output grid (same T and dictionary).

Readings and their probabilities come from the CTC maths of `ppocr_ext.ctc`; per-video
consensus (`ppocr_ext.consensus`) reads the frames of one video jointly.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from common.errors import UserError
from common.atomic import atomic_write_text
from common.cli import positive_int
from common.command import command_line
from common.labels import LabelFileError
from common.split import video_id
from ppocr_ext.consensus import consensus_by_video
from ppocr_ext.ctc import CtcReading, greedy_reading
from ppocr_ext.posteriors import UNNAMED, load_recognizer, read_crops, run_samples
from ppocr_ext.rec_config import ConfigError


class FusionError(UserError, ValueError):
    """Posteriors that cannot be averaged (different output lengths or dictionaries)."""


def vote(readings: Sequence[tuple[str, float]],
         weights: Sequence[float] | None = None) -> tuple[str, float]:
    """Confidence-weighted vote over strings: the string with the largest summed
    (weight x confidence) wins; ties go to the single most confident reading, then to
    the earliest model. Returns (text, its share of the total vote mass)."""
    if not readings:
        raise ValueError("vote needs at least one reading")
    weights = [1.0] * len(readings) if weights is None else list(weights)
    if len(weights) != len(readings):
        raise ValueError(f"{len(weights)} weights for {len(readings)} readings")
    mass: dict[str, float] = defaultdict(float)
    best_single: dict[str, float] = defaultdict(float)
    first_seen: dict[str, int] = {}
    for order, ((text, confidence), weight) in enumerate(zip(readings, weights)):
        score = weight * max(float(confidence), 0.0)
        mass[text] += score
        best_single[text] = max(best_single[text], score)
        first_seen.setdefault(text, order)
    winner = max(mass, key=lambda text: (mass[text], best_single[text], -first_seen[text]))
    total = sum(mass.values())
    return winner, (mass[winner] / total if total > 0 else 1.0 / len(mass))


def fuse_posteriors(per_model: Sequence[np.ndarray], names: Sequence[str] | None = None,
                    weights: Sequence[float] | None = None) -> np.ndarray:
    """Weighted average of several models' posteriors of the same crops.

    per_model: one array per model, each (N, T, C) or (T, C). They must have equal
    shapes: CTC frames of models with different output lengths do not correspond.
    """
    if not per_model:
        raise FusionError("nothing to fuse")
    names = list(names) if names is not None else [f"model {i + 1}" for i in range(len(per_model))]
    shapes = [np.shape(p) for p in per_model]
    if len(set(shapes)) > 1:
        listed = ", ".join(f"{name}: {shape}" for name, shape in zip(names, shapes))
        raise FusionError("cannot fuse CTC posteriors of different shapes (models must share "
                          "the output length T and the dictionary C; frames of different "
                          f"grids do not correspond): {listed}. Use the string vote instead.")
    weights = np.ones(len(per_model)) if weights is None else np.asarray(weights, np.float64)
    if len(weights) != len(per_model) or (weights < 0).any() or weights.sum() <= 0:
        raise FusionError(f"need one non-negative weight per model, got {list(weights)}")
    stacked = np.stack([np.asarray(p, np.float64) for p in per_model])
    fused = np.tensordot(weights / weights.sum(), stacked, axes=1)
    return fused.astype(np.float32)


# ------------------------------------------------------------------ running an ensemble

@dataclass
class EnsembleResult:
    """Frame-level readings of each model, of the vote and of posterior fusion (None,
    with `fusion_error`, when the models' grids differ), and per-video consensus when
    asked for. `names`/`labels` are the frames every model could read."""

    model_names: list[str]
    names: list[str]
    labels: list[str | None]
    per_model: list[list[CtcReading]]
    voted: list[tuple[str, float]]
    fused: list[CtcReading] | None
    fusion_error: str | None
    videos: dict | None            # video id -> ppocr_ext.consensus.Consensus
    skipped: list[dict]


def run_ensemble(recognizers: Sequence, samples: Sequence, group_by: str | None = None,
                 k: int = 5, batch_size: int = 64) -> EnsembleResult:
    """Read `samples` (`posteriors.CropSample`s) with every recogniser and combine."""
    if not recognizers:
        raise ValueError("an ensemble needs at least one model")
    if group_by not in (None, "video"):
        raise ValueError(f"group_by must be None or 'video', got {group_by!r}")
    if group_by == "video" and any(sample.name.startswith(UNNAMED) for sample in samples):
        raise ConfigError("--group-by video: the crops store no file names (an LMDB not written "
                          "by this project), so their videos are unknown; use an image folder "
                          "or re-export the crops with tools/localize.py")
    charset = recognizers[0].charset
    for recognizer in recognizers[1:]:
        if recognizer.charset != charset:
            raise FusionError(f"{recognizer.name} reads another dictionary than "
                              f"{recognizers[0].name}; their readings cannot be compared")
    runs = [run_samples(r, samples, batch_size, desc=f"model {i + 1}/{len(recognizers)}")
            for i, r in enumerate(recognizers)]
    readable = sorted(set.intersection(*(set(run.indexes) for run in runs)))
    probs = [run.probs[[run.indexes.index(i) for i in readable]] if readable else run.probs
             for run in runs]
    skipped = {item["name"]: item for run in runs for item in run.skipped}
    per_model = [[greedy_reading(p, charset) for p in model_probs] for model_probs in probs]
    voted = [vote([(readings[i].text, readings[i].confidence) for readings in per_model])
             for i in range(len(readable))]
    fused, fusion_error = None, None
    if len(recognizers) > 1:
        try:
            fused = [greedy_reading(p, charset) for p in
                     fuse_posteriors(probs, [r.name for r in recognizers])]
        except FusionError as err:
            fusion_error = str(err)
    names = [samples[i].name for i in readable]
    videos = consensus_by_video(names, probs, charset, k=k) if group_by == "video" else None
    return EnsembleResult([r.name for r in recognizers], names,
                          [samples[i].label for i in readable], per_model, voted, fused,
                          fusion_error, videos, list(skipped.values()))


def _score(texts: Sequence[str], labels: Sequence[str | None]) -> dict:
    pairs = [(text, label) for text, label in zip(texts, labels) if label is not None]
    correct = sum(text == label for text, label in pairs)
    return {"correct": correct, "total": len(pairs),
            "accuracy": correct / len(pairs) if pairs else None}


def accuracy_rows(result: EnsembleResult) -> list[dict]:
    """Exact-match (case-sensitive) accuracy of every reading method, one row each."""
    rows = [{"method": f"model {i + 1}: {name}", "level": "frame",
             **_score([r.text for r in readings], result.labels)}
            for i, (name, readings) in enumerate(zip(result.model_names, result.per_model))]
    if len(result.per_model) > 1:
        rows.append({"method": f"vote of {len(result.per_model)} models", "level": "frame",
                     **_score([text for text, _ in result.voted], result.labels)})
        if result.fused is not None:
            rows.append({"method": "posterior fusion", "level": "frame",
                         **_score([r.text for r in result.fused], result.labels)})
    if result.videos is not None:
        groups: dict[str, list[int]] = {}
        for index, name in enumerate(result.names):
            groups.setdefault(video_id(name), []).append(index)
        constant = {video: result.labels[indexes[0]] for video, indexes in groups.items()
                    if result.labels[indexes[0]] is not None
                    and len({result.labels[i] for i in indexes}) == 1}
        video_score = _score([result.videos[v].text for v in constant], list(constant.values()))
        rows.append({"method": "per-video consensus", "level": "video", **video_score,
                     "videos_with_one_id": len(constant), "videos": len(groups)})
        frame_texts = [result.videos[video_id(name)].text for name in result.names]
        rows.append({"method": "per-video consensus", "level": "frame",
                     **_score(frame_texts, result.labels)})
    return rows


# ------------------------------------------------------------------ reports and CLI

def markdown_table(rows: Sequence[dict]) -> str:
    lines = ["| reading | level | exact match | correct / total |", "|---|---|---|---|"]
    for row in rows:
        accuracy = "n/a (no labels)" if row["accuracy"] is None else f"{row['accuracy']:.4f}"
        lines.append(f"| {row['method']} | {row['level']} | {accuracy} | "
                     f"{row['correct']} / {row['total']} |")
    return "\n".join(lines)


def write_ensemble_report(result: EnsembleResult, rows: list[dict], out_dir: Path,
                          meta: dict) -> list[Path]:
    """`frames.csv` (every reading of every frame), `report.json`, `report.md`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["name", "label"]
    for i in range(len(result.per_model)):
        header += [f"model{i + 1}", f"model{i + 1}_confidence"]
    header += ["vote", "vote_share"]
    if result.fused is not None:
        header += ["fused", "fused_confidence"]
    if result.videos is not None:
        header += ["video", "video_consensus", "video_probability"]
    writer.writerow(header)
    for index, name in enumerate(result.names):
        row = [name, result.labels[index] or ""]
        for readings in result.per_model:
            row += [readings[index].text, f"{readings[index].confidence:.4f}"]
        row += [result.voted[index][0], f"{result.voted[index][1]:.4f}"]
        if result.fused is not None:
            row += [result.fused[index].text, f"{result.fused[index].confidence:.4f}"]
        if result.videos is not None:
            video = result.videos[video_id(name)]
            row += [video_id(name), video.text, f"{video.alternatives[0][1]:.4f}"]
        writer.writerow(row)
    videos = None if result.videos is None else {
        video: {"text": c.text, "logprob": c.logprob, "observations": c.observations,
                "alternatives": c.alternatives} for video, c in result.videos.items()}
    report = {**meta, "accuracy": rows, "fusion_error": result.fusion_error,
              "frames": len(result.names), "skipped": result.skipped, "videos": videos}
    notes = [f"Frames read: {len(result.names)}; skipped (undecodable): {len(result.skipped)}."]
    if result.fusion_error:
        notes.append(f"Posterior fusion not possible: {result.fusion_error}")
    video_rows = [row for row in rows if row["level"] == "video"]
    if video_rows:
        row = video_rows[0]
        notes.append(f"Per-video consensus: {row['videos_with_one_id']} of {row['videos']} "
                     "labelled videos carry one ID in every frame and are scored at video "
                     "level; the frame-level row gives each frame its video's reading (on "
                     "data with a new ID per frame, like the challenge's, it cannot help).")
    markdown = "\n\n".join([
        "# Ensemble report", f"Command: `{meta['command']}`",
        "Models:\n" + "\n".join(f"{i + 1}. `{name}`" for i, name in
                                enumerate(result.model_names)),
        f"Crops: `{meta['crops']}`", markdown_table(rows), *notes]) + "\n"
    return [atomic_write_text(out_dir / "frames.csv", buffer.getvalue()),
            atomic_write_text(out_dir / "report.json",
                              json.dumps(report, indent=2, ensure_ascii=False)),
            atomic_write_text(out_dir / "report.md", markdown)]


def ensemble_main(argv: list[str] | None = None) -> list[dict]:
    """Read crops with several models and report each model's and the ensemble's
    exact-match accuracy (vote, posterior fusion, optional per-video consensus)."""
    parser = argparse.ArgumentParser(description=ensemble_main.__doc__)
    parser.add_argument("--model", nargs="+", action="append", required=True,
                        metavar="CONFIG WEIGHTS | MODEL.onnx",
                        help="one model; repeat for each member of the ensemble")
    parser.add_argument("--crops", required=True, help="folder of crop images, or an LMDB")
    parser.add_argument("--labels", help="label file ('<image>\\t<ID>') for a crops folder")
    parser.add_argument("--group-by", choices=["video"],
                        help="also read each video's frames jointly (frames named "
                             "<video>_<frame>_.jpg that show one constant ID)")
    parser.add_argument("--k", type=int, default=5, help="k-best candidates per frame "
                        "for the per-video consensus")
    parser.add_argument("--out", default="output/ensemble", help="report folder")
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast for torch models")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        recognizers = [load_recognizer(model, bf16=args.bf16) for model in args.model]
        samples = read_crops(args.crops, args.labels, recognizers[0].charset)
        result = run_ensemble(recognizers, samples, args.group_by, args.k, args.batch_size)
    except (ConfigError, LabelFileError, FusionError, OSError) as err:
        raise SystemExit(f"error: {err}") from err
    rows = accuracy_rows(result)
    meta = {"command": command_line("ensemble.py", argv),
            "crops": str(args.crops), "labels": args.labels, "group_by": args.group_by,
            "k": args.k, "bf16": args.bf16, "models": result.model_names}
    paths = write_ensemble_report(result, rows, Path(args.out), meta)
    print(markdown_table(rows))
    if result.fusion_error:
        print("posterior fusion skipped:", result.fusion_error)
    print("wrote", ", ".join(map(str, paths)))
    return rows
