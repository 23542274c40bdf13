"""From scratch vs DiG pre-trained vs semi-supervised, at a fixed label budget and a
fixed CPU budget: the logic behind tools/bench_ssl.py (writes bench/ssl.md).

For each label budget (default 1k and 10k crops drawn at random from the labelled
LMDB) three arms fine-tune SVTR-Tiny (configs/rec/svtr_tiny_cpu*.yml) for the same
process CPU time, then read the low-resolution test crops (exact match, case-sensitive):
- scratch: CTC on the labelled crops only;
- dig: the same, from the encoder of ONE DiG pre-training (configs/ssl/dig_tiny.yml)
  on all labelled-LMDB crops and the test crops, labels ignored; its CPU time is
  reported separately (it is paid once, whatever the budget);
- semi: CTC + EMA-teacher consistency on the unlabeled test crops
  (configs/rec/svtr_tiny_cpu_semi.yml); a semi step costs more, so it gets fewer.

The CPU budget is turned into steps by a probe per kind of run (supervised, semi, DiG):
the same run for one and for two epochs of a small subset, timed as process CPU time,
whose difference is the cost of the extra steps without the start-up cost. Everything
runs in this process with `num_workers: 0`, so the CPU time counts all the work (wall
time is reported too; other jobs on the machine inflate it, not the CPU time). No
arm sees test labels during training, and none selects weights on the test set: the
final weights are evaluated (the teacher for semi).
"""
from __future__ import annotations

import argparse
import gc
import logging
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from common.atomic import atomic_write_text
from common.command import command_line
from common.config import ConfigError
from common.hardware import describe_machine
from common.lmdb_io import iter_lmdb, lmdbs_under, write_lmdb
from ppocr_ext.rec_config import PROJECT_ROOT, count_lmdb_samples, load_config
from ppocr_ext.rec_train import evaluate, setup_logging, train
from ppocr_ext.ssl.pretrain import pretrain
from ppocr_ext.ssl.semi import train_semi
from synth.ids import sample_id

LOG = logging.getLogger(__name__)
REC = PROJECT_ROOT / "configs" / "rec"
SCRATCH_CONFIG = REC / "svtr_tiny_cpu.yml"
SEMI_CONFIG = REC / "svtr_tiny_cpu_semi.yml"
DIG_CONFIG = PROJECT_ROOT / "configs" / "ssl" / "dig_tiny.yml"
ARMS = ("scratch", "dig", "semi")
# Every arm: no evaluation during training (no selection on the test set) and no
# loader worker processes (their CPU time would not be counted).
COMMON = ["Eval=null", "Train.loader.num_workers=0"]

# --smoke: a tiny SVTR at 32x64 and a few steps, so the whole bench runs in seconds.
_SMOKE_PIPE = ("[{DecodeImage: {img_mode: BGR, channel_first: false}}, {CTCLabelEncode: null}, "
               "{SVTRResize: {image_shape: [3, 32, 64], padding: false}}, "
               "{KeepKeys: {keep_keys: [image, label, length]}}]")
SMOKE_OVERRIDES = [
    "Architecture.Encoder.img_size=[32, 64]", "Architecture.Encoder.out_char_num=16",
    "Architecture.Encoder.out_channels=64", "Architecture.Encoder.embed_dim=[32, 48, 64]",
    "Architecture.Encoder.depth=[1, 1, 1]", "Architecture.Encoder.num_heads=[2, 2, 2]",
    "Architecture.Encoder.mixer=[Local, Global, Global]",
    f"Train.dataset.transforms={_SMOKE_PIPE}", f"Eval.dataset.transforms={_SMOKE_PIPE}",
    "Train.loader.batch_size_per_card=8", "Eval.loader.batch_size_per_card=8",
    "Eval.loader.num_workers=0", "Global.print_batch_step=1000", "LRScheduler.warmup_epoch=0",
    "Optimizer.lr=0.002"]
