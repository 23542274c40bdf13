"""Recogniser configs: safe loading, `-o` overrides, path resolution and up-front checks.

The engine's own loader uses `yaml.Loader` (arbitrary Python objects) and resolves
every relative path against the working directory, so a config that works from the
project root silently breaks elsewhere. Here configs are read with `yaml.safe_load`,
and every relative INPUT path (dictionary, LMDB folders, weights, images) is looked up
in order in: the working directory, the config file's folder, the project root.
Relative OUTPUT paths (`output_dir`, `save_res_path`) stay relative to the working
directory, as in PaddleOCR, but are made absolute so later steps agree on them.

`check_config()` then fails fast, naming the file or key, on what the engine would
otherwise turn into a late crash, a silent "train from scratch" or a `sys.exit()` with
status 0 (an empty LMDB).
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Iterable

import lmdb

from common.config import ConfigError, parse_override, read_yaml, replaces_number_with_non_number
from ppocr_ext.engine import component_names

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BASE_KEY = "_BASE_"
INPUT_PATH_KEYS = ("character_dict_path", "pretrained_model", "checkpoints", "infer_img")
OUTPUT_PATH_KEYS = ("output_dir", "save_res_path")
WEIGHT_KEYS = ("pretrained_model", "checkpoints")
# OpenOCR transforms that import torchvision, which does not install beside torch 2.13 CPU.
TORCHVISION_TRANSFORMS = frozenset({"SVTRAug", "ABINetAug", "RecTVResize", "SliceTVResize",
                                    "NaSizeResize", "PARSeqAug", "PARSeqAugPIL"})
TORCHVISION_DATASETS = frozenset({"RatioDataSetTVResize", "RatioDataSetTVResizeTest"})
# `openrec.modeling.transforms.build_transform` keeps this list inside the function.
KNOWN_STN = ("TPS", "Aster_TPS", "MORN")


# ------------------------------------------------------------------ loading

def load_config(path: str | os.PathLike, overrides: Iterable[str] = ()) -> dict:
    """Read a YAML config (with `_BASE_` inheritance), apply `key.sub=value` overrides
    and resolve its paths. Returns a plain dict in the engine's layout."""
    path = Path(path)
    cfg = _read_with_bases(path.resolve(), seen=())
    for override in overrides:
        apply_override(cfg, override)
    cfg["filename"] = path.stem
    resolve_paths(cfg, path.resolve().parent)
    return cfg


def _read_with_bases(path: Path, seen: tuple[Path, ...]) -> dict:
    if path in seen:
        raise ConfigError(f"{path}: {BASE_KEY} inheritance loops back to itself")
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    if path.suffix not in (".yml", ".yaml"):
        raise ConfigError(f"{path}: a config must be a .yml/.yaml file")
    cfg = read_yaml(path) or {}
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: top level must be a mapping of sections")
    merged: dict = {}
    for base in cfg.pop(BASE_KEY, None) or []:
        base_path = Path(os.path.expanduser(base))
        if not base_path.is_absolute():
            base_path = path.parent / base_path
        merged = merge(merged, _read_with_bases(base_path.resolve(), seen + (path,)))
    return merge(merged, cfg)


