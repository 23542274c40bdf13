"""Which frame of its video a query came from: placement and the pixels' frame-level limit (copydetect/siblings.py)."""
import cv2
import numpy as np
import pytest

from copydetect.search import frame_scores
from copydetect.siblings import (VideoFrames, fit, group_of, likeness, most_alike_first, placed,
                                 scales_between, sibling_choices)
from synth.copies import CopyBenchConfig, make_copy_benchmark, read_csv


def _scene(seed, shape=(64, 36), blur=2):
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.uniform(0, 255, shape).astype(np.float32), (0, 0), blur)


def test_scales_run_geometrically_from_one_end_to_the_other():
    assert scales_between(0.5, 1.0, 1.25) == pytest.approx([1.0, 0.8, 0.64, 0.512, 0.5])
    assert scales_between(0.8, 1.0, 1.25) == pytest.approx([1.0, 0.8])
    assert scales_between(1.0, 1.0) == [1.0]


def test_placement_undoes_a_resize_and_a_mirror_and_ignores_exposure():
    frame, other = _scene(0), _scene(1)
    half = cv2.resize(frame, (18, 32), interpolation=cv2.INTER_AREA)
    mirrored = fit(frame[:, ::-1] * 0.5 + 40, frame)
    assert mirrored.mirrored and mirrored.scale == 1.0 and mirrored.score == pytest.approx(1.0, abs=1e-4)
    assert likeness(frame[:, ::-1] * 0.5 + 40, frame, mirrored) == pytest.approx(1.0, abs=1e-4)
    at_half = fit(half, frame)
    assert at_half.scale == pytest.approx(0.5, rel=0.03) and not at_half.mirrored
    assert likeness(half, frame, at_half) > 0.99 > 0.8 > likeness(half, other, fit(half, other))
    # a flat query (a black frame) matches nothing, though a flat template correlates 1 in OpenCV
    assert placed(np.ones((8, 8), np.float32), frame, [1.0]).score == 0.0


def test_placement_finds_a_crop_of_a_resized_frame_at_its_scale():
    frame = _scene(2, (240, 136), blur=4)
    small = cv2.resize(frame, (102, 180), interpolation=cv2.INTER_AREA)       # 3/4 of the frame
    crop = small[30:150, 10:90]                                               # then a crop of it
    placement = fit(crop, frame)
    assert placement.scale == pytest.approx(0.75, rel=0.03) and not placement.mirrored
    assert likeness(crop, frame, placement) > 0.98 > 0.8 > likeness(crop, _scene(3, (240, 136), blur=4), placement)


def test_every_copy_is_told_from_its_siblings(tmp_path):
    config = CopyBenchConfig(videos=6, distractor_videos=2, copy_fraction=1.0,
                             same_video_fraction=1.0, seed=3)
    make_copy_benchmark(tmp_path, config, progress=False)
    queries = read_csv(tmp_path / "queries.csv")
    truth = {t["query_id"]: t["reference_id"] for t in read_csv(tmp_path / "ground_truth.csv")}
    result = sibling_choices(tmp_path, read_csv(tmp_path / "references.csv"), queries, truth)

    expected = {}
    for q in queries:
        if q["query_id"] in truth:
            expected[group_of(q)] = expected.get(group_of(q), 0) + 1
    assert {group: row["queries"] for group, row in result.items()} == expected
    # the pixels, placed, tell a full-size copy from the other frames of its video, crops and
    # cut bands included (a resize to a third can leave them all within 0.01 of each other)
    full_size = [row for group, row in result.items() if group not in ("resize", "chain", "same video, edited",
                                                                        "same video, unedited")]
    assert len(full_size) >= 5 and all(row["right"] == row["queries"] for row in full_size)
    assert {"crop", "watermark cut"} & set(result)
    assert all(0 < row["chance"] < row["queries"] for row in result.values())


def _video(name, n, seed):
    """n frames of one video: one blurred random scene, each frame with its own grain."""
    rng = np.random.default_rng(seed)
    scene = cv2.GaussianBlur(rng.uniform(0, 255, (64, 36, 3)).astype(np.float32), (0, 0), 2)
    return {f"{name}_{i}_.jpg": np.clip(scene + rng.normal(0, 12, scene.shape), 0, 255).astype(np.uint8)
            for i in range(n)}


def test_a_query_answers_the_most_alike_frame_of_its_best_video():
    frames = VideoFrames({**_video("va", 4, 0), **_video("vb", 3, 1), **_video("vc", 1, 2)})
    assert sorted(frames.videos) == ["va", "vb", "vc"] and len(frames.videos["va"]) == 4
    query = cv2.convertScaleAbs(frames["va_2_.jpg"], alpha=0.8, beta=30)[:, ::-1]   # darker, mirrored
    ranked = ["va_1_.jpg", "vb_0_.jpg", "va_3_.jpg"]
    # the most alike frame was not a candidate: it comes first, the others keep their order
    names, distinct = most_alike_first(query, ranked, frames)
    assert names == ["va_2_.jpg", "va_1_.jpg", "vb_0_.jpg"] and distinct > 0.5
    assert most_alike_first(query, ["va_2_.jpg", "va_1_.jpg"], frames)[0] == ["va_2_.jpg", "va_1_.jpg"]
    # a crop of the frame (another aspect) is placed on it too
    assert most_alike_first(query[10:50, 4:30], ranked, frames)[0][0] == "va_2_.jpg"
    # a moment between two frames looks like both: the choice is not distinct
    between = ((frames["va_1_.jpg"].astype(np.float32) + frames["va_2_.jpg"]) / 2).astype(np.uint8)
    assert most_alike_first(between, ranked, frames)[1] < 0.1
    # a video of one frame has nothing to choose from
    assert most_alike_first(query, ["vc_0_.jpg", "va_1_.jpg"], frames) == (["vc_0_.jpg", "va_1_.jpg"], 1.0)
    assert most_alike_first(query, [], frames) == ([], 1.0)


def test_frame_scores_trust_a_distinct_frame_more_and_leave_negative_scores_below():
    frames = VideoFrames({**_video("va", 4, 0), **_video("vb", 3, 1)})
    copy = frames["va_2_.jpg"]
    between = ((frames["va_1_.jpg"].astype(np.float32) + frames["va_3_.jpg"]) / 2).astype(np.uint8)
    scores, names = frame_scores([copy, between, copy], [[0.9, 0.5], [0.9, 0.5], [-0.2, -0.3]],
                                 [["va_1_.jpg", "vb_0_.jpg"]] * 3, frames)
    assert names[0] == ["va_2_.jpg", "va_1_.jpg"]
    assert 0.9 >= scores[0][0] > scores[1][0] > 0 > scores[2][0] == pytest.approx(-0.2)
