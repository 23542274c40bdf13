"""The recogniser's crop stream: rendered ID-line crops (synth.crops), the font and
background split behind the unseen-domain test, and SynthCropDataSet in the engine's loop
(global indices, curriculum, real crops mixed in, resume)."""
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from ppocr_ext import engine, rec_train
from common.lmdb_io import read_lmdb
from ppocr_ext.rec_train import train_main
from ppocr_ext.synth_dataset import SynthCropDataSet, fixed_crop_samples
from rec_fixtures import make_lmdb, one_torch_thread, tiny_config  # noqa: F401 (autouse)
from synth.backgrounds import BASE_SPLITS, crop_background
from synth.crops import render_crop
from synth.fonts import CATALOG_PACKAGES, FONT_FAMILIES, font_catalog
from synth.frames import SynthConfig, generate
from synth.ids import ID_ALPHABET

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def catalog():
    return font_catalog("train")


def test_same_seed_same_crop_and_ids_follow_the_curriculum(catalog):
    a, label_a = render_crop(np.random.default_rng((3, 9)), catalog, 0.8)
    b, label_b = render_crop(np.random.default_rng((3, 9)), catalog, 0.8)
    assert label_a == label_b and np.array_equal(a, b)
    clean = [render_crop(np.random.default_rng((1, i)), catalog, 0.0)[1] for i in range(40)]
    hard = [render_crop(np.random.default_rng((2, i)), catalog, 1.0)[1] for i in range(40)]
    assert all(set(t) <= set(ID_ALPHABET) for t in clean + hard)
    assert max(map(len, clean)) <= 10 < max(map(len, hard)) <= 15
    assert min(map(len, clean + hard)) >= 8


def test_a_crop_holds_the_white_line_and_is_wide(catalog):
    for i in range(20):
        image, _ = render_crop(np.random.default_rng((4, i)), catalog, 0.0)
        height, width = image.shape[:2]
        assert image.dtype == np.uint8 and image.shape[2] == 3
        assert width > 3 * height >= 3 * 5
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        assert grey.max() > 180   # the fill is near white at difficulty 0


def test_harder_crops_are_smaller_on_average(catalog):
    heights = {d: np.mean([render_crop(np.random.default_rng((5, i)), catalog, d)[0].shape[0]
                           for i in range(60)]) for d in (0.0, 1.0)}
    assert heights[1.0] < heights[0.0]


def test_held_out_families_and_backgrounds_never_train():
    train, heldout = font_catalog("train", wide=True), font_catalog("heldout", wide=True)
    assert {f.family for f in train.latin} & {f.family for f in heldout.latin} == set()
    assert {f.path for f in train.latin + train.cjk}.isdisjoint(
        {f.path for f in heldout.latin + heldout.cjk})
    assert len(train.latin) >= 30 and len(heldout.latin) >= 8 and len(heldout.cjk) >= 2
    assert set(BASE_SPLITS["train"]) & set(BASE_SPLITS["heldout"]) == {"flat"}
    background = crop_background(np.random.default_rng(0), 20, 90, "heldout")
    assert background.shape == (20, 90, 3)


def test_wide_faces_add_to_the_training_faces_only_when_asked():
    """Streams of the stages before release 9 keep their 48 faces; `wide_faces` adds the
    geometric, rounded and light families, every one of which draws each ID symbol."""
    from fontTools.ttLib import TTFont
    from synth.ids import ID_ALPHABET

    narrow, wide = font_catalog("train"), font_catalog("train", wide=True)
    assert set(narrow.latin) < set(wide.latin) and narrow.cjk == wide.cjk
    added = set(wide.latin) - set(narrow.latin)
    assert {f.family for f in added} >= {"league-spartan", "manrope", "quicksand", "mplus"}
    assert {f.family for f in added}.isdisjoint(f.family for f in narrow.latin)
    for face in added:
        cmap = TTFont(face.path, fontNumber=face.index).getBestCmap()
        assert all(ord(ch) in cmap for ch in ID_ALPHABET + ":"), face.path


def test_make_fonts_installs_every_catalogue_package():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    listed = set(re.findall(r"fonts-[a-z0-9-]+", makefile))
    assert set(CATALOG_PACKAGES) <= listed
    assert all(family.split in ("train", "heldout") for family in FONT_FAMILIES)


def test_heldout_frames_use_only_heldout_faces(tmp_path):
    summary = generate(tmp_path / "unseen", videos=2, seed=3, test_videos=1,
                       config=SynthConfig(domain="heldout", frames_min=1, frames_max=2),
                       progress=False)
    assert summary["train_frames"] >= 1 and summary["test_frames"] >= 1
    with pytest.raises(ValueError, match="domain"):
        SynthConfig(domain="elsewhere").validate()


# ------------------------------------------------------------------ the engine's loop

