"""The one place where this project touches OpenOCR's internals.

Every work-around for a trap of openocr-python 0.1.5 lives here, each small and tested
(tests/test_engine.py). Import the engine only through `load_engine()`, and build its
trainer only through `build_trainer()`, which wraps the engine's `Trainer` instead of
copying it:

- `_check_tools_package`: `import openocr` puts its folder on `sys.path` and its code
  imports a top-level `tools` package; any other importable `tools` would be used
  instead (this project's `tools/` is a plain script folder for that reason).
- `_stub_cmer_metric`: `openrec.metrics` eagerly imports a CMER metric that needs
  undeclared packages.
- `_install_checkpoint_io`: the engine's checkpoint functions are replaced by
  `ppocr_ext.checkpoint` (atomic, weights_only-loadable, no silent "from scratch").
- `_zero_grad_after_step`: the engine's non-AMP path never calls
  `optimizer.zero_grad()`, so gradients of all past batches pile up.
- `Global.use_amp` is resolved by `common.hardware` first: emulated bf16 autocast on a
  CPU without native bf16 is several times slower than fp32.
- `_no_grad_scaler`: with `use_amp` the engine autocasts to bfloat16 and builds a CUDA
  `GradScaler`, which warns and disables itself on CPU; bf16 needs no loss scaling.
- `_Float32Outputs`: its post-processors call `.numpy()` on bf16 predictions, which
  fails, so train-time metrics broke under AMP.
- `_fast_eval_attention`: SVTR's attention computes a full masked score matrix; at
  inference a fused kernel does the same work up to twice as fast (opt-in:
  `with fused_attention():`, which every reading path takes: `tools/infer_rec.py` and
  the frame reader's `ppocr_ext.posteriors.TorchPosteriors`).
- `_summary_writer_class`: its `use_tensorboard` path imports and starts wandb.
- `TrainLoader`: the engine's train DataLoader has no sampler (same batches in the same
  order every epoch) and forked workers share one NumPy random stream; it also shows
  the progress bar and finishes an interrupted epoch after a resume with the batches
  that epoch had left (`EpochSampler`, seeded by (seed, epoch); the engine replayed the
  epoch's first batches) and the random streams the checkpoint saved, so a run killed
  and resumed ends with the weights of an uninterrupted one (tests/test_kill_resume.py;
  exact with num_workers 0 or a streaming dataset, whose sample i is f(seed, i)). A
  streaming dataset (rendered crops) gets global sample indices from `StreamSampler`.
- `close_datasets`: its LMDB datasets never close their environments.
- `infer_forward`: the engine's `infer_rec` passes SAR's valid ratios as a NumPy array,
  which `SARDecoder(mask=True)` cannot index per image.
- `EngineConfig.save`: its trainer writes `config.yml` before loading the checkpoint;
  the write waits until the load succeeded.
- `build_trainer` without an Eval section: the engine indexes `cfg['Eval']` and takes
  `len()` of a missing eval loader.
- `_distributed`: the engine starts DistributedDataParallel only with more than one CUDA
  device and always on NCCL, so `torchrun` on a CPU cannot even start. Under torchrun
  (`WORLD_SIZE` > 1) the process group is ours (Gloo on CPU, NCCL on CUDA), the engine
  sees one device while it builds, and the model is wrapped afterwards; each rank draws
  its own shard of every global batch (`StreamSampler`/`EpochSampler`: rank r takes the
  r-th `batch_size_per_card` block of it, so N ranks train the batches one process with
  N x the batch would); the engine's train loader is measured per rank (its steps per
  epoch set the LR schedule); rank 0 evaluates, logs, shows the bar and writes
  checkpoints (the engine's `is_main_process`). Tested with 2 CPU processes against one
  process of twice the batch (tests/test_distributed.py).
"""
from __future__ import annotations

import contextlib
import importlib
import itertools
import math
import os
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import torch
import yaml
from tqdm import tqdm

from common.atomic import atomic_write_text
from common.config import ConfigError
from common.hardware import bf16_where_native
from ppocr_ext import checkpoint, plugins

_loaded = False
NEVER = 10 ** 12  # a step count no run reaches


def _stub_cmer_metric() -> None:
    """`openrec.metrics` eagerly imports a CMER metric needing undeclared packages
    (`datasets`, ...). We never use CMER, so give it an empty module first."""
    name = "openrec.metrics.rec_metric_cmer"
    if name not in sys.modules:
        stub = types.ModuleType(name)
        stub.CMERMetric = None
        sys.modules[name] = stub


