"""Augmentation plugins: they keep the sample usable (shape, dtype, text inside the
frame), do nothing when switched off, reproduce under a seed, and run inside the
engine's own data pipeline."""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ppocr_ext.augment import (PRESETS, TIA, LowResAug, RobustnessAug, StandardAug,
                               aug_preset, build_preset, with_preset)
from ppocr_ext.augment.gallery import build_gallery
from ppocr_ext.augment.mls import mls_backward_map, mls_deform, warp_mls
from ppocr_ext.augment.sample import DEFAULT_FONT, render_sample_crop
from ppocr_ext.engine import load_engine

ROOT = Path(__file__).resolve().parents[1]
DICT = ROOT / "common" / "dicts" / "id62.txt"
TEXT = "a8Kx3lQ9z2Wm"

ALL_ON = {
    "TIA": lambda: TIA(distort_prob=1, stretch_prob=1, perspective_prob=1),
    "StandardAug": lambda: StandardAug(crop_prob=1, color_prob=1, blur_prob=1, invert_prob=1),
    "LowResAug": lambda: LowResAug(motion_prob=1, downscale_prob=1, jpeg_prob=1),
    "RobustnessAug": lambda: RobustnessAug(noise_prob=1, rain_prob=1, fog_prob=1),
}
ALL_OFF = {
    "TIA": lambda: TIA(distort_prob=0, stretch_prob=0, perspective_prob=0),
    "StandardAug": lambda: StandardAug(crop_prob=0, color_prob=0, blur_prob=0, invert_prob=0),
    "LowResAug": lambda: LowResAug(motion_prob=0, downscale_prob=0, jpeg_prob=0),
    "RobustnessAug": lambda: RobustnessAug(noise_prob=0, rain_prob=0, fog_prob=0),
}
GEOMETRIC = {
    "TIA distort": lambda: TIA(distort_prob=1, stretch_prob=0, perspective_prob=0),
    "TIA stretch": lambda: TIA(distort_prob=0, stretch_prob=1, perspective_prob=0),
    "TIA perspective": lambda: TIA(distort_prob=0, stretch_prob=0, perspective_prob=1),
    "TIA all": ALL_ON["TIA"],
    "crop/pad": lambda: StandardAug(crop_prob=1, color_prob=0, blur_prob=0, invert_prob=0),
}


@pytest.fixture(scope="module")
def crop():
    return render_sample_crop(TEXT, seed=3)


@pytest.fixture(scope="module")
def plain_crop():
    """White text on flat dark grey: its bright pixels are exactly the text."""
    image = Image.new("RGB", (200, 40), (60, 60, 60))
    font = ImageFont.truetype(DEFAULT_FONT, 14)
    ImageDraw.Draw(image).text((20, 12), TEXT, font=font, fill=(255, 255, 255))
    return np.asarray(image).copy()


def run(op, image, seed=0):
    np.random.seed(seed)
    return op({"image": image.copy(), "label": TEXT})["image"]


@pytest.mark.parametrize("name", ALL_ON)
def test_shape_and_dtype_are_kept(name, crop):
    out = run(ALL_ON[name](), crop)
    assert out.shape == crop.shape and out.dtype == np.uint8
    assert not np.array_equal(out, crop)


@pytest.mark.parametrize("name", ALL_OFF)
def test_probability_zero_is_the_identity(name, crop):
    for seed in range(5):
        assert np.array_equal(run(ALL_OFF[name](), crop, seed), crop)


@pytest.mark.parametrize("name", ALL_ON)
def test_same_seed_same_output_other_seed_other_output(name, crop):
    op = ALL_ON[name]()
    first, again, other = run(op, crop, 7), run(op, crop, 7), run(op, crop, 8)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_seeded_sequence_of_calls_reproduces(crop):
    """What a training run relies on: reseed, and the whole stream of samples repeats."""
    op = StandardAug()
    streams = []
    for _ in range(2):
        np.random.seed(11)
        streams.append([op({"image": crop.copy()})["image"] for _ in range(8)])
    assert all(np.array_equal(a, b) for a, b in zip(*streams))


def ink(image):
    """Brightness above the flat background: the text's ink, as weights per pixel."""
    return np.clip(image[..., 0].astype(float) - 60, 0, None)


