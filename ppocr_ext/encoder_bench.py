"""Encoders compared at the same CPU budget (issue #16 item 3): each arm trains the same
recipe (the released recogniser's stage 1: the rendered-crop stream, its curriculum,
optimizer and schedule) with only `Architecture` changed, for the same CPU-minutes of its
process tree (trainer and crop-rendering worker, `tools/cpu_budget.py`, whose ledger maps
the log's timestamps to CPU-minutes), and is scored on the same held-out crops
(`data/crops/heldout_eval`: fonts and backgrounds no arm trains on). The first bench gave
each arm 12 wall minutes: an arm that trained while other work ran got fewer steps, and
no arm left CTC's blank stall in that budget.

Reported per arm: parameters, input, training img/s and inference crops/s (bf16, the
recipe's setting; ppocr_ext.rec_bench measures them on random data so data loading does
not blur the comparison), and the held-out accuracy read from the arm's train.log
(ppocr_ext.train_log) against CPU-minutes, with the accuracy reached within the budget.
"""
from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

import torch

from common.atomic import atomic_write_text
from common.command import command_line, report_file
from common.cpu_budget import cpu_minutes_at, read_ledger
from common.hardware import describe_machine, machine
from ppocr_ext.engine import fused_attention
from ppocr_ext.rec_bench import bench_config
from ppocr_ext.train_log import read_train_log


def cpu_curve(run_dir: Path) -> list[dict]:
    """The run's evaluations, each with the CPU-minutes its tree had spent by then (from
    `cpu.tsv`, the ledger tools/cpu_budget.py keeps beside train.log). Where an epoch ends
    on an evaluation step the engine evaluates twice: the first is kept."""
    log, ledger = read_train_log(run_dir / "train.log"), read_ledger(run_dir / "cpu.tsv")
    curve = []
    for e in log.evaluations if log else []:
        if curve and curve[-1]["step"] == e["step"]:
            continue
        spent = cpu_minutes_at(ledger, datetime.datetime.fromisoformat(e["at"]))
        if spent is not None:
            curve.append({**e, "cpu_minutes": round(spent, 1)})
    return curve


def arm_report(name: str, config: str, run_dir: Path, budget_cpu_minutes: float,
               speed_seconds: float) -> dict:
    """One arm: speed on this machine and the held-out curve of its run within the budget."""
    with fused_attention():
        speed = bench_config(config, 64, 64, speed_seconds, 3)
    curve = [e for e in cpu_curve(run_dir) if e["cpu_minutes"] <= budget_cpu_minutes]
    return {"arm": name, "config": config, "run": str(run_dir), "params_m": speed["params_m"],
            "input": speed["input"], "train_img_s": speed["train_bf16"],
            "infer_crops_s": speed["infer_bf16"], "curve": curve,
            "acc_at_budget": curve[-1]["val_acc"] if curve else None,
            "best_acc": max((e["val_acc"] for e in curve), default=None),
            "steps_at_budget": curve[-1]["step"] if curve else 0}


def to_markdown(result: dict) -> str:
    lines = ["# Encoders at the same CPU budget", "", f"Command: `{result['command']}`  ",
             f"Date: {result['date']}  ", f"Machine: {describe_machine(result['machine'])}  ",
             f"Budget: {result['budget_cpu_minutes']} CPU-minutes of training per arm (its "
             "process tree's user + system time: the trainer and its crop-rendering worker; "
             "the recipe's 7-epoch cosine schedule, cut by the budget); held-out "
             "crops: `data/crops/heldout_eval` (1,000 crops of fonts and backgrounds no arm "
             "trains on). Speeds: bf16 autocast, batch 64, random data (ppocr_ext.rec_bench).", "",
             "| arm | params (M) | input | train img/s | infer crops/s | steps in budget | "
             "held-out exact at budget | best in budget |", "|---|---|---|---|---|---|---|---|"]
    fmt = lambda v: "-" if v is None else f"{v:.3f}"
    for a in result["arms"]:
        lines.append(f"| {a['arm']} | {a['params_m']} | {a['input']} | {a['train_img_s']} | "
                     f"{a['infer_crops_s']} | {a['steps_at_budget']} | {fmt(a['acc_at_budget'])} | "
                     f"{fmt(a['best_acc'])} |")
    lines += ["", "## Held-out exact match against CPU-minutes (wall minutes in brackets)", ""]
    for a in result["arms"]:
        points = ", ".join(f"{e['cpu_minutes']:g} ({e['minutes']:g}) min, step {e['step']}: "
                           f"{e['val_acc']:.3f}"
                           for e in a["curve"]) or "no evaluation logged"
        lines.append(f"- {a['arm']}: {points}")
    if result.get("note"):
        lines += ["", result["note"]]
    return "\n".join(lines) + "\n"


def bench_encoders_main(argv: list[str] | None = None) -> dict:
    """`tools/bench_encoders.py`: compare trained arms (`make bench-encoders` trains them)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--arm", action="append", required=True, metavar="NAME=CONFIG:RUN_DIR",
                   help="an arm: its config and the output_dir holding its train.log and the "
                        "cpu.tsv ledger of tools/cpu_budget.py (repeatable)")
    p.add_argument("--budget-cpu-minutes", type=float, required=True)
    p.add_argument("--speed-seconds", type=float, default=8.0, help="seconds per speed figure")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--note", default="", help="free text for the report")
    p.add_argument("--out", default="bench/encoders", help="writes OUT.md and OUT.json")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    arms = []
    for spec in args.arm:
        name, _, rest = spec.partition("=")
        config, _, run_dir = rest.partition(":")
        if not (name and config and run_dir):
            p.error(f"--arm {spec!r}: expected NAME=CONFIG:RUN_DIR")
        arms.append(arm_report(name, config, Path(run_dir), args.budget_cpu_minutes,
                               args.speed_seconds))
    result = {"command": command_line("bench_encoders.py", argv),
              "date": datetime.datetime.now().isoformat(timespec="seconds"),
              "machine": machine(), "budget_cpu_minutes": args.budget_cpu_minutes, "note": args.note,
              "arms": arms}
    out = Path(args.out)
    atomic_write_text(report_file(out, ".json"), json.dumps(result, indent=1))
    atomic_write_text(report_file(out, ".md"), to_markdown(result))
    print(to_markdown(result))
    return result
