"""The faiss layer of copy detection (copydetect/index.py)."""
import numpy as np
import pytest

from copydetect.index import CopyIndex, measure, normalise_scores, predictions, random_unit_vectors
from copydetect.metrics import evaluate


def planted(n=2000, dim=32, seed=0):
    vectors = random_unit_vectors(n, dim, seed)
    rng = np.random.default_rng(seed + 1)
    queries = vectors[:20] + 0.05 * rng.standard_normal((min(n, 20), dim), dtype=np.float32)
    return vectors, queries / np.linalg.norm(queries, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_every_float_kind_finds_the_planted_near_duplicates(kind):
    vectors, queries = planted()
    index = CopyIndex.build(vectors, [f"r{i}" for i in range(len(vectors))], kind=kind)
    scores, ids = index.search(queries, k=5)
    assert [row[0] for row in ids] == [f"r{i}" for i in range(20)]
    assert scores.shape == (20, 5) and np.all(scores[:, 0] > 0.9) and np.all(np.diff(scores, axis=1) <= 1e-6)


def test_binary_scores_are_one_minus_the_hamming_share():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 256, (50, 8), dtype=np.uint8)
    query = codes[7:8].copy()
    query[0, 0] ^= 1                                       # one bit flipped
    index = CopyIndex.build(codes, [str(i) for i in range(50)], kind="binary")
    scores, ids = index.search(query, k=2)
    assert ids[0][0] == "7" and scores[0, 0] == pytest.approx(1 - 1 / 64)


def test_saved_index_searches_the_same_and_missing_parts_are_named(tmp_path):
    vectors, queries = planted(500)
    index = CopyIndex.build(vectors, [f"r{i}" for i in range(500)], kind="ivf")
    index.save(tmp_path / "refs.index")
    loaded = CopyIndex.load(tmp_path / "refs.index")
    assert loaded.kind == "ivf" and loaded.search(queries)[1] == index.search(queries)[1]
    assert loaded.memory_bytes() > 500 * 32 * 4
    (tmp_path / "refs.index.json").unlink()
    with pytest.raises(FileNotFoundError, match="refs.index.json"):
        CopyIndex.load(tmp_path / "refs.index")


def test_bad_inputs_are_refused_with_the_reason():
    vectors, _ = planted(10)
    with pytest.raises(ValueError, match="2 ids for 10"):
        CopyIndex.build(vectors, ["a", "b"])
    with pytest.raises(ValueError, match="unique"):
        CopyIndex.build(vectors, ["a"] * 10)
    with pytest.raises(ValueError, match="float32"):
        CopyIndex.build(vectors.astype(np.float64), [str(i) for i in range(10)])
    with pytest.raises(ValueError, match="unknown index kind"):
        CopyIndex.build(vectors, [str(i) for i in range(10)], kind="lsh")
    index = CopyIndex.build(vectors, [str(i) for i in range(10)])
    with pytest.raises(ValueError, match="columns"):
        index.search(np.zeros((1, 5), np.float32))


def test_normalisation_lowers_a_query_close_to_everything():
    scores = np.array([[0.8], [0.8]], np.float32)
    background = np.array([[0.9] * 10, [0.1] * 10], np.float32)    # query 0 resembles everything
    normalised = normalise_scores(scores, background)
    assert normalised[0, 0] < normalised[1, 0]


def test_predictions_feed_the_challenge_metric():
    rows = predictions(["q1", "q2"], np.array([[0.9, 0.5], [0.4, 0.3]]), [["r1", "r2"], ["r3", "r3"]], top=2)
    assert rows == [("q1", "r1", 0.9), ("q1", "r2", 0.5), ("q2", "r3", 0.4)]
    assert evaluate([("q1", "r1")], rows).recall_at_1 == 1.0


def test_measure_reports_speed_memory_and_recall():
    row = measure(3000, dim=16, kind="ivf", queries=100)
    assert row["kind"] == "ivf" and row["build_seconds"] >= 0 and row["memory_bytes"] > 3000 * 16 * 4
    assert row["queries_per_second"] > 0 and 0.5 <= row["recall_at_1"] <= 1.0
    assert measure(500, dim=16, queries=50)["recall_at_1"] is None
