"""The one reader of the engine's `train.log` (OpenOCR's trainer writes no metrics file).

Two kinds of timestamped lines matter: progress (`epoch: [e/E], global_step: s`) and
validation (`cur metric, acc: a` after each evaluation, `best metric, acc: b`). The
ablation bench wants the run's progress and best accuracy, `make bench` the validation
curve against wall minutes; both are views of the same parsed lines.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

STAMP = r"^\[(?P<stamp>[\d/ :]+)\]"
STEP_LINE = re.compile(STAMP + r".*epoch: \[(?P<epoch>\d+)/(?P<total>\d+)\], global_step: (?P<step>\d+)")
EVAL_LINE = re.compile(STAMP + r".*cur metric, acc: (?P<acc>[\d.]+)")
BEST_LINE = re.compile(r"best metric, acc: (?P<acc>[\d.]+)")


@dataclass
class TrainLog:
    epoch: int = 0                       # last epoch a step was logged in
    epochs: int = 0                      # the run's planned epochs
    step: int = 0                        # last logged global step
    first_step_at: datetime | None = None
    last_step_at: datetime | None = None
    best_val_acc: float | None = None
    evaluations: list[dict] = field(default_factory=list)   # {"at", "minutes", "step", "val_acc"}

    @property
    def train_minutes(self) -> float:
        """Wall minutes between the first and the last logged step."""
        if self.first_step_at is None:
            return 0.0
        return round((self.last_step_at - self.first_step_at).total_seconds() / 60, 1)


def _stamp(match: re.Match) -> datetime:
    return datetime.strptime(match["stamp"].strip(), "%Y/%m/%d %H:%M:%S")


def read_train_log(path: Path) -> TrainLog | None:
    """Parse a train.log; None when there is none."""
    if not path.is_file():
        return None
    log = TrainLog()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if m := STEP_LINE.match(line):
            log.last_step_at = _stamp(m)
            log.first_step_at = log.first_step_at or log.last_step_at
            log.epoch, log.epochs, log.step = int(m["epoch"]), int(m["total"]), int(m["step"])
        elif m := EVAL_LINE.match(line):
            if log.first_step_at is not None:
                at = _stamp(m)
                minutes = (at - log.first_step_at).total_seconds() / 60
                log.evaluations.append({"at": at.isoformat(), "minutes": round(minutes, 1),
                                        "step": log.step,
                                        "val_acc": float(m["acc"])})
        elif m := BEST_LINE.search(line):
            log.best_val_acc = float(m["acc"])
    return log