def _check_tools_package(tools_module: types.ModuleType, openocr_dir: Path) -> None:
    """Refuse to run with a `tools` package other than OpenOCR's: its absolute imports
    (`from tools.engine...`) would silently load the wrong code or fail obscurely."""
    location = getattr(tools_module, "__file__", None)
    expected = (openocr_dir / "tools").resolve()
    if location is None or Path(location).resolve().parent != expected:
        found = location or list(getattr(tools_module, "__path__", []))
        raise ImportError(
            f"the top-level 'tools' package resolves to {found}, not OpenOCR's {expected}. "
            "Remove the other 'tools' from the import path (this project's tools/ must "
            "stay a plain script folder without __init__.py).")


def _install_checkpoint_io() -> None:
    """Point the engine's trainer (and ckpt module) at `ppocr_ext.checkpoint`."""
    for module_name in ("tools.engine.trainer", "tools.utils.ckpt"):
        module = importlib.import_module(module_name)
        module.load_ckpt = checkpoint.load_ckpt
        module.save_ckpt = checkpoint.save_ckpt


_fused_attention = False


@contextlib.contextmanager
def fused_attention(enabled: bool = True):
    """Within this block, SVTR inference uses the fused attention kernel (see
    `_fast_eval_attention`). Off by default so that library results stay bit-for-bit
    the engine's; the reading tools and the benchmarks turn it on."""
    global _fused_attention
    previous, _fused_attention = _fused_attention, enabled
    try:
        yield
    finally:
        _fused_attention = previous


def _fast_eval_attention() -> None:
    """SVTR's attention materialises the whole score matrix and adds a -inf mask for
    its Local mixer. In eval mode and when switched on, run it through torch's fused
    `scaled_dot_product_attention` with the same mask: same result up to float
    rounding (~1e-7), and on this CPU 1.3x (fp32) / 1.9x (bf16) faster SVTR-Tiny
    inference at 32x256 (best of 4 runs). Training always keeps the engine's code: the
    fused CPU backward was slower under bf16."""
    svtrnet = importlib.import_module("openrec.modeling.encoders.svtrnet")
    engine_forward = svtrnet.Attention.forward

    def forward(self, x):
        if self.training or not _fused_attention:
            return engine_forward(self, x)
        batch, tokens, _ = x.shape
        q, k, v = self.qkv(x).reshape(batch, tokens, 3, self.num_heads,
                                      self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        keep = self.mask == 0 if self.mixer == "Local" else None
        x = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=keep,
                                                             scale=self.scale)
        return self.proj_drop(self.proj(x.transpose(1, 2).reshape(batch, tokens, self.dim)))

    forward.engine_forward = engine_forward
    svtrnet.Attention.forward = forward


def load_engine() -> types.ModuleType:
    """Import OpenOCR with its traps disarmed and our plugins registered."""
    global _loaded
    openocr = importlib.import_module("openocr")
    if _loaded:
        return openocr
    _check_tools_package(importlib.import_module("tools"), Path(openocr.__file__).parent)
    _stub_cmer_metric()
    preprocess = importlib.import_module("openrec.preprocess")
    preprocess.MODULE_MAPPING.update(plugins.TRANSFORMS)
    data = importlib.import_module("tools.data")
    data.DATASET_MODULES.update(plugins.DATASETS)
    importlib.import_module("openrec.losses").name_to_module.update(plugins.LOSSES)
    _install_checkpoint_io()
    _fast_eval_attention()
    _loaded = True
    return openocr


def component_names() -> dict[str, set[str]]:
    """Names a config may use for each component (for error messages that list them)."""
    load_engine()
    from openrec import losses, metrics, postprocess, preprocess
    from openrec.modeling import decoders, encoders
    from openrec.optimizer import lr
    from tools import data

    def classes(module):
        return {name for name, value in vars(module).items()
                if isinstance(value, type) and value.__module__ == module.__name__}

    return {
        "encoders": set(encoders.name_to_module),
        "decoders": set(decoders.class_to_module) | classes(decoders),
        "losses": set(losses.name_to_module) | classes(losses),
        "postprocess": set(postprocess.module_mapping),
        "metrics": set(metrics.support_dict) - {"CMERMetric"},
        "optimizers": {name for name, value in vars(torch.optim).items()
                       if isinstance(value, type) and issubclass(value, torch.optim.Optimizer)
                       and value is not torch.optim.Optimizer},
        "schedulers": classes(lr),
        "datasets": set(data.DATASET_MODULES),
        "transforms": set(preprocess.MODULE_MAPPING) | classes(preprocess),
    }


