"""Localisation package: geometry, DDT, configs, and the pipeline on generated frames.

The end-to-end tests fit a deliberately tiny strip classifier (a few hundred strip pairs)
on frames from the real generator; ground-truth boxes are read only to measure.
"""
import copy
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from localization import export
from localization import locator_factory as pipeline
from localization.bench import score, timed_locate
from common.config import ConfigError, apply_overrides, parse_overrides
from localization.config import load_config
from localization.ddt import DDTProjection, DescriptorStats, blob_box
from common.images import read_frame
from common.screenshot import Screenshot, low_res_version
from localization.frame_records import FrameRecord, list_frames
from localization.geometry import (crop_rows, direct_crop_rows, hit, iou, pad_box, rows_area,
                                   work_size)
from localization.locator import Locator, Margins, WorkParams
from localization.model import LineHead
from localization.training import load_line_head
from common import hardware
from common.lmdb_io import read_lmdb
from common.split import split_by_video, video_id
from synth.frames import SynthConfig, generate

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "loc" / "ddt.yml"
TINY_TRAINING = ["train.steps=60", "train.bf16=false", "train.batch_size=32", "train.max_frames=400",
                 "model.channels=[8, 16, 32]", "ddt.orient_pairs=32",
                 "psol.steps=10", "psol.batch_size=32", "line_head.steps=40", "line_head.batch_size=32"]


# ------------------------------------------------------------------ geometry and config

def test_direct_crop_is_the_seeds_first_scheme():
    portrait = direct_crop_rows(360, 640)
    assert portrait == [[(0, 0, 360, 64)], [(0, 576, 360, 640)]]
    landscape = direct_crop_rows(640, 360)
    assert landscape == [[(0, 0, 256, 72), (384, 0, 640, 72)],
                         [(0, 288, 256, 360), (384, 288, 640, 360)]]
    frame = np.arange(360 * 640, dtype=np.uint32).reshape(360, 640)
    stitched = crop_rows(frame, landscape)
    assert stitched.shape == (144, 512)
    assert stitched[0, 256] == frame[0, 384] and stitched[72, 0] == frame[288, 0]
    assert rows_area(portrait, 360, 640) / (360 * 640) == pytest.approx(0.2)


def test_hit_needs_the_whole_box_inside_one_crop_box():
    rows = [[(0, 0, 100, 20), (100, 0, 200, 20)]]
    assert hit((10, 5, 90, 15), rows, 300, 300)
    assert not hit((90, 5, 110, 15), rows, 300, 300)      # split across two pieces
    assert not hit((10, 5, 90, 25), rows, 300, 300)
    assert iou((0, 0, 100, 20), [[(0, 0, 100, 20)]], 300, 300) == pytest.approx(1.0)
    assert iou((0, 0, 100, 20), [[(0, 0, 50, 20)]], 300, 300) == pytest.approx(0.5)


def test_misses_are_told_apart_by_why_they_missed():
    from localization.bench import miss_kinds
    from localization.locator import Localisation
    truth = (20, 300, 120, 310)                             # a mark near the bottom edge

    def kinds(box, side="bottom"):
        return miss_kinds(truth, Localisation([[box]], side=side), 360, 320)
    assert kinds((0, 10, 200, 30), side="top") == ["wrong side"]
    assert kinds((200, 250, 340, 270)) == ["other text"]    # a caption next to it
    assert kinds((35, 295, 130, 315)) == ["cut left"]       # the faint prefix lost
    assert kinds((10, 303, 130, 308)) == ["cut top", "cut bottom"]


def test_margins_follow_the_short_side_and_stay_in_the_frame():
    assert pad_box((10, 10, 20, 20), 0.1, 0.05, 360, 640) == (0.0, 0.0, 56.0, 38.0)
    assert pad_box((300, 600, 350, 630), 0.1, 0.1, 360, 640) == (264.0, 564.0, 360.0, 640.0)
    assert pad_box((100, 10, 200, 20), 0.0, 0.0, 360, 640, left_extra=0.1) == (64.0, 10.0, 200.0, 20.0)
    assert work_size(212, 376, 10, 32, 8) == work_size(360, 640, 10, 32, 8) == (184, 320)


