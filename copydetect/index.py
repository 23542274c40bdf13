"""The faiss search layer of copy detection: an index of the reference descriptors that is
built, saved, loaded and searched in batches, for float descriptors (L2-normalised float32,
similarity = inner product = cosine) and packed-bit ones (score 1 - Hamming/bits, so that
higher is more similar for every kind).

Why four kinds: `flat` is exact and the reference answer (1M x 128 float32 = 512 MB, every
query scans all of it); `ivf` clusters the references into nlist ~ 4 sqrt(n) cells
(k-means on a sample of 64 per cell) and scans only the `nprobe` cells nearest to a query,
the approximate index for >= 1M references (`pq=m` also compresses each vector to m bytes,
IVF-PQ, when 512 MB is too much; its scores are then approximate too); `hnsw` is a graph,
fast queries but slow to build; `binary` holds perceptual hashes.

Measured with `measure` at 100k random 128-d unit references and 1000 queries that are
noisy copies of references (cosine ~0.87 to their source), recall@1 against flat: ivf
(nlist 1264) 0.904 / 0.963 / 0.988 / 0.999 at nprobe 8 / 16 (the default) / 32 / 64, hnsw
(M 32, efSearch 64) 0.991. Memory: flat 51 MB, ivf 53 MB, hnsw 78 MB. Build: flat 0.13 s,
ivf 9.4 s, hnsw 45 s, on two CPU cores that a training job was using (so only the ratios
mean much). Random vectors are ivf's hardest case (no clusters); real descriptors cluster.

Why normalise scores: the challenge's uAP ranks the predictions of all queries in one list,
so a query that resembles everything (a flat, dark or blurred frame) puts its confident
false matches above other queries' true ones. Its similarity to its n-th neighbour in a
background set of frames known to match nothing (the generator's training frames)
measures how much it resembles everything; subtracting it (x beta) leaves each query's own
ranking as it was and lowers only such queries (the challenge's baseline: n = 10,
factor 2; its winners used the same idea).

Saving writes the faiss file and `<path>.json` (kind, dim, ids, params, the faiss file's
SHA-256); loading refuses a pair that disagrees, naming the file, so an index rebuilt
without its ids (or the reverse) is never searched with the wrong names.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import faiss
import numpy as np

from common.atomic import atomic_path, atomic_write_text

KINDS = ("flat", "ivf", "hnsw", "binary")
PARAMS = {"flat": (), "binary": (), "ivf": ("nlist", "nprobe", "pq", "pq_bits", "train_size", "seed"),
          "hnsw": ("m", "ef_construction", "ef_search")}
SEARCH_PARAMS = {"ivf": "nprobe", "hnsw": "ef_search"}
ADD_BATCH = 65_536          # vectors per index.add / per validation chunk
NORM_TOLERANCE = 1e-2       # |norm - 1| allowed in a float descriptor
FORMAT = 1


def _unit_rows(vectors: np.ndarray, what: str) -> None:
    """Refuse rows that are not unit vectors (or not finite), chunk by chunk."""
    for start in range(0, len(vectors), ADD_BATCH):
        chunk = vectors[start:start + ADD_BATCH]
        norms = np.sqrt(np.einsum("ij,ij->i", chunk, chunk))
        bad = ~(np.abs(norms - 1) <= NORM_TOLERANCE)              # NaN counts as bad
        if bad.any():
            row = start + int(np.argmax(bad))
            raise ValueError(f"{what} row {row} has norm {norms[row - start]:.4g}: float descriptors "
                             "must be finite and L2-normalised (inner product = cosine)")


def check_vectors(vectors, kind: str, dim: int | None = None, what: str = "descriptors",
                  allow_empty: bool = False) -> np.ndarray:
    """`vectors` as a C-contiguous (n, d) array of the kind's dtype, or a ValueError that
    says what is wrong."""
    if kind not in KINDS:
        raise ValueError(f"unknown index kind {kind!r}; known: {', '.join(KINDS)}")
    want = np.uint8 if kind == "binary" else np.float32
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or vectors.shape[1] == 0:
        raise ValueError(f"{what} must be an (n, d) array, got shape {vectors.shape}")
    if len(vectors) == 0 and not allow_empty:
        raise ValueError(f"{what} are empty: an index needs at least one vector")
    if vectors.dtype != want:
        raise ValueError(f"a {kind} index takes {np.dtype(want).name} {what}, got {vectors.dtype}"
                         + (" (packed bits, np.packbits)" if kind == "binary" else ""))
    if dim is not None and vectors.shape[1] != dim:
        raise ValueError(f"{what} have {vectors.shape[1]} columns, the index {dim}")
    vectors = np.ascontiguousarray(vectors)
    if kind != "binary":
        _unit_rows(vectors, what)
    return vectors


def _check_ids(ids, n: int) -> list[str]:
    ids = list(ids)
    if len(ids) != n:
        raise ValueError(f"{len(ids)} ids for {n} descriptors")
    wrong = next((i for i in ids if not isinstance(i, str)), None)
    if wrong is not None:
        raise ValueError(f"reference ids must be strings, got {type(wrong).__name__} {wrong!r}")
    if len(set(ids)) != n:
        seen = set()
        twice = next(i for i in ids if i in seen or seen.add(i))
        raise ValueError(f"reference ids must be unique; {twice!r} appears more than once")
    return ids


def _check_params(kind: str, params: dict) -> None:
    unknown = sorted(set(params) - set(PARAMS[kind]))
    if unknown:
        known = ", ".join(PARAMS[kind]) or "none"
        raise ValueError(f"unknown parameter {unknown[0]!r} for a {kind} index; known: {known}")
    for key, value in params.items():
        least = 0 if key in ("pq", "seed") else 1
        if value is not None and (not isinstance(value, (int, np.integer)) or value < least):
            raise ValueError(f"index parameter {key!r} must be an integer >= {least}, got {value!r}")


def default_nlist(n: int) -> int:
    """~4 sqrt(n) cells, at most 65536, and at least 39 training vectors per cell (faiss's
    minimum for a stable k-means): 12 for 500 vectors, 1264 for 100k, 4000 for 1M."""
    return max(1, min(65_536, int(4 * np.sqrt(n)), n // 39))


def _new_index(kind: str, dim: int, n: int, params: dict):
    """An empty faiss index and the full parameters it was made with."""
    if kind == "binary":
        return faiss.IndexBinaryFlat(dim * 8), {}
    if kind == "flat":
        return faiss.IndexFlatIP(dim), {}
    if kind == "hnsw":
        full = {"m": 32, "ef_construction": 40, "ef_search": 64, **_given(params)}
        index = faiss.IndexHNSWFlat(dim, full["m"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = full["ef_construction"]
        return index, full
    full = {"nlist": default_nlist(n), "nprobe": 16, "pq": 0, "pq_bits": 8, "seed": 0, **_given(params)}
    full["nprobe"] = min(full["nprobe"], full["nlist"])
    if full["pq"] and dim % full["pq"]:
        raise ValueError(f"index parameter 'pq' ({full['pq']}) must divide the dimension {dim}")
    if not 1 <= full["pq_bits"] <= 8:
        raise ValueError(f"index parameter 'pq_bits' must be 1 to 8, got {full['pq_bits']}")
    code = f"PQ{full['pq']}x{full['pq_bits']}" if full["pq"] else "Flat"
    index = faiss.index_factory(dim, f"IVF{full['nlist']},{code}", faiss.METRIC_INNER_PRODUCT)
    if full["pq"]:
        # on by the factory, used only by Hamming pre-filtering (not done here), and it
        # took 1.6 s of a 1.64 s training at 2000 x 32
        index.do_polysemous_training = False
    return index, full


def _given(params: dict) -> dict:
    return {k: int(v) for k, v in params.items() if v is not None}


def _train_ivf(index, vectors: np.ndarray, params: dict) -> dict:
    """Train on a sorted random sample of `train_size` (default 64 per cell) vectors."""
    size = min(len(vectors), params.get("train_size") or 64 * params["nlist"])
    needed = max(params["nlist"], 2 ** params["pq_bits"] if params["pq"] else 1)   # PQ: a code each
    if size < needed:
        raise ValueError(f"an ivf index with nlist {params['nlist']}" + (" and pq" if params["pq"] else "")
                         + f" needs at least {needed} training vectors, got {size}")
    sample = vectors
    if size < len(vectors):
        rng = np.random.default_rng(params["seed"])
        sample = vectors[np.sort(rng.choice(len(vectors), size, replace=False))]
    index.train(sample)
    return {**params, "train_size": size}


def _apply_search_params(index, kind: str, params: dict) -> None:
    if kind == "ivf":
        index.nprobe = params["nprobe"]
    elif kind == "hnsw":
        index.hnsw.efSearch = params["ef_search"]


class _CountingWriter:
    def __init__(self):
        self.bytes = 0

    def __call__(self, chunk) -> int:
        self.bytes += len(chunk)
        return len(chunk)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


class CopyIndex:
    """Reference descriptors in a faiss index and their ids: `CopyIndex.build(vectors, ids,
    kind)` or `CopyIndex.load(path)`. `dim` is a descriptor's number of columns (bytes for
    `binary`, which holds 8 x dim bits); `params` the full build and search parameters."""

    def __init__(self, index, kind: str, ids: list[str], dim: int, params: dict):
        self.index, self.kind, self.ids, self.dim, self.params = index, kind, ids, dim, params

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, vectors, ids, kind: str = "flat", **params) -> CopyIndex:
        """`vectors`: float32 unit rows (flat, ivf, hnsw) or uint8 packed bits (binary), one
        per id. ivf: nlist (default ~4 sqrt(n)), nprobe (16), pq (0 = IVF-Flat, else bytes per
        vector), train_size (64 x nlist), seed; hnsw: m (32), ef_construction (40), ef_search (64)."""
        vectors = check_vectors(vectors, kind)
        ids = _check_ids(ids, len(vectors))
        _check_params(kind, params)
        index, full = _new_index(kind, vectors.shape[1], len(vectors), params)
        if kind == "ivf":
            full = _train_ivf(index, vectors, full)
        _apply_search_params(index, kind, full)
        for start in range(0, len(vectors), ADD_BATCH):
            index.add(vectors[start:start + ADD_BATCH])
        return cls(index, kind, ids, vectors.shape[1], full)

    def set_search(self, **params) -> None:
        """Change the speed / recall trade-off of a built or loaded index: nprobe (ivf),
        ef_search (hnsw)."""
        allowed = SEARCH_PARAMS.get(self.kind)
        for key in params:
            if key != allowed:
                raise ValueError(f"{key!r} is not a search parameter of a {self.kind} index"
                                 + (f"; it has {allowed!r}" if allowed else "; it has none"))
        _check_params(self.kind, params)
        self.params = {**self.params, **_given(params)}
        if self.kind == "ivf":
            self.params["nprobe"] = min(self.params["nprobe"], self.params["nlist"])
        _apply_search_params(self.index, self.kind, self.params)

    def search(self, queries, k: int = 10, batch: int = 4096) -> tuple[np.ndarray, list[list[str]]]:
        """(scores (m, k) float32, neighbour ids per query), best first, `batch` queries per
        faiss call. A neighbour faiss did not find (fewer than k references, or fewer in the
        probed cells / the graph walk) has score -inf and is left out of its id list, so
        the ids of row i match scores[i, :len(ids[i])]."""
        if k < 1 or batch < 1:
            raise ValueError(f"k and batch must be at least 1, got k={k}, batch={batch}")
        queries = check_vectors(queries, self.kind, self.dim, what="queries", allow_empty=True)
        scores = np.empty((len(queries), k), np.float32)
        labels = np.empty((len(queries), k), np.int64)
        for start in range(0, len(queries), batch):
            s, labels[start:start + batch] = self.index.search(queries[start:start + batch], k)
            scores[start:start + batch] = 1 - s / (8 * self.dim) if self.kind == "binary" else s
        scores[labels < 0] = -np.inf
        return scores, [[self.ids[j] for j in row if j >= 0] for row in labels]

    def memory_bytes(self) -> int:
        """Size of the serialised faiss index (streamed and counted, never held twice): the
        index's memory to within its small headers; the ids are not counted."""
        counter = _CountingWriter()
        writer = faiss.PyCallbackIOWriter(counter)
        (faiss.write_index_binary if self.kind == "binary" else faiss.write_index)(self.index, writer)
        del writer                                          # flushes its last block
        return counter.bytes

    def save(self, path) -> None:
        """`path` (the faiss index) and `path`.json (kind, dim, ids, params, the index file's
        SHA-256), each written to a temporary file and renamed over the old one."""
        path = Path(path)
        write = faiss.write_index_binary if self.kind == "binary" else faiss.write_index
        with atomic_path(path) as tmp:
            write(self.index, str(tmp))
            digest = _sha256(tmp)
        meta = {"format": FORMAT, "kind": self.kind, "dim": self.dim, "count": len(self.ids),
                "params": self.params, "sha256": digest, "faiss": faiss.__version__, "ids": self.ids}
        atomic_write_text(_meta_path(path), json.dumps(meta) + "\n")

    @classmethod
    def load(cls, path) -> CopyIndex:
        """The index `save` wrote; FileNotFoundError / ValueError naming the file when a part
        is missing, unreadable, or the two disagree."""
        path = Path(path)
        meta_path = _meta_path(path)
        for needed in (path, meta_path):
            if not needed.is_file():
                raise FileNotFoundError(f"{needed}: missing (an index is {path.name} and {meta_path.name}); "
                                        "build it with tools/copy_detect.py index")
        meta = _read_meta(meta_path)
        if _sha256(path) != meta["sha256"]:
            raise ValueError(f"{path} is not the index {meta_path} describes (its SHA-256 differs): "
                             "one of them was replaced; rebuild the index")
        read = faiss.read_index_binary if meta["kind"] == "binary" else faiss.read_index
        try:
            index = read(str(path))
        except RuntimeError as err:
            raise ValueError(f"{path}: not a readable faiss {meta['kind']} index "
                             f"({str(err).strip().splitlines()[-1]})") from err
        _agree(index, meta, path, meta_path)
        loaded = cls(index, meta["kind"], meta["ids"], meta["dim"], meta["params"])
        _apply_search_params(index, loaded.kind, loaded.params)
        return loaded