class EngineConfig:
    """Stands in for the engine's `Config` (the Trainer reads `.cfg` and calls
    `print_cfg` and `save`) while carrying our safely loaded dict."""

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.pending: tuple[Path, dict] | None = None   # the config.yml save held back

    def print_cfg(self, print_func=print) -> None:
        from tools.engine.config import print_dict
        print_dict(self.cfg, print_func)

    def save(self, path, cfg=None) -> None:
        """Held back until `write_pending()`: the engine saves the run's config.yml
        before it loads the checkpoint, so a `--resume` that failed to load used to
        overwrite the run's config with the one that did not fit."""
        self.pending = (Path(path), cfg or self.cfg)

    def write_pending(self) -> None:
        if self.pending is not None:
            path, cfg = self.pending
            atomic_write_text(path, yaml.safe_dump(checkpoint.plain(cfg), sort_keys=False))
            self.pending = None


def _zero_grad_after_step(optimizer, args, kwargs) -> None:
    """Optimizer step post-hook: clear gradients once they have been applied."""
    optimizer.zero_grad(set_to_none=True)


def _no_grad_scaler(device: torch.device) -> torch.amp.GradScaler:
    """A scaler that passes through: truthy (the engine tests `if self.scaler` to pick
    its autocast path) but without loss scaling, which bf16 does not need."""
    return torch.amp.GradScaler(device.type, enabled=False)


