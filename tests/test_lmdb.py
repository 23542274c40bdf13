"""LMDB creation: engine layout, split by video, every bad-input case, atomic output."""
import logging
import os
import subprocess
import sys
from pathlib import Path

import cv2
import lmdb
import numpy as np
import pytest

from common import lmdb_io
from common.labels import (LabelFileError, load_dictionary, read_label_file,
                              validate_label, write_label_file)
from common.lmdb_io import (LmdbError, create_lmdb, lmdb_names, read_lmdb, replacing_dirs,
                                   write_lmdb)
from common.split import split_by_video, video_id

ROOT = Path(__file__).resolve().parents[1]
DICT = ROOT / "common" / "dicts" / "id62.txt"
CHARSET = load_dictionary(DICT)


def encoded(shade: int, ext: str = ".jpg", size=(24, 80)) -> bytes:
    image = np.full((*size, 3), shade, np.uint8)
    cv2.putText(image, "Ab1", (2, size[0] - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255))
    ok, buffer = cv2.imencode(ext, image)
    assert ok
    return buffer.tobytes()


def make_dataset(root: Path, videos: int = 4, frames: int = 3) -> tuple[Path, Path]:
    """`<video>_<frame>_.jpg` images plus their label file; label = a unique valid ID."""
    images = root / "images"
    images.mkdir(parents=True)
    rows = []
    for v in range(videos):
        for f in range(frames):
            name = f"v{v:03d}x_{f}_.jpg"
            (images / name).write_bytes(encoded(20 * v + f))
            rows.append(f"{name}\tId{v}F{f}")
    labels = root / "labels.txt"
    labels.write_text("\n".join(rows) + "\n")
    return images, labels


def hidden_leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob(".*") if p.name != lmdb_io.MARKER]


# ------------------------------------------------------------------ writer / reader

def test_round_trip_keeps_bytes_and_labels_with_one_based_keys(tmp_path):
    samples = [("a.jpg", encoded(10), "AbC123"), ("b.png", encoded(90, ".png"), "zZ09"),
               ("c.jpg", encoded(200), "lI1O0")]
    out = tmp_path / "db"
    assert write_lmdb(out, samples) == 3
    assert read_lmdb(out) == [(image, label) for _, image, label in samples]
    env = lmdb.open(str(out), readonly=True, lock=False)
    with env.begin() as txn:
        assert txn.get(b"num-samples") == b"3"
        assert txn.get(b"image-000000000") is None
        assert txn.get(b"image-000000001") == samples[0][1]
        assert txn.get(b"label-000000003") == b"lI1O0"
    env.close()
    assert hidden_leftovers(tmp_path) == []


def test_source_names_travel_with_the_crops_but_foreign_lmdbs_have_none(tmp_path):
    samples = [("v1_0_.jpg", encoded(10), "AbC123"), ("v1_1_.jpg", encoded(90), "zZ09")]
    write_lmdb(tmp_path / "ours", samples)
    assert lmdb_names(tmp_path / "ours") == ["v1_0_.jpg", "v1_1_.jpg"]
    env = lmdb.open(str(tmp_path / "foreign"), map_size=1 << 20)
    with env.begin(write=True) as txn:   # the engine's own layout: no name- keys
        txn.put(b"num-samples", b"1")
        txn.put(b"image-000000001", encoded(10))
        txn.put(b"label-000000001", b"AB")
    env.close()
    assert lmdb_names(tmp_path / "foreign") is None


def test_map_grows_instead_of_failing_on_large_data(tmp_path, monkeypatch):
    monkeypatch.setattr(lmdb_io, "_INITIAL_MAP_SIZE", 32 << 10)
    monkeypatch.setattr(lmdb_io, "_CHUNK_SAMPLES", 7)
    rng = np.random.default_rng(0)
    samples = [(f"{i}.bin", rng.bytes(20_000), f"L{i}") for i in range(30)]
    assert write_lmdb(tmp_path / "db", samples) == 30
    assert read_lmdb(tmp_path / "db") == [(image, label) for _, image, label in samples]


