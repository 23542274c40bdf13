"""A copy-detection benchmark made by the generator (issue #21), in the shape of the 2021
Image Similarity Challenge (seed 004): reference frames of many videos, each with its
constant watermark ID, and queries of which a known part are copies of a reference frame.

    <out>/references/<video>_<frame>_.jpg   the reference set (frames of `videos` videos)
    <out>/queries/q<000000>.jpg              anonymous query frames (ids: the file names)
    <out>/references.csv   reference_id,video,account_id,frame
    <out>/queries.csv      query_id,kind,edit,strength,video,account_id,source
    <out>/ground_truth.csv query_id,reference_id: the challenge's format, one row per
                           query that has a match (copies and same-video frames)
    <out>/copy_config.json the recipe (seed, sizes): same seed => same bytes

Query kinds: `copy` (a reference frame after one edit of common.copy_edits at a strength
1-3, or after a chain of 2-3: edit `chain`), `same_video` (a frame of a reference video
held out of the reference set: its truth is that video's reference frame nearest in
time, and only a frame whose nearest is unique is held out, so no truth is a tie broken
by rule; a repost often carries another moment of the video) and `distractor` (frames of
videos not in the reference set, half of them edited too so that an edit is no cue).
"""
from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from common.atomic import atomic_path, atomic_write_text
from common.copy_edits import EDITS, STRENGTHS, apply_chain, random_chain
from common.images import read_image
from common.screenshot import encode_jpeg
from common.split import video_id
from synth.frames import SynthConfig, generate

# reference videos per size: ~6.5 frames each, so "large" holds >= 100k reference frames
SIZES = {"smoke": 40, "small": 400, "medium": 3000, "large": 16000}
KINDS = ("copy", "same_video", "distractor")


