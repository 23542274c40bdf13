"""The low-resolution limits benchmark: each condition cuts the same located marks with its
own degradation, and every model reads each condition."""
import json

import cv2
import numpy as np
import pytest

from common.lmdb_io import write_lmdb
from pipeline.limits import bench_limits_main, conditions, cut_condition, located_frames
from rec_fixtures import one_torch_thread  # noqa: F401 (autouse)
from tiny_model import make_tiny_model

IDS = ["Ab3", "Il9", "xYz7"]


@pytest.fixture
def located(tmp_path):
    """Three 360x640 frames with a textured band, their boxes, and a crop LMDB that names
    them (as tools/localize.py writes its val/high)."""
    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(0)
    boxes, samples = {}, []
    for n, label in enumerate(IDS):
        name = f"v{n}_0_.jpg"
        frame = np.full((640, 360, 3), 40, np.uint8)
        frame[40:70, 20:240] = rng.integers(0, 255, (30, 220, 3), dtype=np.uint8)
        cv2.imwrite(str(frames / name), frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
        boxes[name] = {"box": [20.0, 40.0, 240.0, 70.0], "frame_size": [360, 640]}
        samples.append((name, cv2.imencode(".png", frame[40:70, 20:240])[1].tobytes(), label))
    write_lmdb(tmp_path / "crops", samples)
    (tmp_path / "boxes.json").write_text(json.dumps({"train": boxes, "test": {}}))
    return tmp_path


def test_each_condition_degrades_the_same_marks(located):
    records, boxes = located_frames(located / "crops", located / "frames", located / "boxes.json")
    assert [r.label for r in records] == IDS
    cut = {name: cut_condition(records, boxes, shrink, jpeg)
           for name, shrink, jpeg in conditions(2.0, [90, 20])}
    assert list(cut)[:4] == ["train resolution", "1/2", "1/2 + JPEG 90", "1/2 + JPEG 20"]
    assert len(cut) == 6 and list(cut)[-1].endswith("(test frames)")
    shape = {k: cv2.imdecode(np.frombuffer(v[0].data, np.uint8), 1).shape for k, v in cut.items()}
    assert shape["train resolution"][:2] == (30, 220) and shape["1/2"][:2] == (15, 110)
    assert shape["1/2 + JPEG 20"] == shape["1/2"]
    pixels = {k: cv2.imdecode(np.frombuffer(v[0].data, np.uint8), 1).astype(int)
              for k, v in cut.items()}
    loss = {q: np.abs(pixels[f"1/2 + JPEG {q}"] - pixels["1/2"]).mean() for q in (90, 20)}
    assert 0 < loss[90] < loss[20]   # a lower quality loses more of the same crop


def test_a_crop_without_its_frame_is_named(located):
    (located / "frames" / "v1_0_.jpg").unlink()
    with pytest.raises(FileNotFoundError, match="v1_0_.jpg"):
        located_frames(located / "crops", located / "frames", located / "boxes.json")


def test_the_report_has_a_row_per_condition_and_model(located, tmp_path):
    config, weights = make_tiny_model(tmp_path / "model")
    out = tmp_path / "bench" / "limits"
    rows = bench_limits_main(["--crops", str(located / "crops"), "--frames",
                              str(located / "frames"), "--boxes", str(located / "boxes.json"),
                              "--model", str(config), str(weights), "--qualities", "50",
                              "--out", str(out)])
    assert [row["condition"] for row in rows][:3] == ["train resolution", "1/1.7", "1/1.7 + JPEG 50"]
    assert len(rows) == 5
    for row in rows:
        (result,) = row["models"].values()
        assert result["n"] == 3 and 0 <= result["exact"] <= result["exact_Il_forgiven"] <= 1
    text = (tmp_path / "bench" / "limits.md").read_text()
    assert "Command: `python tools/bench_limits.py --crops" in text
    assert text.count("| model/tiny.pth |") == 5
    assert json.loads((tmp_path / "bench" / "limits.json").read_text())["rows"] == rows
