"""Recogniser speed on this machine: training img/s and inference crops/s, in fp32 and
under bfloat16 autocast, at each config's input size (the logic of tools/bench_rec.py).

Training = forward, loss, backward and AdamW step on random images with real encoded
labels; inference = forward plus the config's decoding (greedy CTC / SAR), with the
fused attention kernel that tools/infer_rec.py uses. Image
decoding and resizing are not included (the data loader overlaps them with the model).
Results go to `<out>.md` and `<out>.json` with the command line and the machine, since
a number without them cannot be compared.
"""
from __future__ import annotations

import argparse
import copy
import datetime
import json
import random
import string
import time
from pathlib import Path

import numpy as np
import torch

from common.command import command_line
from common.hardware import describe_machine, machine
from ppocr_ext.aligned_ctc import keeps_spans
from ppocr_ext.engine import fused_attention, infer_forward, load_engine
from ppocr_ext.rec_config import load_config

DEFAULT_CONFIGS = ("configs/rec/svtr_tiny.yml", "configs/rec/svtr_large_nostn.yml")
# Targets of the design brief for SVTR-Tiny on 2 CPU cores.
TARGETS = {"svtr_tiny": {"infer_bf16": 150.0, "train_bf16": 50.0}}


def input_shape(cfg: dict) -> tuple[int, int, int]:
    """(C, H, W) the Eval (else Train) pipeline feeds the model."""
    for op in (cfg.get("Eval") or cfg["Train"])["dataset"]["transforms"]:
        name, params = next(iter(op.items()))
        if "image_shape" in (params or {}):
            shape = params["image_shape"]
            return (shape[0], shape[1], shape[-1])   # SAR: [C, H, min W, max W]
    raise ValueError(f"{cfg.get('filename')}: no resize step with image_shape")


def _batch(cfg: dict, batch_size: int, symbols: int = 12) -> list[torch.Tensor]:
    """Random images and genuinely encoded random 12-symbol IDs; the fourth kept key is
    the valid ratios (SAR), or glyph spans spread evenly over the crop's middle where the
    config keeps them (AlignedCTCLoss)."""
    from openrec.preprocess import create_operators
    transforms = cfg["Train"]["dataset"]["transforms"]
    encoder = [op for op in transforms if next(iter(op)).endswith("LabelEncode")]
    encode = create_operators(encoder, cfg["Global"])[0]
    rng = random.Random(0)
    labels = [encode({"label": "".join(rng.choices(string.ascii_letters + string.digits,
                                                   k=symbols))}) for _ in range(batch_size)]
    images = torch.randn(batch_size, *input_shape(cfg))
    if keeps_spans(transforms):
        spans = torch.full((batch_size, cfg["Global"]["max_text_length"], 2), float("nan"))
        starts = 0.1 + 0.8 * torch.arange(symbols) / symbols
        spans[:, :symbols] = torch.stack([starts, starts + 0.6 / symbols], -1)
        fourth = spans
    else:
        fourth = torch.ones(batch_size)
    return [images, torch.tensor(np.stack([item["label"] for item in labels])),
            torch.tensor([int(item["length"]) for item in labels]), fourth]


def _rate(step, items: int, seconds: float, min_iterations: int) -> float:
    """items/s of `step`, after one warm-up call, over at least `min_iterations` calls
    and `seconds` seconds."""
    step()
    done, start = 0, time.perf_counter()
    while done < min_iterations or time.perf_counter() - start < seconds:
        step()
        done += 1
    return done * items / (time.perf_counter() - start)


