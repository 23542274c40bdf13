"""Pseudo-labelling never touches its input, keeps only what passes both thresholds,
estimates precision on a labelled split, and feeds a retraining LMDB."""
import hashlib
import json

import pytest

from ppocr_ext.ctc import CtcReading, greedy_reading
from common.lmdb_io import read_lmdb, write_lmdb
from ppocr_ext.posteriors import load_torch_recognizer
from ppocr_ext.pseudo_label import (OverlapError, Thresholds, check_no_overlap, precision_at,
                                    pseudo_label, pseudo_label_main)
from rec_fixtures import WORDS, make_lmdb, one_torch_thread, render_crop  # noqa: F401 (autouse)
from tiny_model import make_tiny_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny"))


def snapshot(folder):
    """Every file under `folder` with its content hash."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def crops_folder(path, count=6):
    path.mkdir()
    for i in range(count):
        (path / f"vid{i // 3}_{i}_.png").write_bytes(render_crop(WORDS[i % 4], i))
    return path


def test_thresholds_need_both_sequence_and_character_confidence():
    rule = Thresholds(confidence=0.9, char_min=0.8, min_length=3)
    assert rule.keeps(CtcReading("abcd", 0.95, 0.85))
    assert not rule.keeps(CtcReading("abcd", 0.85, 0.99))   # sequence too unsure
    assert not rule.keeps(CtcReading("abcd", 0.99, 0.70))   # one glyph too unsure
    assert not rule.keeps(CtcReading("ab", 0.99, 0.99))     # too short
    assert not rule.keeps(CtcReading("", 1.0, 1.0))


def test_precision_is_measured_on_what_the_thresholds_keep():
    readings = [CtcReading("aaaa", 0.99, 0.9), CtcReading("bbbb", 0.95, 0.9),
                CtcReading("cccc", 0.5, 0.9), CtcReading("dddd", 0.99, 0.5)]
    row = precision_at(readings, ["aaaa", "xxxx", "cccc", "dddd"], Thresholds(0.9, 0.8))
    assert (row["kept"], row["correct"], row["precision"], row["coverage"]) == (2, 1, 0.5, 0.5)


@pytest.mark.parametrize("relation", ["same", "inside", "contains"])
def test_output_overlapping_an_input_is_refused(tmp_path, relation):
    source = tmp_path / "crops"
    source.mkdir()
    out = {"same": source, "inside": source / "pseudo", "contains": tmp_path}[relation]
    with pytest.raises(OverlapError, match=str(out)):
        check_no_overlap(out, [None, source])


def test_tool_refuses_to_write_into_its_input_and_leaves_it_unchanged(tiny, tmp_path):
    source = make_lmdb(tmp_path / "test_lmdb", 6)
    folder = crops_folder(tmp_path / "crops")
    before = snapshot(tmp_path)
    config, weights = tiny
    for crops, out in ((source, source), (source, source / "pseudo"), (folder, folder / "x"),
                       (folder, tmp_path)):
        with pytest.raises(SystemExit, match="(is the input|inside the input|contains the input)"):
            pseudo_label_main(["--model", str(config), str(weights), "--crops", str(crops),
                               "--out", str(out), "--confidence", "0", "--char-min", "0"])
    # --val and --merge-train are inputs too
    with pytest.raises(SystemExit, match="inside the input"):
        pseudo_label_main(["--model", str(config), str(weights), "--crops", str(folder),
                           "--val", str(source), "--out", str(source / "p")])
    assert snapshot(tmp_path) == before


def test_pseudo_labels_report_and_merged_training_set(tiny, tmp_path):
    recognizer = load_torch_recognizer(*tiny)
    folder = crops_folder(tmp_path / "crops")
    (folder / "broken_9_.png").write_bytes(b"not an image")
    readings = {p.name: greedy_reading(recognizer([p.read_bytes()])[0], recognizer.charset)
                for p in sorted(folder.glob("vid*"))}
    # keep the more confident half: cut between two readings (geometric mean: these
    # probabilities span decades), never at one, so batching's float noise cannot matter
    ranked = sorted(r.confidence for r in readings.values())
    cut = (ranked[len(ranked) // 2 - 1] * ranked[len(ranked) // 2]) ** 0.5
    expected = {name: r.text for name, r in readings.items() if r.confidence >= cut}
    assert 0 < len(expected) < len(readings)
    # a labelled validation set whose first crop is the most confident test crop,
    # labelled with what the model reads: it is kept and correct, the others are wrong
    best = max(readings, key=lambda name: readings[name].confidence)
    val_samples = [("v0", (folder / best).read_bytes(), readings[best].text)] + \
        [(f"v{i}", render_crop(WORDS[0], i), WORDS[1]) for i in range(1, 4)]
    write_lmdb(tmp_path / "val", val_samples)
    train = make_lmdb(tmp_path / "train", 3)
    before = snapshot(folder)

    report = pseudo_label(recognizer, folder, tmp_path / "out", Thresholds(cut, 0.0),
                          val=tmp_path / "val", merge_train=train)

    assert snapshot(folder) == before
    out = tmp_path / "out"
    assert report["read"] == 6 and report["skipped"] == 1 and report["kept"] == len(expected)
    pseudo = read_lmdb(out / "pseudo")
    assert sorted(label for _, label in pseudo) == sorted(expected.values())
    rows = dict(line.split("\t") for line in
                (out / "pseudo_labels.txt").read_text().splitlines())
    assert rows == expected
    merged = read_lmdb(out / "train_plus_pseudo")
    assert merged == read_lmdb(train) + pseudo
    estimate = report["validation"]["at_threshold"]
    kept_val = sum(greedy_reading(recognizer([s[1]])[0], recognizer.charset).confidence >= cut
                   for s in val_samples)
    assert estimate["kept"] == kept_val and estimate["total"] == 4
    assert estimate["correct"] == 1 and estimate["precision"] == 1 / kept_val
    saved = json.loads((out / "report.json").read_text())
    assert saved["kept"] == len(expected) and saved["thresholds"]["confidence"] == cut
    assert "Estimated precision" in (out / "report.md").read_text()
    assert (out / "predictions.csv").read_text().count("\n") == 7


def test_nothing_kept_writes_the_report_but_no_lmdb(tiny, tmp_path):
    folder = crops_folder(tmp_path / "crops", count=2)
    report = pseudo_label(load_torch_recognizer(*tiny), folder, tmp_path / "out",
                          Thresholds(confidence=1.01, char_min=0.0))
    assert report["kept"] == 0 and not (tmp_path / "out" / "pseudo").exists()
    assert "No validation set" in (tmp_path / "out" / "report.md").read_text()
