"""Alignment-guided CTC (ppocr_ext.aligned_ctc): the renderer's glyph positions
(synth.crops.render_aligned_crop), the targets built from them, the loss in the engine's
loop, and the dataset keys it needs."""
import math

import numpy as np
import pytest
import torch
import yaml

from ppocr_ext import engine
from ppocr_ext.aligned_ctc import IGNORE, AlignedCTCLoss, alignment_targets
from ppocr_ext.rec_train import train_main
from ppocr_ext.synth_dataset import SynthCropDataSet
from rec_fixtures import one_torch_thread  # noqa: F401 (autouse)
from synth.crops import render_aligned_crop, render_crop
from synth.fonts import font_catalog, resolve_fonts
from synth.watermark import glyph_ink_spans, render_patch, sample_style
from test_crops import _dataset, synth_config

NAN = float("nan")


@pytest.fixture(scope="module")
def catalog():
    return font_catalog("train")


def test_glyph_spans_cover_each_glyph_ink_of_the_id():
    """Every ink column of the ID lies in its glyph's span (1 px of anti-aliasing), the
    spans run left to right, and each holds ink."""
    style = sample_style(np.random.default_rng(4), 360, 640, resolve_fonts())
    account_id = "Wm1lIiO0"
    layers, _, id_box, _ = render_patch(account_id, style, right_aligned=False)
    fill = layers[-1][0]
    spans = glyph_ink_spans(account_id, style, id_box)
    assert len(spans) == len(account_id)
    assert all(a[0] <= b[0] for a, b in zip(spans, spans[1:]))
    ink = np.nonzero(fill[id_box[1]:id_box[3]].max(0) > 0)[0]
    ink = ink[ink >= id_box[0]]
    inside = [any(x0 - 1 <= x < x1 + 1 for x0, x1 in spans) for x in ink]
    assert all(inside)
    columns = fill[id_box[1]:id_box[3]].max(0)
    assert all(columns[int(x0):int(math.ceil(x1))].max() > 0 for x0, x1 in spans)


def test_aligned_crop_is_the_crop_and_its_spans_follow_the_id(catalog):
    for d in (0.0, 1.0):
        for i in range(8):
            crop = render_aligned_crop(np.random.default_rng((6, i)), catalog, d)
            image, label = render_crop(np.random.default_rng((6, i)), catalog, d)
            assert np.array_equal(crop.image, image) and crop.label == label
            assert crop.spans.shape == (len(label), 2)
            mid = crop.spans.mean(1)
            assert np.all(np.diff(mid) > 0) and -0.05 < mid[0] and mid[-1] < 1.05
            if d == 0.0:          # the whole prefix is in view: the ID starts right of it
                assert crop.spans[0, 0] > 0.2


def test_targets_put_symbols_at_glyph_centres_and_blank_outside_the_id():
    # 3 glyphs over 16 positions: ink 0.5-0.6, 0.6-0.7, 0.75-0.9 of the crop
    spans = torch.tensor([[[0.5, 0.6], [0.6, 0.7], [0.75, 0.9]] + [[NAN, NAN]] * 2,
                          [[NAN, NAN]] * 5,                                      # real crop
                          [[0.1, 0.2], [0.3, 0.4]] + [[NAN, NAN]] * 3])          # 2 spans, 3 symbols
    label = torch.tensor([[7, 7, 9, 0, 0], [1, 2, 0, 0, 0], [3, 4, 5, 0, 0]])
    targets = alignment_targets(spans, label, torch.tensor([3, 2, 3]), 16)
    first = targets[0].tolist()
    assert first[8] == 7 and first[10] == 7 and first[13] == 9      # centres 0.55, 0.65, 0.825
    assert all(t == 0 for t in first[:8]) and first[14:] == [0, 0]       # 14.5 / 16 > 0.9
    assert {first[9], first[11], first[12]} == {IGNORE}
    assert targets[1].eq(IGNORE).all() and targets[2].eq(IGNORE).all()


