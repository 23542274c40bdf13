"""The benchmark's own logic: training-curve parsing, timed stages, report rendering."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from localization.locator import Locator, Margins, WorkParams
from pipeline.bench import (bench_e2e_main, evaluate_set, glyph_report, peer_rows, to_markdown,
                            training_curve)
from pipeline.read_ids import IdReader
from test_read_ids import ScriptedRecognizer, frames  # noqa: F401  (fixture)

LOG = """[2026/11/23 10:00:00] openrec INFO: epoch: [1/6], global_step: 20, lr: 0.001, loss: 50.1
[2026/11/23 10:02:30] openrec INFO: cur metric, acc: 0.0, norm_edit_dis: 0.1, fps: 100
[2026/11/23 10:05:00] openrec INFO: epoch: [2/6], global_step: 600, lr: 0.001, loss: 12.3
[2026/11/23 10:06:00] openrec INFO: cur metric, acc: 0.4563, norm_edit_dis: 0.8, fps: 100
"""


def test_training_curve_reads_eval_lines_with_minutes_and_step(tmp_path):
    log = tmp_path / "train.log"
    log.write_text(LOG)
    assert training_curve(log) == [
        {"at": "2026-11-23T10:02:30", "minutes": 2.5, "step": 20, "val_acc": 0.0},
        {"at": "2026-11-23T10:06:00", "minutes": 6.0, "step": 600, "val_acc": 0.4563}]


def test_evaluate_set_times_every_stage_and_scores(frames, tmp_path):  # noqa: F811
    folder, labels, ids = frames
    reader = IdReader(Locator("direct", WorkParams(), Margins()), ScriptedRecognizer(ids), k=2)
    report, readings, timing = evaluate_set(reader, folder, labels, k=2)
    assert report["exact_match"] == 1.0 and report["truth_in_top2"] == 1.0
    assert timing["frames"] == 3
    assert set(timing) >= {"decode", "localise", "recognise", "beam_search", "frames_per_second"}
    results = {"command": "python tools/bench.py", "date": "d", "k": 2, "localiser": "direct",
               "recogniser": "scripted", "glyphs": [],
               "machine": {"cpu": "cpu", "cores": 2, "torch": "2.13.0", "torch_threads": 1},
               "sets": {"low": {"score": report, "timing": timing, "peak_memory_mb": 1.0}}}
    text = to_markdown(results)
    assert "Command: `python tools/bench.py`" in text
    assert "| low | 3 | 1.0000 |" in text


def test_more_passes_time_the_last_and_keep_the_first_rate(frames):  # noqa: F811
    folder, labels, ids = frames
    reader = IdReader(Locator("direct", WorkParams(), Margins()), ScriptedRecognizer(ids), k=2)
    calls = []
    read_folder = reader.read_folder
    reader.read_folder = lambda *a, **kw: calls.append(1) or read_folder(*a, **kw)
    report, _, timing = evaluate_set(reader, folder, labels, k=2, passes=3)
    assert len(calls) == 3 and report["exact_match"] == 1.0
    assert timing["passes"] == 3 and timing["first_pass_frames_per_second"] > 0
    results = {"command": "c", "date": "d", "k": 2, "localiser": "l", "recogniser": "r", "glyphs": [],
               "machine": {"cpu": "cpu", "cores": 2, "torch": "2.13.0", "torch_threads": 1},
               "sets": {"low": {"score": report, "timing": timing, "peak_memory_mb": 1.0}}}
    text = to_markdown(results)
    assert "Each set read 3 times" in text
    assert f"| {timing['frames_per_second']} ({timing['first_pass_frames_per_second']}) |" in text
    with pytest.raises(ValueError, match="passes must be >= 1"):
        evaluate_set(reader, folder, labels, k=2, passes=0)


def test_peer_figures_are_quoted_with_their_own_command():
    peers = {"command": "python tools/bench_peers.py --limit 300", "date": "d",
             "peers": {"rapidocr": {"version": "rapidocr 1.4.4", "results": {
                 "full frames": {"images": 300, "accuracy": 0.1633, "images_per_second": 2.37}}}}}
    rows = peer_rows(peers)
    assert rows["rows"] == [{"peer": "rapidocr", "version": "rapidocr 1.4.4",
                             "input": "full frames", "images": 300, "exact_match": 0.1633,
                             "images_per_second": 2.37}]
    results = {"command": "c", "date": "d", "k": 2, "localiser": "l", "recogniser": "r",
               "glyphs": [], "sets": {}, "peers": rows,
               "machine": {"cpu": "cpu", "cores": 2, "torch": "2.13.0", "torch_threads": 1}}
    text = to_markdown(results)
    assert "`python tools/bench_peers.py --limit 300`" in text
    assert "| rapidocr 1.4.4 | full frames | 300 | 0.1633 | 2.37 |" in text


def test_glyph_report_names_each_font():
    font = Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf")
    (row,) = glyph_report({"liberation-sans": font}, size_px=10)
    assert row["font"] == "liberation-sans"
    assert row["closest_pairs"][0][0] == "I/l"


def test_crop_tightness_measures_hits_width_ratios_and_reading_by_tightness(tmp_path):
    import json as _json

    from pipeline.box_reading import crop_tightness, split_boxes
    from pipeline.read_ids import FrameReading

    boxes = {"test": {f"f{i}.jpg": {"box": [10, 10, 110, 20], "id_box": [40, 10, 110, 20],
                                    "frame_size": [200, 100]} for i in range(4)}}
    path = tmp_path / "boxes.json"
    path.write_text(_json.dumps(boxes))
    crop = lambda name, box, text: FrameReading(name=name, text=text, confidence=1.0, box=box,
                                                side="top", alternatives=[(text, 1.0)])
    readings = [crop("f0.jpg", [8, 8, 112, 22], "ok"), crop("f1.jpg", [5, 5, 120, 25], "no"),
                crop("f2.jpg", [0, 0, 200, 30], "ok"), crop("f3.jpg", [50, 8, 112, 22], "ok")]
    report = crop_tightness(readings, split_boxes(path, "test"), {f"f{i}.jpg": "ok" for i in range(4)})
    assert report["n"] == 4 and report["hit"] == 0.75              # f3 cuts the ID
    assert report["within_1.3x"] == 0.75                          # f2 is 2x the line
    assert report["exact_tight"] == round(2 / 3, 4) and report["exact_loose"] == 1.0
    assert report["width_ratio_p50"] == pytest.approx(1.095, abs=0.01)


def _one_set_report(**breakdowns) -> str:
    """The markdown of a report with one set, `low`, carrying the given breakdown rows."""
    return to_markdown({"command": "c", "date": "d", "machine": {}, "localiser": "l",
                        "recogniser": "r", "k": 3, "glyphs": [],
                        "sets": {"low": {"score": {"n": 4, "exact_match": 0.5, "norm_edit_distance": 0.1,
                                                   "truth_in_top3": 0.75, "confusions": [],
                                                   "forgiven_cumulative": []},
                                         "timing": {"frames_per_second": 1, "localise": 1,
                                                    "recognise": 1, "beam_search": 1},
                                         "peak_memory_mb": 1, **breakdowns}}})


def test_exact_match_is_broken_down_by_glyph_pitch_and_tabled():
    from pipeline.breakdown import exact_by_pitch
    from pipeline.read_ids import FrameReading

    # 8-symbol IDs: ink widths 36, 44 and 90 px are 4.5, 5.5 and 11.25 px per glyph
    boxes = {"a.jpg": {"id_box": [0, 0, 36, 8]}, "b.jpg": {"id_box": [0, 0, 36, 8]},
             "c.jpg": {"id_box": [10, 0, 54, 8]}, "d.jpg": {"id_box": [0, 0, 90, 12]}}
    truth = {name: "abcdefgh" for name in boxes}
    read = lambda name, text, alts: FrameReading(name, text, 1.0, [0, 0, 1, 1], "top",
                                                 [(t, 0.1) for t in alts])
    readings = [read("a.jpg", "abcdefgh", ["abcdefgh"]), read("b.jpg", "abcdefgn", ["abcdefgn", "abcdefgh"]),
                read("c.jpg", "abcdefg", ["abcdefg"]), read("d.jpg", "abcdefgh", ["abcdefgh"]),
                read("unlabelled.jpg", "x", ["x"])]
    rows = exact_by_pitch(readings, boxes, truth)
    assert [(r["pitch_px"], r["n"], r["exact_match"], r["truth_in_alternatives"]) for r in rows] == [
        ([4.0, 5.0], 2, 0.5, 1.0), ([5.0, 6.0], 1, 0.0, 0.0), ([10.0, None], 1, 1.0, 1.0)]
    table = _one_set_report(by_pitch=rows)
    assert "| frames | 4-5 px | 5-6 px | >= 10 px |" in table
    assert "| low | 0.500 / 1.000 (2) | 0.000 / 0.000 (1) | 1.000 / 1.000 (1) |" in table


def test_exact_match_is_broken_down_by_the_grey_behind_the_id(tmp_path):
    from pipeline.breakdown import exact_by_grey
    from pipeline.read_ids import FrameReading

    truth, boxes = {}, {}
    for name, grey in (("dark.jpg", 40), ("mid.jpg", 130), ("light.jpg", 200), ("light2.jpg", 190)):
        frame = np.full((40, 80), 20, np.uint8)
        frame[10:20, 10:60] = grey                    # the scene behind the ID's box only
        cv2.imwrite(str(tmp_path / name), frame)
        truth[name], boxes[name] = "abcdefgh", {"id_box": [10, 10, 60, 20]}
    read = lambda name, text: FrameReading(name, text, 1.0, [0, 0, 1, 1], "top", [(text, 1.0)])
    readings = [read("dark.jpg", "abcdefgh"), read("mid.jpg", "abcdefgh"),
                read("light.jpg", "abcdefg"), read("light2.jpg", "abcdefgh"),
                read("missing.jpg", "abcdefgh")]
    truth["missing.jpg"] = "abcdefgh"                 # no box, no frame: left out
    rows = exact_by_grey(readings, tmp_path, boxes, truth)
    assert [(r["grey"], r["n"], r["exact_match"]) for r in rows] == [
        ([0.0, 50.0], 1, 1.0), ([125.0, 150.0], 1, 1.0), ([175.0, None], 2, 0.5)]
    table = _one_set_report(by_grey=rows)
    assert "| frames | < 50 | 125-150 | >= 175 |" in table
    assert "| low | 1.000 / 1.000 (1) | 1.000 / 1.000 (1) | 0.500 / 0.500 (2) |" in table


def test_bench_without_a_model_reads_with_the_released_ones(frames, tmp_path):  # noqa: F811
    folder, labels, ids = frames
    out = tmp_path / "bench"
    results = bench_e2e_main(["--set", f"few={folder}:{labels}", "--out", str(out), "--threads", "1"])
    assert results["recogniser"].startswith("released (models/svtr_tiny_synth/")
    assert results["sets"]["few"]["score"]["n"] == len(ids)
    assert f"recogniser `{results['recogniser']}`" in out.with_suffix(".md").read_text()


def test_exact_match_is_broken_down_by_face_with_its_il_swaps():
    from pipeline.breakdown import exact_by_face
    from pipeline.read_ids import FrameReading

    faces = {"va": "Sans", "vb": "Serif"}
    truth = {"va_1_.jpg": "IlabcdeI", "va_2_.jpg": "abcdefgh", "va_3_.jpg": "abcdefgl",
             "vb_1_.jpg": "abcdefgh", "vc_1_.jpg": "abcdefgh"}      # vc: no face known
    boxes = {name: {"id_box": [0, 0, 8 * pitch, 8]}
             for name, pitch in (("va_1_.jpg", 4), ("va_2_.jpg", 5), ("va_3_.jpg", 6), ("vb_1_.jpg", 9))}
    read = lambda name, text, alts=(): FrameReading(name, text, 1.0, [0, 0, 1, 1], "top",
                                                    [(t, 0.1) for t in (text, *alts)])
    readings = [read("va_1_.jpg", "llabcdeI", ["IlabcdeI"]),   # one I/l swap of 3 I/l symbols
                read("va_2_.jpg", "abcdefgn"),                  # another confusion
                read("va_3_.jpg", "abcdefgl"),
                read("vb_1_.jpg", "abcdefgh"), read("vc_1_.jpg", "x")]
    rows = exact_by_face(readings, faces, boxes, truth)
    pitch = lambda rows: [(r["pitch_px"], r["n"], r["exact_match"]) for r in rows]
    assert [{**r, "by_pitch": pitch(r["by_pitch"])} for r in rows] == [
        {"face": "Sans", "n": 3, "exact_match": round(1 / 3, 4),
         "truth_in_alternatives": round(2 / 3, 4), "exact_il_forgiven": round(2 / 3, 4),
         "il_symbols": 4, "il_swap_rate": 0.25,
         "by_pitch": [([4.0, 5.0], 1, 0.0), ([5.0, 6.0], 1, 0.0), ([6.0, 7.0], 1, 1.0)]},
        {"face": "Serif", "n": 1, "exact_match": 1.0, "truth_in_alternatives": 1.0,
         "exact_il_forgiven": 1.0, "il_symbols": 0, "il_swap_rate": None,
         "by_pitch": [([8.0, 10.0], 1, 1.0)]}]
    from pipeline.bench import to_markdown
    score = {"n": 4, "exact_match": 0.5, "norm_edit_distance": 0.1, "truth_in_top3": 0.75,
             "confusions": [], "forgiven_cumulative": []}
    table = to_markdown({"command": "c", "date": "d", "machine": {}, "localiser": "l", "recogniser": "r",
                         "k": 3, "glyphs": [], "sets": {"low": {
                             "score": score, "peak_memory_mb": 1, "by_face": rows,
                             "timing": {"frames_per_second": 1, "localise": 1, "recognise": 1,
                                        "beam_search": 1}}}})
    assert "| 4-5 px | 5-6 px | 6-7 px | 8-10 px |" in table
    assert "| low | Sans | 3 | 0.333 | 0.667 | 0.667 | 0.250 | 0.00 (1) | 0.00 (1) | 1.00 (1) | - |" in table
