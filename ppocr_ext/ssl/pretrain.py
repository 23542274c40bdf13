"""DiG pre-training run from a config: the logic behind tools/pretrain_ssl.py.

    python tools/pretrain_ssl.py -c configs/ssl/dig_tiny.yml [-o Key.sub=value ...] [--resume]

The config derives from a recogniser config (`_BASE_`), whose `Architecture.Encoder`
is the encoder pre-trained, whose `Optimizer`/`LRScheduler`/`Global` keys drive the
run, and whose `Train.dataset.transforms` give the preprocessing; the `SSL` section
names the unlabeled data and DiG's settings. Outputs in `Global.output_dir`:
`latest.pth` (resume point: model, momentum branch, optimiser, schedule, step, written
atomically every `SSL.save_step` steps and at the end), `encoder.pth` (the encoder
only, under the recogniser's `encoder.*` key names) and `train.log`.

Fine-tune from it with any recogniser config whose encoder matches:
    python tools/train.py -c configs/rec/svtr_tiny_cpu.yml \
        -o Global.pretrained_model=output/ssl/dig_tiny/encoder.pth
(the decoder, absent from the file, is logged as missing and starts from scratch).
`Global.pretrained_model` (a recogniser checkpoint) starts the encoder from its weights
instead of at random: DiG then adapts, e.g., synthetic-crop pre-training to unlabeled
crops of a domain.
"""
from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import torch
from tqdm import tqdm

from common.config import ConfigError
from common.torch_files import CheckpointError, read_checkpoint
from ppocr_ext.checkpoint import atomic_save, plain, state_dict_of
from ppocr_ext.engine import load_engine
from ppocr_ext.rec_config import find_latest_checkpoint, load_config
from ppocr_ext.rec_train import resumable_main
from ppocr_ext.ssl.data import (UnlabeledCrops, base_transforms, endless_batches, find_sources,
                                view_transforms)
from ppocr_ext.ssl.dig import DiG
from ppocr_ext.ssl.loop import Averages, autocast, log_to_file, section, seed_everything

LOG = logging.getLogger(__name__)
ENCODER_FILE = "encoder.pth"
MODEL_KEYS = {"mask_ratio": 0.6, "patch_size": [4, 4], "instances": 8, "hidden_dim": 1024,
              "proj_dim": 256, "temperature": 0.2, "momentum": 0.99, "momentum_final": 1.0,
              "pixel_loss_weight": 1.0, "contrastive_weight": 1.0}
RUN_KEYS = {"batch_size": 64, "num_workers": 0, "augment": "standard_tia", "save_step": 100}


def build_model(cfg: dict) -> DiG:
    """The DiG model of a pre-training config (its `SSL` keys over the defaults)."""
    ssl = section(cfg, "SSL", {**MODEL_KEYS, **RUN_KEYS}, required=("data_dir",))
    try:
        return DiG(cfg["Architecture"]["Encoder"], **{key: ssl[key] for key in MODEL_KEYS})
    except ValueError as err:
        raise ConfigError(f"{cfg.get('filename', 'config')}: {err}") from err


def export_encoder(model: DiG, cfg: dict, step: int, path: Path) -> None:
    """`encoder.pth`: a recogniser-shaped checkpoint holding only `encoder.*`."""
    atomic_save({"state_dict": model.encoder_state_dict(), "global_step": int(step),
                 "config": plain({"Architecture": cfg["Architecture"], "SSL": cfg["SSL"]})},
                path)


def start_from(model: DiG, path: str) -> None:
    """`Global.pretrained_model`: the encoder of a recogniser checkpoint (the heads start
    from scratch)."""
    try:
        model.load_encoder(state_dict_of(read_checkpoint(path)))
    except (ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path}: cannot start DiG's encoder from it: {err}") from err
    LOG.info("encoder initialised from %s", path)