@pytest.mark.parametrize("name", GEOMETRIC)
def test_text_stays_inside_the_image(name, plain_crop):
    before = ink(plain_crop)
    ys, xs = np.mgrid[:before.shape[0], :before.shape[1]]
    centre = (before * xs).sum() / before.sum(), (before * ys).sum() / before.sum()
    span = np.nonzero(before.max(0) > 60)[0]
    op = GEOMETRIC[name]()
    for seed in range(15):
        after = ink(run(op, plain_crop, seed))
        # ink is not erased (warps may shrink it), not pushed onto the frame border,
        # and still spans most of the text's width (no symbol cut off at an end) ...
        assert after.sum() > 0.35 * before.sum(), f"seed {seed}: text mostly gone"
        border = np.concatenate([after[0], after[-1], after[:, 0], after[:, -1]])
        assert border.max() < 100, f"seed {seed}: text touches the border"
        inked = np.nonzero(after.max(0) > 60)[0]
        assert inked[-1] - inked[0] > 0.75 * (span[-1] - span[0]), (seed, inked)
        # ... and its centre stays within a few pixels of where it was
        moved = ((after * xs).sum() / after.sum() - centre[0],
                 (after * ys).sum() / after.sum() - centre[1])
        assert abs(moved[0]) < 10 and abs(moved[1]) < 6, (seed, moved)


@pytest.mark.parametrize("mode", ["distort", "stretch", "perspective"])
def test_each_tia_warp_changes_the_image_and_keeps_its_size(mode, crop):
    probs = {f"{m}_prob": float(m == mode) for m in ("distort", "stretch", "perspective")}
    for mls_mode in ("similarity", "rigid"):
        out = run(TIA(**probs, mls_mode=mls_mode), crop, 5)
        assert out.shape == crop.shape
        assert np.abs(out.astype(int) - crop).mean() > 5


def test_tia_leaves_tiny_images_alone():
    tiny = np.full((6, 30, 3), 128, np.uint8)
    assert np.array_equal(run(ALL_ON["TIA"](), tiny), tiny)


def glyph_contrast(image):
    """Stroke peak minus background of a white-on-black glyph, per the red channel."""
    return int(image[..., 0].max()) - int(np.median(image[..., 0]))


def test_5x5_blur_erases_a_10px_glyph_much_more_than_3x3():
    """Seed 000: 5x5 blurred the tiny text away and training stalled; 3x3 worked."""
    glyph = Image.new("RGB", (40, 20), (0, 0, 0))
    ImageDraw.Draw(glyph).text((5, 3), "Il1", fill=(255, 255, 255),
                               font=ImageFont.truetype(DEFAULT_FONT, 10))
    glyph = np.asarray(glyph).copy()
    before = glyph_contrast(glyph)
    after = {k: glyph_contrast(run(StandardAug(crop_prob=0, color_prob=0, invert_prob=0,
                                               blur_prob=1, blur_kernel=k), glyph))
             for k in (3, 5)}
    drop3, drop5 = before - after[3], before - after[5]
    assert drop5 > drop3 + 20, (before, after)
    assert after[3] > 0.45 * before, (before, after)


def test_bad_input_names_the_transform():
    with pytest.raises(TypeError, match="TIA"):
        TIA()({"image": Image.new("RGB", (40, 20))})
    with pytest.raises(TypeError, match="StandardAug"):
        StandardAug()({"image": np.zeros((20, 40, 3), np.float32)})


@pytest.mark.parametrize("bad", [dict(blur_kernel=4), dict(blur_prob=1.5),
                                 dict(crop_pad_vertical=[0.2, -0.1])])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        StandardAug(**bad)


def test_mls_is_exact_for_similarities_and_the_identity():
    rng = np.random.default_rng(0)
    src = np.array([[0, 0], [99, 0], [99, 29], [0, 29], [50, 0], [50, 29]], float)
    turn = np.array([[np.cos(0.2), -np.sin(0.2)], [np.sin(0.2), np.cos(0.2)]])
    points = rng.uniform(0, 30, size=(40, 2))
    for mode, scale in (("similarity", 1.3), ("rigid", 1.0)):
        dst = scale * src @ turn.T + [4, -2]
        assert np.allclose(mls_deform(points, src, dst, mode=mode),
                           scale * points @ turn.T + [4, -2], atol=1e-6)
        map_x, map_y = mls_backward_map(src, src, 100, 30, mode=mode)
        assert np.allclose(map_x, np.arange(100)[None], atol=1e-4)
        assert np.allclose(map_y, np.arange(30)[:, None], atol=1e-4)