def test_overrides_are_typed_and_unknown_keys_are_refused(tmp_path):
    config = load_config(CONFIG, parse_overrides(["train.steps=5", "ddt.partner_strips=[3, 8]"]))
    assert config["train"]["steps"] == 5 and config["ddt"]["partner_strips"] == [3, 8]
    with pytest.raises(ConfigError, match="ddt.margn"):
        apply_overrides(config, {"ddt.margn": 1})
    with pytest.raises(ValueError, match="key=value"):
        parse_overrides(["train.steps"])


# ------------------------------------------------------------------------------- DDT

def test_ddt_component_points_at_the_common_object_with_its_sign_fixed():
    rng = np.random.default_rng(0)
    pattern = np.array([3.0, -2.0, 1.0, 0.0])

    def maps(with_object: bool) -> torch.Tensor:
        features = rng.normal(0, 0.3, (8, 4, 6, 10))
        if with_object:
            features[:, :, 2:4, 3:7] += pattern[None, :, None, None]
        return torch.from_numpy(features).float()
    stats = DescriptorStats.empty(4)
    positives = maps(True)
    stats.add(positives)
    projection = DDTProjection.from_stats(stats)
    projection.component = -projection.component          # whatever PCA returned ...
    projection.orient(list(projection.heatmap(positives)), list(projection.heatmap(maps(False))))
    heat = projection.heatmap(positives)                   # ... the object is positive
    assert (heat[:, 2:4, 3:7] > 0).all()
    assert (heat[:, :2] < 0).mean() > 0.9


def test_largest_blob_box_with_threshold_and_joined_gaps():
    heat = np.full((4, 12), -1.0, np.float32)
    heat[1:3, 1:4] = 1.0
    heat[1:3, 5:11] = 1.0                                  # the larger piece
    box = blob_box(heat, 16, 48, 0.0)
    assert 18 <= box[0] <= 22 and 42 <= box[2] <= 46 and 2 <= box[1] <= 6
    joined = blob_box(heat, 16, 48, 0.0, join=12)
    assert joined[0] < 8 and joined[2] > 42
    assert blob_box(-np.ones((4, 4), np.float32), 16, 16) is None


def test_blob_box_picks_the_blob_holding_the_evidence_peak():
    heat = np.full((4, 12), -1.0, np.float32)
    heat[1:3, 1:4] = 1.0                                   # small blob: the mark
    heat[1:3, 6:11] = 1.0                                  # larger blob: a caption
    evidence = np.zeros_like(heat)
    evidence[2, 2] = 5.0
    largest = blob_box(heat, 16, 48, 0.0)
    picked = blob_box(heat, 16, 48, 0.0, evidence=evidence)
    assert largest[0] > 20 and picked[2] < 20


# --------------------------------------------------------------- pipeline end to end

@pytest.fixture(scope="module")
def frames_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("loc") / "frames"
    generate(root, videos=36, seed=11, test_videos=10,
             config=SynthConfig(frames_min=3, frames_max=5, portrait_fraction=1.0,
                                caption_prob=0.0, logo_prob=0.0),
             progress=False)
    return root


