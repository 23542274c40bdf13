"""End-to-end reader glue: locator crops reach the recogniser, k-best and boxes come back,
bad frames are skipped by name, results are written and scored."""
import json

import cv2
import numpy as np
import pytest

from localization.locator import Locator, Margins, WorkParams
from common.images import list_image_files
from pipeline.read_ids import IdReader
from pipeline.reports import load_truth, score, write_readings

CHARSET = list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


class ScriptedRecognizer:
    """Test double with the PosteriorRecognizer interface: reads the crop's mean
    brightness as a frame index and returns posteriors spelling that frame's ID,
    with I and l made ambiguous, so the test sees which crop reached which reading."""

    charset = CHARSET

    def __init__(self, ids):
        self.ids = ids
        self.crop_shapes = []

    def posteriors(self, crops, batch_size=64):
        out = np.zeros((len(crops), 20, len(CHARSET) + 1), np.float32)
        for n, crop in enumerate(crops):
            self.crop_shapes.append(crop.shape)
            text = self.ids[int(round(crop.mean() / 40))]
            out[n, :, 0] = 1.0
            for t, ch in enumerate(text):
                row = out[n, 2 * t]
                row[:] = 0
                if ch in "Il":
                    row[CHARSET.index("I") + 1], row[CHARSET.index("l") + 1] = 0.6, 0.4
                else:
                    row[CHARSET.index(ch) + 1] = 1.0
        return out


@pytest.fixture
def frames(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    ids = ["abc12345", "XYZI9876", "Q0Q0Q0Q0x"]
    for i, _ in enumerate(ids):
        cv2.imwrite(str(folder / f"v{i}_0_.jpg"), np.full((640, 360, 3), 40 * i, np.uint8))
    (folder / "v9_0_.jpg").write_bytes(b"not a jpeg")
    (folder / "notes.txt").write_text("ignored")
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"v{i}_0_.jpg\t{t}\n" for i, t in enumerate(ids)))
    return folder, labels, ids


def test_reads_each_frame_through_the_locator_crop(frames):
    folder, _, ids = frames
    recognizer = ScriptedRecognizer(ids)
    reader = IdReader(Locator("direct", WorkParams(), Margins()), recognizer, k=2)
    result = reader.read_folder(folder, progress=False)
    assert [r.name for r in result.readings] == ["v0_0_.jpg", "v1_0_.jpg", "v2_0_.jpg"]
    assert [r.text for r in result.readings] == ids
    assert [item["name"] for item in result.skipped] == ["notes.txt", "v9_0_.jpg"]
    assert result.skipped[0]["reason"].startswith("not an image file (suffixes read: .bmp")
    assert result.skipped[1]["reason"] == "cannot be decoded (corrupt or not an image)"
    # direct crop of a portrait frame: top and bottom tenth stitched, so 2 x 64 rows
    assert recognizer.crop_shapes[0][:2] == (128, 360)
    for r in result.readings:
        x0, y0, x1, y1 = r.box
        assert 0 <= x0 < x1 <= 360 and 0 <= y0 < y1 <= 640


def test_ambiguous_glyph_gives_both_alternatives_with_probabilities(frames):
    folder, _, ids = frames
    reader = IdReader(Locator("direct", WorkParams(), Margins()), ScriptedRecognizer(ids), k=3)
    reading = reader.read_folder(folder, progress=False).readings[1]
    assert [t for t, _ in reading.alternatives[:2]] == ["XYZI9876", "XYZl9876"]
    assert reading.confidence == pytest.approx(0.6, abs=1e-3)
    assert reading.alternatives[1][1] == pytest.approx(0.4, abs=1e-3)


def test_results_are_written_and_scored(frames, tmp_path):
    folder, labels, ids = frames
    reader = IdReader(Locator("direct", WorkParams(), Margins()), ScriptedRecognizer(ids), k=2)
    result = reader.read_folder(folder, progress=False)
    files = write_readings(result.readings, result.skipped, tmp_path / "out")
    csv_lines = open(files["csv"]).read().splitlines()
    assert csv_lines[0] == "name,text,confidence,box,side,alternatives"
    assert len(csv_lines) == 4
    assert [s["name"] for s in json.load(open(files["json"]))["skipped"]] == ["notes.txt", "v9_0_.jpg"]
    report = score(result.readings, load_truth(labels, CHARSET), k=2)
    assert report["exact_match"] == 1.0
    assert report["truth_in_top2"] == 1.0


def test_unread_labelled_frame_counts_as_wrong(frames):
    folder, labels, ids = frames
    reader = IdReader(Locator("direct", WorkParams(), Margins()), ScriptedRecognizer(ids), k=1)
    readings = reader.read_folder(folder, progress=False).readings[:2]
    report = score(readings, load_truth(labels, CHARSET), k=1)
    assert report["exact_match"] == pytest.approx(2 / 3)
    assert report["unread_labelled_frames"] == ["v2_0_.jpg"]


def test_empty_or_missing_folder_is_an_error_naming_it(tmp_path):
    with pytest.raises(ValueError, match=str(tmp_path)):
        list_image_files(tmp_path)
    with pytest.raises(FileNotFoundError, match="nope"):
        list_image_files(tmp_path / "nope")


