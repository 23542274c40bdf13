"""The synthetic frame generator follows the challenge's facts and the shared output contract."""
import collections
import json
import re
import string
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from synth import degrade
from synth.fonts import FontMissingError, resolve_fonts
from synth.frames import SynthConfig, generate
from synth.ids import ID_ALPHABET, sample_frame_numbers, sample_id, sample_video_name
from synth.watermark import blend_watermark, place_watermark, sample_style

REPO = Path(__file__).resolve().parents[1]
REAL_VAL_LABELS = REPO.parent / "shared" / "challenge" / "val_labels.txt"
# Three rows of the real val_labels.txt, byte for byte (the file has LF endings, no BOM).
REAL_ROWS = ("v0200fg10000cb9on3jc77uea7ubaeeg_9_.jpg\tbQjYK74e37l\n"
             "v0300fg10000cba0pibc77ufpkrl18f0_2_.jpg\t0XQe082Kt5Zt\n"
             "v0d00fg10000cb9kq6rc77uc5r0s70r0_4_.jpg\tKTqhgyxIGC\n")
LABEL_ROW = re.compile(r"^(v0[0-9a-z]{4}g10000[0-9a-v]{20})_(\d)_\.jpg\t([0-9A-Za-z]{8,15})$")
SMALL = SynthConfig(frames_min=3, frames_max=5, portrait_fraction=0.5)


