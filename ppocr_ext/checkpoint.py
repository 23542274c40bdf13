"""Checkpoint files that survive a kill and load with `torch.load(weights_only=True)`.

Replaces the engine's `tools/utils/ckpt.py` (installed by `ppocr_ext.engine`), whose
functions have the same signatures, because it
- writes `latest.pth` in place, so a kill during `torch.save` destroys the only resume
  point: here every file is written to a temporary name and renamed;
- keeps periodic (`save_iter_step`) snapshots as `iter_A_B.pth` files that resume
  skips the rest of the epoch from; here they refresh `latest.pth` and record the
  last COMPLETED epoch, so a resume finishes the interrupted epoch (see
  `ppocr_ext.engine`) and the step count and LR schedule carry on exactly;
- treats a `checkpoints`/`pretrained_model` path that does not exist as "train from
  scratch", silently: here that is an error naming the path;
- stores whatever Python objects the config and metrics hold: here they are reduced to
  plain containers and numbers, so `weights_only=True` loading (no unpickling of
  arbitrary objects) always works.
"""
from __future__ import annotations

import logging
import os
import random
from pathlib import Path

import numpy as np
import torch

from common.atomic import atomic_path
from common.torch_files import CheckpointError, read_checkpoint

LOG = logging.getLogger(__name__)


def plain(value):
    """`value` as nested dict/list/str/int/float/bool/None (what weights_only accepts)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool, torch.Tensor)):
        return value
    return str(value)


def atomic_save(state: dict, path: str | os.PathLike) -> None:
    """`torch.save` to a temporary file in the same folder, then rename over `path`.
    Temporary files of an earlier save that was killed (SIGKILL skips the cleanup) are
    removed first: 50 MB each for SVTR-Tiny."""
    for leftover in Path(path).parent.glob(f".{Path(path).name}.*.tmp"):
        leftover.unlink(missing_ok=True)
    with atomic_path(path, suffix=".tmp") as tmp:
        torch.save(state, tmp)


def random_states() -> dict:
    """Python's, NumPy's and torch's random states as plain lists and a tensor, for
    checkpoints read with weights_only=True."""
    version, state, gauss = random.getstate()
    name, keys, position, has_gauss, cached = np.random.get_state()
    return {"python": [version, list(state), gauss], "torch": torch.get_rng_state(),
            "numpy": [name, keys.tolist(), int(position), int(has_gauss), float(cached)]}


def restore_random_states(states: dict) -> None:
    version, state, gauss = states["python"]
    random.setstate((version, tuple(state), gauss))
    name, keys, position, has_gauss, cached = states["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
    torch.set_rng_state(states["torch"])


def save_ckpt(model, cfg, optimizer, lr_scheduler, epoch, global_step, metrics,
              is_best=False, logger=None, prefix=None) -> str:
    """The engine's `save_ckpt`, made atomic and weights_only-loadable (module doc)."""
    out_dir = Path(cfg["Global"]["output_dir"])
    completed_epoch = epoch
    if prefix is not None and prefix.startswith("iter_"):
        name, completed_epoch = "latest.pth", epoch - 1   # saved mid-epoch
    elif prefix is not None:
        name = f"{prefix}.pth"
    else:
        name = "best.pth" if is_best else "latest.pth"
    module = model.module if cfg["Global"].get("distributed") else model
    state = {
        "epoch": int(completed_epoch),
        "global_step": int(global_step),
        "state_dict": module.state_dict(),
        "optimizer": None if is_best else optimizer.state_dict(),
        "scheduler": None if is_best else plain(lr_scheduler.state_dict()),
        "config": plain({k: v for k, v in cfg.items() if not k.startswith("_")}),
        "metrics": plain(metrics),
        # a resume continues every random stream where this run left it (engine.TrainLoader)
        "random_states": None if is_best else random_states(),
    }
    atomic_save(state, out_dir / name)
    LOG.info("saved %s (step %d)", out_dir / name, global_step)
    return str(out_dir / name)


def state_dict_of(checkpoint: dict) -> dict:
    """The weights inside a checkpoint or a bare state dict."""
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise RuntimeError("the file holds no state_dict of tensors")
    return state