@pytest.fixture(scope="module")
def tiny_config(frames_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("loc_out")
    overrides = TINY_TRAINING + [f"data.root={frames_root}", f"output.dir={out / 'crops'}",
                                 f"model.checkpoint={out / 'model' / 'strip_ddt.pt'}",
                                 f"psol.checkpoint={out / 'model' / 'psol.pt'}"]
    return load_config(CONFIG, parse_overrides(overrides)), overrides


def measure(config, method, decision=None, id_line=None):
    root = Path(config["data"]["root"])
    records = list_frames(root / "test", root / "test_labels.txt")
    truths = json.loads((root / "boxes.json").read_text())["test"]
    locator = pipeline.build_locator(config, method, decision, id_line)
    kept, grays, results, fps = timed_locate(locator, records, 32)
    return score(kept, grays, results, truths, fps)


def test_ddt_beats_direct_crop_with_a_smaller_crop(tiny_config):
    config, _ = tiny_config
    direct = measure(config, "direct")
    ddt = measure(config, "ddt", "classifier")
    assert ddt.hit_rate > direct.hit_rate
    assert ddt.crop_area_pct < direct.crop_area_pct / 2
    assert Path(config["model"]["checkpoint"]).is_file()


def test_checkpoint_is_reused_not_refit(tiny_config, monkeypatch):
    config, _ = tiny_config
    first = pipeline.build_locator(config, "ddt")
    monkeypatch.setattr(pipeline, "train_classifier",
                        lambda *a, **k: pytest.fail("retrained despite a checkpoint"))
    again = pipeline.build_locator(config, "ddt")
    assert np.array_equal(first.projection.component, again.projection.component)
    frame = read_frame(next((Path(config["data"]["root"]) / "test").iterdir()), gray=True)
    assert first.locate([frame])[0].rows == again.locate([frame])[0].rows


def test_extra_fit_folders_join_the_fitting_frames_only(tiny_config, tmp_path):
    config, _ = tiny_config
    root = Path(config["data"]["root"])
    wild = tmp_path / "wild"
    wild.mkdir()
    for path in sorted((root / "test").iterdir())[:3]:   # frames without a label file
        (wild / path.name).write_bytes(path.read_bytes())
    extra = copy.deepcopy(config)
    extra["train"]["max_frames"] = 0
    base = len(pipeline._work_set(extra, {}))
    extra["data"]["fit_extra"] = [str(wild)]
    assert len(pipeline._work_set(extra, {})) == base + 3
    extra["data"]["fit_extra"] = [str(tmp_path / "missing")]
    with pytest.raises(FileNotFoundError, match="missing"):
        pipeline._work_set(extra, {})


def test_bf16_where_native_is_resolved_for_the_hardware(tiny_config, tmp_path, monkeypatch):
    config, _ = tiny_config
    config = apply_overrides(copy.deepcopy(config), {"train.bf16": True, "train.force": True,
                                                     "train.max_frames": 20, "model.checkpoint": str(tmp_path / "m.pt")})
    asked = []

    class Stop(Exception):
        pass

    def train_classifier(*args):
        asked.append(args[-1])
        raise Stop
    monkeypatch.setattr(pipeline, "train_classifier", train_classifier)
    for native in (False, True):
        monkeypatch.setattr(hardware, "native_bf16", lambda device="cpu", native=native: native)
        with pytest.raises(Stop):
            pipeline.build_locator(config, "ddt")
    assert asked == [False, True]


def test_reading_loads_the_localiser_and_never_fits_one(tiny_config, tmp_path, monkeypatch):
    config, _ = tiny_config
    fitted = pipeline.build_locator(config, "ddt", id_line=True)   # the fitting path
    for fit in ("train_classifier", "train_line_head", "train_regressor"):
        monkeypatch.setattr(pipeline, fit, lambda *a, **k: pytest.fail("trained while reading"))
    loaded = pipeline.load_locator(config, "ddt", id_line=True)
    assert loaded.line_head is not None
    frame = read_frame(next((Path(config["data"]["root"]) / "test").iterdir()), gray=True)
    assert fitted.locate([frame])[0].rows == loaded.locate([frame])[0].rows
    command = "python tools/localize.py -c my.yml"
    missing = apply_overrides(copy.deepcopy(config), {"model.checkpoint": str(tmp_path / "none.pt")})
    with pytest.raises(pipeline.MissingCheckpoint, match=r"none\.pt: no strip classifier.*my\.yml"):
        pipeline.load_locator(missing, "ddt", train_command=command)
    no_psol = apply_overrides(copy.deepcopy(config), {"psol.checkpoint": str(tmp_path / "psol.pt")})
    with pytest.raises(FileNotFoundError, match=r"psol\.pt: no PSOL box regressor"):
        pipeline.load_locator(no_psol, "psol")
    assert not (tmp_path / "none.pt").exists() and not (tmp_path / "psol.pt").exists()


def test_checkpoint_of_other_input_preparation_is_refused(tiny_config, tmp_path):
    config, _ = tiny_config
    pipeline.build_locator(config, "ddt")
    payload = torch.load(config["model"]["checkpoint"], weights_only=True)
    payload["input"] = "gray / 255 - 0.5"
    torch.save(payload, tmp_path / "old.pt")
    stale = {**config, "model": {**config["model"], "checkpoint": str(tmp_path / "old.pt")}}
    with pytest.raises(ValueError, match="train.force=true"):
        pipeline.build_locator(stale, "ddt")


def test_line_head_is_taught_by_the_rule_kept_with_the_classifier_and_reused(tiny_config,
                                                                           monkeypatch):
    config, _ = tiny_config
    without_head = apply_overrides(copy.deepcopy(config), {"line_head.use": False})
    rule = measure(without_head, "ddt", id_line=True)
    learned = measure(config, "ddt", id_line=True)
    checkpoint = Path(config["model"]["checkpoint"])
    head = load_line_head(checkpoint)
    # the rule's typical line, measured on the train frames and kept with the head: the
    # generator's `抖音号:ID` ink is 2.5-5% of the short side
    assert head is not None and 0.015 < head.line_height < 0.06
    assert learned.hit_rate >= rule.hit_rate - 0.05
    assert learned.crop_area_pct < measure(config, "ddt", id_line=False).crop_area_pct
    monkeypatch.setattr(pipeline, "train_line_head",
                        lambda *a, **k: pytest.fail("line head refit despite the checkpoint"))
    assert pipeline.build_locator(config, "ddt", id_line=True).line_head is not None
    assert pipeline.build_locator(without_head, "ddt", id_line=True).line_head is None
    print(f"ID-line hit: rule {rule.hit_rate:.3f}, line head {learned.hit_rate:.3f}")


def test_line_head_targets_hold_the_other_sides_band_as_a_negative(tiny_config):
    from localization.line_head import line_targets
    from localization.training import load_work_set
    config, _ = tiny_config
    root = Path(config["data"]["root"])
    locator = pipeline.build_locator(config, "ddt")
    records = list_frames(root / "train", root / "train_labels.txt")[:12]
    work_set = load_work_set(records, locator.work, 1.7, (60, 60), 0, 0)
    targets = line_targets(locator, work_set)
    assert 0.015 < targets.line_height < 0.06
    for shape, (pairs, maps) in targets.by_shape.items():
        frames = work_set.buckets[shape].reshape(-1, *shape)
        assert len(pairs) == len(maps) and len(pairs) % 2 == 0
        assert all(m.any() for m in maps[0::2]) and not maps[1::2].any()
        for chosen, other in zip(pairs[0::2], pairs[1::2]):
            # the two bands of one frame: strip 1's pair and strip N's pair, in either order
            frame = next(f for f in frames if any(np.array_equal(chosen, locator.pair(f, top))
                                                  for top in (True, False)))
            top = np.array_equal(chosen, locator.pair(frame, True))
            assert np.array_equal(other, locator.pair(frame, not top))


@pytest.fixture(scope="module")
def logo_config(tmp_path_factory):
    """Frames whose mark has its '♪抖音' logo line above the ID, and captions: text lines
    that are NOT the ID, for the line head to tell apart."""
    root = tmp_path_factory.mktemp("loc_logo")
    generate(root / "frames", videos=40, seed=12, test_videos=10,
             config=SynthConfig(frames_min=3, frames_max=5, portrait_fraction=1.0,
                                caption_prob=0.5, logo_prob=1.0), progress=False)
    overrides = TINY_TRAINING + [f"data.root={root / 'frames'}",
                                 f"model.checkpoint={root / 'model' / 'strip_ddt.pt'}"]
    return load_config(CONFIG, parse_overrides(overrides))


def _evidence_on_the_id_line(locator, root: Path) -> float:
    """Share of test frames where the line head's evidence peaks on the ID line (a cell
    is ~5 px here)."""
    truths = json.loads((root / "boxes.json").read_text())["test"]
    on_line = []
    for name, truth in truths.items():
        result = locator.locate([read_frame(root / "test" / name, gray=True)])[0]
        if result.line_evidence is not None:
            rows, values = result.line_evidence
            peak = rows[int(np.argmax(values))]
            on_line.append(truth["box"][1] - 5 <= peak <= truth["box"][3] + 5)
    return float(np.mean(on_line)) if len(on_line) > 0.9 * len(truths) else 0.0


def test_line_head_learns_the_id_line_from_the_rules_answers(logo_config):
    locator = pipeline.build_locator(logo_config, "ddt", id_line=True)
    learned = _evidence_on_the_id_line(locator, Path(logo_config["data"]["root"]))
    torch.manual_seed(0)
    locator.line_head = LineHead(locator.line_head.in_channels).eval()   # same, untrained
    untrained = _evidence_on_the_id_line(locator, Path(logo_config["data"]["root"]))
    print(f"evidence peaks on the ID line: trained {learned:.3f}, untrained {untrained:.3f}")
    assert learned > 0.8 and learned > untrained + 0.1


def test_score_map_peaks_can_overrule_a_side_logit_a_caption_pulled_down():
    locator = Locator("direct", WorkParams(), Margins(), side_peak_weight=2.0)
    logits = np.array([1.0, 2.0])                  # top pair, bottom pair of one frame
    maps = np.zeros((2, 16, 40))
    maps[0, 5, 7] = 3.0                            # the mark's evidence sits in the top band
    maps[1, 9, 30] = 1.0
    assert locator._side_margin(logits, maps)[0] > 0
    locator.side_peak_weight = 0.0                 # the seed's rule: logits only
    assert locator._side_margin(logits, maps)[0] < 0


def test_psol_regressor_trains_on_pseudo_boxes_and_localises(tiny_config):
    config, _ = tiny_config
    psol = measure(config, "psol")
    assert Path(config["psol"]["checkpoint"]).is_file()
    assert psol.side_accuracy is not None and psol.fallback_rate == 0
    assert 0 < psol.crop_area_pct < 20


def test_localize_writes_lmdbs_split_by_video_and_skips_a_corrupt_frame(tiny_config, frames_root,
                                                                       tmp_path):
    config, overrides = tiny_config
    pipeline.build_locator(config, "ddt")                  # the fitted checkpoint is reused
    data = tmp_path / "frames"
    subprocess.run(["cp", "-r", str(frames_root), str(data)], check=True)
    first_test = (data / "test_labels.txt").read_text().splitlines()[0].split("\t")[0]
    (data / "test" / first_test).write_bytes(b"not a jpeg")
    out = tmp_path / "crops"
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "localize.py"), "-c", str(CONFIG), "-o",
         *overrides, f"data.root={data}", f"output.dir={out}"],
        capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert first_test in result.stderr                     # named in the log
    train_labels = dict(line.split("\t") for line in (data / "train_labels.txt").read_text().splitlines())
    for variant in ("high", "low"):
        train = read_lmdb(out / "train" / variant)
        val = read_lmdb(out / "val" / variant)
        assert len(train) + len(val) == len(train_labels)
        assert {label for _, label in train + val} == set(train_labels.values())
    high = cv2.imdecode(np.frombuffer(read_lmdb(out / "train" / "high")[0][0], np.uint8), 1)
    low = cv2.imdecode(np.frombuffer(read_lmdb(out / "train" / "low")[0][0], np.uint8), 1)
    assert low.shape[0] < high.shape[0]                    # shrunk by 1/1.7 before cutting
    test = read_lmdb(out / "test")
    assert len(test) == len((data / "test_labels.txt").read_text().splitlines()) - 1
    boxes = json.loads((out / "boxes.json").read_text())
    assert first_test not in boxes["test"] and len(boxes["train"]) == len(train_labels)
    train_names, val_names = split_by_video(list(train_labels), config["output"]["val_fraction"],
                                            config["output"]["split_seed"])
    assert {video_id(n) for n in train_names}.isdisjoint(video_id(n) for n in val_names)
    assert [label for _, label in read_lmdb(out / "val" / "high")] == \
        [train_labels[n] for n in val_names]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["splits"]["train"]["frames"] == len(train_labels)


