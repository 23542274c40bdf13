"""Generate a folder of synthetic challenge-like frames: `generate(out_dir, videos=..., seed=...)`.

Output (the shared contract, notes/common.md):
    <out>/train/<video>_<frame>_.jpg   train resolution (default 360x640 portrait, 640x360 landscape)
    <out>/test/<video>_<frame>_.jpg    1/1.7 of it, JPEG-degraded, DIFFERENT videos than train
    <out>/train_labels.txt, test_labels.txt   `<name>\\t<ID>` lines like the challenge's
    <out>/boxes.json   {"train"|"test": {name: {"box", "id_box", "frame_size"}}}: watermark
                       ink boxes [x0, y0, x1, y1) for MEASURING localisation only
    <out>/synth_config.json   the seed and settings that made the folder

Every video draws from its own RNG derived from (seed, video index), so the output is
byte-identical for a seed whatever the number of worker processes or their order.
"""
import json
import multiprocessing
import shutil
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from common.atomic import atomic_write_text
from common.errors import UserError
from synth import degrade
from synth.backgrounds import bundled_photos, make_scene
from synth.fonts import DEFAULT_FONT_ROOT, FontSet, catalog_fontset, resolve_fonts
from synth.ids import (ID_MAX_LEN, ID_MIN_LEN, FRAME_SLOTS, frame_file_name, sample_frame_numbers,
                       sample_id, sample_video_name)
from synth.overlays import draw_caption, sample_caption_style
from synth.textures import scene_bases
from synth.watermark import blend_watermark, place_watermark, sample_style

ID_MODES = ("frame", "video")
# "demo": the challenge-like default (six Latin faces, one CJK face, every scene base);
# "heldout": only the font families and scene bases the recogniser never trains on
# (synth.fonts.FONT_FAMILIES, synth.backgrounds.BASE_SPLITS): the unseen-domain test.
# "wild": frames of any size and shape (short side 144-1080 px), rendered large and
# resampled down 60% of the time, with busy bases (synth.textures) and the recogniser's
# training faces: the localiser's mixture for frames from elsewhere; "wild_heldout": the
# same with other aspect ratios, the held-out faces and bases only: the wild benchmark.
DOMAINS = ("demo", "heldout", "wild", "wild_heldout")
WILD_ASPECTS = {"wild": ((9, 16), (16, 9), (1, 1)),
                "wild_heldout": ((3, 4), (4, 3), (2, 3), (21, 9))}
WILD_SHORT_SIDE = (144, 1080)
MAX_RENDER_SIDE = 2560    # a wild frame rendered larger than it is saved stays under this
OUTPUT_NAMES = ("train", "test", "train_labels.txt", "test_labels.txt", "boxes.json",
                "synth_config.json")


@dataclass(frozen=True)
class SynthConfig:
    """Knobs of the generator; defaults follow the real challenge (DESIGN.md)."""
    train_size: tuple = (360, 640)     # (w, h) of a portrait train frame; landscape swaps it
    portrait_fraction: float = 0.75
    test_scale: float = degrade.TEST_SCALE
    frames_min: int = 3
    frames_max: int = 10
    id_mode: str = "frame"             # "frame": every frame its own ID (challenge); "video": one per video
    id_min_len: int = ID_MIN_LEN
    id_max_len: int = ID_MAX_LEN
    latin_fonts: tuple | None = None   # names from synth.fonts.LATIN_FACES; None = all
    font_root: str = str(DEFAULT_FONT_ROOT)
    photos: tuple = field(default_factory=tuple)  # the user's background photo files
    photo_prob: float = 0.5            # videos on a user photo (when `photos` is given)
    bundled_photos: bool = True        # also use photos shipped by installed packages ...
    bundled_photo_prob: float = 0.04   # ... this rarely when they are the only photos (one
                                       # photo seen too often would be memorised)
    logo_prob: float = 0.5             # videos whose mark has Douyin's logo line above the ID
    caption_prob: float = 0.5          # videos with burned-in captions (distractor text)
    corner_jump: float = 0.25          # frames whose mark sits in the opposite corner
    domain: str = "demo"               # DOMAINS: which faces and scene bases
    # the same frames (IDs, marks, placements, captions, compression) with the scene behind
    # them replaced by one flat grey per frame: what the reader loses to backgrounds
    flat_scenes: bool = False

    def validate(self):
        if self.domain not in DOMAINS:
            raise ValueError(f"domain must be one of {DOMAINS}, got {self.domain!r}")
        if self.id_mode not in ID_MODES:
            raise ValueError(f"id_mode must be one of {ID_MODES}, got {self.id_mode!r}")
        if not 1 <= self.frames_min <= self.frames_max <= FRAME_SLOTS:
            raise ValueError(f"need 1 <= frames_min <= frames_max <= {FRAME_SLOTS}, got "
                             f"{self.frames_min}..{self.frames_max}")
        if not 1 <= self.id_min_len <= self.id_max_len:
            raise ValueError(f"bad ID length range {self.id_min_len}..{self.id_max_len}")
        if min(self.train_size) < 64:
            raise ValueError(f"train_size {self.train_size} is too small for a watermark")
        if self.test_scale < 1:
            raise ValueError(f"test_scale must be >= 1 (test frames are smaller), got {self.test_scale}")