def _meta_path(path: Path) -> Path:
    return Path(f"{path}.json")


def _read_meta(meta_path: Path) -> dict:
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{meta_path}: not valid JSON ({err})") from err
    for key in ("kind", "dim", "ids", "params", "sha256"):
        if key not in meta:
            raise ValueError(f"{meta_path}: no {key!r} key; rebuild the index")
    if meta["kind"] not in KINDS:
        raise ValueError(f"{meta_path}: unknown index kind {meta['kind']!r}; known: {', '.join(KINDS)}")
    return meta


_FAISS_TYPES = {"flat": faiss.IndexFlat, "ivf": faiss.IndexIVF, "hnsw": faiss.IndexHNSW,
                "binary": faiss.IndexBinaryFlat}


def _agree(index, meta: dict, path: Path, meta_path: Path) -> None:
    kind, dim = meta["kind"], meta["dim"]
    if not isinstance(index, _FAISS_TYPES[kind]):
        raise ValueError(f"{path} holds a {type(index).__name__}, {meta_path} says {kind}")
    bits = 8 if kind == "binary" else 1
    if index.d != dim * bits:
        raise ValueError(f"{path} holds {index.d}-{'bit' if bits == 8 else 'd'} vectors, "
                         f"{meta_path} says dim {dim}")
    if index.ntotal != len(meta["ids"]):
        raise ValueError(f"{path} holds {index.ntotal} vectors but {meta_path} names {len(meta['ids'])} ids")


