"""Training the copy descriptor from scratch (configs/copy/descriptor.yml): SSCD's recipe
at CPU scale.

Each step draws `batch_size` frames of distinct videos from the generator's training
frames, makes two views of each under random chains of the repost edits
(common.copy_edits; the second view is sometimes another frame of the same video), and
minimises InfoNCE over the 2B views (each view's partner is its positive, the other
2B-2 its negatives: the other videos' frames are the hard negatives a batch holds) plus
KoLeo's entropy term, which pushes every descriptor away from its nearest neighbour so
the space is used evenly (SSCD: it makes scores comparable across queries, which uAP
rewards). Batches are a pure function of (seed, step), so a resumed run continues the
same stream; `latest.pt` is written every `save_every` steps.
"""
from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from common.atomic import atomic_path
from common.config import ConfigError, load_checked_config
from common.copy_edits import apply_chain, random_chain
from common.hardware import bf16_where_native
from common.images import decode_frames, list_image_files
from common.schedules import cosine_lr
from common.split import video_id
from common.torch_files import read_checkpoint
from copydetect.descriptor import CopyDescriptor, preprocess, save_descriptor

log = logging.getLogger(__name__)
REFERENCE = Path(__file__).resolve().parents[1] / "configs" / "copy" / "descriptor.yml"


def load_config(path, overrides=None) -> dict:
    """A descriptor config (keys checked against configs/copy/descriptor.yml)."""
    return load_checked_config(path, REFERENCE, overrides)


class FrameBank:
    """The training frames at the cache size, grouped by video (`<video>_<frame>_.jpg`)."""

    def __init__(self, folder, max_frames: int, size, seed: int):
        paths, _ = list_image_files(folder)
        rng = np.random.default_rng(seed)
        if max_frames and len(paths) > max_frames:
            paths = [paths[i] for i in sorted(rng.choice(len(paths), max_frames, replace=False))]
        self.frames, videos = [], []
        for start in tqdm(range(0, len(paths), 256), desc="loading frames", unit="256 frames"):
            images, names = decode_frames(paths[start:start + 256], [])   # reduced as they come
            self.frames += [cv2.resize(image, size if image.shape[0] >= image.shape[1] else size[::-1],
                                       interpolation=cv2.INTER_AREA) for image in images]
            videos += [video_id(name) for name in names]
        if len(self.frames) < 2:
            raise ConfigError(f"{folder}: needs at least 2 readable frames to train a descriptor")
        self.videos = {}
        for index, video in enumerate(videos):
            self.videos.setdefault(video, []).append(index)
        self.video_list = sorted(self.videos)


def batch_frames(bank: FrameBank, rng, config: dict) -> list[tuple[int, int]]:
    """The (anchor, partner) frame indices of one batch: `batch_size` frames of distinct
    videos, each partnered with itself or, at `data.same_video_prob`, another frame of its
    video. With `data.sibling_negatives` > 0 that share of the frames come in pairs of two
    frames of one video, each its own anchor and partner, so each is the other's negative:
    a repost is a copy of ONE frame, and the small benchmark's frame-level misses were
    mostly another frame of the right video (recall@1 0.47 by frame, 0.94 by video)."""
    data, batch = config["data"], config["train"]["batch_size"]
    siblings = int(batch * data["sibling_negatives"]) // 2
    videos = rng.choice(len(bank.video_list), min(batch - siblings, len(bank.video_list)),
                        replace=False)
    pairs = []
    for v in videos:
        members = bank.videos[bank.video_list[v]]
        anchor = members[int(rng.integers(len(members)))]
        if siblings and len(members) > 1:
            others = [m for m in members if m != anchor]
            sibling = others[int(rng.integers(len(others)))]
            pairs += [(anchor, anchor), (sibling, sibling)]
            siblings -= 1
            continue
        partner = anchor
        if len(members) > 1 and rng.random() < data["same_video_prob"]:
            partner = members[int(rng.integers(len(members)))]
        pairs.append((anchor, partner))
    return pairs


def make_batch(bank: FrameBank, step: int, config: dict) -> torch.Tensor:
    """(2B, 3, s, s): views 0..B-1 and their partners B..2B-1, a function of (seed, step)."""
    train = config["train"]
    rng = np.random.default_rng([train["seed"], step])
    pairs = batch_frames(bank, rng, config)
    views = [apply_chain(bank.frames[i], random_chain(rng, train["max_edits"]), rng)
             for pair in pairs for i in pair]
    return preprocess(views[0::2] + views[1::2], config["model"]["input_size"])


