"""The faiss layer of copy detection (copydetect/index.py): every kind finds planted
copies, scores mean what they say, saved indexes come back the same or are refused by name,
bad input is refused with the reason, score normalisation and predictions."""
import json

import faiss
import numpy as np
import pytest

from copydetect.index import (KINDS, CopyIndex, default_nlist, measure, normalise_scores, predictions,
                              random_unit_vectors)
from copydetect.metrics import evaluate


@pytest.fixture(autouse=True)
def one_faiss_thread():
    """Tiny indexes: one thread is faster than two fighting over a loaded machine."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


def names(n, prefix="r"):
    return [f"{prefix}{i}" for i in range(n)]


def planted(n=2000, dim=32, copies=20, noise=0.05, seed=0):
    """n random unit references; queries = noisy copies of the first `copies` of them."""
    vectors = random_unit_vectors(n, dim, seed)
    rng = np.random.default_rng(seed + 1)
    copies = min(copies, n)
    queries = vectors[:copies] + noise * rng.standard_normal((copies, dim), dtype=np.float32)
    return vectors, queries / np.linalg.norm(queries, axis=1, keepdims=True)


def test_exact_search_returns_the_planted_duplicate_first_with_score_one():
    vectors, _ = planted(1000)
    index = CopyIndex.build(vectors, names(1000))
    scores, ids = index.search(vectors[[5, 700]], k=3)
    assert [row[0] for row in ids] == ["r5", "r700"]
    assert scores.dtype == np.float32 and scores.shape == (2, 3)
    assert scores[:, 0] == pytest.approx(1.0, abs=1e-5) and np.all(scores[:, 1] < 0.9)
    assert index.kind == "flat" and index.dim == 32 and index.ids == names(1000)


@pytest.mark.parametrize("kind,params", [("ivf", {}), ("ivf", {"pq": 8, "pq_bits": 4}), ("hnsw", {})])
def test_approximate_kinds_find_planted_near_duplicates(kind, params):
    vectors, queries = planted()
    index = CopyIndex.build(vectors, names(2000), kind=kind, **params)
    scores, ids = index.search(queries, k=5, batch=7)          # batches of 7: 3 calls
    assert [row[0] for row in ids] == names(20)
    exact = np.einsum("ij,ij->i", queries, vectors[:20])
    tolerance = 0.35 if params.get("pq") else 1e-5           # PQ scores are approximate
    assert scores.shape == (20, 5) and np.allclose(scores[:, 0], exact, atol=tolerance)
    assert np.all(np.diff(scores, axis=1) <= 1e-6)              # best first
    if kind == "ivf":
        assert index.params["nlist"] == default_nlist(2000) == 51 and index.params["nprobe"] == 16


def test_nprobe_trades_recall_and_can_be_set_after_building():
    vectors, queries = planted(3000, copies=100, noise=0.1)
    index = CopyIndex.build(vectors, names(3000), kind="ivf", nlist=64, nprobe=1)
    one = np.mean([row[0] == f"r{i}" for i, row in enumerate(index.search(queries, k=1)[1])])
    index.set_search(nprobe=64)                                 # every cell: exact
    assert index.index.nprobe == 64 and index.params["nprobe"] == 64
    every = np.mean([row[0] == f"r{i}" for i, row in enumerate(index.search(queries, k=1)[1])])
    assert every == 1.0 and one < every
    with pytest.raises(ValueError, match="'ef_search' is not a search parameter of a ivf"):
        index.set_search(ef_search=10)


def test_binary_scores_are_one_minus_the_hamming_share():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 256, (50, 8), dtype=np.uint8)       # 64 bits
    close, far = codes[7].copy(), codes[7].copy()
    close[0] ^= 1                                               # 1 bit flipped
    far[:3] ^= np.array([0xFF, 0xFF, 0x0F], np.uint8)           # 20 bits flipped
    codes[30] = far
    index = CopyIndex.build(codes, names(50), kind="binary")
    assert index.dim == 8
    scores, ids = index.search(close[None], k=2)
    assert ids[0][0] == "r7" and scores[0, 0] == pytest.approx(1 - 1 / 64)
    scores, ids = index.search(codes[7][None], k=50)
    assert ids[0][:1] == ["r7"] and scores[0, 0] == 1.0
    assert ids[0].index("r30") > 0 and scores[0, ids[0].index("r30")] == pytest.approx(1 - 20 / 64)


def test_a_neighbour_faiss_does_not_find_is_dropped_and_scored_minus_inf():
    vectors, _ = planted(5)
    scores, ids = CopyIndex.build(vectors, names(5)).search(vectors[:2], k=8)
    assert scores.shape == (2, 8) and [len(row) for row in ids] == [5, 5]
    assert np.all(np.isneginf(scores[:, 5:])) and np.all(np.isfinite(scores[:, :5]))
    empty_scores, empty_ids = CopyIndex.build(vectors, names(5)).search(np.zeros((0, 32), np.float32))
    assert empty_scores.shape == (0, 10) and empty_ids == []


@pytest.mark.parametrize("kind", KINDS)
def test_saved_index_searches_the_same(tmp_path, kind):
    if kind == "binary":
        vectors = np.random.default_rng(0).integers(0, 256, (500, 8), dtype=np.uint8)
        queries = vectors[:20]
    else:
        vectors, queries = planted(500)
    index = CopyIndex.build(vectors, names(500), kind=kind, **({"nprobe": 3} if kind == "ivf" else {}))
    index.save(tmp_path / "refs.index")
    loaded = CopyIndex.load(tmp_path / "refs.index")
    assert (loaded.kind, loaded.dim, loaded.ids, loaded.params) == (kind, index.dim, index.ids, index.params)
    expected, got = index.search(queries), loaded.search(queries)
    assert np.array_equal(expected[0], got[0]) and expected[1] == got[1]
    assert loaded.memory_bytes() == index.memory_bytes() == (tmp_path / "refs.index").stat().st_size
    if kind == "ivf":
        assert loaded.index.nprobe == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["refs.index", "refs.index.json"]   # no temp files


def test_a_missing_or_disagreeing_part_is_refused_by_name(tmp_path):
    vectors, _ = planted(300)
    path = tmp_path / "refs.index"
    CopyIndex.build(vectors, names(300)).save(path)
    meta = json.loads((tmp_path / "refs.index.json").read_text())

    CopyIndex.build(vectors[:200], names(200)).save(tmp_path / "other.index")
    (tmp_path / "other.index").replace(path)                    # index rebuilt, ids not
    with pytest.raises(ValueError, match="refs.index is not the index .*refs.index.json"):
        CopyIndex.load(path)

    meta["sha256"] = json.loads((tmp_path / "other.index.json").read_text())["sha256"]
    (tmp_path / "refs.index.json").write_text(json.dumps(meta))   # even with a matching hash
    with pytest.raises(ValueError, match="holds 200 vectors but .*refs.index.json names 300 ids"):
        CopyIndex.load(path)

    (tmp_path / "refs.index.json").write_text("{not json")
    with pytest.raises(ValueError, match="refs.index.json: not valid JSON"):
        CopyIndex.load(path)
    (tmp_path / "refs.index.json").write_text(json.dumps({"kind": "flat"}))
    with pytest.raises(ValueError, match="refs.index.json: no 'dim' key"):
        CopyIndex.load(path)

    (tmp_path / "refs.index.json").unlink()
    with pytest.raises(FileNotFoundError, match="refs.index.json: missing"):
        CopyIndex.load(path)
    with pytest.raises(FileNotFoundError, match="nowhere.index: missing"):
        CopyIndex.load(tmp_path / "nowhere.index")


def test_bad_inputs_are_refused_with_the_reason():
    vectors, _ = planted(10)
    ids = names(10)
    cases = [
        (dict(vectors=vectors, ids=["a", "b"]), "2 ids for 10 descriptors"),
        (dict(vectors=vectors, ids=["a"] * 9 + ["b"]), "unique; 'a' appears more than once"),
        (dict(vectors=vectors, ids=list(range(10))), "ids must be strings"),
        (dict(vectors=vectors.astype(np.float64), ids=ids), "takes float32 descriptors, got float64"),
        (dict(vectors=vectors[0], ids=ids[:1]), r"\(n, d\) array, got shape \(32,\)"),
        (dict(vectors=np.zeros((0, 32), np.float32), ids=[]), "empty"),
        (dict(vectors=vectors * 2, ids=ids), "row 0 has norm 2: .* L2-normalised"),
        (dict(vectors=vectors, ids=ids, kind="lsh"),
         "unknown index kind 'lsh'; known: flat, ivf, hnsw, binary"),
        (dict(vectors=vectors, ids=ids, kind="binary"), "takes uint8 descriptors"),
        (dict(vectors=vectors, ids=ids, kind="ivf", nprob=4), "unknown parameter 'nprob' for a ivf index"),
        (dict(vectors=vectors, ids=ids, kind="ivf", nlist=0), "'nlist' must be an integer >= 1"),
        (dict(vectors=vectors, ids=ids, kind="ivf", nlist=20), "needs at least 20 training vectors, got 10"),
        (dict(vectors=vectors, ids=ids, kind="ivf", nlist=1, pq=5),
         "'pq' \\(5\\) must divide the dimension 32"),
        (dict(vectors=vectors, ids=ids, kind="flat", m=16),
         "unknown parameter 'm' for a flat index; known: none"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            CopyIndex.build(**kwargs)
    with_nan = vectors.copy()
    with_nan[3, 0] = np.nan
    with pytest.raises(ValueError, match="row 3 has norm nan"):
        CopyIndex.build(with_nan, ids)
    index = CopyIndex.build(vectors, ids)
    with pytest.raises(ValueError, match="queries have 5 columns, the index 32"):
        index.search(np.eye(1, 5, dtype=np.float32))
    with pytest.raises(ValueError, match="k and batch must be at least 1"):
        index.search(vectors, k=0)


def test_normalisation_lowers_a_query_close_to_everything():
    scores = np.array([[0.8, 0.7], [0.8, 0.7], [0.8, -np.inf]], np.float32)
    background = np.array([np.linspace(0.95, 0.9, 10), np.linspace(0.3, 0.1, 10), np.linspace(0.3, 0.1, 10)],
                          np.float32)                          # query 0 resembles everything
    out = normalise_scores(scores, background)                 # minus its 10th background score
    assert out[0] == pytest.approx([0.8 - 0.9, 0.7 - 0.9]) and out[1] == pytest.approx([0.7, 0.6])
    assert out[0, 0] < out[1, 0] and np.isneginf(out[2, 1])
    assert normalise_scores(scores, background, beta=2.0, rank=1)[1, 0] == pytest.approx(0.8 - 0.6)
    with pytest.raises(ValueError, match="rank 11 needs the background searched with k >= 11"):
        normalise_scores(scores, background, rank=11)
    with pytest.raises(ValueError, match="same m queries"):
        normalise_scores(scores, background[:2])
    background[1, 9] = -np.inf                                 # a background of 9 frames
    with pytest.raises(ValueError, match="fewer than 10 neighbours for query 1"):
        normalise_scores(scores, background)


def test_normalisation_with_a_real_background_demotes_a_frame_that_resembles_everything():
    rng = np.random.default_rng(0)
    dull = np.full(16, 1.0, np.float32) / 4.0                  # the 'flat frame' direction
    around = dull + 0.3 * rng.standard_normal((200, 16), dtype=np.float32)
    background = CopyIndex.build(around / np.linalg.norm(around, axis=1, keepdims=True), names(200, "b"))
    distinct = random_unit_vectors(1, 16, 5)
    queries = np.concatenate([dull[None], distinct])
    raw = np.array([[0.6], [0.6]], np.float32)                 # the same raw match score
    out = normalise_scores(raw, background.search(queries, k=10)[0])
    assert out[0, 0] < out[1, 0] - 0.3


def test_predictions_feed_the_challenge_metric():
    rows = predictions(["q1", "q2", "q1"], np.array([[0.9, 0.5], [0.4, 0.3], [0.7, 0.2]], np.float32),
                       [["r1", "r2"], ["r3", "r3"], ["r1", "r4"]], top=1)
    # q1's second row repeats (q1, r1): its next neighbour is taken instead
    assert rows == [("q1", "r1", pytest.approx(0.9)), ("q2", "r3", pytest.approx(0.4)),
                    ("q1", "r4", pytest.approx(0.2))]
    assert all(isinstance(s, float) for _, _, s in rows)
    assert len(predictions(["q1"], np.array([[0.9, 0.5]]), [["r1", "r2"]], top=2)) == 2
    assert predictions(["q"], np.array([[0.9, -np.inf]]), [["r1"]], top=5) == [("q", "r1", 0.9)]
    with pytest.raises(ValueError, match="one per query"):
        predictions(["q1"], np.zeros((2, 1)), [["a"], ["b"]])


def test_search_then_predictions_then_evaluate_end_to_end():
    vectors, queries = planted(1000, copies=10)
    index = CopyIndex.build(vectors, names(1000))
    scores, ids = index.search(queries, k=10)
    rows = predictions(names(10, "q"), scores, ids, top=1)
    assert len(rows) == 10 and all(len(row) == 3 for row in rows)
    result = evaluate([(f"q{i}", f"r{i}") for i in range(10)], rows)
    assert result.uap == pytest.approx(1.0) and result.recall_at_1 == 1.0


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw", "binary"])
def test_measure_reports_speed_memory_and_recall(kind):
    row = measure(1500, dim=16, kind=kind, queries=50, k=5)
    assert set(row) == {"kind", "references", "dim", "queries", "k", "params", "build_seconds",
                        "memory_bytes", "queries_per_second", "recall_at_1"}
    assert row["kind"] == kind and row["references"] == 1500 and row["queries"] == 50
    assert row["build_seconds"] >= 0 and row["queries_per_second"] > 0
    assert row["memory_bytes"] >= 1500 * (2 if kind == "binary" else 16 * 4)
    if kind in ("ivf", "hnsw"):
        assert 0.8 <= row["recall_at_1"] <= 1.0
    else:
        assert row["recall_at_1"] is None