def normalise_scores(scores, background_scores, beta: float = 1.0, rank: int = 10) -> np.ndarray:
    """The 2021 Image Similarity Challenge's score normalisation: from every similarity of
    query i subtract beta x its similarity to its `rank`-th nearest neighbour in a background
    set of frames that match nothing (`background_scores`: the (m, k_bg) scores of searching
    the same queries in a background CopyIndex, k_bg >= rank).

    A query that is close to everything (a flat or dark frame) is close to its 10th
    background neighbour too and loses much; a distinctive query loses little. One constant
    per query: a query's own ranking does not change, only how its matches rank against
    other queries', which is what uAP and a global threshold see. Missing scores (-inf)
    stay -inf."""
    scores = np.asarray(scores, np.float32)
    background = np.asarray(background_scores, np.float32)
    if scores.ndim != 2 or background.ndim != 2 or len(scores) != len(background):
        raise ValueError(f"scores {scores.shape} and background scores {background.shape} must be "
                         "(m, k) and (m, k_bg) for the same m queries")
    if not 1 <= rank <= background.shape[1]:
        raise ValueError(f"rank {rank} needs the background searched with k >= {rank} "
                         f"(got k = {background.shape[1]})")
    nth = background[:, rank - 1]
    if len(nth) and not np.isfinite(nth).all():
        raise ValueError(f"the background index gave fewer than {rank} neighbours for query "
                         f"{int(np.argmax(~np.isfinite(nth)))}; use a larger background or a smaller rank")
    return (scores - np.float32(beta) * nth[:, None]).astype(np.float32)


