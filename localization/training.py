"""Fitting the learned localisers from image-level facts only, and their checkpoints.

The only supervision: "the watermark is in strip 1 or strip N, never in strips 2..N-1".
Positives stitch strip 1 with strip N, negatives two random middle strips. Boxes are
never read here. Every train frame is seen at its own resolution and, like the seed's
`train_crop_low`, shrunk by the test factor (1/1.7) with JPEG loss, so the classifier
and the PCA also fit the low-resolution test domain.
"""
from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from common.atomic import atomic_path
from common.images import read_frame
from common.schedules import cosine_lr
from common.screenshot import low_res_version
from common.torch_files import CheckpointError, read_checkpoint
from localization.ddt import DDTProjection, DescriptorStats
from localization.frame_records import FrameRecord
from localization.geometry import stitch_strips
from localization.locator import Locator, Margins, WorkParams
from localization.model import INPUT_FORMAT, BoxRegressor, LineHead, StripClassifier, normalise

log = logging.getLogger(__name__)


@dataclass
class WorkSet:
    """Working-resolution train frames, bucketed by shape so a batch stacks:
    shape -> uint8 array (frames, 2 versions [train res, low res], H, W)."""
    buckets: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(b) for b in self.buckets.values())

    def pick_bucket(self, rng: np.random.Generator) -> np.ndarray:
        arrays = list(self.buckets.values())
        sizes = np.array([len(a) for a in arrays], float)
        return arrays[rng.choice(len(arrays), p=sizes / sizes.sum())]


def load_work_set(records: list[FrameRecord], work: WorkParams, low_res_factor: float,
                  jpeg_range: tuple[int, int], max_frames: int, seed: int) -> WorkSet:
    rng = np.random.default_rng(seed)
    if max_frames and len(records) > max_frames:
        records = [records[i] for i in sorted(rng.choice(len(records), max_frames, replace=False))]
    lists: dict[tuple[int, int], list[np.ndarray]] = {}
    for record in tqdm(records, desc="loading train frames", unit="frame"):
        gray = read_frame(record.path, gray=True)
        if gray is None:
            continue
        low = low_res_version(gray, low_res_factor, rng.integers(jpeg_range[0], jpeg_range[1] + 1))
        high_work = work.work(gray)
        # same working shape as the train-res version (width rounding may differ)
        low_work = cv2.resize(low, high_work.shape[::-1], interpolation=cv2.INTER_AREA)
        lists.setdefault(high_work.shape, []).append(np.stack([high_work, low_work]))
    if not lists:
        raise ValueError("no readable train frames to fit the localiser on")
    return WorkSet({shape: np.stack(items) for shape, items in lists.items()})