def _token_grid(model: torch.nn.Module, key: str) -> tuple[int, int] | None:
    """(rows, columns) of the token grid the module owning `key` was built for (SVTR's
    encoder keeps it as `HW`), or None."""
    owner = model
    for part in key.split(".")[:-1]:
        owner = getattr(owner, part, None)
    grid = getattr(owner, "HW", None)
    return (int(grid[0]), int(grid[1])) if grid is not None and len(grid) == 2 else None


def fit_input_size(model: torch.nn.Module, state: dict, path) -> dict:
    """`state` adapted to a model built for another input size (fine-tuning 16x256 weights
    at 32x256, say): a position embedding `[1, rows*cols, C]` is resized bilinearly from
    the old token grid (same columns or same rows as the new one) to the new, and the
    Local mixer's attention masks, which the model computes from its size, are left to
    the model. Anything else of another shape stays and fails the load by name."""
    own = model.state_dict()
    fitted = dict(state)
    for key, value in state.items():
        if key not in own or own[key].shape == value.shape:
            continue
        if key.endswith(".mask") and value.dim() == 4:
            del fitted[key]
            continue
        grid = _token_grid(model, key)
        if not key.endswith("pos_embed") or value.dim() != 3 or grid is None \
                or value.shape[2] != own[key].shape[2]:
            continue
        rows, cols = grid
        tokens = value.shape[1]
        old = (tokens // cols, cols) if tokens % cols == 0 else \
            (rows, tokens // rows) if tokens % rows == 0 else None
        if old is None:
            continue
        image = value.float().reshape(1, *old, -1).permute(0, 3, 1, 2)
        image = torch.nn.functional.interpolate(image, size=(rows, cols), mode="bilinear",
                                                align_corners=False)
        fitted[key] = image.permute(0, 2, 3, 1).reshape(1, rows * cols, -1).to(value.dtype)
        LOG.info("%s: %s resized from a %dx%d to a %dx%d token grid", path, key, *old,
                 rows, cols)
    return fitted


def load_weights(model: torch.nn.Module, path: str | os.PathLike, strict: bool,
                 checkpoint: dict | None = None) -> None:
    """Load weights into `model` from `path` (or its already read `checkpoint`).
    Non-strict loads (fine-tuning) still refuse a file that shares no weight with the
    model, log what is missing, and may change the input size (`fit_input_size`)."""
    if checkpoint is None:
        checkpoint = read_checkpoint(path)
    saved = state_dict_of(checkpoint)
    state = saved if strict else fit_input_size(model, saved, path)
    try:
        result = model.load_state_dict(state, strict=strict)
    except RuntimeError as err:
        raise CheckpointError(f"{path}: does not fit this model (another architecture or "
                              f"dictionary?): {err}") from err
    if not strict:
        if len(result.missing_keys) == len(model.state_dict()):
            raise CheckpointError(f"{path}: shares no weight with this model")
        for key in result.missing_keys:
            if key in state or key not in saved:   # not a mask the model built for its size
                LOG.warning("%s: no weights for %s (left at initialisation)", path, key)


def load_ckpt(model, cfg, optimizer=None, lr_scheduler=None, logger=None) -> dict:
    """The engine's `load_ckpt`: resume from `Global.checkpoints` (model, optimizer,
    scheduler, step) or start from `Global.pretrained_model` weights. Returns the
    engine's status dict (`global_step`, next `epoch`, best `metrics`)."""
    glob = cfg["Global"]
    if glob.get("checkpoints"):
        path = glob["checkpoints"]
        checkpoint = read_checkpoint(path)
        load_weights(model, path, strict=True, checkpoint=checkpoint)
        if optimizer is not None:
            if checkpoint.get("optimizer") is None or checkpoint.get("scheduler") is None:
                LOG.warning("%s has no optimizer state (a best.pth?): optimizer and LR "
                            "schedule restart; resume from latest.pth to continue them", path)
            else:
                optimizer.load_state_dict(checkpoint["optimizer"])
                if lr_scheduler is not None:
                    lr_scheduler.load_state_dict(checkpoint["scheduler"])
        LOG.info("resumed from %s at step %d", path, checkpoint["global_step"])
        return {"global_step": checkpoint["global_step"], "epoch": checkpoint["epoch"] + 1,
                "metrics": checkpoint.get("metrics") or {},
                "random_states": checkpoint.get("random_states")}
    if glob.get("pretrained_model"):
        load_weights(model, glob["pretrained_model"], strict=False)
        LOG.info("initialised from %s", glob["pretrained_model"])
    return {}