def bench_config(path: str, train_batch: int, infer_batch: int, seconds: float,
                 min_iterations: int) -> dict:
    """One row: parameters, input size and the four rates of a config's model."""
    load_engine()
    from openrec.losses import build_loss
    from openrec.modeling import build_model
    from openrec.postprocess import build_post_process

    cfg = load_config(path)
    post = build_post_process(cfg["PostProcess"], cfg["Global"])
    arch = copy.deepcopy(cfg["Architecture"])
    arch["Decoder"]["out_channels"] = post.get_character_num()
    torch.manual_seed(0)
    model = build_model(arch)
    loss_fn = build_loss(cfg["Loss"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    algorithm = arch["algorithm"]
    row = {"config": path, "name": Path(path).stem, "algorithm": algorithm,
           "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
           "input": "x".join(map(str, input_shape(cfg)[1:])),
           "train_batch": train_batch, "infer_batch": infer_batch}
    train_data, infer_data = _batch(cfg, train_batch), _batch(cfg, infer_batch)
    for dtype in ("fp32", "bf16"):
        autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bf16")

        def train_step():
            with autocast:
                loss = loss_fn(model(train_data[0], data=train_data[1:]), train_data)["loss"]
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        def infer_step():
            with torch.no_grad(), autocast:
                preds = infer_forward(model, infer_data[0], infer_data[3], algorithm)
            post(preds.float())

        model.train()
        row[f"train_{dtype}"] = round(_rate(train_step, train_batch, seconds, min_iterations), 1)
        model.eval()
        row[f"infer_{dtype}"] = round(_rate(infer_step, infer_batch, seconds, min_iterations), 1)
    return row


def _targets_text(rows: list[dict]) -> list[str]:
    lines = []
    for row in rows:
        for key, target in TARGETS.get(row["name"], {}).items():
            verdict = "met" if row[key] >= target else "NOT met"
            lines.append(f"- {row['name']} {key.replace('_', ' ')}: {row[key]} "
                         f"(target >= {target:g}): {verdict}")
    return lines


def write_report(rows: list[dict], info: dict, out: Path) -> tuple[Path, Path]:
    out.parent.mkdir(parents=True, exist_ok=True)
    md_path, json_path = out.with_name(out.name + ".md"), out.with_name(out.name + ".json")
    json_path.write_text(json.dumps({**info, "rows": rows}, indent=2), encoding="utf-8")
    lines = ["# Recogniser speed (CPU)", "",
             f"Command: `{info['command']}`  ", f"Date: {info['date']}  ",
             f"Machine: {describe_machine(info['machine'])}  "]
    if info.get("note"):
        lines.append(f"Note: {info['note']}  ")
    lines += ["", "Training = forward + loss + backward + AdamW step; inference = forward + "
              "decoding; image decoding/resizing excluded. bf16 = bfloat16 autocast.", "",
              "| model | params (M) | input | train fp32 img/s | train bf16 img/s "
              "| infer fp32 crops/s | infer bf16 crops/s |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['name']} | {r['params_m']} | {r['input']} | {r['train_fp32']} | "
              f"{r['train_bf16']} | {r['infer_fp32']} | {r['infer_bf16']} |" for r in rows]
    targets = _targets_text(rows)
    if targets:
        lines += ["", "Targets (2 CPU cores):", *targets]
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return md_path, json_path


def bench_rec_main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS))
    parser.add_argument("--train-batch", type=int, default=32)
    parser.add_argument("--infer-batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="minimum timed seconds per measurement")
    parser.add_argument("--min-iterations", type=int, default=3)
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: all)")
    parser.add_argument("--note", default="", help="free text for the report, e.g. "
                        "'machine shared with other jobs'")
    parser.add_argument("--out", default="bench/rec_speed", help="writes OUT.md and OUT.json")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for config in args.configs:
        with fused_attention():   # what tools/infer_rec.py runs
            rows.append(bench_config(config, args.train_batch, args.infer_batch,
                                     args.seconds, args.min_iterations))
        print(rows[-1], flush=True)
    info = {"command": command_line("bench_rec.py", argv),
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "machine": machine(), "note": args.note}
    md_path, json_path = write_report(rows, info, Path(args.out))
    print(md_path.read_text())
    print("written:", md_path, json_path)
    return rows