@dataclass(frozen=True)
class CopyBenchConfig:
    videos: int = SIZES["small"]       # reference videos
    distractor_videos: int | None = None   # None: a quarter of `videos`
    copy_fraction: float = 0.25        # reference frames that get an edited copy as a query
    same_video_fraction: float = 0.3   # reference videos (>= 3 frames) giving a held-out frame
    chain_fraction: float = 0.3        # copies under a chain of 2-3 edits, not one
    edited_distractors: float = 0.5    # distractor queries edited like copies
    seed: int = 0

    def validate(self):
        for key in ("copy_fraction", "same_video_fraction", "chain_fraction", "edited_distractors"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ValueError(f"{key} must be in [0, 1], got {getattr(self, key)}")
        if self.videos < 1:
            raise ValueError(f"videos must be >= 1, got {self.videos}")

    @property
    def distractors(self) -> int:
        return max(1, self.videos // 4) if self.distractor_videos is None else self.distractor_videos


def _frame_of(name: str) -> int:
    return int(name.split("_")[1])


def held_out_choices(frames: list[int]) -> list[int]:
    """Positions in a video's sorted frame numbers whose nearest other frame in time is
    unique: the ends, and inner frames with unequal gaps. (Until 2026-12-07 any inner frame
    was held out and a tie went to the earlier neighbour, so a same-video query equally
    near two reference frames had a truth no method could know.)"""
    return [i for i in range(len(frames))
            if i in (0, len(frames) - 1) or frames[i] - frames[i - 1] != frames[i + 1] - frames[i]]


def _labels(path: Path) -> dict[str, str]:
    rows = (line.rstrip("\n").split("\t") for line in path.read_text().splitlines() if line)
    return {name: account_id for name, account_id in rows}


def _edit_query(rng, image, config: CopyBenchConfig, mark_box):
    """(edited image, edit name, strength): one edit, or a chain of 2-3 (strength 0)."""
    if rng.random() < config.chain_fraction:
        chain = random_chain(rng, 3)
        while len(chain) < 2:
            chain = random_chain(rng, 3)
        return apply_chain(image, chain, rng, mark_box), "chain", 0
    names = tuple(EDITS)
    name, strength = names[int(rng.integers(len(names)))], int(rng.choice(STRENGTHS))
    return apply_chain(image, [(name, strength)], rng, mark_box), name, strength


def _write_csv(path: Path, header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def _write_jpeg(path: Path, image, quality=90):
    with atomic_path(path) as tmp:
        tmp.write_bytes(encode_jpeg(image, quality))


def make_copy_benchmark(out_dir, config: CopyBenchConfig = CopyBenchConfig(), workers: int = 1,
                        overwrite: bool = False, progress: bool = True) -> dict:
    """Render the frames (synth.frames, one ID per video, every frame at full size), split
    them into references and queries, edit the queries; return a summary."""
    config.validate()
    out_dir = Path(out_dir)
    frames_dir = out_dir / "frames"
    if (out_dir / "ground_truth.csv").exists() and not overwrite:
        raise FileExistsError(f"{out_dir} already holds a copy benchmark; pass overwrite=True "
                              f"(--overwrite) to replace it")
    for name in ("references", "queries", "frames"):
        shutil.rmtree(out_dir / name, ignore_errors=True)
    generate(frames_dir, videos=config.videos + config.distractors, seed=config.seed,
             test_videos=config.distractors, workers=workers, overwrite=True, progress=progress,
             config=SynthConfig(id_mode="video", test_scale=1.0))
    boxes = json.loads((frames_dir / "boxes.json").read_text())
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 2021]))

    by_video: dict[str, list[str]] = {}
    train_labels = _labels(frames_dir / "train_labels.txt")
    for name in sorted(train_labels):
        by_video.setdefault(video_id(name), []).append(name)
    held_out = {}
    for video, names in by_video.items():
        if len(names) >= 3 and rng.random() < config.same_video_fraction:
            choices = held_out_choices([_frame_of(name) for name in names])
            held_out[video] = names[choices[int(rng.integers(len(choices)))]]

    (out_dir / "references").mkdir(parents=True)
    (out_dir / "queries").mkdir(parents=True)
    references = []
    for video, names in by_video.items():
        for name in names:
            if held_out.get(video) != name:
                shutil.move(frames_dir / "train" / name, out_dir / "references" / name)
                references.append((name, video, train_labels[name], _frame_of(name)))

    jobs = []   # (kind, source path, source reference, video, account id, mark box, edit?)
    for name, video, account_id, _ in references:
        if rng.random() < config.copy_fraction:
            jobs.append(("copy", out_dir / "references" / name, name, video, account_id,
                         boxes["train"][name]["box"], True))
    for video, name in held_out.items():
        frame = _frame_of(name)
        nearest = min((r for r in references if r[1] == video), key=lambda r: abs(r[3] - frame))
        jobs.append(("same_video", frames_dir / "train" / name, nearest[0], video, train_labels[name],
                     boxes["train"][name]["box"], rng.random() < 0.5))
    for name, account_id in sorted(_labels(frames_dir / "test_labels.txt").items()):
        jobs.append(("distractor", frames_dir / "test" / name, "", video_id(name), account_id,
                     boxes["test"][name]["box"], rng.random() < config.edited_distractors))
    order = rng.permutation(len(jobs))   # query numbers say nothing of the kind

    rows, truth = [], []
    for number, index in enumerate(tqdm(order, desc="copy queries", unit="query", disable=not progress)):
        kind, path, source, video, account_id, box, edited = jobs[index]
        image = read_image(path)
        edit, strength = "none", 0
        if edited:
            image, edit, strength = _edit_query(rng, image, config, box)
        query_id = f"q{number:06d}.jpg"   # ids are file names, as the references'
        _write_jpeg(out_dir / "queries" / query_id, image, int(rng.integers(75, 96)))
        rows.append((query_id, kind, edit, strength, video, account_id, source))
        if kind != "distractor":
            truth.append((query_id, source))
    shutil.rmtree(frames_dir)

    _write_csv(out_dir / "references.csv", ("reference_id", "video", "account_id", "frame"), references)
    _write_csv(out_dir / "queries.csv", ("query_id", "kind", "edit", "strength", "video",
                                         "account_id", "source"), rows)
    _write_csv(out_dir / "ground_truth.csv", ("query_id", "reference_id"), truth)
    atomic_write_text(out_dir / "copy_config.json", json.dumps(asdict(config), indent=1) + "\n")
    kinds = {kind: sum(r[1] == kind for r in rows) for kind in KINDS}
    return {"out_dir": str(out_dir), "references": len(references), "queries": len(rows),
            "ground_truth": len(truth), **kinds}


def read_csv(path) -> list[dict]:
    """The rows of one of the benchmark's CSV files, as dicts."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (make it with tools/synth_copies.py)")
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))