def test_per_video_consensus_outvotes_one_misread_frame(tmp_path, monkeypatch):
    """Three frames of one video carry the same ID; one is read wrong. `read_ids.py
    --group-by video` writes the video's consensus, which follows the two that agree."""
    from pipeline import assemble, cli

    folder = tmp_path / "frames"
    folder.mkdir()
    ids = ["abc12345", "abc12345", "abc1Z345"]    # brightness i -> ids[i]
    for i in range(3):
        cv2.imwrite(str(folder / f"vid{7}_{i}_.jpg"), np.full((640, 360, 3), 40 * i, np.uint8))
    monkeypatch.setattr(assemble, "load_locator",
                        lambda config, **_: Locator("direct", WorkParams(), Margins()))
    monkeypatch.setattr(assemble, "load_recognizer", lambda model, bf16=False: ScriptedRecognizer(ids))
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"vid7_{i}_.jpg\tabc12345\n" for i in range(3)))
    summary = cli.read_ids_main(["--frames", str(folder), "--group-by", "video", "--model", "m.onnx",
                        "--labels", str(labels), "--out", str(tmp_path / "out")])
    assert summary["score"]["exact_match"] == pytest.approx(2 / 3)
    assert summary["score"]["video_consensus"] == {"videos": 1, "exact_match": 1.0}
    videos = json.loads((tmp_path / "out" / "videos.json").read_text())
    assert summary["videos"] == 1 and list(videos) == ["vid7"]
    assert videos["vid7"]["text"] == "abc12345" and videos["vid7"]["observations"] == 3


def test_without_a_model_the_reader_uses_the_release_or_says_how_to_build_it(monkeypatch, tmp_path):
    from ppocr_ext import released
    from ppocr_ext.rec_config import ConfigError

    monkeypatch.setattr(released, "native_bf16", lambda: False)
    monkeypatch.setattr(released, "RELEASED_INT8", tmp_path / "missing.onnx")
    with pytest.raises(ConfigError, match="make train-release"):
        released.released_model()
    (tmp_path / "missing.onnx").write_bytes(b"x")
    assert released.released_model() == [str(tmp_path / "missing.onnx")]


def test_a_zero_batch_or_an_output_file_is_one_usage_error(tmp_path, capsys):
    from pipeline import cli

    with pytest.raises(SystemExit):
        cli.read_ids_main(["--frames", str(tmp_path), "--batch-size", "0"])
    assert "must be at least 1" in capsys.readouterr().err
    (tmp_path / "out.txt").write_text("mine")
    with pytest.raises(SystemExit):
        cli.read_ids_main(["--frames", str(tmp_path), "--out", str(tmp_path / "out.txt")])
    assert "is a file" in capsys.readouterr().err and (tmp_path / "out.txt").read_text() == "mine"


@pytest.mark.parametrize("native", [True, False])
def test_the_importable_reader_defaults_to_the_released_models(monkeypatch, native):
    """`assemble_reader()` loads models/loc_ddt and models/svtr_tiny_synth (torch under
    bf16 where the CPU does bf16, the int8 ONNX file elsewhere); a user's own localiser
    config gets no released options."""
    from pipeline import assemble
    from ppocr_ext import released

    seen = {}
    monkeypatch.setattr(released, "native_bf16", lambda: native)
    monkeypatch.setattr(assemble, "load_locator", lambda config, **_: seen.setdefault(
        "loc", config) and Locator("direct", WorkParams(), Margins()))
    monkeypatch.setattr(assemble, "load_recognizer", lambda model, bf16=False: seen.update(
        rec=model, bf16=bf16) or ScriptedRecognizer([]))
    assemble.assemble_reader()
    assert seen["loc"]["model"]["checkpoint"].endswith("models/loc_ddt/strip_ddt.pt")
    assert seen["loc"]["output"]["id_line"] is True
    release = assemble.PROJECT_ROOT / "models" / "svtr_tiny_synth"
    expected = [str(release / "config.yml"), str(release / "model.pth")] if native else \
        [str(release / "model.int8.onnx")]
    assert seen["rec"] == expected and seen["bf16"] is native


def test_a_tilted_cut_is_read_beside_its_level_cut_and_the_surer_reading_kept():
    """The localiser levels a line it finds tilted and keeps the level cut beside it; the
    reader reads both and keeps the surer reading, with that cut's box."""
    from localization.locator import Localisation

    class TwoCuts:   # each frame: a levelled cut (left) and its level cut (right)
        def locate(self, grays):
            return [Localisation([[(0.0, 0.0, 40.0, 20.0)]], tilt=(3.0, 20.0, 10.0),
                                 straight_rows=[[(100.0, 0.0, 140.0, 20.0)]]) for _ in grays]

    class SureOfBright:   # reads "abcd1234"; surer the brighter the crop
        charset = CHARSET

        def posteriors(self, crops, batch_size=64):
            out = np.zeros((len(crops), 20, len(CHARSET) + 1), np.float32)
            out[:, :, 0] = 1.0
            for n, crop in enumerate(crops):
                sure = 0.5 + crop.mean() / 600
                for t, ch in enumerate("abcd1234"):
                    out[n, 2 * t, :] = (1 - sure) / len(CHARSET)
                    out[n, 2 * t, CHARSET.index(ch) + 1] = sure
            return out

    frames = []
    for left, right in ((200, 20), (20, 200)):
        frame = np.zeros((60, 160, 3), np.uint8)
        frame[:, :70], frame[:, 80:] = left, right
        frames.append(frame)
    readings = IdReader(TwoCuts(), SureOfBright(), k=2).read(frames, ["v0_0_.jpg", "v1_0_.jpg"])
    assert [r.text for r in readings] == ["abcd1234"] * 2
    # both kept the bright cut: 0.83 per symbol (0.23 for the ID) against 0.53 (0.007)
    assert readings[0].confidence == pytest.approx(readings[1].confidence) and readings[0].confidence > 0.1
    assert readings[1].box == [100, 0, 140, 20]       # the level cut's box
    x0, y0, x1, y1 = readings[0].box                  # the levelled cut's box, turned back
    assert x0 == 0 and 40 < x1 <= 42 and y1 <= 22