def test_localize_names_a_label_row_outside_the_dictionary_without_a_traceback(tiny_config, tmp_path):
    config, overrides = tiny_config
    data = Path(config["data"]["root"])
    labels = tmp_path / "bad_labels.txt"
    first = (data / config["data"]["train_labels"]).read_text().splitlines()[0].split("\t")[0]
    labels.write_text(f"{first}\tAB_12\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "localize.py"), "-c", str(CONFIG), "-o", *overrides,
         f"data.train_labels={labels}", f"output.dir={tmp_path / 'out'}"],
        capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert f"{labels}:1" in result.stderr and "outside the dictionary" in result.stderr
    assert "Traceback" not in result.stderr


def test_show_loc_draws_a_grid(tiny_config, tmp_path):
    config, overrides = tiny_config
    pipeline.build_locator(config, "ddt")
    out = tmp_path / "grid.png"
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "show_loc.py"), "-c", str(CONFIG), "-o", *overrides,
         "--count", "4", "--columns", "2", "--tile-height", "200", "--out", str(out)],
        capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    grid = cv2.imread(str(out))
    assert grid is not None and grid.shape[0] >= 2 * 200


def test_low_resolution_crops_are_jpeg_recompressed_like_a_screenshot(tmp_path):
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, size=(120, 200, 3), dtype=np.uint8)
    path = tmp_path / "v1_0_.png"
    cv2.imwrite(str(path), frame)
    record = FrameRecord(path.name, "AB12", path)
    entry = {"box": [10, 10, 190, 60], "frame_size": [200, 120]}
    qualities = {Screenshot(jpeg=(35, 75)).params(f"v{i}_0_.jpg")[0] for i in range(200)}
    assert min(qualities) >= 35 and max(qualities) <= 75 and len(qualities) > 20
    assert Screenshot().params("v1_0_.jpg") == (None, None, False)
    clean = export.cut(record, entry, 1.7, ".png")
    lossy = export.cut(record, entry, 1.7, ".png", Screenshot(jpeg=(35, 35)))
    assert lossy == export.cut(record, entry, 1.7, ".png", Screenshot(jpeg=(35, 35)))   # rerun
    clean, lossy = (cv2.imdecode(np.frombuffer(b, np.uint8), 1) for b in (clean, lossy))
    assert clean.shape == lossy.shape and clean.shape[0] < 50   # the 50-row box, shrunk
    assert np.abs(clean.astype(int) - lossy.astype(int)).mean() > 5   # JPEG q35 on noise
    gray = low_res_version(frame[..., 0], 1.7, 50)
    assert gray.ndim == 2 and gray.shape == (71, 118)