@dataclass(frozen=True)
class VideoPlan:
    """What the main process decides per video; the rest is drawn inside the worker."""
    index: int
    name: str
    split: str           # "train" | "test"
    frames: int
    portrait: bool


def _video_rngs(seed: int, index: int):
    plan_seq, content_seq = np.random.SeedSequence([seed, index]).spawn(2)
    return np.random.default_rng(plan_seq), np.random.default_rng(content_seq)


def _split_count(videos: int, test_videos) -> int:
    """test_videos: a count (int >= 1) or a fraction in [0, 1)."""
    if isinstance(test_videos, float) and 0 <= test_videos < 1:
        count = int(round(videos * test_videos))
    else:
        count = int(test_videos)
    if not 0 <= count <= videos:
        raise ValueError(f"test_videos={test_videos} does not fit in {videos} videos")
    return count


def plan_videos(videos: int, seed: int, test_videos, config: SynthConfig) -> list[VideoPlan]:
    """Names, split, frame count and orientation of every video, in index order; the last
    `test_videos` videos form the test split, so no video is in both."""
    n_test = _split_count(videos, test_videos)
    plans, seen = [], set()
    for index in range(videos):
        plan_rng, _ = _video_rngs(seed, index)
        name = sample_video_name(plan_rng)
        while name in seen:  # 56 random bits make this rare; redraw keeps names unique
            name = sample_video_name(plan_rng)
        seen.add(name)
        plans.append(VideoPlan(
            index=index, name=name, split="test" if index >= videos - n_test else "train",
            frames=int(plan_rng.integers(config.frames_min, config.frames_max + 1)),
            portrait=bool(plan_rng.random() < config.portrait_fraction)))
    return plans


