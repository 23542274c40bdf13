"""Which unlabeled signal pays at a fixed label and CPU budget: the logic behind
tools/bench_ssl.py (writes bench/ssl.md).

For each label budget (default 1k and 10k crops drawn at random from the labelled
LMDB) and each seed, every arm trains SVTR-Tiny at 16x256 (configs/rec/svtr_tiny_cpu*.yml,
the released recogniser's network) for the same process CPU time, then reads the
low-resolution test crops (exact match, case-sensitive). An arm is a starting point and
a method (ARMS):
- starting points: random weights; the encoder of ONE DiG pre-training
  (configs/ssl/dig_tiny.yml) on every labelled-LMDB crop and the test crops, labels
  ignored; the synthetic-crop pre-training of the released recipe (`--synth-weights`,
  stage 1: rendered crops only, no real frame); and DiG continued from those synthetic
  weights on the same unlabeled crops. Pre-training is paid once, whatever the budget,
  and reported on its own line;
- methods: CTC on the labelled crops only, or CTC + EMA-teacher consistency on the
  unlabeled test crops (configs/rec/svtr_tiny_cpu_semi.yml); a semi step costs more, so
  it gets fewer. The teacher's EMA decay is `--ema-decay` (0.99), not the config's 0.999:
  after the few hundred steps a budget buys, a 0.999 teacher is still three quarters its
  starting weights, and the teacher is what gets evaluated.

The CPU budget is turned into steps by a probe per kind of run (supervised, semi, DiG):
the same run for one and for two epochs of a small subset, timed as process CPU time,
whose difference is the cost of the extra steps without the start-up cost. Everything
runs in this process with `num_workers: 0`, so the CPU time counts all the work (wall
time is reported too; other jobs on the machine inflate it, not the CPU time). No
arm sees test labels during training, and none selects weights on the test set: the
final weights are evaluated: the teacher for semi (the model train_semi exports), and
its student beside it in its own column, since after ~100 steps an EMA teacher still
holds part of its starting weights (0.99^90 = 0.40) and read 4 points below its student
(bench/ssl.md).

Every finished run is appended to `<work>/results.jsonl` and the report is rewritten
after each, so an interrupted bench loses at most the run in progress: the same command
skips what is done (runs of other settings are not reused). The report holds every run
kept there with the same settings, so commands that split the plan (other budgets,
arms or seeds) add up to one table, each command named. Seeds are the outer loop, so
a partial report has whole first seeds.
"""
from __future__ import annotations

import argparse
import gc
import json
import logging
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from common.atomic import atomic_write_text
from common.command import command_line
from common.config import ConfigError
from common.hardware import describe_machine
from common.lmdb_io import iter_lmdb, lmdbs_under, write_lmdb
from common.torch_files import CheckpointError, read_checkpoint
from ppocr_ext.checkpoint import atomic_save, state_dict_of
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
# arm name: (starting point, method)
ARMS = {"scratch": ("random", "supervised"), "dig": ("dig", "supervised"),
        "semi": ("random", "semi"), "dig+semi": ("dig", "semi"),
        "synth": ("synth", "supervised"), "synth+dig": ("synth+dig", "supervised"),
        "synth+semi": ("synth", "semi"), "synth+dig+semi": ("synth+dig", "semi")}
NEEDS_SYNTH = ("synth", "synth+dig")
# semi arms from the synthetic weights: consistency from the first step, ramped over 50
SYNTH_SEMI = ["Semi.start_step=0", "Semi.ramp_steps=50"]
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
    seed: int
    epochs: int
    steps: int
    cpu_s: float
    wall_s: float
    acc: float
    norm_edit: float
    student_acc: float | None = None   # semi arms: the student's exact match beside the teacher's


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