def _to_float32(value):
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.float()
    if isinstance(value, dict):
        return {key: _to_float32(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_float32(item) for item in value)
    return value


class _Float32Outputs:
    """Wraps a post-processor so it receives float32 predictions."""

    def __init__(self, post_process):
        self.post_process = post_process

    def __call__(self, preds, *args, **kwargs):
        return self.post_process(_to_float32(preds), *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.post_process, name)


class _LossRecorder:
    """Wraps the loss so the progress bar can show the last value."""

    def __init__(self, loss):
        self.loss, self.last = loss, math.nan

    def __call__(self, preds, batch):
        out = self.loss(preds, batch)
        self.last = float(out["loss"].detach())
        return out


def _summary_writer_class():
    """TensorBoard's writer, or a clear error; never the engine's wandb path."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ConfigError("Global.use_tensorboard is true but the 'tensorboard' package is "
                          "not installed: pip install tensorboard, or pass "
                          "-o Global.use_tensorboard=false") from err
    return SummaryWriter


def _seed_numpy_in_worker(worker_id: int) -> None:
    """DataLoader seeds `random` and torch per worker but not NumPy."""
    np.random.seed(torch.initial_seed() % 2 ** 32)


def _rebuilt(loader, **sampling) -> torch.utils.data.DataLoader:
    """The engine's train DataLoader again, with our sampling and persistent workers."""
    return torch.utils.data.DataLoader(
        loader.dataset, batch_size=loader.batch_size, drop_last=loader.drop_last,
        num_workers=loader.num_workers, collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory, persistent_workers=loader.num_workers > 0,
        worker_init_fn=_seed_numpy_in_worker, **sampling)


class TrainLoader:
    """What the engine's train loop iterates over instead of its DataLoader (module doc).

    After a resume from a mid-epoch `latest.pth` (which records the last completed
    epoch), the first epoch yields only the batches that epoch had left, so the run
    ends at the planned step. `len()` stays the full epoch, as the engine expects.
    """

    def __init__(self, trainer):
        self.trainer = trainer
        self.step = trainer.status.get("global_step", 0)
        self._random_states = trainer.status.get("random_states")   # set by a resume
        loader = trainer.train_dataloader
        rank, world = rank_and_world()
        if getattr(loader.dataset, "stream", False):
            self.loader = _rebuilt(loader, sampler=StreamSampler(
                self, len(loader.dataset), loader.batch_size or 1, rank, world))
        elif loader.batch_size is None:
            self.loader = loader
        else:
            self.loader = _rebuilt(loader, sampler=EpochSampler(
                self, len(loader.dataset), loader.batch_size, loader.drop_last,
                bool(trainer.cfg["Train"]["loader"].get("shuffle")),
                int(trainer.cfg["Global"].get("seed", 48)), rank, world))
        self.main = rank == 0
        steps = len(self.loader)
        completed = trainer.status.get("epoch", 1) - 1
        self._skip = min(max(self.step - completed * steps, 0), steps)
        self.batch_size = self.loader.batch_size or 1
        self.bar = None

    @property
    def dataset(self):
        return self.loader.dataset

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        if self.bar is None:
            total = self.trainer.cfg["Global"]["epoch_num"] * len(self) * self.batch_size
            self.bar = tqdm(total=total, initial=self.step * self.batch_size, unit="img",
                            desc="train", mininterval=1.0, dynamic_ncols=True,
                            disable=not self.main)
        skipped, self._skip = self._skip, 0
        remaining = len(self) - skipped
        # A resume restores the random streams the checkpoint saved where the uninterrupted
        # run stood when it saved: a checkpoint from an epoch's end was saved before the next
        # epoch's iterator drew its worker seed from torch's stream, one from mid-epoch after
        # it. Restoring after the draw at an epoch's start left dropout one draw behind the
        # uninterrupted run (weights 0.04-0.09 apart, tests/test_kill_resume.py).
        if skipped == 0:
            self._restore_random_states()
        batches = iter(self.loader)
        self._restore_random_states()
        # islice, not a break: a break would first draw (render) one batch too many
        for batch in itertools.islice(batches, remaining):
            yield batch
            self.step += 1
            self.bar.update(len(batch[0]))
            self.bar.set_postfix(step=self.step, loss=f"{self.trainer.loss_class.last:.3f}",
                                 lr=f"{self.trainer.optimizer.param_groups[-1]['lr']:.2e}",
                                 refresh=False)
        if self.step >= self.trainer.cfg["Global"]["epoch_num"] * len(self):
            self.close()

    def _restore_random_states(self) -> None:
        """The checkpoint's random states, once, if a resume brought any."""
        if self._random_states is not None:
            checkpoint.restore_random_states(self._random_states)
            self._random_states = None

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class StreamSampler(torch.utils.data.Sampler):
    """Global sample indices for a streaming dataset (`dataset.stream`, e.g.
    `ppocr_ext.synth_dataset`): each pass starts at the train loader's current step, so
    every epoch and every resume gets fresh, reproducible samples in curriculum order,
    where the engine's DataLoader would restart at index 0 each epoch."""

    def __init__(self, train_loader: "TrainLoader", length: int, batch_size: int,
                 rank: int = 0, world: int = 1):
        self.train_loader, self.batch_size = train_loader, batch_size
        self.rank, self.world = rank, world
        self.length = length // (world * batch_size) * batch_size if world > 1 else length

    def __len__(self) -> int:
        return self.length

    def __iter__(self):
        step, size = self.train_loader.step, self.batch_size
        if self.world == 1:
            return iter(range(step * size, step * size + self.length))
        blocks = range(step, step + self.length // size)     # this rank's block of each step
        return (((t * self.world + self.rank) * size) + j for t in blocks for j in range(size))


class EpochSampler(torch.utils.data.Sampler):
    """Indices of a finite dataset (an LMDB) for the epoch the train loader is in,
    starting after the batches of it already trained: a resumed run trains exactly the
    batches an uninterrupted one would (the engine's loader replayed the epoch's first
    batches instead). Shuffled, the order is a permutation seeded by (seed, epoch)."""

    def __init__(self, train_loader: "TrainLoader", length: int, batch_size: int,
                 drop_last: bool, shuffle: bool, seed: int, rank: int = 0, world: int = 1):
        self.train_loader, self.batch_size = train_loader, batch_size
        self.shuffle, self.seed, self.full, self.rank, self.world = shuffle, seed, length, rank, world
        self.length = length
        if world > 1:   # whole global batches only: every rank must run the same steps
            self.length = length // (world * batch_size) * batch_size
        self.steps = (self.length // batch_size if drop_last or world > 1
                      else math.ceil(self.length / batch_size))

    def __len__(self) -> int:
        return self.length

    def __iter__(self):
        epoch, done = divmod(self.train_loader.step, max(self.steps, 1))
        order = (np.random.default_rng([self.seed, epoch]).permutation(self.full)
                 if self.shuffle else np.arange(self.full))
        size = self.batch_size
        if self.world > 1:   # step t's global batch is order[t*W*B:(t+1)*W*B]; rank r's block
            order = order[:self.steps * self.world * size].reshape(
                self.steps, self.world, size)[:, self.rank].reshape(-1)
        return iter(order[done * size:].tolist())


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of training processes (0, 1 without torchrun)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


@contextlib.contextmanager
def _distributed(glob: dict, mode: str):
    """Module doc, `_distributed`. Yields `wrap(trainer)`, which puts the built model in
    DistributedDataParallel (a no-op in a single process)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or "train" not in mode:
        yield lambda trainer: None
        return
    cuda = glob["device"] == "gpu" and torch.cuda.is_available()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not torch.distributed.is_initialized():
        if cuda:
            torch.cuda.set_device(local_rank)
        torch.distributed.init_process_group(backend="nccl" if cuda else "gloo")
    from tools.data import build_dataloader
    import tools.engine.trainer as engine_trainer

    def per_rank(config, mode, logger, **kwargs):   # steps per epoch as each rank sees them
        loader = build_dataloader(config, mode, logger, **kwargs)
        if mode != "Train" or loader.batch_size is None:
            return loader
        whole = len(loader.dataset) // (world * loader.batch_size) * loader.batch_size
        share = torch.utils.data.SequentialSampler(range(whole))   # as the samplers shard
        return torch.utils.data.DataLoader(loader.dataset, batch_size=loader.batch_size,
                                           drop_last=loader.drop_last, sampler=share,
                                           num_workers=loader.num_workers,
                                           collate_fn=loader.collate_fn)

    def wrap(trainer):
        trainer.local_rank = local_rank
        trainer.cfg["Global"]["distributed"] = True
        trainer.model = torch.nn.parallel.DistributedDataParallel(
            trainer.model, [local_rank] if cuda else None, find_unused_parameters=False)

    device_count = torch.cuda.device_count
    engine_trainer.build_dataloader = per_rank
    torch.cuda.device_count = lambda: min(1, device_count())   # the engine: no NCCL of its own
    try:
        yield wrap
    finally:
        torch.cuda.device_count, engine_trainer.build_dataloader = device_count, build_dataloader


def build_trainer(cfg: dict, mode: str):
    """The engine's `Trainer` with every work-around applied. `mode`: 'train' (evaluates
    on Eval during training when the config has one) or 'eval'."""
    load_engine()
    from tools.engine.trainer import Trainer

    glob = cfg["Global"]
    glob.setdefault("device", "cpu")
    glob["use_amp"] = bf16_where_native(glob.get("use_amp", False), glob["device"], "Global.use_amp")
    glob.setdefault("log_smooth_window", 20)
    glob.setdefault("print_batch_step", 10)
    tensorboard = bool(glob.get("use_tensorboard")) and mode == "train"
    writer_class = _summary_writer_class() if tensorboard else None
    glob["use_tensorboard"] = False
    if mode == "train":
        if cfg.get("Eval"):
            mode = "train_eval"
        else:
            cfg["Eval"], glob["eval_batch_step"] = None, NEVER
    with warnings.catch_warnings(), _distributed(glob, mode) as wrap:
        # its CUDA GradScaler warns on CPU; replaced below
        warnings.filterwarnings("ignore", message=".*GradScaler is enabled, but CUDA")
        engine_config = EngineConfig(cfg)
        trainer = Trainer(engine_config, mode=mode, task="rec")
        wrap(trainer)
    engine_config.write_pending()   # the checkpoint loaded: now the run's config.yml
    # its eval uses the deprecated `torch.cuda.amp.autocast` (a no-op on CPU)
    warnings.filterwarnings("ignore", message=r".*torch\.cuda\.amp\.autocast",
                            category=FutureWarning)
    glob["use_tensorboard"] = tensorboard
    trainer.post_process_class = _Float32Outputs(trainer.post_process_class)
    if trainer.scaler is not None:
        trainer.scaler = _no_grad_scaler(trainer.device)
    if trainer.train_dataloader is not None:
        trainer.zero_grad_hook = trainer.optimizer.register_step_post_hook(
            _zero_grad_after_step)
        trainer.loss_class = _LossRecorder(trainer.loss_class)
        trainer.train_dataloader = TrainLoader(trainer)
        if writer_class is not None:
            trainer.writer = writer_class(glob["output_dir"])
    return trainer


def close_datasets(trainer) -> None:
    """Close the LMDB environments the engine's datasets keep open: LMDB allows one
    open environment per path and process, so a second run in the same process (a
    notebook, a resume, the tests) could not even check the same data otherwise."""
    for loader in (trainer.train_dataloader, trainer.valid_dataloader):
        for lmdb_set in getattr(getattr(loader, "dataset", None), "lmdb_sets", {}).values():
            lmdb_set["env"].close()


def infer_forward(model: torch.nn.Module, images: torch.Tensor, valid_ratios: torch.Tensor,
                  algorithm: str) -> torch.Tensor:
    """Inference forward pass. SAR-style decoders read `data[-1]` as one valid ratio
    per image (to mask the padding); pass them as a list holding a tensor."""
    if algorithm in ("SAR", "RobustScanner"):
        return model(images, data=[valid_ratios])
    return model(images)