def sample_pairs(frames: np.ndarray, count: int, work: WorkParams, rng: np.random.Generator):
    """Half positives (strip 1 over strip N), half negatives (two middle strips, upper
    one on top), each from a random frame in a random version."""
    sh, last = work.strip_height, work.strips - 1
    labels = (np.arange(count) < count // 2).astype(np.float32)
    pairs = []
    for label in labels:
        frame = frames[rng.integers(len(frames)), rng.integers(2)]
        if label:
            first, second = 0, last
        else:
            first, second = sorted(rng.choice(np.arange(1, last), 2, replace=False))
        pairs.append(stitch_strips(frame, first, second, sh))
    return np.stack(pairs), labels


def fit_on_buckets(model: nn.Module, data: list[tuple], steps: int, batch_size: int,
                   lr: float, seed: int, desc: str, batch_loss) -> nn.Module:
    """The training loop of the networks taught by a fitted localiser (PSOL's regressor,
    the line head): AdamW with a cosine LR after a 5% warm-up; each step draws one shape
    bucket of `data` (weighted by its size; a bucket is a tuple of arrays whose first
    holds the inputs) and `batch_size` random items of it, and minimises
    `batch_loss(bucket, picked indices)`. Seed torch before building `model`."""
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sizes = np.array([len(bucket[0]) for bucket in data], float)
    model.train()
    progress = tqdm(range(steps), desc=desc, unit="step")
    running = None
    for step in progress:
        cosine_lr(optimizer, lr, step, steps, warmup=max(1, steps // 20))
        bucket = data[rng.choice(len(data), p=sizes / sizes.sum())]
        loss = batch_loss(bucket, rng.integers(len(bucket[0]), size=batch_size))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running = loss.item() if running is None else 0.9 * running + 0.1 * loss.item()
        progress.set_postfix(loss=f"{running:.4f}")
    return model.eval()


def _autocast(bf16: bool):
    """bf16 autocast halves the step time on CPUs with avx512_bf16; off means fp32."""
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()


def train_classifier(work_set: WorkSet, work: WorkParams, channels, steps: int,
                     batch_size: int, lr: float, seed: int, bf16: bool) -> StripClassifier:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = StripClassifier(tuple(channels))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    loss_fn = nn.BCEWithLogitsLoss()
    model.train()
    progress = tqdm(range(steps), desc="strip classifier", unit="step")
    running_loss, running_acc = None, None
    for step in progress:
        cosine_lr(optimizer, lr, step, steps, warmup=max(1, steps // 20))
        pairs, labels = sample_pairs(work_set.pick_bucket(rng), batch_size, work, rng)
        with _autocast(bf16):
            logits = model(normalise(torch.from_numpy(pairs))).float()
        target = torch.from_numpy(labels)
        loss = loss_fn(logits, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        acc = ((logits > 0).float() == target).float().mean().item()
        running_loss = loss.item() if running_loss is None else 0.9 * running_loss + 0.1 * loss.item()
        running_acc = acc if running_acc is None else 0.9 * running_acc + 0.1 * acc
        progress.set_postfix(loss=f"{running_loss:.3f}", acc=f"{running_acc:.3f}")
    model.eval()
    return model


def _features(model: StripClassifier, pairs: np.ndarray) -> torch.Tensor:
    with torch.inference_mode():
        return model.features(normalise(torch.from_numpy(pairs)))


def fit_projection(model: StripClassifier, work_set: WorkSet, work: WorkParams,
                   batch_size: int, orient_pairs: int, seed: int) -> DDTProjection:
    """PCA over every descriptor location of every positive pair (both versions), then
    the sign fixed against negatives (see DDTProjection.orient)."""
    sh, last = work.strip_height, work.strips - 1
    stats = DescriptorStats.empty(model.channels[-1])
    for frames in work_set.buckets.values():
        versions = frames.reshape(-1, *frames.shape[2:])
        for start in tqdm(range(0, len(versions), batch_size), desc="DDT descriptors", unit="batch"):
            chunk = versions[start:start + batch_size]
            stats.add(_features(model, np.stack([stitch_strips(f, 0, last, sh) for f in chunk])))
    projection = DDTProjection.from_stats(stats)
    rng = np.random.default_rng(seed)
    positives, negatives = [], []
    for frames in work_set.buckets.values():
        count = max(2, round(orient_pairs * len(frames) / len(work_set)))
        pairs, labels = sample_pairs(frames, 2 * count, work, rng)
        maps = projection.heatmap(_features(model, pairs))
        positives.extend(maps[labels == 1])
        negatives.extend(maps[labels == 0])
    projection.orient(positives, negatives)
    return projection


def teacher_results(teacher: Locator, frames: np.ndarray, desc: str):
    """`(frame, result)` for every version of every frame of one shape bucket that
    `teacher` localises (frames where it found no blob are left out): the pass over the
    train frames in which a fitted localiser teaches the next one (PSOL's pseudo-boxes,
    the line head's ID lines)."""
    versions = frames.reshape(-1, *frames.shape[2:])
    for start in tqdm(range(0, len(versions), 256), desc=desc, unit="batch"):
        chunk = list(versions[start:start + 256])
        for frame, result in zip(chunk, teacher.locate(chunk)):
            if not result.fallback:
                yield frame, result


def pseudo_boxes(locator: Locator, work_set: WorkSet):
    """DDT's boxes on the train frames, as PSOL's targets: (bands, fractions of the band)
    per frame shape. The band is the one the classifier chose, the same the regressor
    will see at inference. Frames where DDT found no blob are left out rather than
    taught "the whole band"."""
    top_band, bottom_band = locator.side_bands()
    out = {}
    for shape, frames in work_set.buckets.items():
        bands, targets = [], []
        for frame, result in teacher_results(locator, frames, "DDT pseudo-boxes"):
            band = top_band if result.side == "top" else bottom_band
            rows = band.stop - band.start
            x0, y0, x1, y1 = result.raw_box
            bands.append(frame[band.work_row:band.work_row + rows])
            targets.append([x0 / shape[1], (y0 - band.work_row) / rows,
                            x1 / shape[1], (y1 - band.work_row) / rows])
        if bands:
            out[shape] = (np.stack(bands), np.asarray(targets, np.float32))
    if not out:
        raise ValueError("DDT found no watermark blob on any train frame: nothing to train PSOL on")
    return out


def train_regressor(targets_by_shape: dict, channels, steps: int, batch_size: int,
                    lr: float, seed: int, bf16: bool) -> BoxRegressor:
    torch.manual_seed(seed)
    model = BoxRegressor(tuple(channels))

    def batch_loss(bucket, pick):
        bands, targets = bucket
        with _autocast(bf16):
            predicted = model(normalise(torch.from_numpy(bands[pick]))).float()
        return nn.functional.smooth_l1_loss(predicted, torch.from_numpy(targets[pick]), beta=0.02)
    return fit_on_buckets(model, list(targets_by_shape.values()), steps, batch_size, lr, seed,
                          "PSOL box regressor", batch_loss)


# -- checkpoints -----------------------------------------------------------------------
def _atomic_save(payload: dict, path: Path) -> None:
    with atomic_path(path, suffix=".tmp") as temporary:
        torch.save(payload, temporary)


def read_payload(path: Path, *keys: str) -> dict:
    """A localiser checkpoint read safely (common.torch_files), with `keys` present."""
    payload = read_checkpoint(path)
    missing = [key for key in keys if key not in payload]
    if missing:
        raise CheckpointError(f"{path}: not a localiser checkpoint (no {', '.join(missing)})")
    return payload


def _check_input(path: Path, payload: dict, force_key: str) -> None:
    """A network fitted on differently prepared pixels would load without error and
    localise nonsense: refuse it by name."""
    if payload.get("input") != INPUT_FORMAT:
        raise ValueError(f"{path} was fitted on input {payload.get('input', 'gray / 255 - 0.5')!r}, "
                         f"this version feeds {INPUT_FORMAT!r}; set {force_key}=true to refit")


def save_classifier(path: Path, model: StripClassifier, projection: DDTProjection,
                    work: WorkParams, line_head: LineHead | None = None) -> None:
    """One file: the line head reads THIS classifier's descriptors, so it is kept (and
    refit) with it."""
    payload = {"channels": list(model.channels), "state_dict": model.state_dict(),
               "ddt": projection.state(), "work": asdict(work), "input": INPUT_FORMAT}
    if line_head is not None:
        payload["line_head"] = {"hidden": line_head.hidden, "state_dict": line_head.state_dict(),
                                "line_height": line_head.line_height}
    _atomic_save(payload, path)


def load_classifier(path: Path, work: WorkParams) -> tuple[StripClassifier, DDTProjection]:
    payload = read_payload(path, "work", "channels", "state_dict", "ddt")
    _check_input(path, payload, "train.force")
    saved = WorkParams(**payload["work"])
    if saved != work:
        raise ValueError(f"{path} was trained at {saved}, the config asks for {work}; "
                         "set train.force=true to retrain")
    model = StripClassifier(tuple(payload["channels"]))
    model.load_state_dict(payload["state_dict"])
    return model.eval(), DDTProjection.from_state(payload["ddt"])


def load_line_head(path: Path) -> LineHead | None:
    """The line head saved with the classifier in `path`, or None (fitted before heads
    existed, or never asked for)."""
    payload = read_payload(path, "channels")
    if "line_head" not in payload:
        return None
    head = LineHead(payload["channels"][-1], payload["line_head"]["hidden"],
                    payload["line_head"].get("line_height"))
    head.load_state_dict(payload["line_head"]["state_dict"])
    return head.eval()


def save_regressor(path: Path, model: BoxRegressor, work: WorkParams) -> None:
    _atomic_save({"channels": list(model.channels), "grid": list(model.grid),
                  "hidden": model.hidden, "state_dict": model.state_dict(),
                  "work": asdict(work), "input": INPUT_FORMAT}, path)


def load_regressor(path: Path, work: WorkParams) -> BoxRegressor:
    payload = read_payload(path, "work", "channels", "grid", "hidden", "state_dict")
    _check_input(path, payload, "psol.force")
    if WorkParams(**payload["work"]) != work:
        raise ValueError(f"{path} was trained at another working resolution; "
                         "set psol.force=true to retrain")
    model = BoxRegressor(tuple(payload["channels"]), tuple(payload["grid"]), payload["hidden"])
    model.load_state_dict(payload["state_dict"])
    return model.eval()


def margins_from(config: dict) -> Margins:
    ddt = config["ddt"]
    return Margins(ddt["margin_x"], ddt["margin_y"], ddt["margin_left"])
