"""Train and evaluate recognisers from a config: the logic behind tools/train.py and
tools/eval.py (same command lines as PaddleOCR's: `-c CONFIG -o Key.sub=value ...`).

Training logs loss, lr and img/s every `Global.print_batch_step` steps (the engine's
log lines, also in `<output_dir>/train.log`) under a tqdm bar, evaluates on `Eval`
(case-sensitive exact match `acc` and `norm_edit_dis` = 1 - normalised edit
distance), and keeps `latest.pth` (the resume point) and `best.pth` in `output_dir`.
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import torch

from common.config import ConfigError, flatten_overrides
from common.torch_files import CheckpointError
from ppocr_ext.engine import build_trainer, close_datasets
from ppocr_ext.rec_config import check_config, find_latest_checkpoint, load_config

LOG = logging.getLogger(__name__)


def config_arguments(parser: argparse.ArgumentParser, required: bool = True,
                     default_help: str = "") -> argparse.ArgumentParser:
    """The `-c CONFIG -o KEY=VALUE ...` arguments every recogniser tool takes."""
    parser.add_argument("-c", "--config", required=required, help="YAML config, e.g. "
                        "configs/rec/svtr_tiny.yml" + default_help)
    parser.add_argument("-o", "--opt", nargs="*", action="append", metavar="KEY=VALUE",
                        help="override config keys, e.g. -o Global.epoch_num=5 "
                             "Train.loader.batch_size_per_card=32")
    return parser


def resumable_main(run, argv: list[str] | None, description: str | None,
                   resume_help: str = "continue the run in Global.output_dir from its latest.pth"):
    """The command line shared by every training tool (recogniser, DiG pre-training,
    semi-supervised): `-c CONFIG -o ... [--resume]`, logging, and config or checkpoint
    problems turned into one `error:` line instead of a traceback.
    `run(config, overrides, resume=...)` does the work; its result is returned."""
    parser = config_arguments(argparse.ArgumentParser(description=description))
    parser.add_argument("--resume", action="store_true", help=resume_help)
    args = parser.parse_args(argv)
    setup_logging()
    try:
        return run(args.config, flatten_overrides(args.opt), resume=args.resume)
    except (ConfigError, CheckpointError) as err:
        raise SystemExit(f"error: {err}") from err


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(name)s %(levelname)s: "
                        "%(message)s", datefmt="%Y/%m/%d %H:%M:%S")


def set_threads(cfg: dict) -> None:
    """Honour `Global.num_threads`. On a small CPU shared with loader workers, torch's
    default of one OpenMP thread per core spin-waits against them: measured on 2 cores,
    2 threads beside a busy process trained 8 img/s where 1 thread trained 64."""
    threads = cfg["Global"].get("num_threads")
    if threads:
        torch.set_num_threads(int(threads))


def train(config: str, overrides: list[str] = (), resume: bool = False) -> dict:
    """Train as configured; with `resume`, continue from `<output_dir>/latest.pth`.
    Returns the best evaluation metrics."""
    cfg = load_config(config, overrides)
    if resume:
        cfg["Global"]["checkpoints"] = find_latest_checkpoint(cfg["Global"]["output_dir"])
    check_config(cfg, "train")
    set_threads(cfg)
    trainer = build_trainer(cfg, "train")
    try:
        trainer.train()
    finally:
        trainer.train_dataloader.close()
        close_datasets(trainer)
    return trainer.best_metric


def evaluate(config: str, overrides: list[str] = ()) -> dict:
    """Metrics of `Global.pretrained_model` (or `checkpoints`) on the Eval LMDB."""
    cfg = load_config(config, overrides)
    check_config(cfg, "eval")
    trainer = build_trainer(cfg, "eval")
    try:
        metrics = trainer.eval()
    finally:
        close_datasets(trainer)
    metrics["weights"] = cfg["Global"].get("checkpoints") or cfg["Global"]["pretrained_model"]
    metrics["data_dir"] = cfg["Eval"]["dataset"]["data_dir"]
    return metrics


def train_main(argv: list[str] | None = None) -> dict:
    best = resumable_main(train, argv, train.__doc__)
    print("best:", ", ".join(f"{key}: {value}" for key, value in best.items()))
    return best


def eval_main(argv: list[str] | None = None) -> dict:
    parser = config_arguments(argparse.ArgumentParser(description=evaluate.__doc__))
    parser.add_argument("--out", help="also write the metrics to this JSON file")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        metrics = evaluate(args.config, flatten_overrides(args.opt))
    except (ConfigError, CheckpointError) as err:
        raise SystemExit(f"error: {err}") from err
    print(f"exact match (case-sensitive): {metrics['acc']:.4f}   "
          f"1 - normalised edit distance: {metrics['norm_edit_dis']:.4f}   "
          f"samples: {metrics['num_samples']}   ({metrics['weights']})")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(metrics, indent=2), encoding="utf-8")
        print("metrics written to", args.out)
    return metrics
