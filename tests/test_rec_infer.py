"""tools/infer_rec.py's code path: folders and single images in, CSV + JSON out, bad
files skipped by name; SAR (masked attention) reads through the same code."""
import csv
import json
import logging

import cv2
import numpy as np
import pytest
import torch

from common.torch_files import CheckpointError
from ppocr_ext.engine import load_engine
from ppocr_ext.rec_config import load_config
from ppocr_ext.rec_infer import Recognizer, infer, infer_rec_main, summary
from rec_fixtures import (CONFIGS, WORDS, make_lmdb, one_torch_thread,  # noqa: F401
                          render_crop, tiny_config)

load_engine()


def _random_weights(cfg, path):
    """Save freshly initialised weights of the config's model (what a run would load)."""
    from openrec.modeling import build_model
    from openrec.postprocess import build_post_process
    cfg["Architecture"]["Decoder"]["out_channels"] = build_post_process(
        cfg["PostProcess"], cfg["Global"]).get_character_num()
    torch.save({"state_dict": build_model(cfg["Architecture"]).state_dict()}, path)
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("infer")
    config = tiny_config(root, make_lmdb(root / "train", 16), make_lmdb(root / "val", 4, 9))
    weights = _random_weights(load_config(config), root / "weights.pth")
    crops = root / "crops"
    crops.mkdir()
    for index, word in enumerate(WORDS[:3]):
        (crops / f"{word}.png").write_bytes(render_crop(word, index))
    (crops / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (crops / "empty.png").write_bytes(b"")
    (crops / "notes.txt").write_text("not an image")
    return root, config, weights, crops


def test_folder_with_corrupt_images_is_read_and_bad_ones_named(setup, tmp_path, caplog, capsys):
    root, config, weights, crops = setup
    with caplog.at_level(logging.WARNING):
        result = infer_rec_main(["-c", str(config), "-o", f"Global.pretrained_model={weights}",
                             f"Global.infer_img={crops}", "--out", str(tmp_path / "res.csv")])
    assert sorted(r.name for r in result.readings) == sorted(f"{w}.png" for w in WORDS[:3])
    assert {item["name"] for item in result.skipped} == {"broken.jpg", "empty.png", "notes.txt"}
    assert "broken.jpg" in caplog.text and "empty.png" in caplog.text
    printed = capsys.readouterr().out
    assert "skipped 3" in printed and "notes.txt: not an image file" in printed and "broken.jpg" in printed and "read 3 images" in printed

    with open(tmp_path / "res.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [list(row) for row in rows] == [["name", "text", "confidence"]] * 3
    assert all(0.0 <= float(row["confidence"]) <= 1.0 for row in rows)
    saved = json.loads((tmp_path / "res.json").read_text())
    assert [p["name"] for p in saved["predictions"]] == [row["name"] for row in rows]
    assert saved["weights"] == str(weights) and len(saved["skipped"]) == 3


def test_single_image_and_bf16_default_output_path(setup):
    root, config, weights, crops = setup
    image = crops / f"{WORDS[0]}.png"
    result, csv_path, json_path = infer(str(config), [f"Global.pretrained_model={weights}",
                                                      f"Global.infer_img={image}"], bf16=True)
    assert [r.name for r in result.readings] == [image.name] and not result.skipped
    assert csv_path == root / "out" / "predictions.csv" and json_path.is_file()
    assert "read 1 images" in summary(result, csv_path, json_path)


def test_weights_of_another_model_are_refused(setup, tmp_path):
    root, config, _, crops = setup
    other = _random_weights(load_config(CONFIGS / "svtr_tiny.yml"), tmp_path / "big.pth")
    with pytest.raises(CheckpointError, match="big.pth: does not fit this model"):
        infer(str(config), [f"Global.pretrained_model={other}", f"Global.infer_img={crops}"])


def test_sar_with_masked_attention_reads_through_the_same_path(tmp_path):
    cfg = load_config(CONFIGS / "sar_r31.yml", ["Architecture.Decoder.max_len=4",
                                                f"Global.infer_img={tmp_path}"])
    cfg["Global"]["pretrained_model"] = str(_random_weights(load_config(
        CONFIGS / "sar_r31.yml", ["Architecture.Decoder.max_len=4"]), tmp_path / "sar.pth"))
    recognizer = Recognizer(cfg)
    short = cv2.imdecode(np.frombuffer(render_crop("Zz"), np.uint8), cv2.IMREAD_COLOR)[:, :60]
    wide = recognizer.prepare(render_crop("a1B2c3D4"))
    narrow = recognizer.prepare(cv2.imencode(".png", short)[1].tobytes())
    assert wide[0].shape == narrow[0].shape == (3, 48, 256)
    assert wide[1] == 1.0 and narrow[1] < 0.5   # the padding the decoder must mask
    readings = recognizer.read([wide, narrow])
    assert len(readings) == 2 and all(isinstance(text, str) for text, _ in readings)