def test_mls_warp_moves_content_with_the_control_points():
    image = np.zeros((30, 100), np.uint8)
    image[10:20, 40:50] = 255
    src = np.array([[0, 0], [99, 0], [99, 29], [0, 29]], float)
    shifted = warp_mls(image, src, src + [10, 0])
    assert np.nonzero(shifted)[1].mean() == pytest.approx(np.nonzero(image)[1].mean() + 10, abs=1)


def test_presets_form_a_ladder_in_pipeline_order():
    assert PRESETS == ("none", "standard", "standard_tia", "standard_tia_lowres", "full")
    names = [[next(iter(step)) for step in aug_preset(p)] for p in PRESETS]
    assert names[:3] == [[], ["StandardAug"], ["TIA", "StandardAug"]]
    assert names[-1] == ["TIA", "StandardAug", "RobustnessAug", "LowResAug"]
    assert all(set(names[i]) < set(names[i + 1]) for i in range(len(names) - 1))
    with pytest.raises(ValueError, match="preset"):
        aug_preset("strong")
    assert [type(op).__name__ for op in build_preset("full")] == names[-1]


def engine_transforms(preset):
    base = [{"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
            {"CTCLabelEncode": None},
            {"SVTRResize": {"image_shape": [3, 32, 128], "padding": False}},
            {"KeepKeys": {"keep_keys": ["image", "label", "length"]}}]
    return with_preset(base, preset)


def test_plugins_build_and_run_in_the_engine_pipeline(crop):
    load_engine()
    from openrec.preprocess import MODULE_MAPPING, create_operators, transform
    assert {"TIA", "StandardAug", "LowResAug", "RobustnessAug"} <= set(MODULE_MAPPING)
    transforms = engine_transforms("full")
    assert [next(iter(t)) for t in transforms][:5] == [
        "DecodeImage", "TIA", "StandardAug", "RobustnessAug", "LowResAug"]
    # the engine passes every Global key to every transform, `seed` included
    global_config = {"character_dict_path": str(DICT), "max_text_length": 25,
                     "use_space_char": False, "seed": 48, "device": "cpu"}
    ops = create_operators(transforms, global_config)
    encoded = cv2.imencode(".jpg", crop)[1].tobytes()
    np.random.seed(0)
    for _ in range(4):
        image, label, length = transform({"image": encoded, "label": TEXT}, ops)
        assert image.shape == (3, 32, 128) and image.dtype == np.float32
        assert length == len(TEXT)
        assert np.isfinite(image).all() and image.std() > 0.05
    assert with_preset(transforms, "none") == engine_transforms("none")


def test_gallery_grid_and_script(tmp_path, crop):
    grid = build_gallery(crop, samples=2, scale=2)
    assert grid.ndim == 3 and grid.shape[1] > 3 * 2 * crop.shape[1]
    out = tmp_path / "gallery.png"
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "aug_gallery.py"),
                           "--out", str(out), "--n", "2"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert cv2.imread(str(out)) is not None
    missing = subprocess.run([sys.executable, str(ROOT / "tools" / "aug_gallery.py"),
                              "--image", str(tmp_path / "nope.png"), "--out", str(out)],
                             capture_output=True, text=True)
    assert missing.returncode != 0 and "nope.png" in missing.stderr


def test_benchmark_script_writes_its_table_and_command(tmp_path):
    out = tmp_path / "aug_speed.md"
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "bench_aug.py"), "--calls", "2",
                           "--width", "120", "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    table = out.read_text()
    assert "python tools/bench_aug.py --calls 2" in table
    assert table.count("| preset '") == 4 and "engine pipeline" in table


class _SameCropDataset:
    """Every index is the same crop, so only the augmentation's randomness differs."""

    def __init__(self, image):
        self.image, self.op = image, ALL_ON["TIA"]()

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return self.op({"image": self.image.copy()})["image"]


def test_loader_workers_draw_different_augmentations_reproducibly(crop):
    """Forked workers must not replay one random stream, and a seeded run must repeat."""
    import torch
    from torch.utils.data import DataLoader

    def epoch():
        torch.manual_seed(0)
        loader = DataLoader(_SameCropDataset(crop), batch_size=None, num_workers=2)
        return [sample.numpy() for sample in loader]

    first, again = epoch(), epoch()
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert len({sample.tobytes() for sample in first}) == 4