@pytest.mark.parametrize("image, label, message", [
    (b"", "AB", "zero bytes"),
    ("not-bytes", "AB", "encoded bytes"),
    (b"\xff\xd8", "", "empty label"),
    (b"\xff\xd8", "A-B", "outside the dictionary"),
])
def test_write_lmdb_rejects_bad_samples_naming_them(tmp_path, image, label, message):
    samples = [("good.jpg", encoded(1), "OK"), ("crop_7.jpg", image, label)]
    with pytest.raises(LmdbError, match=message) as error:
        write_lmdb(tmp_path / "db", samples, charset=CHARSET)
    assert "'crop_7.jpg'" in str(error.value) and "sample 2" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_write_lmdb_refuses_an_empty_sample_stream(tmp_path):
    with pytest.raises(LmdbError, match="no samples"):
        write_lmdb(tmp_path / "db", [])
    assert list(tmp_path.iterdir()) == []


def test_read_lmdb_names_a_folder_that_is_not_an_lmdb(tmp_path):
    with pytest.raises(LmdbError, match=str(tmp_path)):
        read_lmdb(tmp_path)


# ------------------------------------------------------------------ atomic output

def test_failure_mid_write_keeps_previous_output_and_leaves_no_temp(tmp_path):
    out = tmp_path / "db"
    previous = [("a.jpg", encoded(5), "Old1"), ("b.jpg", encoded(6), "Old2")]
    write_lmdb(out, previous)

    def failing_samples():
        yield "x.jpg", encoded(7), "New1"
        yield "y.jpg", encoded(8), "New2"
        raise OSError("disk went away")

    with pytest.raises(OSError, match="disk went away"):
        write_lmdb(out, failing_samples())
    assert read_lmdb(out) == [(image, label) for _, image, label in previous]
    assert hidden_leftovers(tmp_path) == []


def test_failed_write_removes_the_folders_it_created(tmp_path):
    with pytest.raises(LmdbError):
        write_lmdb(tmp_path / "new" / "deeper" / "db", [("a.jpg", b"", "A")])
    assert list(tmp_path.iterdir()) == []


def test_failed_swap_rolls_back_every_target(tmp_path, monkeypatch):
    images, labels = make_dataset(tmp_path)
    out = tmp_path / "out"
    create_lmdb(images, labels, out, val_fraction=0.5)
    before = {side: read_lmdb(out / side) for side in ("train", "val")}
    real_rename = os.rename

    def rename_failing_on_val_publish(src, dst):
        if Path(dst) == out / "val" and ".tmp-" in Path(src).name:
            raise OSError("rename failed")
        return real_rename(src, dst)

    monkeypatch.setattr(lmdb_io.os, "rename", rename_failing_on_val_publish)
    with pytest.raises(OSError, match="rename failed"):
        create_lmdb(images, labels, out, val_fraction=0.5, seed=1)
    assert {side: read_lmdb(out / side) for side in ("train", "val")} == before
    assert hidden_leftovers(out) == []


