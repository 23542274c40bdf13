"""Writing a run's readings (CSV + JSON) and scoring them against a label file.

Scoring is case-sensitive exact match per frame plus the ambiguity report
(`ppocr_ext.ambiguity`), and "truth among the k best", which is what a user
who looks at the alternatives gets.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Sequence

from common.atomic import atomic_write_text
from common.labels import LabelFileError, format_problems, read_label_file
from pipeline.read_ids import FrameReading, reading_rows
from ppocr_ext.ambiguity import ambiguity_report

CSV_FIELDS = ["name", "text", "confidence", "box", "side", "alternatives"]


def write_readings(readings: Sequence[FrameReading], skipped: list[dict], out_dir: Path) -> dict:
    """predictions.csv (one row a frame) and predictions.json (with the skipped frames)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(reading_rows(readings))
    paths = {"csv": out_dir / "predictions.csv", "json": out_dir / "predictions.json"}
    atomic_write_text(paths["csv"], buffer.getvalue())
    atomic_write_text(paths["json"], json.dumps(
        {"readings": [r.__dict__ for r in readings], "skipped": skipped}, indent=1))
    return {k: str(v) for k, v in paths.items()}


def load_truth(label_file: str | Path, charset: Sequence[str]) -> dict[str, str]:
    """name -> ID from a `<image>\\t<ID>` file, every problem named by file:line."""
    entries, problems = read_label_file(label_file, charset)
    if problems:
        raise LabelFileError(format_problems(f"{label_file}: bad label rows", problems))
    return {Path(e.name).name: e.label for e in entries}


def score(readings: Sequence[FrameReading], truth: dict[str, str], k: int) -> dict:
    """Exact match, ambiguity report and top-k hit rate over the frames that have a label.
    A labelled frame with no reading (skipped) counts as wrong."""
    by_name = {r.name: r for r in readings}
    missing = sorted(set(truth) - set(by_name))
    pairs = [(truth[n], by_name[n].text if n in by_name else "") for n in sorted(truth)]
    report = ambiguity_report(pairs)
    in_kbest = sum(n in by_name and truth[n] in [t for t, _ in by_name[n].alternatives[:k]]
                   for n in truth)
    report[f"truth_in_top{k}"] = in_kbest / len(truth)
    report["unread_labelled_frames"] = missing
    return report
