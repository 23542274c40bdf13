"""Pseudo-labels: confident readings of unlabelled crops become new training samples.

The seed's recipe (+1.2 points for SVTR-Tiny): read the test crops with a trained
model, keep the readings above a confidence threshold, retrain on train + kept. A wrong
pseudo-label teaches the model its own mistake, so a reading is kept only if BOTH
- its sequence confidence, P(text | image) summed over all CTC alignments, and
- its weakest character's probability (I/l-style hesitation on one glyph)
pass their thresholds. How precise that is cannot be seen on unlabelled data, so the
same thresholds are applied to a labelled validation split and the precision measured
there is reported as the estimate (with a sweep of other thresholds to choose from).

Nothing is ever written into an input: the output folder may not be, contain, or lie
inside the crops, the validation set, a label file or the training LMDB.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from common.errors import UserError
from common.atomic import atomic_write_text
from common.cli import positive_int
from common.command import command_line
from common.config import ConfigError
from common.labels import LabelFileError, write_label_file
from common.lmdb_io import LmdbError, is_lmdb, iter_lmdb, lmdbs_under, write_lmdb
from ppocr_ext.ctc import CtcReading, greedy_reading
from ppocr_ext.posteriors import (CropSample, PosteriorRecognizer, load_recognizer, read_crops,
                                  run_samples)

LOG = logging.getLogger(__name__)
SWEEP = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)


class OverlapError(UserError, ValueError):
    """An output path that would write into (or over) an input."""


@dataclass(frozen=True)
class Thresholds:
    """A reading becomes a pseudo-label if all of these hold."""

    confidence: float = 0.9           # P(text | image), all alignments
    char_min: float = 0.8             # every character's best-frame probability
    min_length: int = 1
    max_length: int | None = None

    def keeps(self, reading: CtcReading) -> bool:
        length_ok = len(reading.text) >= max(self.min_length, 1) and (
            self.max_length is None or len(reading.text) <= self.max_length)
        return (length_ok and reading.confidence >= self.confidence
                and reading.char_min >= self.char_min)


def check_no_overlap(out: str | os.PathLike, inputs: Sequence[str | os.PathLike | None]) -> None:
    """Refuse an output folder that is an input, lies inside one, or contains one."""
    out_path = Path(out).resolve()
    for given in inputs:
        if given is None:
            continue
        source = Path(given).resolve()
        if out_path == source:
            raise OverlapError(f"output {out} is the input {given}; choose a new folder "
                               "(the source is never modified)")
        if source in out_path.parents:
            raise OverlapError(f"output {out} lies inside the input {given}; choose a folder "
                               "outside it (the source is never modified)")
        if out_path in source.parents:
            raise OverlapError(f"output {out} contains the input {given}; writing there could "
                               "replace it, choose another folder")


@dataclass
class ReadSet:
    """Readings of a crop set (only the crops that could be decoded)."""

    samples: list[CropSample]
    readings: list[CtcReading]
    skipped: list[dict]


def read_set(recognizer: PosteriorRecognizer, samples: Sequence[CropSample],
             batch_size: int = 64, desc: str = "reading") -> ReadSet:
    run = run_samples(recognizer, samples, batch_size, desc)
    return ReadSet([samples[i] for i in run.indexes],
                   [greedy_reading(p, recognizer.charset) for p in run.probs], run.skipped)


def precision_at(readings: Sequence[CtcReading], labels: Sequence[str],
                 thresholds: Thresholds) -> dict:
    """How many readings the thresholds keep, and how many of those are right."""
    kept = [(r.text, label) for r, label in zip(readings, labels) if thresholds.keeps(r)]
    correct = sum(text == label for text, label in kept)
    return {"confidence": thresholds.confidence, "char_min": thresholds.char_min,
            "total": len(labels), "kept": len(kept), "correct": correct,
            "precision": correct / len(kept) if kept else None,
            "coverage": len(kept) / len(labels) if labels else None}


def sweep(readings: Sequence[CtcReading], labels: Sequence[str], chosen: Thresholds) -> list[dict]:
    """Precision and coverage at other sequence-confidence thresholds (same char_min),
    plus accuracy with no threshold at all, to choose a threshold from."""
    rows = [precision_at(readings, labels, Thresholds(0.0, 0.0, 0, None))]
    for value in sorted(set(SWEEP) | {chosen.confidence}):
        rows.append(precision_at(readings, labels, Thresholds(
            value, chosen.char_min, chosen.min_length, chosen.max_length)))
    return rows


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _markdown(report: dict) -> str:
    t = report["thresholds"]
    lines = ["# Pseudo-labels", f"Command: `{report['command']}`",
             f"Model: `{report['model']}`  \nUnlabelled crops: `{report['crops']}`",
             f"Thresholds: sequence confidence >= {t['confidence']}, every character >= "
             f"{t['char_min']}, length {t['min_length']}..{t['max_length'] or 'any'}",
             f"Kept **{report['kept']}** of {report['read']} readable crops "
             f"({report['skipped']} undecodable skipped)."]
    estimate = report.get("validation")
    if estimate:
        chosen = estimate["at_threshold"]
        lines.append(f"Estimated precision on the labelled validation set `{estimate['source']}`"
                     f" at the same thresholds: **{_fmt(chosen['precision'])}** "
                     f"({chosen['correct']} of {chosen['kept']} kept correct; coverage "
                     f"{_fmt(chosen['coverage'])} of {chosen['total']}).")
        table = ["| sequence confidence >= | char min >= | kept / total | precision | coverage |",
                 "|---|---|---|---|---|"]
        for row in estimate["sweep"]:
            table.append(f"| {row['confidence']} | {row['char_min']} | {row['kept']} / "
                         f"{row['total']} | {_fmt(row['precision'])} | {_fmt(row['coverage'])} |")
        lines.append("Validation sweep (first row: no threshold = plain accuracy):\n\n"
                     + "\n".join(table))
    else:
        lines.append("No validation set given: precision NOT estimated (pass --val).")
    if report.get("input_truth"):
        truth = report["input_truth"]
        lines.append(f"Real precision of the kept pseudo-labels against the input's own labels "
                     f"(synthetic data): {_fmt(truth['precision'])} ({truth['correct']} of "
                     f"{truth['kept']}).")
    lines.append("Outputs: " + ", ".join(f"`{path}`" for path in report["outputs"]))
    return "\n\n".join(lines) + "\n"


def pseudo_label(recognizer: PosteriorRecognizer, crops: str | os.PathLike,
                 out: str | os.PathLike, thresholds: Thresholds,
                 val: str | os.PathLike | None = None, val_labels: str | None = None,
                 labels: str | None = None, merge_train: str | os.PathLike | None = None,
                 input_truth: bool = False, batch_size: int = 64,
                 command: str = "", model: str = "") -> dict:
    """Write pseudo-labels of `crops` under `out` (see module doc); return the report.

    out/pseudo/            LMDB of the kept crops with their pseudo-labels
    out/pseudo_labels.txt  the same as a label file (image-folder input only)
    out/predictions.csv    every reading, kept or not
    out/train_plus_pseudo/ `merge_train` + the kept crops in one LMDB (if asked)
    out/report.json, out/report.md
    """
    out = Path(out)
    check_no_overlap(out, [crops, labels, val, val_labels, merge_train])
    if val is not None and not is_lmdb(val) and val_labels is None:
        raise ConfigError(f"--val {val} is an image folder: pass --val-labels too")
    if merge_train is not None and not lmdbs_under(merge_train):
        raise ConfigError(f"--merge-train {merge_train}: holds no LMDB (no data.mdb at or "
                          "below it)")
    if input_truth and not is_lmdb(crops) and labels is None:
        raise ConfigError("--input-labels-are-truth needs --labels (or an LMDB input)")
    charset = recognizer.charset
    unlabelled = read_set(recognizer, read_crops(crops, labels, charset), batch_size,
                          "reading crops")
    kept = [(sample, reading) for sample, reading in zip(unlabelled.samples, unlabelled.readings)
            if thresholds.keeps(reading)]
    report = {"command": command, "model": model, "crops": str(crops),
              "thresholds": asdict(thresholds), "read": len(unlabelled.samples),
              "skipped": len(unlabelled.skipped), "kept": len(kept), "outputs": []}
    if val is not None:
        validation = read_set(recognizer, read_crops(val, val_labels, charset), batch_size,
                              "reading validation")
        truth = [sample.label for sample in validation.samples]
        report["validation"] = {"source": str(val),
                                "at_threshold": precision_at(validation.readings, truth, thresholds),
                                "sweep": sweep(validation.readings, truth, thresholds)}
    if input_truth:
        pairs = [(s.label, r) for s, r in zip(unlabelled.samples, unlabelled.readings)
                 if s.label is not None]
        report["input_truth"] = precision_at([r for _, r in pairs], [l for l, _ in pairs],
                                             thresholds)

    out.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "text", "confidence", "char_min", "kept"])
    writer.writerows([s.name, r.text, f"{r.confidence:.4f}", f"{r.char_min:.4f}",
                      int(thresholds.keeps(r))]
                     for s, r in zip(unlabelled.samples, unlabelled.readings))
    outputs = [atomic_write_text(out / "predictions.csv", buffer.getvalue())]
    if kept:
        samples = [(s.name, s.data, r.text) for s, r in kept]
        write_lmdb(out / "pseudo", samples, charset=charset, total=len(samples),
                   desc="writing pseudo-labels")
        outputs.append(out / "pseudo")
        if not is_lmdb(crops):
            write_label_file(out / "pseudo_labels.txt", [(s.name, r.text) for s, r in kept],
                             charset)
            outputs.append(out / "pseudo_labels.txt")
        if merge_train is not None:
            merged = _merged_samples(merge_train, samples)
            count = write_lmdb(out / "train_plus_pseudo", merged, charset=charset,
                               desc="writing train + pseudo")
            report["train_plus_pseudo"] = count
            outputs.append(out / "train_plus_pseudo")
    else:
        LOG.warning("no reading passed the thresholds: no pseudo-label LMDB written")
    report["outputs"] = [str(path) for path in outputs] + [str(out / "report.json"),
                                                           str(out / "report.md")]
    atomic_write_text(out / "report.json", json.dumps(report, indent=2, ensure_ascii=False))
    atomic_write_text(out / "report.md", _markdown(report))
    return report


def _merged_samples(train: str | os.PathLike, pseudo: list[tuple[str, bytes, str]]):
    """The samples of every training LMDB at or below `train`, then the pseudo-labelled
    ones. (The engine's LMDBDataSet takes one `data_dir` and does not follow symlinks,
    so retraining on both needs one folder that holds both.)"""
    for lmdb_dir in lmdbs_under(train):
        for index, (image, label) in enumerate(iter_lmdb(lmdb_dir), start=1):
            yield f"{lmdb_dir}#{index}", image, label
    yield from pseudo


def pseudo_label_main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", nargs="+", required=True, metavar="CONFIG WEIGHTS | MODEL.onnx")
    parser.add_argument("--crops", required=True, help="unlabelled crops: image folder or LMDB")
    parser.add_argument("--labels", help="label file of the crops folder (only with "
                        "--input-labels-are-truth: their labels are never used otherwise)")
    parser.add_argument("--out", required=True, help="new folder for the outputs")
    parser.add_argument("--confidence", type=float, default=0.9,
                        help="minimum P(text | image) (default 0.9)")
    parser.add_argument("--char-min", type=float, default=0.8,
                        help="minimum probability of every character (default 0.8)")
    parser.add_argument("--length", nargs=2, type=int, metavar=("MIN", "MAX"),
                        help="keep only readings of this length (IDs: 8 15)")
    parser.add_argument("--val", help="labelled validation crops (LMDB, or folder with "
                        "--val-labels) to estimate the precision at these thresholds")
    parser.add_argument("--val-labels", help="label file of a --val image folder")
    parser.add_argument("--merge-train", help="training LMDB to merge with the pseudo-labels "
                        "into OUT/train_plus_pseudo (for configs/rec/svtr_tiny_cpu_pseudo.yml)")
    parser.add_argument("--input-labels-are-truth", action="store_true",
                        help="synthetic data: also measure the real precision against the "
                        "input's labels (LMDB labels or --labels)")
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast for torch models")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    min_length, max_length = args.length or (1, None)
    thresholds = Thresholds(args.confidence, args.char_min, min_length, max_length)
    command = command_line("pseudo_label.py", argv)
    try:
        check_no_overlap(args.out, [args.crops, args.labels, args.val, args.val_labels,
                                    args.merge_train])
        recognizer = load_recognizer(args.model, bf16=args.bf16)
        report = pseudo_label(recognizer, args.crops, args.out, thresholds, args.val,
                              args.val_labels, args.labels, args.merge_train,
                              args.input_labels_are_truth, args.batch_size, command,
                              " ".join(args.model))
    except (OverlapError, ConfigError, LabelFileError, LmdbError, OSError) as err:
        raise SystemExit(f"error: {err}") from err
    print(_markdown(report))
    return report
