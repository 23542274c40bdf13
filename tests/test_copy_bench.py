"""The repost edits (common/copy_edits.py) and the copy-detection benchmark the generator
makes from them (synth/copies.py)."""
import hashlib

import numpy as np
import pytest

from common.copy_edits import EDITS, STRENGTHS, apply_chain, apply_edit, random_chain
from synth.copies import CopyBenchConfig, held_out_choices, make_copy_benchmark, read_csv


def frame(seed=0, h=200, w=120):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (h // 10, w // 10, 3), dtype=np.uint8)
    return np.repeat(np.repeat(image, 10, 0), 10, 1)


@pytest.mark.parametrize("name", sorted(EDITS))
@pytest.mark.parametrize("strength", STRENGTHS)
def test_every_edit_changes_the_frame_the_same_way_for_a_seed(name, strength):
    image = frame()
    a = apply_edit(image, name, strength, np.random.default_rng(3), mark_box=[10, 170, 80, 185])
    b = apply_edit(image, name, strength, np.random.default_rng(3), mark_box=[10, 170, 80, 185])
    assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3 and a.flags.c_contiguous
    assert np.array_equal(a, b)
    assert a.shape != image.shape or not np.array_equal(a, image)


def test_geometry_of_crop_resize_and_watermark_cut():
    image = frame()
    for strength, keep in zip(STRENGTHS, (0.8, 0.6, 0.4)):
        crop = apply_edit(image, "crop", strength, np.random.default_rng(strength))
        assert crop.shape[0] * crop.shape[1] == pytest.approx(keep * 200 * 120, rel=0.1)
    assert apply_edit(image, "resize", 2, np.random.default_rng(0)).shape[:2] == (100, 60)
    # the mark at the bottom: everything from its top row down is gone
    cut = apply_edit(image, "watermark cut", 1, np.random.default_rng(0), mark_box=[10, 150, 80, 165])
    assert cut.shape[0] <= 150 and np.array_equal(cut, image[:cut.shape[0]])
    top = apply_edit(image, "watermark cut", 1, np.random.default_rng(0), mark_box=[10, 5, 80, 30])
    assert np.array_equal(top, image[image.shape[0] - top.shape[0]:]) and top.shape[0] <= 170


def test_bad_edit_names_and_strengths_are_refused():
    with pytest.raises(KeyError, match="known: crop"):
        apply_edit(frame(), "sepia", 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="strength"):
        apply_edit(frame(), "crop", 4, np.random.default_rng(0))


def test_chains_hold_distinct_edits():
    rng = np.random.default_rng(0)
    for _ in range(20):
        chain = random_chain(rng, 3)
        assert 1 <= len(chain) <= 3 and len({n for n, _ in chain}) == len(chain)
        assert apply_chain(frame(), chain, rng).dtype == np.uint8


def _digest(folder):
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_benchmark_truth_points_at_references_and_is_reproducible(tmp_path):
    config = CopyBenchConfig(videos=8, distractor_videos=3, same_video_fraction=1.0, seed=4)
    summary = make_copy_benchmark(tmp_path / "a", config, progress=False)
    make_copy_benchmark(tmp_path / "b", config, progress=False)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")

    refs = {r["reference_id"]: r for r in read_csv(tmp_path / "a" / "references.csv")}
    queries = {q["query_id"]: q for q in read_csv(tmp_path / "a" / "queries.csv")}
    truth = {t["query_id"]: t["reference_id"] for t in read_csv(tmp_path / "a" / "ground_truth.csv")}
    assert summary["references"] == len(refs) == len(list((tmp_path / "a" / "references").iterdir()))
    assert summary["queries"] == len(queries) == len(list((tmp_path / "a" / "queries").iterdir()))
    assert summary["same_video"] > 0 and summary["copy"] > 0 and summary["distractor"] > 0
    assert not (tmp_path / "a" / "frames").exists()
    for query_id, query in queries.items():
        if query["kind"] == "distractor":
            assert query_id not in truth and query["video"] not in {r["video"] for r in refs.values()}
            continue
        source = refs[truth[query_id]]
        assert source["video"] == query["video"] and source["account_id"] == query["account_id"]
    # no query is a byte copy of a reference (the same-video frames were held out of them)
    reference_bytes = {hashlib.sha1(p.read_bytes()).hexdigest() for p in (tmp_path / "a" / "references").iterdir()}
    assert not reference_bytes & {hashlib.sha1(p.read_bytes()).hexdigest()
                                  for p in (tmp_path / "a" / "queries").iterdir()}


def test_benchmark_refuses_to_overwrite(tmp_path):
    config = CopyBenchConfig(videos=2, distractor_videos=1, seed=0)
    make_copy_benchmark(tmp_path, config, progress=False)
    with pytest.raises(FileExistsError, match="overwrite"):
        make_copy_benchmark(tmp_path, config, progress=False)


@pytest.mark.parametrize("frames, choices", [
    ([0, 1, 2], [0, 2]),                 # the middle frame is as near to 0 as to 2
    ([0, 1, 3, 4], [0, 1, 2, 3]),        # 1's gaps are 1 and 2: its nearest is 0
    ([2, 4, 6, 9], [0, 2, 3]),
])
def test_a_held_out_frame_has_one_nearest_reference_frame(frames, choices):
    assert held_out_choices(frames) == choices
    for i in choices:
        distances = sorted(abs(f - frames[i]) for j, f in enumerate(frames) if j != i)
        assert distances[0] < distances[1]