def predictions(query_ids, scores, neighbour_ids, top: int = 1) -> list[tuple[str, str, float]]:
    """(query, reference, score) rows for copydetect.metrics.evaluate: the best `top`
    neighbours of each query (in search order), never the same pair twice (a reference
    repeated in a row, or a query id repeated, is kept once, at its best score), missing
    (-inf) scores left out."""
    scores = np.asarray(scores)
    if not len(query_ids) == len(scores) == len(neighbour_ids):
        raise ValueError(f"{len(query_ids)} query ids, {len(scores)} score rows and "
                         f"{len(neighbour_ids)} neighbour rows: they must be one per query")
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    rows, seen = [], set()
    for query, row_scores, names in zip(query_ids, scores, neighbour_ids):
        kept = 0
        for score, name in zip(row_scores, names):
            if kept == top:
                break
            if np.isfinite(score) and (query, name) not in seen:
                seen.add((query, name))
                rows.append((query, name, float(score)))
                kept += 1
    return rows


def random_unit_vectors(n: int, dim: int, seed: int = 0, chunk: int = ADD_BATCH) -> np.ndarray:
    """(n, dim) float32 random unit vectors, drawn chunk by chunk into one array (1M x 128
    = 512 MB needs 512 MB, not twice that)."""
    out = np.empty((n, dim), np.float32)
    rng = np.random.default_rng(seed)
    for start in range(0, n, chunk):
        part = out[start:start + chunk]
        part[:] = rng.standard_normal(part.shape, dtype=np.float32)
        part /= np.linalg.norm(part, axis=1, keepdims=True)
    return out


