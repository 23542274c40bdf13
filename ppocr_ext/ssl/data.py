"""Unlabeled crops from any recognition LMDB or image folder, in several views.

Labels are ignored, so the training LMDBs, the test crops written by localisation
(whose labels may be empty) and a plain folder of crops all serve. Every view is the
recogniser's own preprocessing (its `Train.dataset.transforms` without label steps and
without this project's augmentations, i.e. DecodeImage ... SVTRResize), with an
augmentation spliced in right after `DecodeImage`: a preset name of
`ppocr_ext.augment` (`none`, `standard`, `standard_tia`, ...) or a list of transform
dicts in engine config form. So pre-training and fine-tuning see the same input size
and normalisation, by construction.

LMDB crops are read into memory when the sources are found (crops are small: 60k take
a few hundred MB), so no LMDB stays open: py-lmdb refuses to open an environment twice
in one process, and the engine's own dataset keeps the training LMDB open. Image
folders are read file by file. A crop that cannot be decoded is skipped with a warning
naming it (one bad file never stops a long pre-training run); a source with nothing
readable is an error.
"""
from __future__ import annotations

import copy
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import lmdb
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from common.config import ConfigError
from common.images import BadImage
from common.lmdb_io import LmdbError, iter_lmdb, lmdbs_under
from ppocr_ext.augment import with_preset
from ppocr_ext.engine import load_engine
from ppocr_ext.rec_config import resolve_input
from ppocr_ext.rec_infer import list_images

LOG = logging.getLogger(__name__)
LABEL_STEPS = ("KeepKeys",)
MAX_SKIPS = 20


@dataclass
class Source:
    """One LMDB (kind 'lmdb': `items` are the encoded images) or one image folder
    (kind 'files': `items` are the image paths)."""
    kind: str
    path: Path
    items: list = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.items)


def _lmdb_images(path: Path) -> list[bytes]:
    try:
        return [image for image, _ in iter_lmdb(path)]
    except (LmdbError, lmdb.Error) as err:
        raise ConfigError(f"{path}: cannot read unlabeled crops: {err}") from err


def find_sources(paths, config_dir: str | os.PathLike | None = None) -> list[Source]:
    """Sources under each path: every LMDB below it (a folder of LMDBs is walked, as
    the engine does), or else the images directly in it (or the image file itself).
    Relative paths resolve like the recogniser configs' inputs."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not paths:
        raise ConfigError("no unlabeled data given: name at least one LMDB or image folder")
    sources: list[Source] = []
    for given in paths:
        found = resolve_input(str(given), Path(config_dir or Path.cwd()))
        if found is None:
            raise ConfigError(f"unlabeled data {given!r} not found (looked in {Path.cwd()}, "
                              f"{config_dir} and the project root)")
        path = Path(found)
        lmdbs = lmdbs_under(path)
        if lmdbs:
            sources += [Source("lmdb", p, _lmdb_images(p)) for p in lmdbs]
        else:
            images, _ = list_images(path)
            sources.append(Source("files", path, images))
    sources = [s for s in sources if s.count > 0]
    if not sources:
        raise ConfigError(f"unlabeled data {list(map(str, paths))}: no samples")
    return sources


def base_transforms(cfg: dict) -> list[dict]:
    """The recogniser's preprocessing without labels or augmentation (module doc)."""
    steps = [copy.deepcopy(op) for op in cfg["Train"]["dataset"]["transforms"]
             if not next(iter(op)).endswith("LabelEncode") and next(iter(op)) not in LABEL_STEPS]
    return with_preset(steps, "none")


def view_transforms(base: list[dict], augment) -> list[dict]:
    """`base` with `augment` (preset name or list of transform dicts) after DecodeImage."""
    if augment is None or isinstance(augment, str):
        return with_preset(base, augment or "none")
    if not isinstance(augment, list):
        raise ConfigError(f"augmentation {augment!r}: give a preset name or a list of "
                          "transforms like [{StandardAug: {crop_prob: 0}}]")
    at = [next(iter(op)) for op in base].index("DecodeImage") + 1
    return base[:at] + copy.deepcopy(augment) + base[at:]


class UnlabeledCrops(Dataset):
    """Item i = one crop in every view: a tuple of float32 (C, H, W) arrays."""

    def __init__(self, sources: list[Source], views: list[list[dict]], global_cfg: dict):
        load_engine()
        from openrec.preprocess import create_operators
        self.sources = sources
        self.offsets = np.cumsum([0] + [s.count for s in sources])
        self.views = [create_operators(view, global_cfg) for view in views]
        self._warned: set[str] = set()

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def raw(self, index: int) -> tuple[str, bytes]:
        """(name for messages, encoded image bytes) of sample `index`."""
        which = int(np.searchsorted(self.offsets, index, side="right")) - 1
        source, local = self.sources[which], index - int(self.offsets[which])
        if source.kind == "files":
            return str(source.items[local]), source.items[local].read_bytes()
        return f"{source.path}#{local + 1}", source.items[local]

    @staticmethod
    def _apply(ops, raw: bytes) -> np.ndarray:
        if not raw:
            raise BadImage("empty")
        data = ops[0]({"image": raw})
        if not isinstance(data.get("image"), np.ndarray) or data["image"].size == 0:
            raise BadImage("does not decode to an image")
        for op in ops[1:]:
            data = op(data)
        return np.asarray(data["image"], dtype=np.float32)

    def __getitem__(self, index: int):
        for _ in range(MAX_SKIPS):
            name, raw = self.raw(index)
            try:
                return tuple(self._apply(ops, raw) for ops in self.views)
            except (BadImage, OSError) as err:
                if name not in self._warned:
                    self._warned.add(name)
                    LOG.warning("skipped unlabeled crop %s: %s", name, err)
                index = int(np.random.randint(len(self)))
        raise RuntimeError(f"{MAX_SKIPS} unreadable crops in a row (last: {name}): "
                           "is the unlabeled data corrupt?")


def endless_batches(dataset: Dataset, batch_size: int, num_workers: int = 0):
    """Shuffled batches (tuples of tensors, one per view) forever, reshuffled each pass."""
    if len(dataset) < batch_size:
        raise ConfigError(f"{len(dataset)} unlabeled crops, fewer than one batch of "
                          f"{batch_size}; lower the batch size")
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True,
                        num_workers=num_workers, persistent_workers=num_workers > 0)
    while True:
        for batch in loader:
            yield tuple(torch.as_tensor(view) for view in batch)
