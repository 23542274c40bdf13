"""The pixels' frame-level limit of the copy benchmark (copydetect/siblings.py)."""
import cv2
import numpy as np
import pytest

from copydetect.siblings import (KEPT_GEOMETRY, VideoFrames, correlation, group_of, likeness,
                                 most_alike_first, sibling_choices)
from synth.copies import CopyBenchConfig, make_copy_benchmark, read_csv


def test_likeness_undoes_a_resize_and_a_mirror_and_ignores_exposure():
    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.uniform(0, 255, (64, 36)).astype(np.float32), (0, 0), 2)
    other = cv2.GaussianBlur(rng.uniform(0, 255, (64, 36)).astype(np.float32), (0, 0), 2)
    half = cv2.resize(frame, (18, 32), interpolation=cv2.INTER_AREA)
    assert likeness(frame[:, ::-1] * 0.5 + 40, frame) == pytest.approx(1.0, abs=1e-5)
    assert likeness(half, frame) > 0.9 > likeness(half, other)
    assert correlation(np.ones((4, 4)), frame[:4, :4]) == 0.0   # a flat image matches nothing


def test_every_full_size_copy_is_told_from_its_siblings(tmp_path):
    config = CopyBenchConfig(videos=6, distractor_videos=2, copy_fraction=1.0,
                             same_video_fraction=1.0, seed=3)
    make_copy_benchmark(tmp_path, config, progress=False)
    queries = read_csv(tmp_path / "queries.csv")
    truth = {t["query_id"]: t["reference_id"] for t in read_csv(tmp_path / "ground_truth.csv")}
    result = sibling_choices(tmp_path, read_csv(tmp_path / "references.csv"), queries, truth)

    expected = {}
    for q in queries:
        if q["query_id"] in truth and q["edit"] in KEPT_GEOMETRY:
            expected[group_of(q)] = expected.get(group_of(q), 0) + 1
    assert {group: row["queries"] for group, row in result.items()} == expected
    # at full size the pixels tell every copy from the other frames of its video (a resize
    # to a third can leave them all within 0.01 of each other)
    full_size = [row for group, row in result.items() if group not in ("resize", "same video, edited",
                                                                        "same video, unedited")]
    assert len(full_size) >= 4 and all(row["right"] == row["queries"] for row in full_size)
    assert all(0 < row["chance"] < row["queries"] for row in result.values())


def _video(name, n, seed):
    """n frames of one video: one blurred random scene, each frame with its own grain."""
    rng = np.random.default_rng(seed)
    scene = cv2.GaussianBlur(rng.uniform(0, 255, (64, 36, 3)).astype(np.float32), (0, 0), 2)
    return {f"{name}_{i}_.jpg": np.clip(scene + rng.normal(0, 12, scene.shape), 0, 255).astype(np.uint8)
            for i in range(n)}


def test_a_whole_frame_query_answers_the_most_alike_frame_of_its_best_video():
    frames = VideoFrames({**_video("va", 4, 0), **_video("vb", 3, 1)})
    assert sorted(frames.videos) == ["va", "vb"] and len(frames.videos["va"]) == 4
    query = cv2.convertScaleAbs(frames["va_2_.jpg"], alpha=0.8, beta=30)[:, ::-1]   # darker, mirrored
    ranked = ["va_1_.jpg", "vb_0_.jpg", "va_3_.jpg"]
    # the most alike frame was not a candidate: it comes first, the others keep their order
    assert most_alike_first(query, ranked, frames) == ["va_2_.jpg", "va_1_.jpg", "vb_0_.jpg"]
    assert most_alike_first(query, ["va_2_.jpg", "va_1_.jpg"], frames) == ["va_2_.jpg", "va_1_.jpg"]
    # half the frame's width (a crop): another aspect, so nothing is compared whole
    assert most_alike_first(query[:, :18], ranked, frames) == ranked
    assert most_alike_first(query, [], frames) == []