def merge(base: dict, update: dict) -> dict:
    """Deep-merge `update` into a copy of `base`: dicts merge, everything else
    (lists included, e.g. a transform pipeline) is replaced whole."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


POSITIVE_KEYS = frozenset({"epoch_num", "batch_size_per_card"})
# Where keys are a closed set, an override must name one that exists: Global (plus the
# engine's optional Global keys, read from openocr 0.1.5's trainer and tools, and ours),
# and the datasets' and loaders' sections. Component sections (Architecture, Loss,
# Optimizer, ...) pass keyword arguments to the engine's classes and stay open.
STRICT_SECTIONS = (("Global",), ("Train", "dataset"), ("Train", "loader"),
                   ("Eval", "dataset"), ("Eval", "loader"))
OPTIONAL_GLOBAL_KEYS = frozenset({
    "backend", "character_dict_path", "checkpoints", "device", "distributed", "epoch_num",
    "eval_batch_step", "eval_epoch_step", "export_dir", "grad_clip_val", "infer_img",
    "is_visualize", "log_smooth_window", "max_text_length", "onnx_model_path", "output_dir",
    "pretrained_model", "print_batch_step", "resume_from_iter", "run_name", "save_epoch_step",
    "save_iter_step", "seed", "total_iter_steps", "use_amp", "use_space_char", "use_sync_bn",
    "use_tensorboard", "use_transformers", "num_threads", "cal_metric_during_train",
    "save_res_path"})


def apply_override(cfg: dict, override: str) -> None:
    """Apply one PaddleOCR-style `Section.key.sub=value` (value parsed as YAML)."""
    dotted, value = parse_override(override)
    keys = dotted.split(".")
    node = cfg
    for depth, key in enumerate(keys):
        parents, last = keys[:depth], depth == len(keys) - 1
        if not isinstance(node, dict):
            raise ConfigError(f"override {override!r}: {'.'.join(parents)} is "
                              f"{type(node).__name__}, not a section")
        if key not in node:
            closed = (tuple(parents) in STRICT_SECTIONS
                      and not (parents == ["Global"] and key in OPTIONAL_GLOBAL_KEYS))
            if closed or (depth == 0 and not last):   # the top-level sections are closed too
                known = ", ".join(sorted(map(str, node))) or "none"
                raise ConfigError(f"override {override!r}: unknown key "
                                  f"{'.'.join(keys[:depth + 1])} (known here: {known})")
            node[key] = None   # a new keyword of an engine component
        if last:
            if node[key] is not None:
                _check_type(override, key, node[key], value)
            node[key] = value
        else:
            if node[key] is None:
                node[key] = {}
            node = node[key]


def _check_type(override: str, key: str, old, new) -> None:
    if replaces_number_with_non_number(old, new):
        raise ConfigError(f"override {override!r}: {key} takes a number (it is {old!r})")
    if key in POSITIVE_KEYS and isinstance(new, (int, float)) and new < 1:
        raise ConfigError(f"override {override!r}: {key} must be at least 1")


# ------------------------------------------------------------------ paths

def resolve_input(value: str, config_dir: Path, suffixes: tuple[str, ...] = ("",)) -> str | None:
    """First existing match of a relative input path, or None. Candidates: as given
    (working directory), the config file's folder, the project root."""
    raw = Path(os.path.expanduser(str(value)))
    roots = [Path.cwd()] if raw.is_absolute() else [Path.cwd(), config_dir, PROJECT_ROOT]
    for root in roots:
        for suffix in suffixes:
            candidate = root / (str(raw) + suffix)
            if candidate.exists():
                return str(candidate.resolve())
    return None


def resolve_paths(cfg: dict, config_dir: Path) -> None:
    """Make the config's paths absolute (see module docstring). Inputs that exist
    nowhere are left as written; `check_config` reports them."""
    glob = cfg.setdefault("Global", {}) or {}
    cfg["Global"] = glob
    for key in INPUT_PATH_KEYS:
        if glob.get(key):
            suffixes = ("", ".pth") if key in WEIGHT_KEYS else ("",)
            glob[key] = resolve_input(glob[key], config_dir, suffixes) or glob[key]
    for key in OUTPUT_PATH_KEYS:
        if glob.get(key):
            glob[key] = str(Path(os.path.expanduser(str(glob[key]))).resolve())
    for section in ("Train", "Eval"):
        dataset = (cfg.get(section) or {}).get("dataset") or {}
        for key in ("data_dir", "real_data_dir"):   # real_data_dir: SynthCropDataSet's
            if dataset.get(key):
                dataset[key] = resolve_input(dataset[key], config_dir) or dataset[key]
    cfg["_config_dir"] = str(config_dir)


def find_latest_checkpoint(output_dir: str | os.PathLike) -> str:
    """`latest.pth` of a run folder, for `--resume`."""
    latest = Path(output_dir) / "latest.pth"
    if not latest.is_file():
        raise ConfigError(f"--resume: no checkpoint to resume from, {latest} does not exist "
                          "(was this run's output_dir different?)")
    return str(latest)


# ------------------------------------------------------------------ checks

def check_config(cfg: dict, mode: str) -> None:
    """Fail fast with a clear message. `mode` is 'train', 'eval' or 'infer'."""
    where = cfg.get("filename", "config")
    for section in ("Global", "Architecture", "PostProcess"):
        if not isinstance(cfg.get(section), dict):
            raise ConfigError(f"{where}: section '{section}' is missing")
    glob = cfg["Global"]
    _require_file(cfg, "Global.character_dict_path", glob.get("character_dict_path"))
    for key in WEIGHT_KEYS:
        if glob.get(key):
            _require_file(cfg, f"Global.{key}", glob[key])
    if mode in ("eval", "infer") and not (glob.get("pretrained_model") or glob.get("checkpoints")):
        raise ConfigError(f"{where}: {mode} needs trained weights: pass "
                          "-o Global.pretrained_model=PATH/best.pth")
    if mode == "infer":
        if not glob.get("infer_img"):
            raise ConfigError(f"{where}: pass -o Global.infer_img=FOLDER_OR_IMAGE")
        _require_file(cfg, "Global.infer_img", glob["infer_img"])
    sections = {"train": ["Train", "Eval"], "eval": ["Eval"], "infer": []}[mode]
    for section in sections:
        if section == "Eval" and mode == "train" and not cfg.get("Eval"):
            continue
        _check_dataset(cfg, section)
    check_names(cfg)


def _require_file(cfg: dict, key: str, value) -> None:
    if not value or not Path(str(value)).exists():
        raise ConfigError(f"{cfg.get('filename', 'config')}: {key} = {value!r} not found "
                          f"(looked in {Path.cwd()}, {cfg.get('_config_dir')}, {PROJECT_ROOT})")