def _rows(path: Path):
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") and "\r" not in text and not text.startswith("\ufeff")
    return [LABEL_ROW.match(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "data"
    summary = generate(out, videos=8, seed=3, test_videos=3, config=SMALL, progress=False)
    return out, summary


def test_ids_are_uniform_over_62_symbols_and_lengths_8_to_15():
    rng = np.random.default_rng(0)
    ids = [sample_id(rng) for _ in range(4000)]
    lengths = collections.Counter(len(i) for i in ids)
    assert set(lengths) == set(range(8, 16))
    assert all(abs(n - 500) < 5 * np.sqrt(500) for n in lengths.values()), lengths
    symbols = collections.Counter("".join(ids))
    assert set(symbols) == set(string.ascii_letters + string.digits) == set(ID_ALPHABET)
    expected = sum(symbols.values()) / 62
    assert all(abs(n - expected) < 5 * np.sqrt(expected) for n in symbols.values())


def test_video_names_and_frame_numbers_look_like_the_challenges():
    rng = np.random.default_rng(1)
    for row in REAL_ROWS.splitlines():
        assert LABEL_ROW.match(row)
    names = [sample_video_name(rng) for _ in range(200)]
    assert all(re.fullmatch(r"v0[23d]00fg10000cb[9a][0-9a-v]{4}c77u[0-9a-v]{8}[0g]", n) for n in names)
    assert len(set(names)) == 200
    frames = sample_frame_numbers(rng, 4)
    assert frames == sorted(set(frames)) and all(0 <= f <= 9 for f in frames)


def test_label_files_have_the_challenge_format(dataset):
    out, _ = dataset
    for split in ("train", "test"):
        rows = _rows(out / f"{split}_labels.txt")
        assert rows and all(rows), f"{split}_labels.txt has a row unlike val_labels.txt"
        assert sorted(m.group(0).split("\t")[0] for m in rows) == sorted(p.name for p in (out / split).iterdir())
    if REAL_VAL_LABELS.is_file():  # the same pattern accepts every real row
        assert all(_rows(REAL_VAL_LABELS))


def test_train_and_test_hold_different_videos_of_3_to_5_frames(dataset):
    out, summary = dataset
    videos = {}
    for split in ("train", "test"):
        for m in _rows(out / f"{split}_labels.txt"):
            videos.setdefault(split, collections.Counter())[m.group(1)] += 1
    assert not set(videos["train"]) & set(videos["test"])
    assert len(videos["train"]) == 5 and len(videos["test"]) == 3 == summary["test_videos"]
    assert all(3 <= n <= 5 for split in videos.values() for n in split.values())


def test_every_frame_has_its_own_id_by_default(dataset):
    out, _ = dataset
    per_video = collections.defaultdict(list)
    for m in _rows(out / "train_labels.txt") + _rows(out / "test_labels.txt"):
        per_video[m.group(1)].append(m.group(3))
    assert all(len(set(ids)) == len(ids) for ids in per_video.values())


def test_video_mode_keeps_one_id_per_video(tmp_path):
    config = SynthConfig(frames_min=3, frames_max=4, id_mode="video")
    generate(tmp_path, videos=3, seed=0, test_videos=1, config=config, progress=False)
    per_video = collections.defaultdict(set)
    for split in ("train", "test"):
        for m in _rows(tmp_path / f"{split}_labels.txt"):
            per_video[m.group(1)].add(m.group(3))
    assert len(per_video) == 3 and all(len(ids) == 1 for ids in per_video.values())


def test_a_split_without_videos_gets_no_folder_nor_label_file(tmp_path):
    """--test-videos 0 (extra training frames): an empty test_labels.txt would stop every
    reader of the folder (tools/localize.py refuses a label file without rows)."""
    generate(tmp_path, videos=2, seed=0, test_videos=0, config=SMALL, progress=False)
    assert not (tmp_path / "test").exists() and not (tmp_path / "test_labels.txt").exists()
    assert len((tmp_path / "train_labels.txt").read_text().splitlines()) == len(list((tmp_path / "train").iterdir()))


def test_test_frames_are_1_over_1_7_of_train_frames(dataset):
    out, summary = dataset
    sizes = {split: {cv2.imread(str(p)).shape[1::-1] for p in (out / split).iterdir()}
             for split in ("train", "test")}
    assert sizes["train"] == {(360, 640), (640, 360)}  # both orientations present
    for w, h in sizes["test"]:
        train = (640, 360) if w > h else (360, 640)
        assert (w, h) == degrade.test_size(*train)
        assert abs(w / train[0] - 1 / 1.7) < 0.005 and abs(h / train[1] - 1 / 1.7) < 0.005
    assert summary["test_size"] == [212, 376]


def test_boxes_lie_inside_their_frames(dataset):
    out, _ = dataset
    boxes = json.loads((out / "boxes.json").read_text())
    for split in ("train", "test"):
        assert set(boxes[split]) == {p.name for p in (out / split).iterdir()}
        for name, entry in boxes[split].items():
            w, h = entry["frame_size"]
            assert cv2.imread(str(out / split / name)).shape[1::-1] == (w, h)
            x0, y0, x1, y1 = entry["box"]
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h, (name, entry)
            ix0, iy0, ix1, iy1 = entry["id_box"]
            assert x0 < ix0 < ix1 <= x1 and y0 <= iy0 < iy1 <= y1, (name, entry)  # ID after the prefix


def _white_share(image, box):
    x0, y0, x1, y1 = box
    return float((image[y0:y1, x0:x1].min(axis=2) >= 190).mean())


def test_watermark_pixels_are_where_the_boxes_say(dataset):
    out, _ = dataset
    boxes = json.loads((out / "boxes.json").read_text())["train"]
    inside, mirrored = [], []
    for name, entry in boxes.items():
        image = cv2.imread(str(out / "train" / name))
        h = image.shape[0]
        x0, y0, x1, y1 = entry["id_box"]
        inside.append(_white_share(image, entry["id_box"]))
        mirrored.append(_white_share(image, [x0, h - y1, x1, h - y0]))  # same box, other edge
    assert np.mean([s > 0 for s in inside]) >= 0.9
    assert np.mean(inside) > 3 * np.mean(mirrored) + 0.02


def test_blended_mark_is_white_with_a_dark_edge_and_touches_nothing_else():
    fonts = resolve_fonts()
    rng = np.random.default_rng(0)
    for _ in range(10):
        frame = np.full((640, 360, 3), 128, np.uint8)
        style = sample_style(rng, 360, 640, fonts)
        placement = place_watermark(360, 640, "Il0OAbcdXYZ89", style, rng)
        blend_watermark(frame, placement)
        x0, y0, x1, y1 = placement.box
        region = frame[y0:y1, x0:x1]
        assert region.min(axis=2).max() >= 215          # near-white ink (fill alpha >= 0.78)
        assert region.max(axis=2).min() < 110           # darker edge than the grey
        h = 640
        untouched = frame[y1 + 40:] if y0 < h / 2 else frame[:y0 - 40]
        assert (untouched == 128).all()


def test_same_seed_gives_identical_bytes_whatever_the_workers(tmp_path):
    runs = {}
    for name, seed, workers in (("a", 7, 1), ("b", 7, 2), ("c", 8, 1)):
        generate(tmp_path / name, videos=3, seed=seed, test_videos=1,
                 config=SMALL, workers=workers, progress=False)
        runs[name] = {p.relative_to(tmp_path / name): p.read_bytes()
                      for p in sorted((tmp_path / name).rglob("*")) if p.is_file()}
    assert runs["a"] == runs["b"]
    assert runs["a"] != runs["c"]
    assert set(runs["a"]) != set(runs["c"])  # other video names, not only other pixels


def test_missing_font_names_file_and_debian_package(tmp_path):
    with pytest.raises(FontMissingError, match=r"LiberationSans-Regular\.ttf.*fonts-liberation"):
        resolve_fonts(font_root=tmp_path)
    (tmp_path / "liberation").mkdir()
    for name in ("LiberationSans-Regular.ttf",):
        (tmp_path / "liberation" / name).write_bytes(b"")
    with pytest.raises(FontMissingError, match=r"wqy-microhei\.ttc.*fonts-wqy-microhei"):
        resolve_fonts(["liberation-sans"], font_root=tmp_path)
    out = tmp_path / "out"
    with pytest.raises(FontMissingError):
        generate(out, videos=1, seed=0, config=SynthConfig(font_root=str(tmp_path / "none")),
                 progress=False)
    assert not out.exists()  # failed before writing anything


def test_existing_output_is_not_overwritten_by_accident(dataset):
    out, _ = dataset
    before = (out / "train_labels.txt").read_bytes()
    with pytest.raises(FileExistsError, match="overwrite"):
        generate(out, videos=1, seed=0, config=SMALL, progress=False)
    assert (out / "train_labels.txt").read_bytes() == before


def test_cli_documents_every_option_and_runs(tmp_path):
    script = REPO / "tools" / "synth_frames.py"
    help_text = subprocess.run([sys.executable, str(script), "--help"], capture_output=True,
                               text=True, check=True).stdout
    options = re.findall(r"^\s+(--[a-z-]+)", help_text, re.M)
    assert {"--out", "--videos", "--seed", "--test-videos", "--id-mode", "--workers",
            "--train-size", "--test-scale", "--fonts", "--font-root"} <= set(options)
    for option in options:  # every option line is followed by a description
        assert re.search(rf"^\s+{option}\b.*\n?(.*\S.*)", help_text, re.M)
    result = subprocess.run([sys.executable, str(script), "--out", str(tmp_path / "cli"),
                             "--videos", "2", "--test-videos", "1", "--frames-max", "3"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["train_videos"] == 1 and summary["test_videos"] == 1
    missing = subprocess.run([sys.executable, str(script), "--out", str(tmp_path / "x"),
                              "--font-root", str(tmp_path)], capture_output=True, text=True)
    assert missing.returncode != 0 and "fonts-liberation" in missing.stderr


def test_frames_of_a_video_share_a_moving_background(dataset):
    out, _ = dataset
    frames = collections.defaultdict(list)
    for path in sorted((out / "train").iterdir()):
        image = cv2.imread(str(path)).astype(np.float32)
        if image.shape[0] > image.shape[1]:  # compare portrait frames, middle band only
            frames[path.name.split("_")[0]].append(image[200:440])
    videos = [v for v in frames.values() if len(v) >= 2]
    assert len(videos) >= 2
    within = [np.abs(v[0] - v[1]).mean() for v in videos]
    across = [np.abs(a[0] - b[0]).mean() for a, b in zip(videos, videos[1:])]
    assert all(w > 0.5 for w in within)          # the camera or the light moved
    assert max(within) < min(across)             # but it is still the same scene
    assert all(v[0].std() > 5 for v in videos)   # and not a flat colour


def test_user_photos_become_backgrounds(tmp_path):
    from synth.backgrounds import list_photos
    photo_dir = tmp_path / "photos"
    photo_dir.mkdir()
    red = np.zeros((300, 400, 3), np.uint8)
    red[..., 2] = 220
    cv2.imwrite(str(photo_dir / "red.png"), red)
    config = SynthConfig(photos=tuple(list_photos(photo_dir)), photo_prob=1.0,
                         bundled_photos=False, frames_min=3, frames_max=3)
    generate(tmp_path / "out", videos=4, seed=0, test_videos=1, config=config, progress=False)
    means = np.mean([cv2.imread(str(p)).reshape(-1, 3).mean(0)
                     for p in (tmp_path / "out" / "train").iterdir()], axis=0)
    assert means[2] > 1.5 * max(means[0], means[1])  # BGR: red dominates
    with pytest.raises(FileNotFoundError, match="no-such-folder"):
        list_photos(tmp_path / "no-such-folder")


def test_captions_never_cover_the_watermark():
    from synth.overlays import draw_caption, sample_caption_style
    fonts = resolve_fonts()
    rng = np.random.default_rng(4)
    for _ in range(40):
        style = sample_caption_style(rng, 360, 640, fonts)
        style.show_prob = 1.0
        frame = np.full((640, 360, 3), 90, np.uint8)
        y = int(640 * style.y_fraction)
        mark = [20, y - 5, 200, y + 5]  # a watermark right where the caption would go
        assert draw_caption(frame, style, rng, avoid=mark) is None
        assert (frame == 90).all()
    box = draw_caption(frame, style, rng, avoid=[0, 0, 5, 5])
    assert box is not None and (frame != 90).any()


@pytest.mark.parametrize("domain", ["wild", "wild_heldout"])
def test_wild_frames_come_in_every_size_with_their_boxes_inside(tmp_path, domain):
    """Issue #17: short sides 144-1080 px at the domain's aspect ratios; the mark's box
    is scaled with a frame rendered large and resampled down."""
    from synth.frames import WILD_ASPECTS, WILD_SHORT_SIDE

    generate(tmp_path, videos=10, seed=5, test_videos=5, progress=False,
             config=SynthConfig(domain=domain, frames_min=1, frames_max=2, caption_prob=0.0))
    boxes = json.loads((tmp_path / "boxes.json").read_text())
    aspects = {round(a / b, 2) for a, b in WILD_ASPECTS[domain]}
    sizes = set()
    for split, frames in boxes.items():
        for name, entry in frames.items():
            w, h = entry["frame_size"]
            assert cv2.imread(str(tmp_path / split / name)).shape[:2] == (h, w)
            assert WILD_SHORT_SIDE[0] - 1 <= min(w, h) <= WILD_SHORT_SIDE[1] + 1
            assert min(abs(w / h - a) for a in aspects) < 0.02
            x0, y0, x1, y1 = entry["box"]
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            sizes.add((w, h))
    assert len(sizes) >= 5                      # one size per video, not one for all


def test_wild_bases_are_split_between_training_and_the_benchmark():
    from synth.textures import WILD_TEXTURES, scene_bases

    train, bench = set(scene_bases("wild")), set(scene_bases("wild_heldout"))
    assert not train & bench and {"foliage", "text"} <= train and {"gravel", "ui"} <= bench
    from synth.backgrounds import BASES

    rng = np.random.default_rng(0)
    edges = lambda image: float(np.abs(np.diff(image.mean(axis=2), axis=1)).mean())
    smooth = max(edges(BASES[name](rng, 240, 320)) for name in ("linear", "radial"))
    for name, texture in WILD_TEXTURES.items():
        image = texture(rng, 240, 320)
        assert image.shape == (240, 320, 3) and image.dtype == np.float32, name
        assert edges(image) > 5 * smooth, (name, edges(image), smooth)   # busy
    assert scene_bases("demo") is None


def test_video_faces_names_the_face_each_video_was_rendered_in(tmp_path, monkeypatch):
    """The benchmark's per-face table replays a folder's synth_config.json instead of
    storing faces: the replay must name the face the renderer actually drew."""
    import synth.frames as frames

    drawn = []
    real_sample_style = frames.sample_style

    def recording(*args, **kwargs):
        style = real_sample_style(*args, **kwargs)
        drawn.append(Path(style.latin_path).stem)
        return style

    monkeypatch.setattr(frames, "sample_style", recording)
    generate(tmp_path, videos=12, seed=9, test_videos=4, config=SMALL, progress=False)
    monkeypatch.setattr(frames, "sample_style", real_sample_style)
    names = sorted({line.split("_")[0] for split in ("train", "test")
                    for line in (tmp_path / f"{split}_labels.txt").read_text().splitlines()})
    faces = frames.video_faces(tmp_path)
    assert sorted(faces) == names
    assert sorted(faces.values()) == sorted(drawn) and len(set(drawn)) > 2
    test_videos = {line.split("_")[0] for line in (tmp_path / "test_labels.txt").read_text().splitlines()}
    assert frames.video_faces(tmp_path, "test") == {v: faces[v] for v in test_videos}


def test_video_faces_refuses_folders_it_cannot_replay(tmp_path):
    from common.errors import UserError
    from synth.frames import video_faces

    with pytest.raises(UserError, match="synth_config.json: missing"):
        video_faces(tmp_path)
    (tmp_path / "synth_config.json").write_text(json.dumps(
        {"videos": 2, "seed": 0, "test_videos": 0, "config": {"photos": 3}}))
    with pytest.raises(UserError, match="3 photos"):
        video_faces(tmp_path)


def test_flat_scenes_replay_the_same_frames_on_one_grey(dataset, tmp_path):
    """--flat-scenes keeps every ID, box and compression of the seed's frames and swaps
    only the scene for one grey per frame (what bench-flat compares the reader on)."""
    out, _ = dataset
    flat = tmp_path / "flat"
    generate(flat, videos=8, seed=3, test_videos=3, progress=False,
             config=SynthConfig(frames_min=3, frames_max=5, portrait_fraction=0.5, flat_scenes=True))
    for split in ("train", "test"):
        assert (flat / f"{split}_labels.txt").read_text() == (out / f"{split}_labels.txt").read_text()
    assert json.loads((flat / "boxes.json").read_text()) == json.loads((out / "boxes.json").read_text())
    boxes = json.loads((flat / "boxes.json").read_text())["test"]
    spreads = []
    for name, entry in boxes.items():
        image = cv2.imread(str(flat / "test" / name)).astype(int)
        original = cv2.imread(str(out / "test" / name)).astype(int)
        x0, y0, x1, y1 = entry["box"]
        far = np.ones(image.shape[:2], bool)
        far[max(0, y0 - 20):y1 + 20] = False      # rows of the mark and its JPEG ringing
        background, scene = image[far], original[far]
        if (np.abs(background - np.median(background)) > 12).mean() > 0.02:
            continue                               # a caption sits in this frame
        spreads.append(np.abs(scene - np.median(scene)).mean() - np.abs(background - np.median(background)).mean())
    assert spreads and min(spreads) > 0      # every caption-free flat frame is flatter than its scene
    assert np.mean(spreads) > 5