def with_encoder(base: Path, encoder: Path, out: Path) -> Path:
    """`base`'s weights with the `encoder.*` ones of `encoder` (a DiG encoder.pth)."""
    state = dict(state_dict_of(read_checkpoint(base)))
    adapted = state_dict_of(read_checkpoint(encoder))
    unknown = sorted(set(adapted) - set(state))
    if unknown:
        raise CheckpointError(f"{encoder}: weights {unknown[:3]} are not in {base}")
    state.update(adapted)
    atomic_save({"state_dict": state}, out)
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
        self.commands: list[str] = []
        self.planned: list[tuple] = []
        self.missing: list[tuple] = []
        self.cost: dict[str, float] = {}
        self.pretrained: dict[str, dict] = {}   # starting point -> {encoder, cpu_s, wall_s, steps}
        self.ledger = self.work / "results.jsonl"
        self.settings = {"train": str(args.train), "test": str(args.test),
                         "minutes": args.minutes, "pretrain_minutes": args.pretrain_minutes,
                         "synth_weights": args.synth_weights, "ema_decay": args.ema_decay,
                         "smoke": args.smoke}

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
                                      f"Semi.ema_decay={self.args.ema_decay}",
                                      f"Global.output_dir={out}", f"Global.epoch_num={epochs}",
                                      *extra, *COMMON]))
        return out / "teacher.pth"

    def dig(self, name: str, data: list[str], epochs: int, extra=()) -> Path:
        out = self.work / "runs" / name
        released(pretrain(str(DIG_CONFIG), [*self.tiny, *(SMOKE_SSL if self.args.smoke else []),
                                   f"SSL.data_dir=[{', '.join(data)}]", "SSL.num_workers=0",
                                   f"Global.output_dir={out}", f"Global.epoch_num={epochs}",
                                   *extra]))
        return out / "encoder.pth"

    def accuracy(self, weights: Path) -> tuple[float, float]:
        metrics = released(evaluate(str(SCRATCH_CONFIG), [*self.tiny, f"Eval.dataset.data_dir={self.args.test}",
                                                 "Eval.loader.num_workers=0",
                                                 f"Global.pretrained_model={weights}"]))
        return float(metrics["acc"]), float(metrics["norm_edit_dis"])

    # ---------------------------------------------------------------- what is kept
    def _load_ledger(self) -> dict[tuple, dict]:
        """Records of earlier calls with these settings, by (kind, budget, arm, seed)."""
        kept = {}
        if self.ledger.is_file():
            for number, line in enumerate(self.ledger.read_text(encoding="utf-8").splitlines(), 1):
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:   # a line cut by a kill: the run is redone
                    LOG.warning("%s:%d: unreadable, ignored", self.ledger, number)
                    continue
                if record.get("settings") == self.settings_of(tuple(record["key"])):
                    kept[tuple(record["key"])] = record
        return kept

    def settings_of(self, key: tuple) -> dict:
        """The settings a record depends on: the step costs only on the data."""
        if key == ("cost",):
            return {k: self.settings[k] for k in ("train", "test", "smoke")}
        return self.settings

    def _record(self, key: tuple, value: dict) -> None:
        self.ledger.parent.mkdir(parents=True, exist_ok=True)
        with self.ledger.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"key": list(key), "settings": self.settings_of(key),
                                     **value}) + "\n")

    # ---------------------------------------------------------------- the bench
    def probe_costs(self, kept: dict) -> None:
        """CPU seconds per step of each kind of run, probing only those not kept."""
        self.cost = dict(kept.get(("cost",), {}).get("cost", {}))
        probe = self.work / "data" / "probe"
        probes = {"supervised": lambda e: self.supervised("probe_supervised", probe, e),
                  # with the consistency branch on from the first step (the config delays it)
                  "semi": lambda e: self.semi("probe_semi", probe, e, ["Semi.start_step=0"]),
                  "dig": lambda e: self.dig("probe_dig", [str(probe)], e),
                  # DiG without its contrastive branch: what the pixel branch alone costs
                  "dig_pixel_only": lambda e: self.dig("probe_dig_pixel", [str(probe)], e,
                                                       ["SSL.contrastive_weight=0"])}
        missing = [kind for kind in probes if kind not in self.cost]
        if not missing:
            return
        sample_lmdb(Path(self.args.train), 4 * self.batch, probe, 0)
        for kind in missing:
            self.cost[kind] = cpu_seconds_per_step(probes[kind], 4)
        self._record(("cost",), {"cost": self.cost})

    def starting_point(self, start: str) -> Path | None:
        """The weights an arm starts from, pre-training them (once) where needed."""
        if start == "random":
            return None
        if start == "synth":
            return Path(self.args.synth_weights)
        if start not in self.pretrained:
            unlabeled = [str(self.args.train), str(self.args.test)]
            steps_per_epoch = sum(count_lmdb_samples(p) for p in unlabeled) // self.batch
            epochs = epochs_for(self.args.pretrain_minutes * 60, self.cost["dig"], steps_per_epoch)
            extra = ([f"Global.pretrained_model={self.args.synth_weights}"]
                     if start == "synth+dig" else [])
            with CpuTimer() as timer:
                encoder = self.dig(f"pretrain_{start.replace('+', '_')}", unlabeled, epochs, extra)
            if start == "synth+dig":   # DiG trains no CTC head: keep the synthetic one
                encoder = with_encoder(Path(self.args.synth_weights), encoder,
                                       encoder.with_name("start.pth"))
            self.pretrained[start] = {"encoder": str(encoder), "cpu_s": timer.cpu,
                                      "wall_s": timer.wall, "steps": epochs * steps_per_epoch}
            self._record(("pretrain", start), self.pretrained[start])
        return Path(self.pretrained[start]["encoder"])

    def run(self) -> list[Result]:
        args = self.args
        kept = self._load_ledger()
        self.pretrained = {key[1]: record for key, record in kept.items() if key[0] == "pretrain"}
        runs = [(key, record) for key, record in kept.items() if key[0] == "run"]
        self.results = [Result(**record["result"]) for _, record in runs]
        self.commands = list(dict.fromkeys([record.get("command", "?") for _, record in runs]
                                           + [args.command]))
        self.planned = [("run", budget, arm, seed) for seed in args.seeds for budget in args.budgets
                        for arm in (args.arms if seed == args.seeds[0] else args.seed_arms)]
        self.missing = [key for key in self.planned if key not in kept]
        self.probe_costs(kept)
        LOG.info("CPU seconds per step: %s", {k: round(v, 3) for k, v in self.cost.items()})
        self.semi_start = 0 if args.smoke else int(load_config(str(SEMI_CONFIG))["Semi"]["start_step"])
        for seed in args.seeds:
            for budget in args.budgets:
                todo = [key for key in self.missing if key[1] == budget and key[3] == seed]
                if not todo:
                    continue
                data = sample_lmdb(Path(args.train), budget,
                                   self.work / "data" / f"labelled_{budget}", seed=budget)
                spe = count_lmdb_samples(data) // self.batch
                if spe == 0:
                    raise ConfigError(f"label budget {budget}: fewer crops than one batch")
                for key in todo:
                    self.results.append(self.run_arm(key[2], budget, seed, data, spe))
                    self._record(key, {"result": asdict(self.results[-1]), "command": args.command})
                    self.missing.remove(key)
                    self.write_report()
        return self.results

    def run_arm(self, arm: str, budget: int, seed: int, data: Path, spe: int) -> Result:
        start, method = ARMS[arm]
        weights = self.starting_point(start)
        budget_s = self.args.minutes * 60
        extra = [f"Global.seed={seed}"] + ([f"Global.pretrained_model={weights}"] if weights else [])
        # the config delays consistency until a model from random weights reads; one that
        # starts from pre-trained weights reads at step 0 (SYNTH_SEMI)
        semi_start = self.semi_start
        if method == "semi" and start in NEEDS_SYNTH and not self.args.smoke:
            extra, semi_start = extra + SYNTH_SEMI, 0
        epochs = (semi_epochs_for(budget_s, self.cost["supervised"], self.cost["semi"],
                                  semi_start, spe) if method == "semi"
                  else epochs_for(budget_s, self.cost["supervised"], spe))
        name = f"{arm.replace('+', '_')}_{budget}_seed{seed}"
        with CpuTimer() as timer:
            final = (self.semi(name, data, epochs, extra) if method == "semi"
                     else self.supervised(name, data, epochs, extra))
        acc, ned = self.accuracy(final)
        student = self.accuracy(final.with_name("latest.pth"))[0] if method == "semi" else None
        LOG.info("budget %d, %s, seed %d: acc %.4f", budget, arm, seed, acc)
        return Result(budget, arm, seed, epochs, epochs * spe, timer.cpu, timer.wall, acc, ned,
                      student)

    def write_report(self) -> None:
        atomic_write_text(Path(self.args.out), self.report(self.args.command))

    def report(self, command: str) -> str:
        args = self.args
        lines = [
            "# Self- and semi-supervised recognition at a fixed label and CPU budget",
            "",
            *([f"Command: `{command}`  "] if self.commands == [command] else
              ["Commands (the same settings; every run they finished is a row): "
               + "; ".join(f"`{c}`" for c in self.commands) + "  "]),
            f"Labelled crops: `{args.train}` (random subsets); test (low-resolution) crops: "
            f"`{args.test}`, exact match, case-sensitive.  ",
            f"CPU budget per arm: {args.minutes:g} min of process CPU time (all threads); "
            "probed CPU s/step: "
            + ", ".join(f"{k} {v:.3f}" for k, v in self.cost.items()) + ".  ",
            *([f"DiG's step costs {self.cost['dig'] / self.cost['supervised']:.1f}x a "
               f"supervised one; without its contrastive branch (one encoder pass instead of "
               f"four) {self.cost['dig_pixel_only'] / self.cost['supervised']:.1f}x: the "
               f"contrastive branch is {1 - self.cost['dig_pixel_only'] / self.cost['dig']:.0%} "
               "of DiG's CPU.  "] if "dig_pixel_only" in self.cost else []),
            f"Synthetic-crop weights: `{args.synth_weights}`.  " if args.synth_weights else
            "Synthetic-crop weights: none given (`--synth-weights`), so no synth arm.  ",
            *(f"Pre-training `{start}` (once, shared by every budget and seed): "
              f"{p['steps']} steps, {p['cpu_s'] / 60:.1f} CPU min, {p['wall_s'] / 60:.1f} wall "
              "min, on the labelled LMDB's and the test crops (labels ignored).  "
              for start, p in self.pretrained.items()),
            f"Machine: {describe_machine()} at the end (shared: wall times are "
            "inflated, CPU times are not).",
            *(["", "**--smoke run: a tiny model for a few steps on rendered crops; the "
               "figures only show the plumbing works.**"] if args.smoke else []),
            *(["", f"**Partial: {len(self.planned) - len(self.missing)} of {len(self.planned)} "
               "runs of the last command so far (the same command continues).**"]
              if self.missing else []),
            "",
            "| labelled crops | arm | starts from | seeds | steps | CPU min | exact match "
            "(mean) | per seed | spread | 1 - NED | semi: the student's exact match |",
            "|---:|---|---|---:|---:|---:|---:|---|---:|---:|---:|",
        ]
        table = summarise(self.results)
        for (budget, arm), row in table.items():
            lines.append(f"| {budget} | {arm} | {ARMS[arm][0]} | {row['seeds']} | {row['steps']} | "
                         f"{row['cpu_min']:.1f} | {row['acc']:.4f} | "
                         f"{' '.join(f'{a:.3f}' for a in row['per_seed'])} | "
                         f"{row['spread']:.3f} | {row['ned']:.4f} | "
                         + ("-" if row["student"] is None else f"{row['student']:.4f}") + " |")
        lines += ["", *comparisons(table)]
        return "\n".join(lines) + "\n"