SMOKE_SSL = ["SSL.batch_size=8", "SSL.hidden_dim=64", "SSL.proj_dim=32", "SSL.instances=4"]
SMOKE_SEMI = ["Semi.batch_size=8", "Semi.start_step=0", "Semi.ramp_steps=0", "Semi.min_chars=0"]


@dataclass
class Result:
    budget: int
    arm: str
    epochs: int
    steps: int
    cpu_s: float
    wall_s: float
    acc: float
    norm_edit: float


class CpuTimer:
    """Process CPU time (all threads of this process) and wall time of a block."""

    def __enter__(self):
        self.cpu0, self.wall0 = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.cpu = time.process_time() - self.cpu0
        self.wall = time.perf_counter() - self.wall0


def sample_lmdb(source: Path, count: int, out: Path, seed: int) -> Path:
    """A random `count`-crop subset of a labelled LMDB, or of every LMDB below a folder
    (e.g. localize's `train/` with `high/` and `low/`); all of it if smaller."""
    total = count_lmdb_samples(source, "--train")
    keep = set(random.Random(seed).sample(range(total), min(count, total)))
    rows = ((f"{lmdb_dir}#{i + 1}", image, label) for lmdb_dir in lmdbs_under(source)
            for i, (image, label) in enumerate(iter_lmdb(lmdb_dir)))
    write_lmdb(out, (row for index, row in enumerate(rows) if index in keep),
               total=total, desc=f"labelled subset {len(keep)}")
    return out