def test_loss_adds_the_alignment_term_and_only_where_targets_are():
    engine.load_engine()
    spans = torch.tensor([[[0.5, 0.6], [0.6, 0.7]], [[NAN, NAN]] * 2])
    batch = [None, torch.tensor([[3, 4], [3, 4]]), torch.tensor([2, 2]), spans]
    logits = torch.randn(2, 16, 10, requires_grad=True)
    plain = AlignedCTCLoss(align_weight=0.0)(logits, batch)
    guided = AlignedCTCLoss(align_weight=2.0)(logits, batch)
    assert torch.isclose(plain["loss"], guided["ctc_loss"])
    assert torch.isclose(guided["loss"], guided["ctc_loss"] + 2 * guided["align_loss"])
    guided["align_loss"].backward()
    assert logits.grad[1].abs().sum() == 0 and logits.grad[0].abs().sum() > 0
    with pytest.raises(ValueError, match="glyph_spans"):
        AlignedCTCLoss()(logits, batch[:3])
    with pytest.raises(ValueError, match="align_weight"):
        AlignedCTCLoss(align_weight=-1)


def _aligned_config(tmp_path, keep=("image", "label", "length", "glyph_spans")):
    config = synth_config(tmp_path, align_targets=True)
    cfg = yaml.safe_load(config.read_text(encoding="utf-8"))
    cfg["Train"]["dataset"]["transforms"][-1]["KeepKeys"]["keep_keys"] = list(keep)
    cfg["Loss"] = {"name": "AlignedCTCLoss", "align_weight": 1.0}
    config.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return config


def test_dataset_yields_spans_and_checks_the_kept_keys(tmp_path):
    dataset = _dataset(_aligned_config(tmp_path))
    image, label, length, spans = dataset[3]
    assert spans.shape == (25, 2) and spans.dtype == np.float32
    assert (~np.isnan(spans[:, 0])).sum() == length
    with pytest.raises(ValueError, match="glyph_spans"):
        _dataset(_aligned_config(tmp_path / "other", keep=("image", "label", "length")))


def test_alignment_can_end_after_a_number_of_samples(tmp_path):
    """`align_samples` gives spans to the first global samples only: the cross-entropy
    ends the stall, CTC trains alone afterwards, and a resumed run agrees (global index)."""
    config = _aligned_config(tmp_path)
    cfg = yaml.safe_load(config.read_text(encoding="utf-8"))
    cfg["Train"]["dataset"]["align_samples"] = 4
    config.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    dataset = _dataset(config)
    assert not np.isnan(dataset[3][3]).all() and np.isnan(dataset[4][3]).all()
    assert np.isnan(dataset[70][3]).all()
    cfg["Train"]["dataset"]["align_samples"] = 0
    config.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    with pytest.raises(ValueError, match="align_samples"):
        _dataset(config)


def test_engine_trains_with_the_aligned_loss(tmp_path):
    """The loss plugin is found by name and its two terms reach the training log."""
    config = _aligned_config(tmp_path)
    train_main(["-c", str(config)])
    log = (tmp_path / "out" / "train.log").read_text(encoding="utf-8")
    assert "align_loss" in log and "ctc_loss" in log
    assert "AlignedCTCLoss" in engine.component_names()["losses"]


@pytest.mark.parametrize("name", ["svtr_tiny_synth_aligned", "svtrv2_small_synth_aligned"])
def test_shipped_aligned_configs_build_a_stream_with_spans(name):
    """The part (configs/rec/parts/aligned_ctc.yml) adds the loss and the spans' key to a
    recipe without touching its network."""
    import logging
    from ppocr_ext.rec_config import load_config
    from rec_fixtures import CONFIGS
    engine.load_engine()
    cfg = load_config(CONFIGS / f"{name}.yml")
    plain = load_config(CONFIGS / f"{name.replace('_aligned', '')}.yml")
    assert cfg["Loss"]["name"] == "AlignedCTCLoss" and cfg["Architecture"] == plain["Architecture"]
    dataset = SynthCropDataSet(cfg, "Train", logging.getLogger("test"))
    image, label, length, spans = dataset[0]
    assert image.shape == (3, 16, 256) and (~np.isnan(spans[:, 0])).sum() == length