def summarise(results: list[Result]) -> dict[tuple[int, str], dict]:
    """Per (budget, arm): mean exact match and 1 - NED over seeds, the per-seed values,
    their spread (max - min), mean steps and CPU minutes, the semi students' mean exact
    match (None when a run lacks it); in the order first run."""
    groups: dict[tuple[int, str], list[Result]] = {}
    for result in results:
        groups.setdefault((result.budget, result.arm), []).append(result)
    return {key: {"seeds": len(rows), "per_seed": [r.acc for r in rows],
                  "acc": float(np.mean([r.acc for r in rows])),
                  "ned": float(np.mean([r.norm_edit for r in rows])),
                  "student": (None if any(r.student_acc is None for r in rows)
                              else float(np.mean([r.student_acc for r in rows]))),
                  "spread": max(r.acc for r in rows) - min(r.acc for r in rows),
                  "steps": round(float(np.mean([r.steps for r in rows]))),
                  "cpu_min": float(np.mean([r.cpu_s for r in rows])) / 60}
            for key, rows in groups.items()}


def comparisons(table: dict[tuple[int, str], dict]) -> list[str]:
    """The issue's questions, per budget: the best arm that uses unlabeled or synthetic
    data against scratch, and each arm against its starting point's plain CTC arm
    (scratch or synth), with whether the difference exceeds the larger seed spread."""
    lines = []
    for budget in sorted({b for b, _ in table}):
        rows = {arm: row for (b, arm), row in table.items() if b == budget}
        others = {arm: row for arm, row in rows.items() if arm != "scratch"}
        if "scratch" in rows and others:
            best = max(others, key=lambda arm: others[arm]["acc"])
            lines.append(f"- {budget} labels: best arm with unlabeled or synthetic data is "
                         f"`{best}`, {100 * (others[best]['acc'] - rows['scratch']['acc']):+.1f} "
                         "points over scratch.")
        for base in ("scratch", "synth"):
            if base not in rows:
                continue
            for arm, row in rows.items():
                if arm == base or (base == "synth") != arm.startswith("synth") or arm == "synth":
                    continue
                diff = row["acc"] - rows[base]["acc"]
                spread = max(row["spread"], rows[base]["spread"])
                verdict = ("one seed: no spread to compare with" if min(row["seeds"], rows[base]["seeds"]) < 2
                           else "beyond the seed spread" if abs(diff) > spread
                           else "within the seed spread")
                lines.append(f"- {budget} labels: `{arm}` vs `{base}`: {100 * diff:+.1f} points "
                             f"(spread {100 * spread:.1f}; {verdict}).")
    return lines