def test_train_and_val_are_published_together(tmp_path, monkeypatch):
    images, labels = make_dataset(tmp_path)
    out = tmp_path / "out"
    create_lmdb(images, labels, out, val_fraction=0.5)
    old_train = read_lmdb(out / "train")
    real_fill, calls = lmdb_io.fill_lmdb, []

    def fill_failing_on_val(path, samples, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("val failed")
        return real_fill(path, samples, **kwargs)

    monkeypatch.setattr(lmdb_io, "fill_lmdb", fill_failing_on_val)
    with pytest.raises(OSError, match="val failed"):
        create_lmdb(images, labels, out, val_fraction=0.5, seed=7)
    assert read_lmdb(out / "train") == old_train   # train complete, but not published alone
    assert hidden_leftovers(out) == []


def test_refuses_to_replace_a_folder_that_is_not_an_lmdb(tmp_path):
    images, labels = make_dataset(tmp_path / "data")
    train_images = images.rename(tmp_path / "data" / "train")   # the generator's layout
    before = sorted(p.name for p in train_images.iterdir())
    with pytest.raises(LmdbError, match="not written by this toolkit"):
        create_lmdb(train_images, labels, train_images, val_fraction=0)
    with pytest.raises(LmdbError, match="not written by this toolkit"):            # OUT/train = the images
        create_lmdb(train_images, labels, tmp_path / "data", val_fraction=0.5)
    assert sorted(p.name for p in train_images.iterdir()) == before
    assert hidden_leftovers(tmp_path) == []


def test_replacing_dirs_swaps_in_a_new_version(tmp_path):
    write_lmdb(tmp_path / "db", [("a", encoded(1), "One")])
    with replacing_dirs([tmp_path / "db"]) as (staging,):
        lmdb_io.fill_lmdb(staging, [("b", encoded(2), "Two")])
    assert [label for _, label in read_lmdb(tmp_path / "db")] == ["Two"]
    assert hidden_leftovers(tmp_path) == []


# ------------------------------------------------------------------ split

def test_video_id_strips_the_frame_suffix_only():
    assert video_id("v0200fg10000cb9on3jc77uea7ubaeeg_9_.jpg") == "v0200fg10000cb9on3jc77uea7ubaeeg"
    assert video_id("clip_a_12_.png") == "clip_a"
    assert video_id("sub/dir/v1_3_.jpg") == "sub/dir/v1"
    assert video_id("IMG_0001.jpg") == "IMG_0001"
    assert video_id("frame.jpg") == "frame"


def test_split_never_puts_a_video_on_both_sides_and_is_deterministic():
    names = [f"vid{v}_{f}_.jpg" for v in range(200) for f in range(v % 5 + 3)]
    train, val = split_by_video(names, 0.1, seed=3)
    assert sorted(train + val) == sorted(names)
    video = lambda name: name.split("_")[0]   # noqa: E731  (ground truth, not video_id)
    assert not {video(n) for n in train} & {video(n) for n in val}
    assert 10 <= len({video(n) for n in val}) <= 30
    assert split_by_video(list(reversed(names)), 0.1, seed=3) == \
        (list(reversed(train)), list(reversed(val)))
    assert split_by_video(names, 0.1, seed=4) != (train, val)
    assert train == [n for n in names if n in set(train)]   # input order kept


def test_split_is_stable_when_videos_are_added():
    names = [f"vid{v}_{f}_.jpg" for v in range(100) for f in range(3)]
    _, val = split_by_video(names, 0.2, seed=0)
    more = names + [f"new{v}_{f}_.jpg" for v in range(50) for f in range(3)]
    _, val_more = split_by_video(more, 0.2, seed=0)
    assert set(val) == {n for n in val_more if n.startswith("vid")}


def test_split_keeps_both_sides_non_empty_and_rejects_a_single_video():
    train, val = split_by_video(["a_1_.jpg", "a_2_.jpg", "b_1_.jpg"], 0.01)
    assert train and val
    train, val = split_by_video(["a_1_.jpg", "b_1_.jpg"], 0.99)
    assert train and val
    with pytest.raises(ValueError, match="1 video"):
        split_by_video(["a_1_.jpg", "a_2_.jpg"], 0.1)
    assert split_by_video(["a_1_.jpg", "a_2_.jpg"], 0) == (["a_1_.jpg", "a_2_.jpg"], [])
    with pytest.raises(ValueError, match="val_fraction"):
        split_by_video(["a_1_.jpg", "b_1_.jpg"], 1.0)


def test_create_lmdb_splits_by_video_and_stores_original_bytes(tmp_path):
    images, labels = make_dataset(tmp_path, videos=6, frames=3)
    summary = create_lmdb(images, labels, tmp_path / "out", val_fraction=0.3, seed=0)
    rows = dict(line.split("\t") for line in labels.read_text().splitlines())
    video_of_label = {label: name.split("_")[0] for name, label in rows.items()}
    sides = {side: read_lmdb(tmp_path / "out" / side) for side in ("train", "val")}
    assert {s: summary.written[s].samples for s in sides} == {s: len(v) for s, v in sides.items()}
    assert sum(len(v) for v in sides.values()) == 18
    train_videos = {video_of_label[label] for _, label in sides["train"]}
    val_videos = {video_of_label[label] for _, label in sides["val"]}
    assert train_videos and val_videos and not train_videos & val_videos
    name_of = {label: name for name, label in rows.items()}
    for image, label in sides["train"] + sides["val"]:
        assert image == (images / name_of[label]).read_bytes()
    assert summary.skipped == [] and "skipped: none" in str(summary)


def test_val_fraction_zero_writes_a_single_lmdb_at_out(tmp_path):
    images, labels = make_dataset(tmp_path)
    summary = create_lmdb(images, labels, tmp_path / "out", val_fraction=0)
    assert len(read_lmdb(tmp_path / "out")) == 12 and summary.written["all"].videos == 4


# ------------------------------------------------------------------ bad input

def _bad_case(kind: str, images: Path, outside: Path) -> tuple[str, str]:
    """Set up one bad row of the given kind; return (label-file line, expected reason)."""
    if kind == "corrupt image":
        (images / "corrupt_0_.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
        return "corrupt_0_.jpg\tAbc", "cannot be decoded"
    if kind == "zero-byte image":
        (images / "zero_0_.jpg").write_bytes(b"")
        return "zero_0_.jpg\tAbc", "zero bytes"
    if kind == "missing image":
        return "gone_0_.jpg\tAbc", "not found"
    if kind == "empty label":
        return "v000x_0_.jpg\t", "empty label"
    if kind == "character outside dictionary":
        return "v001x_0_.jpg\tAb-c", "outside the dictionary: '-'"
    if kind == "duplicate name":
        return "v000x_0_.jpg\tOther", "duplicate image name 'v000x_0_.jpg' (first on line 1)"
    if kind == "path escaping the folder":
        (outside / "x_0_.jpg").write_bytes(encoded(3))   # exists: refused, not just missing
        return "../x_0_.jpg\tAbc", "escapes the images folder"
    if kind == "absolute path":
        (outside / "abs_0_.jpg").write_bytes(encoded(3))
        return f"{outside / 'abs_0_.jpg'}\tAbc", "absolute path"
    if kind == "no tab":
        return "v002x_0_.jpg Abc", "found no tab"
    raise AssertionError(kind)


BAD_KINDS = ["corrupt image", "zero-byte image", "missing image", "empty label",
             "character outside dictionary", "duplicate name", "path escaping the folder",
             "absolute path", "no tab"]


def _dataset_with_bad_rows(tmp_path: Path, kinds: list[str]) -> tuple[Path, Path, dict]:
    images, labels = make_dataset(tmp_path / "data")
    good = labels.read_text().splitlines()
    bad = {kind: _bad_case(kind, images, tmp_path / "data") for kind in kinds}
    lines = good[:2] + [line for line, _ in bad.values()] + good[2:]
    labels.write_text("\n".join(lines) + "\n")
    expected = {3 + i: reason for i, (_, reason) in enumerate(bad.values())}
    return images, labels, expected


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_each_bad_row_is_named_by_file_and_line(tmp_path, kind):
    images, labels, expected = _dataset_with_bad_rows(tmp_path, [kind])
    out = tmp_path / "out"
    with pytest.raises(LabelFileError) as error:
        create_lmdb(images, labels, out, val_fraction=0.25)
    assert f"{labels}:3: " in str(error.value)
    assert expected[3] in str(error.value)
    assert ":1: " not in str(error.value) and ":4: " not in str(error.value)
    assert not out.exists()

    summary = create_lmdb(images, labels, out, val_fraction=0.25, skip_bad=True)
    assert [(p.line, p.file) for p in summary.skipped] == [(3, str(labels))]
    assert expected[3] in summary.skipped[0].reason and expected[3] in str(summary)
    assert sum(s.samples for s in summary.written.values()) == 12


def test_strict_mode_lists_all_problems_at_once_and_skip_bad_skips_exactly_them(tmp_path):
    images, labels, expected = _dataset_with_bad_rows(tmp_path, BAD_KINDS)
    out = tmp_path / "out"
    with pytest.raises(LabelFileError) as error:
        create_lmdb(images, labels, out)
    message = str(error.value)
    for line, reason in expected.items():
        assert f"{labels}:{line}: " in message and reason in message
    assert f"({len(BAD_KINDS)} problems)" in message
    assert not out.exists()

    summary = create_lmdb(images, labels, out, skip_bad=True)
    assert {p.line: p.reason for p in summary.skipped}.keys() == expected.keys()
    written = read_lmdb(out / "train") + read_lmdb(out / "val")
    good_labels = {f"Id{v}F{f}" for v in range(4) for f in range(3)}
    assert sorted(label for _, label in written) == sorted(good_labels)


def test_empty_images_folder_and_empty_label_file_are_named(tmp_path):
    images, labels = make_dataset(tmp_path)
    empty_dir = tmp_path / "no_images"
    empty_dir.mkdir()
    with pytest.raises(LabelFileError, match=f"{empty_dir}: images folder is empty"):
        create_lmdb(empty_dir, labels, tmp_path / "out")
    with pytest.raises(LabelFileError, match="does not exist"):
        create_lmdb(tmp_path / "nowhere", labels, tmp_path / "out")
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n")
    with pytest.raises(LabelFileError, match=f"{blank}: label file has no rows"):
        create_lmdb(images, blank, tmp_path / "out")
    with pytest.raises(LabelFileError, match="cannot read label file"):
        create_lmdb(images, tmp_path / "missing.txt", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_skip_bad_with_nothing_usable_is_an_error(tmp_path):
    images, _ = make_dataset(tmp_path)
    labels = tmp_path / "only_bad.txt"
    labels.write_text("gone_1_.jpg\tAbc\nv000x_0_.jpg\t\n")
    with pytest.raises(LabelFileError, match="no usable samples"):
        create_lmdb(images, labels, tmp_path / "out", skip_bad=True)
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ label helpers

def test_label_file_accepts_bom_crlf_and_sub_folders(tmp_path):
    path = tmp_path / "l.txt"
    path.write_bytes(b"\xef\xbb\xbfa_1_.jpg\tAb\r\nclip/b_2_.jpg\tc9\r\n\r\n")
    entries, problems = read_label_file(path, CHARSET)
    assert problems == []
    assert [(e.name, e.label, e.line) for e in entries] == [("a_1_.jpg", "Ab", 1),
                                                          ("clip/b_2_.jpg", "c9", 2)]


def test_label_file_reports_non_utf8_and_spelling_variants_of_one_file(tmp_path):
    path = tmp_path / "l.txt"
    path.write_bytes(b"a.jpg\tAb\n\xff\xfe.jpg\tAb\n./a.jpg\tCd\n")
    entries, problems = read_label_file(path, CHARSET)
    assert [e.line for e in entries] == [1]
    assert [(p.line, "UTF-8" in p.reason or "duplicate" in p.reason) for p in problems] == \
        [(2, True), (3, True)]


def test_validate_label_is_case_sensitive_over_the_dictionary():
    assert validate_label("AbZz09", CHARSET) == "AbZz09"
    for bad in ["", "ab c", "抖音号", "A_b"]:
        with pytest.raises(ValueError):
            validate_label(bad, CHARSET)
    with pytest.raises(ValueError, match="outside"):
        validate_label("a", "ABC")


def test_dictionary_problems_are_named_by_line(tmp_path):
    assert len(CHARSET) == 62 and CHARSET[:3] == ["0", "1", "2"]
    bad = tmp_path / "d.txt"
    bad.write_text("a\nbc\na\n\n")
    with pytest.raises(LabelFileError) as error:
        load_dictionary(bad)
    assert f"{bad}:2: " in str(error.value) and f"{bad}:3: " in str(error.value)
    assert f"{bad}:4: " in str(error.value)


def test_write_label_file_round_trips_and_refuses_bad_rows(tmp_path):
    path = tmp_path / "pseudo.txt"
    rows = [("v1_1_.jpg", "AbC"), ("sub/v2_1_.jpg", "x9")]
    assert write_label_file(path, rows, CHARSET) == 2
    entries, problems = read_label_file(path, CHARSET)
    assert [(e.name, e.label) for e in entries] == rows and problems == []
    with pytest.raises(LabelFileError) as error:
        write_label_file(path, [("ok.jpg", "A"), ("../up.jpg", "B"), ("ok.jpg", "C")], CHARSET)
    assert ":2: " in str(error.value) and ":3: " in str(error.value)
    assert read_label_file(path, CHARSET)[0] == entries          # old file untouched
    assert hidden_leftovers(tmp_path) == []


# ------------------------------------------------------------------ engine + CLI

def test_engine_lmdb_dataset_reads_what_we_wrote(tmp_path):
    from ppocr_ext.engine import load_engine
    load_engine()
    from tools.data.lmdb_dataset import LMDBDataSet

    images, labels = make_dataset(tmp_path, videos=2, frames=2)
    create_lmdb(images, labels, tmp_path / "out", val_fraction=0)
    config = {
        "Global": {},
        "Train": {
            "dataset": {"name": "LMDBDataSet", "data_dir": str(tmp_path / "out"),
                        "transforms": [
                            {"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
                            {"CTCLabelEncode": {"character_dict_path": str(DICT),
                                                "max_text_length": 25}},
                            {"SVTRResize": {"image_shape": [3, 32, 128]}},
                            {"KeepKeys": {"keep_keys": ["image", "label", "length"]}}]},
            "loader": {"batch_size_per_card": 1, "shuffle": False},
        },
    }
    dataset = LMDBDataSet(config, "Train", logging.getLogger("test"))
    assert len(dataset) == 4
    image, label, length = dataset[0]
    assert image.shape == (3, 32, 128) and image.dtype == np.float32
    first_label = labels.read_text().splitlines()[0].split("\t")[1]
    assert int(length) == len(first_label)
    assert "".join(CHARSET[i - 1] for i in label[:int(length)]) == first_label


def test_cli_prints_summary_and_exits_non_zero_naming_the_bad_line(tmp_path):
    images, labels = make_dataset(tmp_path)
    script = [sys.executable, str(ROOT / "tools" / "create_lmdb.py"), "--images", str(images),
              "--labels", str(labels), "--out", str(tmp_path / "out"), "--val-fraction", "0.5"]
    done = subprocess.run(script, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "wrote train:" in done.stdout and "wrote val:" in done.stdout
    labels.write_text(labels.read_text() + "v000x_0_.jpg\tdup\n")
    failed = subprocess.run(script, capture_output=True, text=True, cwd=ROOT)
    assert failed.returncode != 0
    assert f"{labels}:13: duplicate image name" in failed.stderr


def test_an_output_parent_with_other_datasets_is_never_deleted(tmp_path):
    """Issue #18 item 4: `--out PARENT --val-fraction 0` deleted two sibling datasets."""
    images, labels = make_dataset(tmp_path / "data")
    parent = tmp_path / "lmdb"
    create_lmdb(images, labels, parent / "mine", val_fraction=0)
    create_lmdb(images, labels, parent / "theirs", val_fraction=0)
    with pytest.raises(LmdbError, match="not written by this toolkit"):
        create_lmdb(images, labels, parent, val_fraction=0)
    assert read_lmdb(parent / "mine") and read_lmdb(parent / "theirs")
    create_lmdb(images, labels, parent / "mine", val_fraction=0)   # its own output: replaced


def test_a_killed_runs_staging_folders_are_removed_by_the_next_run(tmp_path):
    """Issue #18 item 5: hidden `.train.tmp-*` folders made training refuse the output."""
    images, labels = make_dataset(tmp_path / "data")
    out = tmp_path / "out"
    (out / ".train.tmp-deadbeef0000").mkdir(parents=True)
    (out / ".val.old-deadbeef0000").mkdir()
    create_lmdb(images, labels, out, val_fraction=0.5, seed=7)
    assert hidden_leftovers(out) == []
