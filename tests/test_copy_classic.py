"""The classical copy baselines (copydetect/classic.py): pHash codes and ORB + RANSAC."""
import cv2
import numpy as np
import pytest

from common.copy_edits import apply_edit
from copydetect.classic import PHASH_BITS, OrbIndex, orb_features, phash_codes, phash_search, verify


def scene(seed, h=320, w=180):
    rng = np.random.default_rng(seed)
    image = np.full((h, w, 3), rng.integers(0, 256, 3), np.uint8)
    for _ in range(25):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            cv2.circle(image, (x, y), int(rng.integers(4, 25)), colour, -1)
        else:
            cv2.putText(image, "AB7x", (x, y), cv2.FONT_HERSHEY_SIMPLEX, rng.uniform(0.4, 1.2), colour, 2)
    return image


def bits(a, b):
    return int(np.unpackbits(a ^ b).sum())


FLAT = np.full((200, 120, 3), 90, np.uint8)


def test_phash_survives_reencoding_not_another_frame():
    a, b = scene(0), scene(1)
    again = apply_edit(a, "reencode", 2, np.random.default_rng(0))
    codes = phash_codes([a, again, b])
    assert codes.shape == (3, PHASH_BITS // 8) and codes.dtype == np.uint8
    assert bits(codes[0], codes[1]) <= 8 < 20 <= bits(codes[0], codes[2])
    assert phash_codes([a], hash_size=16).shape == (1, 32)
    found = phash_search(codes[[0, 2]], ["a", "b"], codes[1:2], k=2)[0]
    assert found[0][0] == "a" and found[0][1] > found[1][1]
    with pytest.raises(ValueError, match="multiple of 8"):
        phash_codes([a], hash_size=6)


def test_orb_verifies_a_crop_and_a_resize_not_an_unrelated_frame():
    a = scene(0)
    features = orb_features(a)
    assert features.points.dtype == np.float32 and features.points.shape[1] == 2
    assert features.descriptors.dtype == np.uint8 and features.descriptors.shape == (len(features.points), 32)
    crop = apply_edit(a, "crop", 1, np.random.default_rng(1))
    small = apply_edit(a, "resize", 2, np.random.default_rng(1))
    copy_inliers = verify(orb_features(crop), features)
    unrelated = verify(orb_features(scene(5)), features)
    # unrelated frames of the same drawing style share a few corner shapes, never as many
    assert copy_inliers >= 15 and unrelated < copy_inliers / 3
    assert verify(orb_features(small), features) >= 15


def test_orb_index_ranks_the_source_first_for_crops_resizes_and_mirrors():
    references = [scene(i) for i in range(20)]
    index = OrbIndex.build(references, [f"r{i}" for i in range(20)])
    for edit, source in (("crop", 3), ("resize", 7), ("mirror", 9)):
        query = apply_edit(references[source], edit, 1, np.random.default_rng(source))
        found = index.query(query)
        assert found and found[0][0] == f"r{source}", edit
        assert 0 < found[0][1] < 1
        assert all(a[1] >= b[1] for a, b in zip(found, found[1:]))
    mirrored = apply_edit(references[9], "mirror", 1, np.random.default_rng(0))
    assert not index.query(mirrored, mirror=False) or index.query(mirrored, mirror=False)[0][1] < found[0][1]


def test_a_featureless_query_finds_nothing_without_failing(tmp_path):
    flat = orb_features(FLAT)
    assert flat.points.shape == (0, 2) and flat.descriptors.shape == (0, 32)
    assert len(orb_features(scene(0, h=40, w=30))) > 0          # tiny frames are upscaled
    index = OrbIndex.build([scene(0), FLAT], ["r0", "flat"])
    assert verify(flat, orb_features(scene(0))) == 0 and verify(orb_features(scene(0)), flat) == 0
    assert index.query(FLAT) == [] and index.query_many([FLAT, FLAT]) == [[], []]
    index.save(tmp_path / "orb.index")
    loaded = OrbIndex.load(tmp_path / "orb.index")
    assert loaded.ids == ["r0", "flat"] and loaded.query(scene(0))[0][0] == "r0"
    (tmp_path / "bad").write_bytes(b"not an index")
    with pytest.raises(ValueError, match="bad"):
        OrbIndex.load(tmp_path / "bad")


def test_verification_puts_the_true_copy_above_a_better_scored_candidate():
    """The CNN's top candidates re-ranked by ORB + RANSAC (copydetect.search): the copy's
    source verifies and moves above the candidate the descriptor scored higher (its score:
    the descriptor's plus INLIER_WEIGHT per inlier), the unverified one keeps its score,
    and a candidate the ORB index lacks is named."""
    from copydetect.search import INLIER_WEIGHT, verified_scores

    references = {"a": scene(0), "b": scene(1), "c": scene(2)}
    verifier = OrbIndex.build(list(references.values()), list(references))
    copy = apply_edit(references["a"], "crop", 1, np.random.default_rng(3))
    scores = np.array([[0.9, 0.8, -np.inf]], np.float32)
    ranked_scores, ranked = verified_scores(verifier, [copy], scores, [["c", "a"]], verify_top=2)
    assert ranked == [["a", "c"]]
    inliers = verifier.inliers(copy, ["a", "c"])
    assert inliers[0] > 10 and inliers[1] == 0
    assert ranked_scores[0, 0] == pytest.approx(0.8 + INLIER_WEIGHT * inliers[0])
    assert ranked_scores[0, 1] == pytest.approx(0.9)
    assert ranked_scores[0, 2] == -np.inf and scores[0, 0] == pytest.approx(0.9)   # input untouched
    only_first, _ = verified_scores(verifier, [copy], scores, [["c", "a"]], verify_top=1)
    assert only_first[0, 1] == pytest.approx(0.8)   # beyond verify_top: not checked
    with pytest.raises(KeyError, match="not in this ORB index"):
        verifier.inliers(copy, ["missing"])
