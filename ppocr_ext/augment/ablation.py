"""The augmentation ablation of issue #4: the same SVTR trained with each preset of the
ladder (none, standard, + TIA, + low-res domain) for the same schedule, then read on the
low-resolution test crops. Writes bench/aug_ablation.md with the commands and machine.

Each arm is a config under `configs/rec/ablation/` that differs from the others only in
`Train.dataset.transforms`, so a reader can rerun one arm with `tools/train.py`. An arm
whose run folder already holds a finished run (best.pth, and a train.log that reached the
last epoch) is evaluated without retraining; an unfinished one resumes from latest.pth.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from common.atomic import atomic_write_text
from common.command import command_line
from common.hardware import describe_machine
from ppocr_ext.rec_config import PROJECT_ROOT, load_config
from ppocr_ext.rec_train import evaluate, train
from ppocr_ext.train_log import read_train_log

ARMS = ("none", "standard", "standard_tia", "standard_tia_lowres")
CONFIG_DIR = PROJECT_ROOT / "configs" / "rec" / "ablation"   # found from any working dir


def run_summary(log_file: Path) -> dict:
    """From an engine train.log: last epoch reached, steps, wall minutes between the first
    and last logged step, best validation accuracy. Empty dict when there is no log."""
    log = read_train_log(log_file)
    if log is None:
        return {}
    return {"epoch": log.epoch, "epochs": log.epochs, "steps": log.step,
            "best_val_acc": log.best_val_acc, "train_minutes": log.train_minutes}


def finished(run_dir: Path, epochs: int) -> bool:
    """A run counts as done when best.pth exists and its log reached the last epoch."""
    summary = run_summary(run_dir / "train.log")
    return (run_dir / "best.pth").is_file() and summary.get("epoch", 0) >= epochs


def arm_overrides(args: argparse.Namespace, arm: str) -> list[str]:
    return [f"Train.dataset.data_dir={args.train}", f"Eval.dataset.data_dir={args.val}",
            f"Global.output_dir={args.out_dir / arm}", *args.opt]


def run_arm(args: argparse.Namespace, arm: str) -> dict:
    """Train (or reuse) one arm, then measure its best weights on the test crops."""
    config = CONFIG_DIR / f"{arm}.yml"
    overrides = arm_overrides(args, arm)
    run_dir = args.out_dir / arm
    epochs = load_config(config, overrides)["Global"]["epoch_num"]
    if not finished(run_dir, epochs):
        train(str(config), overrides, resume=(run_dir / "latest.pth").is_file())
    test = evaluate(str(config), [*overrides, f"Global.pretrained_model={run_dir / 'best.pth'}",
                                  f"Eval.dataset.data_dir={args.test}"])
    return {"arm": arm, "config": str(config.relative_to(PROJECT_ROOT)),
            **run_summary(run_dir / "train.log"),
            "test_acc": test["acc"], "test_1_ned": test["norm_edit_dis"],
            "test_samples": test["num_samples"]}


def report(rows: list[dict], args: argparse.Namespace, command: str) -> str:
    lines = [
        "# Augmentation ablation (issue #4)", "",
        f"Command: `{command}`  ",
        f"Train crops `{args.train}`, validation `{args.val}`, test (low-resolution) "
        f"`{args.test}`; exact match is case-sensitive, frame level on the localised crops.  ",
        f"Machine: {describe_machine()}; each arm "
        "trains on one torch thread (`Global.num_threads: 1`), so train minutes are CPU "
        "minutes of one core when nothing else runs.",
        "",
        "| arm | epochs | steps | train min | best val exact | test exact | test 1 - NED |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        val = "n/a" if r["best_val_acc"] is None else f"{r['best_val_acc']:.4f}"
        lines.append(f"| {r['arm']} (`{r['config']}`) | {r['epoch']}/{r['epochs']} | {r['steps']} "
                     f"| {r['train_minutes']:.1f} | {val} | {r['test_acc']:.4f} "
                     f"| {r['test_1_ned']:.4f} |")
    return "\n".join(lines) + "\n"


def bench_aug_ablation_main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default="output/demo/loc/train", help="train crops LMDB(s)")
    parser.add_argument("--val", default="output/demo/loc/val/low", help="validation crops")
    parser.add_argument("--test", default="output/demo/loc/test", help="low-res test crops")
    parser.add_argument("--out-dir", type=Path, default=Path("output/ablation"))
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument("-o", "--opt", nargs="*", default=[], metavar="KEY=VALUE",
                        help="overrides applied to every arm, e.g. Global.epoch_num=3")
    parser.add_argument("--results", type=Path, default=Path("bench/aug_ablation.md"))
    args = parser.parse_args(argv)
    for path in (args.train, args.val, args.test):
        if not Path(path).exists():
            raise SystemExit(f"error: {path}: no such crops folder (run `make localize` first)")
    rows = [run_arm(args, arm) for arm in args.arms]
    command = command_line("bench_aug_ablation.py", argv)
    atomic_write_text(args.results, report(rows, args, command))
    atomic_write_text(args.results.with_suffix(".json"), json.dumps(
        {"command": command, "load_average": os.getloadavg(), "arms": rows}, indent=2))
    print(args.results.read_text(encoding="utf-8"))
    return rows