def wild_sizes(rng, domain: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """(rendered, saved) (w, h) of a wild video: the saved short side log-uniform over
    WILD_SHORT_SIDE at one of the domain's aspect ratios; 60% are rendered 1.2-2.5x
    larger and resampled down (a player's or screenshot tool's scaling)."""
    aw, ah = WILD_ASPECTS[domain][int(rng.integers(len(WILD_ASPECTS[domain])))]
    short = float(np.exp(rng.uniform(*np.log(WILD_SHORT_SIDE))))
    saved = (int(round(short * aw / min(aw, ah))), int(round(short * ah / min(aw, ah))))
    scale = 1.0 if rng.random() < 0.4 else min(rng.uniform(1.2, 2.5), MAX_RENDER_SIDE / max(saved))
    return (int(round(saved[0] * scale)), int(round(saved[1] * scale))), saved


@dataclass
class VideoSetup:
    """What one video draws before its first frame: its RNG (left where the frames go on
    drawing), rendered and saved size, scene, watermark and caption styles, and ID."""
    rng: np.random.Generator
    size: tuple[int, int]
    saved: tuple[int, int]
    scene: object
    style: object
    caption: object
    video_id: str | None


def video_setup(plan: VideoPlan, seed: int, config: SynthConfig, fonts: FontSet,
                photo_source) -> VideoSetup:
    """A video's draws up to its first frame, from its own RNG: the renderer's first half,
    and what `video_faces` replays to tell which face a folder's video was set in."""
    _, rng = _video_rngs(seed, plan.index)
    if config.domain.startswith("wild"):
        (w, h), saved = wild_sizes(rng, config.domain)
    else:
        w, h = config.train_size if plan.portrait else config.train_size[::-1]
        saved = (w, h) if plan.split == "train" else degrade.test_size(w, h, config.test_scale)
    scene = make_scene(rng, w, h, *photo_source, bases=scene_bases(config.domain))
    style = sample_style(rng, w, h, fonts, config.logo_prob, config.corner_jump)
    caption = sample_caption_style(rng, w, h, fonts) if rng.random() < config.caption_prob else None
    video_id = sample_id(rng, config.id_min_len, config.id_max_len) if config.id_mode == "video" else None
    return VideoSetup(rng, (w, h), saved, scene, style, caption, video_id)


def render_frames(plan: VideoPlan, setup: VideoSetup, config: SynthConfig):
    """Yield (file name, JPEG bytes, record) for each of the video's frames."""
    rng, (w, h), saved = setup.rng, setup.size, setup.saved
    for frame_number in sample_frame_numbers(rng, plan.frames):
        frame = setup.scene.render(rng, frame_number / (FRAME_SLOTS - 1))
        name = frame_file_name(plan.name, frame_number)
        if config.flat_scenes:   # rendered first all the same: every later draw stays as it was
            frame[:] = flat_grey(name)
        account_id = setup.video_id or sample_id(rng, config.id_min_len, config.id_max_len)
        placement = place_watermark(w, h, account_id, setup.style, rng)
        if setup.caption is not None:
            draw_caption(frame, setup.caption, rng, avoid=placement.extent)
        blend_watermark(frame, placement)
        box, id_box, size = placement.box, placement.id_box, (w, h)
        if saved == (w, h):
            data = degrade.train_frame_jpeg(rng, frame)
        else:
            data = degrade.test_frame_jpeg(rng, frame, saved)
            box, id_box = (degrade.scale_box(b, saved[0] / w, saved[1] / h) for b in (box, id_box))
            size = saved
        yield name, data, {"split": plan.split, "name": name, "id": account_id,
                           "box": box, "id_box": id_box, "frame_size": list(size)}


def flat_grey(name: str) -> int:
    """The flat scene of frame `name`: a grey level of 30-200 (the glyph observer's range,
    synth.glyph_ambiguity), drawn from the name so that it leaves the frame's own draws alone."""
    return int(np.random.default_rng(zlib.crc32(name.encode("utf-8"))).integers(30, 201))


def render_video(job) -> list[dict]:
    """Render and write one video's frames; return one record per frame."""
    plan, seed, config, fonts, photo_source, out_dir = job
    records = []
    for name, data, record in render_frames(plan, video_setup(plan, seed, config, fonts, photo_source),
                                            config):
        (Path(out_dir) / plan.split / name).write_bytes(data)
        records.append(record)
    return records


def domain_fonts(domain: str, latin_fonts=None, font_root=DEFAULT_FONT_ROOT) -> FontSet:
    """The faces a `domain`'s marks are set in: the demo's (`latin_fonts` of LATIN_FACES,
    default all, under `font_root`), the catalogue's training families for 'wild', its
    held-out families (the unseen-domain test) for 'heldout' and 'wild_heldout'."""
    return (resolve_fonts(latin_fonts, font_root) if domain == "demo"
            else catalog_fontset("train" if domain == "wild" else "heldout"))


def _sources(config: SynthConfig):
    """The fonts and (photos, probability) a folder's videos draw from."""
    fonts = domain_fonts(config.domain, config.latin_fonts, config.font_root)
    bundled = tuple(bundled_photos()) if config.bundled_photos else ()
    photo_source = (tuple(config.photos) + bundled, config.photo_prob) if config.photos else \
        (bundled, config.bundled_photo_prob)
    return fonts, photo_source


def video_faces(folder, split: str | None = None) -> dict[str, str]:
    """{video name: the Latin face its mark is set in (the font file's stem)} of a folder
    `generate` wrote (its `split` only, when given), replayed from its synth_config.json:
    the faces are not stored, and the benchmark's per-face table asks for them after the
    fact (~0.03 s a video). Folders made with a user's photos cannot be replayed
    (synth_config.json keeps only their count)."""
    folder = Path(folder)
    recipe_file = folder / "synth_config.json"
    if not recipe_file.is_file():
        raise UserError(f"{recipe_file}: missing; only folders made by synth_frames.py name their faces")
    recipe = json.loads(recipe_file.read_text(encoding="utf-8"))
    if recipe["config"]["photos"]:
        raise UserError(f"{recipe_file}: made with {recipe['config']['photos']} photos of the "
                        f"user's, which it does not list; its faces cannot be replayed")
    config = SynthConfig(**{key: tuple(value) if isinstance(value, list) else value
                            for key, value in {**recipe["config"], "photos": ()}.items()})
    fonts, photo_source = _sources(config)
    return {plan.name: Path(video_setup(plan, recipe["seed"], config, fonts, photo_source).style.latin_path).stem
            for plan in plan_videos(recipe["videos"], recipe["seed"], recipe["test_videos"], config)
            if split in (None, plan.split)}


def _single_threaded():
    """One OpenCV thread per worker process: the processes already fill the cores."""
    import cv2
    cv2.setNumThreads(1)


def _prepare_out_dir(out_dir: Path, overwrite: bool, splits: tuple[str, ...]):
    existing = [n for n in OUTPUT_NAMES if (out_dir / n).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{out_dir} already holds {', '.join(existing)}; pass "
                              f"overwrite=True (--overwrite) to replace them")
    for name in existing:
        target = out_dir / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    for split in splits:
        (out_dir / split).mkdir(parents=True)


def _boxes_json(boxes: dict) -> str:
    """boxes.json with one frame per line: valid JSON that stays readable and diffable."""
    parts = []
    for split, frames in boxes.items():
        rows = ",\n".join(f"  {json.dumps(name)}: {json.dumps(entry)}" for name, entry in frames.items())
        parts.append(f" {json.dumps(split)}: {{\n{rows}\n }}" if rows else f" {json.dumps(split)}: {{}}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def generate(out_dir, videos: int = 50, seed: int = 0, test_videos=0.2, workers: int = 1,
             config: SynthConfig | None = None, overwrite: bool = False,
             progress: bool = True) -> dict:
    """Write `videos` synthetic videos' frames to out_dir; return a small summary dict.

    test_videos: how many videos go to test/ (int) or which fraction (float < 1).
    workers: processes rendering videos in parallel (the output does not depend on it).
    """
    config = config or SynthConfig()
    config.validate()
    if videos < 1:
        raise ValueError(f"videos must be >= 1, got {videos}")
    fonts, photo_source = _sources(config)
    out_dir = Path(out_dir)
    plans = plan_videos(videos, seed, test_videos, config)
    # a split without videos gets no folder and no label file (an empty label file is an
    # error for every reader of the folder)
    splits = tuple(split for split in ("train", "test") if any(p.split == split for p in plans))
    _prepare_out_dir(out_dir, overwrite, splits)

    jobs = [(plan, seed, config, fonts, photo_source, str(out_dir)) for plan in plans]
    started = time.perf_counter()
    records = []
    with tqdm(total=sum(p.frames for p in plans), unit="frame", desc="synth frames",
              disable=not progress) as bar:
        if workers > 1:
            # spawn, not fork: a forked OpenCV/OpenMP thread pool can hang in the child
            with multiprocessing.get_context("spawn").Pool(workers, initializer=_single_threaded) as pool:
                for video_records in pool.imap(render_video, jobs):
                    records += video_records
                    bar.update(len(video_records))
        else:
            for job in jobs:
                video_records = render_video(job)
                records += video_records
                bar.update(len(video_records))
    seconds = time.perf_counter() - started

    boxes = {"train": {}, "test": {}}
    for split in splits:
        rows = [r for r in records if r["split"] == split]
        atomic_write_text(out_dir / f"{split}_labels.txt", "".join(f"{r['name']}\t{r['id']}\n" for r in rows))
        boxes[split] = {r["name"]: {"box": r["box"], "id_box": r["id_box"], "frame_size": r["frame_size"]}
                        for r in rows}
    atomic_write_text(out_dir / "boxes.json", _boxes_json(boxes))
    # how the folder was made (no timings or worker count: same seed => same bytes)
    recipe = {"videos": videos, "seed": seed, "test_videos": test_videos,
              "config": {**asdict(config), "photos": len(config.photos)}}
    atomic_write_text(out_dir / "synth_config.json", json.dumps(recipe, indent=1) + "\n")

    train_w, train_h = config.train_size
    return {
        "out_dir": str(out_dir), "seed": seed,
        "train_videos": sum(p.split == "train" for p in plans),
        "test_videos": sum(p.split == "test" for p in plans),
        "train_frames": len(boxes["train"]), "test_frames": len(boxes["test"]),
        "train_size": [train_w, train_h],
        "test_size": list(degrade.test_size(train_w, train_h, config.test_scale)),
        "id_mode": config.id_mode, "workers": workers, "seconds": round(seconds, 2),
        "frames_per_second": round(len(records) / max(seconds, 1e-9), 1),
        "config": recipe["config"],
    }