def _noisy_copies(vectors: np.ndarray, kind: str, rng) -> np.ndarray:
    """Queries with a true nearest neighbour: float rows + N(0, 0.05) per coordinate
    (cosine ~0.87 to their source at 128-d), or codes with ~10% of their bits flipped."""
    if kind == "binary":
        flips = rng.random((len(vectors), vectors.shape[1] * 8)) < 0.1
        return vectors ^ np.packbits(flips, axis=1)
    noisy = vectors + 0.05 * rng.standard_normal(vectors.shape, dtype=np.float32)
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def measure(n: int, dim: int = 128, kind: str = "flat", queries: int = 1000, k: int = 10,
            seed: int = 0, **params) -> dict:
    """Scale figures of a `kind` index over n synthetic references: build seconds, memory
    bytes, queries/s for `queries` noisy copies of references searched in batches, and for
    the approximate kinds (ivf, hnsw) recall@1 against the exact answer (None for the
    exact ones). Float references are random unit vectors of `dim`; binary ones random
    codes of `dim` bits."""
    if kind not in KINDS:
        raise ValueError(f"unknown index kind {kind!r}; known: {', '.join(KINDS)}")
    rng = np.random.default_rng(seed + 1)
    if kind == "binary":
        if dim % 8:
            raise ValueError(f"a binary index holds whole bytes; dim {dim} bits is not a multiple of 8")
        vectors = np.random.default_rng(seed).integers(0, 256, (n, dim // 8), dtype=np.uint8)
    else:
        vectors = random_unit_vectors(n, dim, seed)
    picks = np.sort(rng.choice(n, min(queries, n), replace=False))
    probes = _noisy_copies(vectors[picks], kind, rng)
    exact = None
    if kind in ("ivf", "hnsw"):             # brute force on the array itself, no second copy
        exact = faiss.knn(probes, vectors, 1, metric=faiss.METRIC_INNER_PRODUCT)[1][:, 0]
    ids = [str(i) for i in range(n)]
    started = time.perf_counter()
    index = CopyIndex.build(vectors, ids, kind=kind, **params)
    build = time.perf_counter() - started
    del vectors
    started = time.perf_counter()
    _, found = index.search(probes, k=k)
    seconds = max(time.perf_counter() - started, 1e-9)
    recall = None
    if exact is not None:
        recall = float(np.mean([bool(f) and f[0] == ids[e] for f, e in zip(found, exact)]))
    return {"kind": kind, "references": n, "dim": dim, "queries": len(picks), "k": k,
            "params": index.params, "build_seconds": round(build, 4),
            "memory_bytes": index.memory_bytes(),
            "queries_per_second": round(len(picks) / seconds, 1),
            "recall_at_1": None if recall is None else round(recall, 4)}