def test_the_test_frames_chain_is_drawn_per_frame_name(tmp_path):
    chain = Screenshot(jpeg=(35, 75), video_jpeg=(60, 92), linear_share=0.3)
    drawn = [chain.params(f"v{i}_0_.jpg") for i in range(300)]
    assert drawn == [chain.params(f"v{i}_0_.jpg") for i in range(300)]   # fixed by the name
    assert {q for q, _, _ in drawn} == {Screenshot(jpeg=(35, 75)).params(f"v{i}_0_.jpg")[0]
                                        for i in range(300)}   # the JPEG of the plain export
    assert all(60 <= v <= 92 for _, v, _ in drawn) and len({v for _, v, _ in drawn}) > 20
    assert 0.2 < np.mean([linear for _, _, linear in drawn]) < 0.4
    assert export.low_res_screenshot({"train_low_jpeg": [35, 75], "train_low_video_jpeg": None}) \
        == Screenshot(jpeg=(35, 75))
    rng = np.random.default_rng(1)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (120, 200, 3), dtype=np.uint8), (5, 5), 0)
    once = low_res_version(frame, 1.7, 60)
    twice = low_res_version(frame, 1.7, 60, video_quality=60)
    linear = low_res_version(frame, 1.7, None, linear=True)
    assert once.shape == twice.shape == linear.shape == (71, 118, 3)
    assert not np.array_equal(once, twice)   # the video's compression came first
    assert not np.array_equal(linear, low_res_version(frame, 1.7, None))


def test_unknown_blob_pick_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="ddt.pick 'largest'.*'area', 'classifier'"):
        Locator("ddt", WorkParams(), Margins(), pick="largest")


def test_a_misspelled_config_key_or_method_is_named_before_anything_runs(tmp_path):
    """Issue #18 item 6: a typo in a copy of configs/loc/ddt.yml surfaced as `error: 'threshold'`."""
    import yaml

    from localization.config import REFERENCE, load_config, parse_overrides
    from localization.locator_factory import build_locator

    config = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    config["ddt"]["threshhold"] = config["ddt"].pop("threshold")
    copy = tmp_path / "mine.yml"
    copy.write_text(yaml.safe_dump(config), encoding="utf-8")
    with pytest.raises(ValueError, match=r"mine.yml: unknown key ddt.threshhold; missing key ddt.threshold"):
        load_config(copy)
    with pytest.raises(ValueError, match="ddt.threshold takes a number"):
        load_config(REFERENCE, parse_overrides(["ddt.threshold=abc"]))
    with pytest.raises(ValueError, match="unknown localisation method 'dtd'"):
        build_locator(load_config(REFERENCE, {"method": "dtd"}))