def _check_dataset(cfg: dict, section: str) -> None:
    where = cfg.get("filename", "config")
    block = cfg.get(section)
    if not isinstance(block, dict) or not isinstance(block.get("dataset"), dict):
        raise ConfigError(f"{where}: section '{section}' with a 'dataset' is missing")
    dataset, loader = block["dataset"], block.get("loader") or {}
    name = dataset.get("name")
    if name in TORCHVISION_DATASETS:
        raise ConfigError(f"{where}: {section}.dataset.name {name} needs torchvision, "
                          "which this project does not install; use LMDBDataSet")
    if name == "STRLMDBDataSet":
        raise ConfigError(f"{where}: {section}.dataset.name STRLMDBDataSet hard-codes its "
                          "sub-folders; use LMDBDataSet")
    if name in ("LMDBDataSet", "LMDBDataSetTest"):
        total = count_lmdb_samples(dataset.get("data_dir"), f"{section}.dataset.data_dir")
        batch = loader.get("batch_size_per_card", 1)
        if loader.get("drop_last") and total < batch:
            raise ConfigError(f"{dataset['data_dir']}: {total} samples, fewer than one batch "
                              f"({section}.loader.batch_size_per_card={batch} with drop_last); "
                              "lower the batch size")


def count_lmdb_samples(data_dir, key: str = "data_dir") -> int:
    """Samples in an LMDB folder (or a folder of LMDBs, as the engine walks it)."""
    if not data_dir or not Path(str(data_dir)).is_dir():
        raise ConfigError(f"{key} = {data_dir!r}: LMDB folder not found (looked in "
                          f"{Path.cwd()}, the config's folder and {PROJECT_ROOT})")
    leaves = [Path(d) for d, subdirs, _ in os.walk(str(data_dir)) if not subdirs]
    total = 0
    for leaf in leaves:
        if not (leaf / "data.mdb").is_file():
            raise ConfigError(f"{leaf}: not an LMDB (no data.mdb) under {key}")
        try:
            env = lmdb.open(str(leaf), readonly=True, lock=False, readahead=False,
                            meminit=False)
        except lmdb.Error as err:
            raise ConfigError(f"{leaf}: cannot open LMDB under {key}: {err}") from err
        try:
            with env.begin() as txn:
                raw = txn.get(b"num-samples")
        finally:
            env.close()
        if raw is None:
            raise ConfigError(f"{leaf}: LMDB has no 'num-samples' key (not a recognition LMDB)")
        total += int(raw)
    if total == 0:
        raise ConfigError(f"{data_dir}: empty LMDB (num-samples is 0) under {key}")
    return total


def check_names(cfg: dict) -> None:
    """Every component name must exist in the engine; list the valid ones if not."""
    names = component_names()
    arch = cfg["Architecture"]
    picks = [("Architecture.Transform", arch.get("Transform"), KNOWN_STN),
             ("Architecture.Encoder", arch.get("Encoder"), names["encoders"]),
             ("Architecture.Decoder", arch.get("Decoder"), names["decoders"]),
             ("Loss", cfg.get("Loss"), names["losses"]),
             ("PostProcess", cfg.get("PostProcess"), names["postprocess"]),
             ("Metric", cfg.get("Metric"), names["metrics"]),
             ("Optimizer", cfg.get("Optimizer"), names["optimizers"]),
             ("LRScheduler", cfg.get("LRScheduler"), names["schedulers"])]
    for section in ("Train", "Eval"):
        dataset = (cfg.get(section) or {}).get("dataset") or {}
        if dataset:
            picks.append((f"{section}.dataset", dataset, names["datasets"]))
            for op in dataset.get("transforms") or []:
                _check_transform(cfg, section, op, names["transforms"])
    for key, block, valid in picks:
        if block is None:
            continue
        name = block.get("name") if isinstance(block, dict) else None
        if name not in valid:
            raise ConfigError(f"{cfg.get('filename', 'config')}: {key}.name {name!r} is unknown; "
                              f"valid names: {', '.join(sorted(valid))}")


def _check_transform(cfg: dict, section: str, op, valid) -> None:
    where = cfg.get("filename", "config")
    if not isinstance(op, dict) or len(op) != 1:
        raise ConfigError(f"{where}: {section}.dataset.transforms entry {op!r} must be "
                          "a one-key mapping like '- SVTRResize: {image_shape: [3, 32, 256]}'")
    name = next(iter(op))
    if name in TORCHVISION_TRANSFORMS:
        raise ConfigError(f"{where}: {section}.dataset.transforms {name} needs torchvision "
                          "or imgaug, which do not install here; use this project's plugins")
    if name not in valid:
        raise ConfigError(f"{where}: {section}.dataset.transforms {name!r} is unknown; "
                          f"valid names: {', '.join(sorted(valid))}")