def synth_config(tmp_path, real=None, **dataset):
    config = tiny_config(tmp_path, tmp_path / "unused", make_lmdb(tmp_path / "val", 16, 500),
                         epoch_num=2, save_iter_step=[0, 2])
    cfg = yaml.safe_load(config.read_text(encoding="utf-8"))
    cfg["Train"]["dataset"] = {"name": "SynthCropDataSet", "seed": 0, "samples_per_epoch": 64,
                               "ramp_samples": 100, "transforms": cfg["Train"]["dataset"]["transforms"],
                               **({"real_data_dir": str(real), "real_ratio": 0.5} if real else {}),
                               **dataset}
    cfg["Train"]["loader"]["shuffle"] = False
    config.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return config


def _dataset(config):
    from ppocr_ext.rec_config import load_config
    import logging
    engine.load_engine()
    return SynthCropDataSet(load_config(config), "Train", logging.getLogger("test"))


def test_dataset_samples_are_global_and_reproducible(tmp_path):
    dataset = _dataset(synth_config(tmp_path))
    assert len(dataset) == 64
    assert dataset.sample(70) == dataset.sample(70) != dataset.sample(6)   # past one epoch
    assert dataset.difficulty(0, 1.0) == 0.0 and dataset.difficulty(100, 1.0) == 1.0
    image, label, length = dataset[5]
    assert image.shape == (3, 32, 64) and length == len(dataset.sample(5)[1])


def test_dataset_mixes_real_crops_at_the_ratio(tmp_path):
    real = make_lmdb(tmp_path / "real", 8)
    dataset = _dataset(synth_config(tmp_path, real=real))
    real_pairs = set(read_lmdb(real))
    share = np.mean([dataset.sample(i) in real_pairs for i in range(200)])
    assert 0.35 < share < 0.65


def test_dataset_reads_real_crops_from_a_list_of_folders(tmp_path):
    """Several localiser runs feed one mixture: every folder's crops are drawn; a folder
    without an LMDB is named, not silently skipped."""
    first, second = make_lmdb(tmp_path / "real_a", 4), make_lmdb(tmp_path / "real_b", 4, 100)
    dataset = _dataset(synth_config(tmp_path, real_data_dir=[str(first), str(second)],
                                    real_ratio=1.0))
    drawn = {dataset.sample(i) for i in range(100)}
    assert drawn & set(read_lmdb(first)) and drawn & set(read_lmdb(second))
    assert drawn <= set(read_lmdb(first)) | set(read_lmdb(second))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty"):
        _dataset(synth_config(tmp_path, real_data_dir=[str(first), str(tmp_path / "empty")],
                              real_ratio=0.5))


def test_dataset_refuses_unknown_keys_and_a_ratio_without_crops(tmp_path):
    with pytest.raises(ValueError, match="ramp_sample"):
        _dataset(synth_config(tmp_path, ramp_sample=5))
    with pytest.raises(ValueError, match="real_data_dir"):
        _dataset(synth_config(tmp_path, real_ratio=0.3))


def test_training_streams_global_indices_and_resumes_where_it_stopped(tmp_path, monkeypatch):
    """Each step reads the next 16 global indices (epoch 2 does not restart at 0), and a
    run killed after step 3 renders on resume exactly the indices it had left."""
    seen = []
    sample = SynthCropDataSet.sample_spans

    def recording(self, index):
        seen.append(index)
        return sample(self, index)

    monkeypatch.setattr(SynthCropDataSet, "sample_spans", recording)
    config = synth_config(tmp_path)
    train_main(["-c", str(config)])
    assert seen == list(range(128))

    seen.clear()
    build = engine.build_trainer

    def stopping(cfg, mode):
        trainer = build(cfg, mode)

        def hook(optimizer, args, kwargs):
            if trainer.train_dataloader.step == 3:
                raise KeyboardInterrupt
        trainer.optimizer.register_step_post_hook(hook)
        return trainer

    monkeypatch.setattr(rec_train, "build_trainer", stopping)
    config = synth_config(tmp_path / "killed")
    with pytest.raises(KeyboardInterrupt):
        train_main(["-c", str(config), "-o", "Global.save_iter_step=[0,1]"])
    monkeypatch.setattr(rec_train, "build_trainer", build)
    seen.clear()
    train_main(["-c", str(config), "--resume"])
    assert seen == list(range(3 * 16, 128))   # 3 steps were saved before the kill


def test_fixed_crop_sets_are_named_and_seeded():
    first = list(fixed_crop_samples(7, 3, "heldout", (0.5, 1.0)))
    again = list(fixed_crop_samples(7, 3, "heldout", (0.5, 1.0)))
    assert first == again and [name for name, _, _ in first] == [
        "heldout_7_000000", "heldout_7_000001", "heldout_7_000002"]


def test_corruptions_are_off_by_default_and_leave_older_streams_unchanged(catalog):
    """corrupt_prob 0 draws nothing: the stream (and the held-out crops) of earlier
    releases render to the same pixels; corrupt_prob 1 changes the hard crops."""
    from synth.crops import CropConfig
    for i in range(6):
        plain = render_crop(np.random.default_rng((8, i)), catalog, 1.0)
        off = render_crop(np.random.default_rng((8, i)), catalog, 1.0, CropConfig(corrupt_prob=0.0))
        on = render_crop(np.random.default_rng((8, i)), catalog, 1.0, CropConfig(corrupt_prob=1.0))
        assert np.array_equal(plain[0], off[0]) and plain[1] == off[1] == on[1]
        assert on[0].dtype == np.uint8 and on[0].ndim == 3
    changed = [not np.array_equal(render_crop(np.random.default_rng((8, i)), catalog, 1.0)[0],
                                  render_crop(np.random.default_rng((8, i)), catalog, 1.0,
                                              CropConfig(corrupt_prob=1.0))[0]) for i in range(6)]
    assert all(changed)