def pretrain(config: str, overrides=(), resume: bool = False) -> dict:
    """Pre-train as configured (`resume`: continue from `<output_dir>/latest.pth`).
    Returns {'encoder': path, 'steps': n, 'loss'/'contrastive'/'pixel': last means,
    'loss_curve': the total loss of each step this call ran}."""
    cfg = load_config(config, overrides)
    model = build_model(cfg)
    ssl, glob = {**MODEL_KEYS, **RUN_KEYS, **cfg["SSL"]}, cfg["Global"]
    out_dir = Path(glob["output_dir"])
    seed_everything(int(glob.get("seed", 48)))
    base = base_transforms(cfg)
    dataset = UnlabeledCrops(find_sources(ssl["data_dir"], cfg["_config_dir"]),
                             [view_transforms(base, "none"), view_transforms(base, ssl["augment"])],
                             glob)
    batch_size = int(ssl["batch_size"])
    steps_per_epoch = len(dataset) // batch_size
    batches = endless_batches(dataset, batch_size, int(ssl["num_workers"]))
    total = int(glob["epoch_num"]) * steps_per_epoch
    if total <= 0:
        raise ConfigError(f"{cfg.get('filename')}: nothing to train (Global.epoch_num="
                          f"{glob['epoch_num']}, {len(dataset)} crops, batch {batch_size})")

    load_engine()
    from openrec.optimizer import build_optimizer
    optimizer, scheduler = build_optimizer(cfg["Optimizer"], cfg["LRScheduler"],
                                           epochs=int(glob["epoch_num"]),
                                           step_each_epoch=steps_per_epoch, model=model)
    step = 0
    if glob.get("pretrained_model") and not resume:
        start_from(model, glob["pretrained_model"])
    if resume:
        latest = read_checkpoint(find_latest_checkpoint(out_dir))
        try:
            model.load_state_dict(latest["state_dict"])
        except RuntimeError as err:
            raise CheckpointError(f"{out_dir / 'latest.pth'}: does not fit this DiG config "
                                  f"(encoder or head settings changed?): {err}") from err
        optimizer.load_state_dict(latest["optimizer"])
        scheduler.load_state_dict(latest["scheduler"])
        step = int(latest["global_step"])

    handler = log_to_file(LOG, out_dir)
    LOG.info("DiG pre-training: %d unlabeled crops (%s), %d steps of %d, mask %.0f%% of %sx%s "
             "patches, output %s", len(dataset), ", ".join(str(s.path) for s in dataset.sources),
             total, batch_size, 100 * model.mask_ratio, *model.patch_size, out_dir)
    if step:
        LOG.info("resumed from %s at step %d", out_dir / "latest.pth", step)
    averages = Averages(int(glob.get("log_smooth_window", 20)))
    print_every = int(glob.get("print_batch_step", 10))
    save_every = int(ssl["save_step"])
    clip = float(glob.get("grad_clip_val") or 0)
    amp = bool(glob.get("use_amp"))

    def save() -> None:
        atomic_save({"global_step": step, "state_dict": model.state_dict(),
                     "optimizer": optimizer.state_dict(), "scheduler": plain(scheduler.state_dict()),
                     "config": plain({k: v for k, v in cfg.items() if not k.startswith("_")})},
                    out_dir / "latest.pth")
        export_encoder(model, cfg, step, out_dir / ENCODER_FILE)

    model.train()
    bar = tqdm(total=total, initial=step, unit="step", desc="DiG", dynamic_ncols=True,
               mininterval=1.0)
    started, images, curve = time.perf_counter(), 0, []
    try:
        while step < total:
            clean, augmented = next(batches)
            with autocast(amp):
                losses = model(clean, augmented)
            if not math.isfinite(float(losses["loss"].detach())):
                raise FloatingPointError(f"DiG loss is {float(losses['loss'])} at step {step}; "
                                         "lower Optimizer.lr or set Global.use_amp=false")
            losses["loss"].backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            step += 1
            decay = model.update_momentum(step, total)
            images += len(clean)
            averages.add(**{name: float(value.detach()) for name, value in losses.items()})
            curve.append(averages.values["loss"][-1])
            bar.update(1)
            bar.set_postfix(loss=f"{averages.mean('loss'):.3f}", refresh=False)
            if step % print_every == 0 or step == total:
                LOG.info("step %d/%d, %s, lr: %.2e, momentum: %.4f, ips: %.1f img/s", step,
                         total, averages.line(), optimizer.param_groups[-1]["lr"], decay,
                         images / (time.perf_counter() - started))
            if step % save_every == 0 or step == total:
                save()
    finally:
        bar.close()
        LOG.removeHandler(handler)
        handler.close()
    encoder = out_dir / ENCODER_FILE
    LOG.info("encoder weights: %s  (fine-tune: -o Global.pretrained_model=%s)", encoder, encoder)
    return {"encoder": str(encoder), "steps": step, "loss_curve": curve,
            **{name: averages.mean(name) for name in ("loss", "contrastive", "pixel")}}


def pretrain_ssl_main(argv: list[str] | None = None) -> dict:
    return resumable_main(pretrain, argv, pretrain.__doc__)