def parse_args(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default="data/lmdb/train",
                        help="labelled crops LMDB the label budgets are drawn from")
    parser.add_argument("--test", default="data/lmdb/test", help="low-resolution test crops LMDB")
    parser.add_argument("--budgets", type=int, nargs="+", default=[1000, 10000],
                        help="labelled crops per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="training seeds (the label subsets stay the same)")
    parser.add_argument("--arms", nargs="+", choices=list(ARMS),
                        help="arms to run (default: all; the synth ones need --synth-weights)")
    parser.add_argument("--seed-arms", nargs="+", choices=list(ARMS),
                        help="the arms the seeds after the first run (default: all the "
                             "arms; e.g. only those whose first seed read something)")
    parser.add_argument("--synth-weights",
                        help="synthetic-crop pre-trained recogniser weights (the release's "
                             "stage 1, e.g. output/rec/svtr_tiny_synth/best.pth)")
    parser.add_argument("--minutes", type=float, default=40.0,
                        help="process CPU minutes per fine-tuning arm")
    parser.add_argument("--pretrain-minutes", type=float, default=60.0,
                        help="process CPU minutes of each DiG pre-training")
    parser.add_argument("--ema-decay", type=float, default=0.99,
                        help="the semi arms' teacher EMA decay (module doc)")
    parser.add_argument("--work", default="output/bench_ssl", help="runs and data subsets")
    parser.add_argument("--out", default="bench/ssl.md")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0: torch's default, one per core). On a "
                             "machine shared with other jobs, 1 avoids OpenMP threads "
                             "spin-waiting for a busy core, which inflates CPU time")
    parser.add_argument("--smoke", action="store_true",
                        help="end to end in about a minute: rendered crops, tiny model")
    args = parser.parse_args(argv)
    if args.synth_weights and not Path(args.synth_weights).is_file():
        raise SystemExit(f"error: --synth-weights {args.synth_weights}: no such file "
                         "(make train-release's stage 1 writes output/rec/svtr_tiny_synth/best.pth)")
    if args.arms is None:
        args.arms = [arm for arm, (start, _) in ARMS.items()
                     if args.synth_weights or start not in NEEDS_SYNTH]
    elif not args.synth_weights and any(ARMS[arm][0] in NEEDS_SYNTH for arm in args.arms):
        raise SystemExit("error: the synth arms need --synth-weights")
    args.seed_arms = [arm for arm in args.arms if arm in (args.seed_arms or args.arms)]
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
    args.command = command_line("bench_ssl.py", raw)
    bench = Bench(args)
    try:
        bench.run()
    except ConfigError as err:
        raise SystemExit(f"error: {err}") from err
    bench.write_report()
    print(Path(args.out).read_text(encoding="utf-8"))
    return bench.results