def test_corrupt_names_restrict_the_draw(monkeypatch):
    """`names` keeps the draw to those corruptions; geometric ones still only where boxes
    can follow; an unknown name is an error naming it."""
    import synth.crops as crops
    drawn = []
    monkeypatch.setattr(crops, "_in_frame_context", lambda image, name, *a: drawn.append(name) or image)
    monkeypatch.setattr(crops.corruptions, "apply",
                        lambda image, name, *a: drawn.append(name) or (image, a[-1]))
    image, rng = np.zeros((12, 40, 3), np.uint8), np.random.default_rng(0)
    for _ in range(40):
        crops.corrupt_crop(rng, image, names=("motion blur", "rotation"))
    assert set(drawn) == {"motion blur"}
    drawn.clear()
    for _ in range(40):
        crops.corrupt_crop(rng, image, [[0, 0, 40, 12]], names=("motion blur", "rotation"))
    assert set(drawn) == {"motion blur", "rotation"}
    with pytest.raises(ValueError, match="'snow'"):
        crops.corrupt_crop(rng, image, names=("snow",))


def test_dataset_checks_the_corruption_names(tmp_path):
    dataset = _dataset(synth_config(tmp_path, corrupt_prob=1.0, corrupt_names=["jpeg", "rain"]))
    assert dataset.crop_config.corrupt_names == ("jpeg", "rain")
    with pytest.raises(ValueError, match="corrupt_names.*snow"):
        _dataset(synth_config(tmp_path, corrupt_prob=1.0, corrupt_names=["snow"]))


def test_a_rotated_crop_still_holds_the_whole_line():
    """Geometric corruptions move the boxes the crop window is cut from: after a 6-degree
    rotation the box grows to hold the line's tilted ends."""
    from common.corruptions import apply
    image = np.zeros((60, 300, 3), np.uint8)
    image[25:35, 20:280] = 255
    out, (box,) = apply(image, "rotation", 3, seed=0, boxes=[[20, 25, 280, 35]])
    ys, xs = np.nonzero(out.max(axis=2) > 128)
    assert box[1] <= ys.min() + 1 and box[3] >= ys.max() - 1     # the tilted ends inside
    assert box[3] - box[1] > 10 + 20                              # 260 px * sin 6deg ~ 27


def test_dataset_corrupts_real_crops_too_and_checks_the_probability(tmp_path):
    real = make_lmdb(tmp_path / "real", 8)
    plain = _dataset(synth_config(tmp_path, real=real))
    noisy = _dataset(synth_config(tmp_path, real=real, corrupt_prob=1.0))
    real_pairs = set(read_lmdb(real))
    reals = [i for i in range(40) if plain.sample(i) in real_pairs]
    assert reals and all(noisy.sample(i)[1] == plain.sample(i)[1] for i in reals)
    assert all(noisy.sample(i) not in real_pairs for i in reals)
    with pytest.raises(ValueError, match="corrupt_prob"):
        _dataset(synth_config(tmp_path, corrupt_prob=1.5))


def test_lightening_lifts_the_scene_and_the_rim_more_than_the_white_fill():
    from synth.crops import lighten_crop
    image = np.full((20, 60, 3), 60, np.uint8)      # a dark scene
    image[8:12, 10:50] = 240                          # the mark's near-white fill
    image[7, 10:50] = image[12, 10:50] = 30           # its dark rim
    out = lighten_crop(np.random.default_rng(0), image).astype(int)
    scene, fill, rim = out[0, 0, 0], out[9, 20, 0], out[7, 20, 0]
    assert 92 <= scene <= 178 and 57 <= rim <= 149 and fill >= 240
    assert fill > scene > rim                         # the order of the greys is kept


def test_dataset_lightens_at_its_probability_and_leaves_older_streams_unchanged(tmp_path):
    real = make_lmdb(tmp_path / "real", 8)
    plain = _dataset(synth_config(tmp_path, real=real))
    off = _dataset(synth_config(tmp_path, real=real, lighten_prob=0.0))
    light = _dataset(synth_config(tmp_path, real=real, lighten_prob=1.0))
    assert all(off.sample(i) == plain.sample(i) for i in range(20))
    real_pairs = set(read_lmdb(real))
    for i in range(20):
        image, label = light.sample(i)
        assert label == plain.sample(i)[1] and (image, label) not in real_pairs
        before = cv2.imdecode(np.frombuffer(plain.sample(i)[0], np.uint8), cv2.IMREAD_GRAYSCALE)
        after = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_GRAYSCALE)
        assert after.shape == before.shape and np.median(after) > np.median(before)
    with pytest.raises(ValueError, match="lighten_prob"):
        _dataset(synth_config(tmp_path, lighten_prob=-0.1))