def render_smoke_crops(out: Path, count: int, seed: int, scale: float = 1.0) -> Path:
    """A tiny LMDB of white IDs on dark backgrounds (`scale` < 1: downscaled and JPEG'd
    like low-resolution test crops). Only for --smoke: it checks the plumbing."""
    rng = np.random.default_rng(seed)
    samples = []
    for index in range(count):
        text = sample_id(rng, 4, 6)
        image = np.full((32, 128, 3), int(rng.integers(0, 90)), np.uint8)
        cv2.putText(image, text, (4, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
        if scale < 1:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        samples.append((f"smoke{index}", cv2.imencode(".jpg", image)[1].tobytes(), text))
    write_lmdb(out, samples)
    return out


def released(result):
    """Collect the finished run's garbage now: the engine's trainer and its loader refer
    to each other, and an LMDB left open by a dead trainer cannot be opened again in
    this process ("environment is already open")."""
    gc.collect()
    return result


def cpu_seconds_per_step(run, steps_per_epoch: int) -> float:
    """Marginal CPU cost of a step: `run(epochs)` for 1 and for 2 epochs, difference
    divided by the extra steps (start-up cost cancels). When the difference is lost in
    the noise (under a tenth of the longer run: tiny models), the longer run's average
    cost per step, start-up included, is used instead: an overestimate, never zero."""
    with CpuTimer() as one:
        run(1)
    with CpuTimer() as two:
        run(2)
    extra = two.cpu - one.cpu
    if extra < 0.1 * two.cpu:
        LOG.warning("probe too short to separate step cost from start-up; using the average")
        return two.cpu / (2 * steps_per_epoch)
    return extra / steps_per_epoch


def epochs_for(budget_s: float, per_step_s: float, steps_per_epoch: int) -> int:
    return max(1, round(budget_s / per_step_s / steps_per_epoch))


def semi_epochs_for(budget_s: float, supervised_s: float, semi_s: float, start_step: int,
                    steps_per_epoch: int) -> int:
    """The semi arm's steps cost a supervised step until `Semi.start_step` (no teacher, no
    unlabeled batch) and `semi_s` after: pricing them all at `semi_s` gave the arm so few
    steps at small budgets that its consistency term never switched on."""
    plain = start_step * supervised_s
    if budget_s <= plain:
        return epochs_for(budget_s, supervised_s, steps_per_epoch)
    steps = start_step + (budget_s - plain) / semi_s
    return max(1, round(steps / steps_per_epoch))


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args, self.work = args, Path(args.work).resolve()
        self.tiny = SMOKE_OVERRIDES if args.smoke else []
        self.batch = 8 if args.smoke else 64
        self.results: list[Result] = []
        self.pretrain_cost: tuple[float, float, int] | None = None

    # ---------------------------------------------------------------- the three kinds
    def supervised(self, name: str, data: Path, epochs: int, extra=()) -> Path:
        out = self.work / "runs" / name
        released(train(str(SCRATCH_CONFIG), [*self.tiny, f"Train.dataset.data_dir={data}",
                                    f"Global.output_dir={out}", f"Global.epoch_num={epochs}",
                                    *extra, *COMMON]))
        return out / "latest.pth"

    def semi(self, name: str, data: Path, epochs: int, extra=()) -> Path:
        out = self.work / "runs" / name
        released(train_semi(str(SEMI_CONFIG), [*self.tiny, *(SMOKE_SEMI if self.args.smoke else []),
                                      f"Train.dataset.data_dir={data}",
                                      f"Semi.data_dir=[{self.args.test}]", "Semi.num_workers=0",
                                      f"Global.output_dir={out}", f"Global.epoch_num={epochs}",
                                      *extra, *COMMON]))
        return out / "teacher.pth"

    def dig(self, name: str, data: list[str], epochs: int) -> Path:
        out = self.work / "runs" / name
        released(pretrain(str(DIG_CONFIG), [*self.tiny, *(SMOKE_SSL if self.args.smoke else []),
                                   f"SSL.data_dir=[{', '.join(data)}]", "SSL.num_workers=0",
                                   f"Global.output_dir={out}", f"Global.epoch_num={epochs}"]))
        return out / "encoder.pth"

    def accuracy(self, weights: Path) -> tuple[float, float]:
        metrics = released(evaluate(str(SCRATCH_CONFIG), [*self.tiny, f"Eval.dataset.data_dir={self.args.test}",
                                                 "Eval.loader.num_workers=0",
                                                 f"Global.pretrained_model={weights}"]))
        return float(metrics["acc"]), float(metrics["norm_edit_dis"])

    # ---------------------------------------------------------------- the bench
    def run(self) -> list[Result]:
        args = self.args
        probe = sample_lmdb(Path(args.train), 4 * self.batch, self.work / "data" / "probe", 0)
        cost = {"supervised": cpu_seconds_per_step(
                    lambda e: self.supervised("probe_supervised", probe, e), 4),
                # with the consistency branch on from the first step (the config delays it)
                "semi": cpu_seconds_per_step(
                    lambda e: self.semi("probe_semi", probe, e, ["Semi.start_step=0"]), 4),
                "dig": cpu_seconds_per_step(lambda e: self.dig("probe_dig", [str(probe)], e), 4)}
        LOG.info("CPU seconds per step: %s", {k: round(v, 3) for k, v in cost.items()})
        self.cost = cost

        unlabeled = [str(args.train), str(args.test)]
        unlabeled_count = sum(count_lmdb_samples(p) for p in unlabeled)
        dig_spe = unlabeled_count // self.batch
        dig_epochs = epochs_for(args.pretrain_minutes * 60, cost["dig"], dig_spe)
        with CpuTimer() as timer:
            encoder = self.dig("dig_pretrain", unlabeled, dig_epochs)
        self.pretrain_cost = (timer.cpu, timer.wall, dig_epochs * dig_spe)

        semi_start = 0 if args.smoke else int(load_config(str(SEMI_CONFIG))["Semi"]["start_step"])
        for budget in args.budgets:
            data = sample_lmdb(Path(args.train), budget, self.work / "data" / f"labelled_{budget}",
                               seed=budget)
            spe = count_lmdb_samples(data) // self.batch
            if spe == 0:
                raise ConfigError(f"label budget {budget}: fewer crops than one batch")
            for arm in ARMS:
                epochs = (semi_epochs_for(args.minutes * 60, cost["supervised"], cost["semi"],
                                          semi_start, spe) if arm == "semi"
                          else epochs_for(args.minutes * 60, cost["supervised"], spe))
                name = f"{arm}_{budget}"
                with CpuTimer() as timer:
                    if arm == "scratch":
                        weights = self.supervised(name, data, epochs)
                    elif arm == "dig":
                        weights = self.supervised(name, data, epochs,
                                                  [f"Global.pretrained_model={encoder}"])
                    else:
                        weights = self.semi(name, data, epochs)
                acc, ned = self.accuracy(weights)
                self.results.append(Result(budget, arm, epochs, epochs * spe, timer.cpu,
                                           timer.wall, acc, ned))
                LOG.info("budget %d, %s: acc %.4f", budget, arm, acc)
        return self.results

    def report(self, command: str) -> str:
        args = self.args
        cpu, wall, steps = self.pretrain_cost
        lines = [
            "# Self- and semi-supervised recognition at a fixed label and CPU budget",
            "",
            f"Command: `{command}`  ",
            f"Labelled crops: `{args.train}` (random subsets); test (low-resolution) crops: "
            f"`{args.test}`, exact match, case-sensitive.  ",
            f"CPU budget per arm: {args.minutes:g} min of process CPU time (all threads); "
            "probed CPU s/step: "
            + ", ".join(f"{k} {v:.3f}" for k, v in self.cost.items()) + ".  ",
            f"DiG pre-training (once, shared by every budget): {steps} steps, "
            f"{cpu / 60:.1f} CPU min, {wall / 60:.1f} wall min, on the labelled LMDB's and "
            "the test crops (labels ignored).  ",
            f"Machine: {describe_machine()} at the end (shared: wall times are "
            "inflated, CPU times are not).",
            *(["", "**--smoke run: a tiny model for a few steps on rendered crops; the "
               "figures only show the plumbing works.**"] if args.smoke else []),
            "",
            "| labelled crops | arm | epochs | steps | CPU min | wall min | exact match | 1 - NED |",
            "|---:|---|---:|---:|---:|---:|---:|---:|",
        ]
        lines += [f"| {r.budget} | {r.arm} | {r.epochs} | {r.steps} | {r.cpu_s / 60:.1f} | "
                  f"{r.wall_s / 60:.1f} | {r.acc:.4f} | {r.norm_edit:.4f} |" for r in self.results]
        return "\n".join(lines) + "\n"


def parse_args(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default="data/lmdb/train",
                        help="labelled crops LMDB the label budgets are drawn from")
    parser.add_argument("--test", default="data/lmdb/test", help="low-resolution test crops LMDB")
    parser.add_argument("--budgets", type=int, nargs="+", default=[1000, 10000],
                        help="labelled crops per run")
    parser.add_argument("--minutes", type=float, default=40.0,
                        help="process CPU minutes per fine-tuning arm")
    parser.add_argument("--pretrain-minutes", type=float, default=60.0,
                        help="process CPU minutes of the one DiG pre-training")
    parser.add_argument("--work", default="output/bench_ssl", help="runs and data subsets")
    parser.add_argument("--out", default="bench/ssl.md")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0: torch's default, one per core). On a "
                             "machine shared with other jobs, 1 avoids OpenMP threads "
                             "spin-waiting for a busy core, which inflates CPU time")
    parser.add_argument("--smoke", action="store_true",
                        help="end to end in about a minute: rendered crops, tiny model")
    args = parser.parse_args(argv)
    if args.smoke:
        data = Path(args.work).resolve() / "data"
        args.train = str(render_smoke_crops(data / "smoke_train", 48, seed=1))
        args.test = str(render_smoke_crops(data / "smoke_test", 16, seed=2, scale=1 / 1.7))
        args.budgets, args.minutes, args.pretrain_minutes = [32], 0.02, 0.02
        args.threads = args.threads or 1
    return args


def bench_ssl_main(argv: list[str] | None = None) -> list[Result]:
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(raw)
    setup_logging()
    if args.threads:
        torch.set_num_threads(args.threads)
    bench = Bench(args)
    try:
        bench.run()
    except ConfigError as err:
        raise SystemExit(f"error: {err}") from err
    text = bench.report(command_line("bench_ssl.py", raw))
    atomic_write_text(Path(args.out), text)
    print(text)
    return bench.results
