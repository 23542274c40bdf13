"""Semi-supervised fine-tuning: the logic behind tools/train_semi.py.

    python tools/train_semi.py -c configs/rec/svtr_tiny_cpu_semi.yml [-o ...] [--resume]

Each step: CTC on a labelled batch (the config's Train section, exactly as
tools/train.py trains) plus `weight` x the consistency of the student on strongly
augmented unlabeled crops with an EMA teacher on weakly augmented views of the same
crops (`ppocr_ext.ssl.consistency`); the labelled and unlabeled images go through the
student in one batch. The teacher is updated after every optimiser step and is the
model that gets evaluated and exported.

Why a runner and not a plain engine config: the engine's loop feeds one batch to one
model and one loss; it has no second data stream and no teacher. So this reuses the
engine's Trainer for everything it does have (model, optimiser and schedule, CTC loss,
labelled loader with its progress bar and mid-epoch resume, evaluation, checkpoint
format) and only replaces the step.

Outputs in `Global.output_dir`: `latest.pth` (student + optimiser + schedule, the
engine's resume format), `teacher.pth` (teacher weights at the same step, a plain
recogniser checkpoint: use it for inference or `Global.pretrained_model`), `best.pth`
(the teacher at its best evaluation, when there is an Eval section), `train.log`.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import torch

from common.torch_files import read_checkpoint
from ppocr_ext.checkpoint import atomic_save, load_weights, plain, save_ckpt
from ppocr_ext.engine import build_trainer
from ppocr_ext.rec_config import ConfigError, check_config, find_latest_checkpoint, load_config
from ppocr_ext.rec_train import resumable_main
from ppocr_ext.ssl.consistency import MODES, MeanTeacher, consistency_loss
from ppocr_ext.ssl.data import (UnlabeledCrops, base_transforms, endless_batches, find_sources,
                                view_transforms)
from ppocr_ext.ssl.loop import Averages, autocast, log_to_file, section

LOG = logging.getLogger(__name__)
TEACHER_FILE = "teacher.pth"
SEMI_KEYS = {"batch_size": 64, "num_workers": 0, "weak_augment": "none",
             "strong_augment": [{"StandardAug": {"crop_prob": 0.0}}, {"LowResAug": {}},
                                {"RobustnessAug": {}}],
             "ema_decay": 0.999, "threshold": 0.9, "mode": "kl", "weight": 1.0,
             "start_step": 0, "ramp_steps": 0, "min_chars": 0}


def semi_settings(cfg: dict) -> dict:
    """The checked `Semi` section of a config."""
    semi = section(cfg, "Semi", SEMI_KEYS, required=("data_dir",))
    where = cfg.get("filename", "config")
    if semi["mode"] not in MODES:
        raise ConfigError(f"{where}: Semi.mode {semi['mode']!r}: choose one of {MODES}")
    if not 0.0 <= float(semi["ema_decay"]) < 1.0 or not 0.0 <= float(semi["threshold"]) <= 1.0:
        raise ConfigError(f"{where}: Semi.ema_decay must be in [0, 1) and Semi.threshold "
                          "in [0, 1]")
    decoder = (cfg["Architecture"].get("Decoder") or {}).get("name")
    if decoder != "CTCDecoder" or cfg["Loss"].get("name") != "CTCLoss":
        raise ConfigError(f"{where}: semi-supervised training compares CTC outputs position "
                          f"by position; it needs Decoder CTCDecoder and Loss CTCLoss, "
                          f"not {decoder}/{cfg['Loss'].get('name')}")
    return semi


def consistency_weight(step: int, semi: dict) -> float:
    """0 before `start_step`, then a linear ramp over `ramp_steps` to `weight`."""
    start, ramp = int(semi["start_step"]), int(semi["ramp_steps"])
    if step < start:
        return 0.0
    return float(semi["weight"]) * (1.0 if ramp <= 0 else min(1.0, (step - start + 1) / ramp))


def due(count: int, setting) -> bool:
    """Whether an engine `[start, every]` setting (or a plain period) fires at `count`:
    after `start`, every `every` (the engine's eval/save step semantics)."""
    if not setting:
        return False
    start, every = (setting[0], setting[1]) if isinstance(setting, (list, tuple)) else (0, setting)
    return count > start and (count - start) % int(every) == 0


class SemiRun:
    """One run: the engine trainer, the teacher and the unlabeled stream."""

    def __init__(self, cfg: dict, resumed: bool):
        self.cfg, self.glob = cfg, cfg["Global"]
        self.semi = semi_settings(cfg)
        base = base_transforms(cfg)
        unlabeled = UnlabeledCrops(find_sources(self.semi["data_dir"], cfg["_config_dir"]),
                                   [view_transforms(base, self.semi["weak_augment"]),
                                    view_transforms(base, self.semi["strong_augment"])],
                                   self.glob)
        self.unlabeled_count = len(unlabeled)
        self.unlabeled = endless_batches(unlabeled, int(self.semi["batch_size"]),
                                         int(self.semi["num_workers"]))
        self.trainer = build_trainer(cfg, "train")
        self.out_dir = Path(self.glob["output_dir"])
        self.teacher = MeanTeacher(self.trainer.model, float(self.semi["ema_decay"]))
        self.step = int(self.trainer.status.get("global_step", 0))
        if resumed:
            self._load_teacher()
        self.averages = Averages(int(self.glob.get("log_smooth_window", 20)))

    def _load_teacher(self) -> None:
        path = self.out_dir / TEACHER_FILE
        if not path.is_file():
            LOG.warning("%s missing: the teacher restarts as a copy of the student", path)
            return
        saved = read_checkpoint(path)
        load_weights(self.teacher.model, path, strict=True, checkpoint=saved)
        if int(saved.get("global_step", -1)) != self.step:
            LOG.warning("%s is from step %s, the student from step %d (interrupted between "
                        "the two saves); continuing with it", path, saved.get("global_step"),
                        self.step)

    def train_step(self, batch: list[torch.Tensor]) -> None:
        trainer, model = self.trainer, self.trainer.model
        weight = consistency_weight(self.step, self.semi)
        images, labelled = batch[0], len(batch[0])
        if weight > 0:
            weak, strong = next(self.unlabeled)
            images = torch.cat([images, strong])
        with autocast(self.glob.get("use_amp")):
            preds = model(images, data=batch[1:])
            ctc = trainer.loss_class(preds[:labelled], batch)["loss"]
            loss = ctc
            if weight > 0:
                teacher_probs = self.teacher.probabilities(weak)
                consistency, mask = consistency_loss(
                    preds[labelled:], teacher_probs, float(self.semi["threshold"]),
                    self.semi["mode"], int(self.semi["min_chars"]))
                loss = ctc + weight * consistency
                self.averages.add(consistency=float(consistency.detach()),
                                  confident=float(mask.float().mean()))
        if not math.isfinite(float(loss.detach())):
            raise FloatingPointError(f"loss is {float(loss.detach())} at step {self.step}; "
                                     "lower Optimizer.lr or Semi.weight")
        loss.backward()
        clip = float(self.glob.get("grad_clip_val") or 0)
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        trainer.optimizer.step()      # build_trainer's hook clears the gradients
        trainer.lr_scheduler.step()
        self.teacher.update(model)
        self.step += 1
        self.averages.add(loss=float(loss.detach()), ctc=float(ctc.detach()), weight=weight)

    def evaluate(self, epoch: int) -> None:
        """The engine's eval step on the TEACHER (so best.pth holds teacher weights)."""
        trainer, student = self.trainer, self.trainer.model
        trainer.model = self.teacher.model
        try:
            trainer.eval_step(self.step, epoch)
        finally:
            trainer.model = student
            self.teacher.model.eval()
            student.train()

    def save(self, epoch: int, mid_epoch: bool) -> None:
        """Teacher, then the student's resume point (`latest.pth`)."""
        trainer = self.trainer
        atomic_save({"global_step": self.step, "state_dict": self.teacher.model.state_dict(),
                     "config": plain({k: v for k, v in self.cfg.items()
                                      if not k.startswith("_")})},
                    self.out_dir / TEACHER_FILE)
        save_ckpt(trainer.model, self.cfg, trainer.optimizer, trainer.lr_scheduler, epoch,
                  self.step, trainer.best_metric,
                  prefix=f"iter_{epoch}_{self.step}" if mid_epoch else None)

    def run(self) -> dict:
        trainer, glob = self.trainer, self.glob
        trainer.best_metric = dict(trainer.status.get("metrics") or {})
        trainer.best_metric.setdefault(trainer.eval_class.main_indicator, 0)
        evaluating = trainer.valid_dataloader is not None
        print_every = int(glob.get("print_batch_step", 10))
        LOG.info("semi-supervised: %d labelled + %d unlabeled crops, consistency '%s' at "
                 "threshold %.2f, teacher EMA %.4f, output %s",
                 len(trainer.train_dataloader.dataset), self.unlabeled_count,
                 self.semi["mode"], float(self.semi["threshold"]),
                 float(self.semi["ema_decay"]), self.out_dir)
        trainer.model.train()
        epoch = int(trainer.status.get("epoch", 1))
        try:
            for epoch in range(epoch, int(glob["epoch_num"]) + 1):
                for batch in trainer.train_dataloader:
                    self.train_step(batch)
                    if self.step % print_every == 0:
                        LOG.info("epoch %d, step %d, %s, lr: %.2e", epoch, self.step,
                                 self.averages.line(), trainer.optimizer.param_groups[-1]["lr"])
                    if evaluating and due(self.step, glob.get("eval_batch_step")):
                        self.evaluate(epoch)
                    if due(self.step, glob.get("save_iter_step")):
                        self.save(epoch, mid_epoch=True)
                if evaluating and due(epoch, glob.get("eval_epoch_step", 1)):
                    self.evaluate(epoch)
                self.save(epoch, mid_epoch=False)
        finally:
            trainer.train_dataloader.close()
        LOG.info("teacher weights: %s", self.out_dir / TEACHER_FILE)
        return {**trainer.best_metric, "teacher": str(self.out_dir / TEACHER_FILE),
                "steps": self.step}


def train_semi(config: str, overrides=(), resume: bool = False) -> dict:
    """Train as configured (`resume`: from `<output_dir>/latest.pth` + `teacher.pth`).
    Returns the teacher's best evaluation metrics plus 'teacher' and 'steps'."""
    cfg = load_config(config, overrides)
    semi_settings(cfg)
    if resume:
        cfg["Global"]["checkpoints"] = find_latest_checkpoint(cfg["Global"]["output_dir"])
    check_config(cfg, "train")
    handler = log_to_file(LOG, cfg["Global"]["output_dir"])
    try:
        return SemiRun(cfg, resumed=resume).run()
    finally:
        LOG.removeHandler(handler)
        handler.close()


def train_semi_main(argv: list[str] | None = None) -> dict:
    best = resumable_main(train_semi, argv, train_semi.__doc__, "continue the run in "
                         "Global.output_dir from latest.pth/teacher.pth")
    print("best:", ", ".join(f"{key}: {value}" for key, value in best.items()))
    return best