class _Batches(torch.utils.data.IterableDataset):
    def __init__(self, bank, config, start, stop):
        self.bank, self.config, self.start, self.stop = bank, config, start, stop

    def __iter__(self):
        torch.set_num_threads(1)
        cv2.setNumThreads(1)
        for step in range(self.start, self.stop):
            yield make_batch(self.bank, step, self.config)


def contrastive_loss(z: torch.Tensor, temperature: float, koleo_weight: float):
    """InfoNCE over 2B unit vectors whose positives are i <-> i+B, plus KoLeo's
    -mean(log distance to the nearest other vector); also the in-batch retrieval
    accuracy (a view's nearest other view is its partner)."""
    n = z.shape[0] // 2
    sim = z @ z.T
    eye = torch.eye(2 * n, dtype=torch.bool)
    logits = (sim / temperature).masked_fill(eye, float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    nce = F.cross_entropy(logits, target)
    nearest = sim.masked_fill(eye, -2.0).max(1)
    distance = torch.sqrt(torch.clamp(2 - 2 * nearest.values, min=1e-8))
    koleo = -torch.log(distance + 1e-8).mean()
    accuracy = (nearest.indices == target).float().mean()
    return nce + koleo_weight * koleo, {"nce": nce.item(), "koleo": koleo.item(), "acc": accuracy.item()}


def _save_state(path: Path, model, optimizer, step: int):
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save({"config": model.config, "state_dict": model.state_dict(),
                    "optimizer": optimizer.state_dict(), "step": step}, tmp)


def train_descriptor(config: dict, resume: bool = False, stop_after: int | None = None) -> Path | None:
    """Train as `config` says; return the final descriptor's path (output.dir/descriptor.pt).
    `stop_after`: train at most this many steps in this run, then save latest.pt and
    return None (a time-boxed session; `resume` continues the same schedule)."""
    train, model_cfg = config["train"], config["model"]
    out = Path(config["output"]["dir"])
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(train["threads"])
    torch.manual_seed(train["seed"])
    model = CopyDescriptor(model_cfg["channels"], model_cfg["dim"], model_cfg["input_size"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=train["lr"], weight_decay=train["weight_decay"])
    start = 0
    latest = out / "latest.pt"
    if resume and latest.is_file():
        state = read_checkpoint(latest)
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        start = int(state["step"])
        log.info("resuming %s at step %d", latest, start)
    bank = FrameBank(config["data"]["frames"], config["data"]["max_frames"],
                     tuple(config["data"]["cache_size"]), train["seed"])
    bf16 = bf16_where_native(train["bf16"], key="train.bf16")
    stop = train["steps"] if stop_after is None else min(train["steps"], start + stop_after)
    batches = torch.utils.data.DataLoader(_Batches(bank, config, start, stop), batch_size=None,
                                          num_workers=train["workers"], prefetch_factor=4 if train["workers"] else None)
    model.train()
    started = time.perf_counter()
    with (out / "train.log").open("a") as log_file:
        bar = tqdm(batches, initial=start, total=train["steps"], desc="copy descriptor", unit="step")
        for step, batch in enumerate(bar, start):
            lr = cosine_lr(optimizer, train["lr"], step, train["steps"], train["warmup"])
            with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext():
                z = model(batch)
            loss, parts = contrastive_loss(z, train["temperature"], train["koleo_weight"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            bar.set_postfix(loss=f"{loss.item():.3f}", acc=f"{parts['acc']:.2f}")
            if (step + 1) % train["log_every"] == 0 or step + 1 == train["steps"]:
                log_file.write(f"step {step + 1} lr {lr:.2e} loss {loss.item():.4f} nce {parts['nce']:.4f} "
                               f"koleo {parts['koleo']:.4f} batch_acc {parts['acc']:.3f} "
                               f"seconds {time.perf_counter() - started:.1f}\n")
                log_file.flush()
            if (step + 1) % train["save_every"] == 0:
                _save_state(latest, model, optimizer, step + 1)
    _save_state(latest, model, optimizer, stop)
    if stop < train["steps"]:
        return None
    final = out / "descriptor.pt"
    save_descriptor(model.eval(), final, {"steps": train["steps"]})
    return final
