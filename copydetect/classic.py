"""The two classical copy-detection baselines of the 2021 Image Similarity Challenge write-up
(seed 004), kept to measure the learned descriptor (copydetect.descriptor) against on the
same queries: a global perceptual hash and ORB keypoint matching verified by RANSAC (the
write-up's ORB baseline reached 0.16 uAP on the challenge).

pHash (`phash_codes`) is the cheapest possible descriptor: 64 bits per frame, searched by
Hamming distance in a faiss `IndexBinaryFlat`. It survives re-encoding, mild resizing and
colour shifts, and fails on crops, mirroring and large overlays, since it is a low
frequency DCT of the whole frame. It comes from the maintained `imagehash` library rather
than a local copy, so its bits are the ones everyone else's pHash produces.

ORB (`orb_features`, `verify`, `OrbIndex`) is local: keypoints survive crops and overlays
as long as enough of the frame is left. Candidates are shortlisted by letting every query
descriptor vote for the owners of its nearest reference descriptors (one faiss binary
index over all reference descriptors), then each shortlisted reference is verified by a
ratio-tested brute-force match and a RANSAC fit; the score is the inlier count. The fitted
model is `cv2.estimateAffinePartial2D` (rotation, uniform scale, translation: 4 degrees of
freedom), not a homography: a repost crops and resizes a frame but does not change its
perspective, a 4-dof model needs 2 matches per RANSAC sample instead of 4 (it finds the
right fit in fewer iterations among many outliers) and it cannot bend a handful of chance
matches into a wild but "consistent" warp, which a homography's 8 dof can. Neither model
verifies a mirrored copy, and flipping keypoint coordinates would not help since ORB
descriptors are not flip-invariant; so a query is also described flipped (`mirrored=True`)
and `OrbIndex.query` keeps the better of the two orientations.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
import faiss
import imagehash
import numpy as np
from PIL import Image

from common.atomic import atomic_path

PHASH_BITS = 64               # phash_codes' default: hash_size 8 -> 8 x 8 bits
ORB_BYTES = 32                # an ORB descriptor: 256 bits
MIN_SIDE = 64                 # images with a shorter short side are upscaled to it first
MAX_DISTANCE = 64             # of 256 bits: a farther neighbour casts no vote
SCORE_HALF = 20.0             # score = inliers / (inliers + SCORE_HALF): 20 inliers -> 0.5
ORB_FORMAT = 1                # OrbIndex.save's file layout


# --- perceptual hash -------------------------------------------------------------------

def phash_codes(images: Sequence[np.ndarray], hash_size: int = 8) -> np.ndarray:
    """imagehash's pHash of each BGR image, packed row-major into bytes: uint8
    (n, hash_size * hash_size / 8), the layout a faiss `IndexBinaryFlat` takes."""
    bits = hash_size * hash_size
    if hash_size < 2 or bits % 8:
        raise ValueError(f"hash_size * hash_size must be a multiple of 8 bits, got hash_size {hash_size}")
    codes = np.zeros((len(images), bits // 8), np.uint8)
    for i, image in enumerate(images):
        rgb = Image.fromarray(np.ascontiguousarray(image[..., ::-1]))
        codes[i] = np.packbits(imagehash.phash(rgb, hash_size=hash_size).hash.reshape(-1))
    return codes


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bit distance between packed codes, row by row (broadcasting)."""
    return np.unpackbits(np.bitwise_xor(a, b), axis=-1).sum(-1)


def phash_search(reference_codes: np.ndarray, reference_ids: Sequence[str],
                 query_codes: np.ndarray, k: int = 10) -> list[list[tuple[str, float]]]:
    """The `k` nearest references of each query by Hamming distance, as (reference id,
    score) best first, score = 1 - distance / bits (in [0, 1], comparable across queries)."""
    if len(reference_codes) != len(reference_ids):
        raise ValueError(f"{len(reference_codes)} codes but {len(reference_ids)} ids")
    bits = reference_codes.shape[1] * 8
    index = faiss.IndexBinaryFlat(bits)
    index.add(np.ascontiguousarray(reference_codes, np.uint8))
    k = min(k, len(reference_ids))
    if k == 0 or len(query_codes) == 0:
        return [[] for _ in range(len(query_codes))]
    distances, neighbours = index.search(np.ascontiguousarray(query_codes, np.uint8), k)
    return [[(reference_ids[j], 1.0 - float(d) / bits) for d, j in zip(row_d, row_j) if j >= 0]
            for row_d, row_j in zip(distances, neighbours)]


# --- ORB -------------------------------------------------------------------------------

@dataclass(frozen=True)
class OrbFeatures:
    points: np.ndarray        # float32 (m, 2): x, y in the original image's pixels
    descriptors: np.ndarray   # uint8 (m, 32); m may be 0 (a flat image)
    shape: tuple = field(default=(0, 0))   # (height, width) of the image described

    def __len__(self) -> int:
        return len(self.descriptors)


def _grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def orb_features(image: np.ndarray, n_features: int = 500, mirrored: bool = False) -> OrbFeatures:
    """ORB keypoints and descriptors of a BGR (or grey) image; `mirrored` describes its
    horizontal flip instead (how a mirrored copy is matched: descriptors do not flip).
    An image under MIN_SIDE px on its short side is upscaled first (ORB's 31-px patches
    find nothing in it otherwise); points are given back in the original's pixels. The
    edge threshold is 15 px rather than 31, since small frames would lose most of their
    area to the border otherwise (OpenCV pads the pyramid, so the patch stays valid)."""
    grey = _grey(image)
    if mirrored:
        grey = grey[:, ::-1]
    grey = np.ascontiguousarray(grey)
    h, w = grey.shape[:2]
    scale = max(1.0, MIN_SIDE / max(1, min(h, w)))
    if scale > 1.0:
        grey = cv2.resize(grey, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LINEAR)
    orb = cv2.ORB_create(nfeatures=n_features, edgeThreshold=15, patchSize=31)
    keypoints, descriptors = orb.detectAndCompute(grey, None)
    if descriptors is None or not keypoints:
        return OrbFeatures(np.zeros((0, 2), np.float32), np.zeros((0, ORB_BYTES), np.uint8), (h, w))
    points = np.array([kp.pt for kp in keypoints], np.float32) / np.float32(scale)
    return OrbFeatures(points, np.ascontiguousarray(descriptors, np.uint8), (h, w))


def ratio_matches(query: OrbFeatures, reference: OrbFeatures, ratio: float = 0.8):
    """(query index, reference index) pairs passing Lowe's ratio test under a brute-force
    Hamming matcher."""
    if len(query) == 0 or len(reference) < 2:
        return []
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(query.descriptors, reference.descriptors, k=2)
    return [(m[0].queryIdx, m[0].trainIdx) for m in pairs
            if len(m) == 2 and m[0].distance < ratio * m[1].distance]


def verify(query: OrbFeatures, reference: OrbFeatures, ratio: float = 0.8, min_matches: int = 8,
           threshold: float = 5.0, max_scale: float = 10.0) -> int:
    """RANSAC inliers of a similarity transform (estimateAffinePartial2D) from the query's
    ratio-tested matches to the reference's points; 0 when fewer than `min_matches`
    matches pass the ratio test, when no fit is found, or when the fit shrinks or grows
    the query by more than `max_scale` (a degenerate fit gathering chance matches).
    `threshold`: reprojection error allowed, in reference pixels."""
    matches = ratio_matches(query, reference, ratio)
    if len(matches) < max(min_matches, 2):
        return 0
    qi, ri = np.array(matches).T
    model, inliers = cv2.estimateAffinePartial2D(
        query.points[qi], reference.points[ri], method=cv2.RANSAC,
        ransacReprojThreshold=threshold, maxIters=2000, confidence=0.995)
    if model is None or inliers is None:
        return 0
    scale = float(np.sqrt(abs(np.linalg.det(model[:, :2]))))
    if not 1.0 / max_scale <= scale <= max_scale:
        return 0
    return int(inliers.sum())


def inlier_score(inliers: int) -> float:
    """inliers / (inliers + SCORE_HALF), in [0, 1): monotone in the inlier count (so the
    same ranking and uAP), on the [0, 1] scale of the other descriptors' scores."""
    return inliers / (inliers + SCORE_HALF)


@contextmanager
def _faiss_threads(threads: int | None):
    """faiss' OpenMP thread count set to `threads` for the block, then restored (None:
    left as it is)."""
    if threads is None:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class OrbIndex:
    """All reference descriptors in one faiss `IndexBinaryFlat` (256 bits) with the owner
    (reference number) of each row, plus each reference's features for verification.

    Cost of one query: its descriptors (<= n_features, twice for the mirrored view)
    searched exhaustively against every reference descriptor, i.e. 2 x n_features x
    (n_features x references) Hamming distances, linear in the reference count; then
    `k_candidates` x 2 brute-force matches of n_features x n_features and RANSAC fits.
    Measured on this project's 2-core CPU machine while a training job held both cores
    (nice -n 19; 360x640 procedural frames, n_features 500, 200 references = 99k
    descriptors, k_candidates 10, mirror on): ~3 queries/s (0.3 s each, about 70% of it
    the two faiss searches of ~0.1 s, the rest ORB extraction, matching and RANSAC);
    building the index ~180 references/s. A search this small runs one OpenMP thread by
    default (`threads=1`): with faiss' default of 2 threads on the busy machine it was
    3x slower (0.9 queries/s), the threads spinning against the other job; pass
    threads=None to leave faiss' setting alone on an idle many-core machine. The time is
    linear in the references: the benchmark's 100k frames (50M descriptors) would take
    minutes per query, which is what a global descriptor avoids.
    """

    def __init__(self, features: list[OrbFeatures], ids: Sequence[str], n_features: int = 500,
                 threads: int | None = 1):
        if len(features) != len(ids):
            raise ValueError(f"{len(features)} references but {len(ids)} ids")
        self.features = list(features)
        self.ids = [str(i) for i in ids]
        self.position = {name: j for j, name in enumerate(self.ids)}
        self.n_features = n_features
        self.threads = threads
        self.index = faiss.IndexBinaryFlat(ORB_BYTES * 8)
        counts = [len(f) for f in self.features]
        self.owners = np.repeat(np.arange(len(self.features), dtype=np.int64), counts)
        if sum(counts):
            self.index.add(np.ascontiguousarray(np.concatenate([f.descriptors for f in self.features])))

    @classmethod
    def build(cls, images_or_features: Sequence, ids: Sequence[str], n_features: int = 500,
              threads: int | None = 1) -> "OrbIndex":
        """From reference images (BGR arrays) or their precomputed `OrbFeatures`.
        `threads`: faiss' OpenMP threads during a query's search (None: faiss' default)."""
        features = [item if isinstance(item, OrbFeatures) else orb_features(item, n_features)
                    for item in images_or_features]
        return cls(features, ids, n_features, threads)

    def __len__(self) -> int:
        return len(self.ids)

    def votes(self, query: OrbFeatures, neighbours: int = 3) -> np.ndarray:
        """Per reference, how many query descriptors have it among the owners of their
        `neighbours` nearest reference descriptors (within MAX_DISTANCE bits; one vote
        per descriptor and owner)."""
        tally = np.zeros(len(self.ids), np.int64)
        if len(query) == 0 or self.index.ntotal == 0:
            return tally
        k = min(neighbours, self.index.ntotal)
        with _faiss_threads(self.threads):
            distances, rows = self.index.search(query.descriptors, k)
        for d, r in zip(distances, rows):
            owners = np.unique(self.owners[r[(r >= 0) & (d <= MAX_DISTANCE)]])
            tally[owners] += 1
        return tally

    def query(self, image: np.ndarray, k_candidates: int = 10, verify_top: int | None = None,
              neighbours: int = 3, mirror: bool = True, ratio: float = 0.8,
              min_matches: int = 8) -> list[tuple[str, float]]:
        """(reference id, score) best first, score = inlier_score(inliers) in [0, 1), for
        the `k_candidates` most-voted references that verify (inliers > 0), each scored by
        the better of the query and (`mirror`) its horizontal flip. `verify_top`: keep at
        most that many results (None: all that verified). A featureless query gives []."""
        best: dict[int, int] = {}
        for view in self._views(image, mirror):
            tally = self.votes(view, neighbours)
            candidates = [int(j) for j in np.argsort(-tally, kind="stable")[:k_candidates] if tally[j] > 0]
            for j in candidates:
                inliers = verify(view, self.features[j], ratio, min_matches)
                if inliers > best.get(j, 0):
                    best[j] = inliers
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
        results = [(self.ids[j], inlier_score(n)) for j, n in ranked]
        return results if verify_top is None else results[:verify_top]

    def inliers(self, image: np.ndarray, candidate_ids: Sequence[str], mirror: bool = True,
                ratio: float = 0.8, min_matches: int = 8) -> list[int]:
        """RANSAC inliers of `image` (and, with `mirror`, its horizontal flip: the better of
        the two) against each named reference: the local verification of another
        descriptor's candidates, without the vote over every reference descriptor."""
        unknown = [name for name in candidate_ids if name not in self.position]
        if unknown:
            raise KeyError(f"{len(unknown)} candidate(s) not in this ORB index, e.g. {unknown[0]!r}: "
                           "it must describe the same reference frames as the searched index")
        views = self._views(image, mirror)
        return [max(verify(view, self.features[self.position[name]], ratio, min_matches) for view in views)
                for name in candidate_ids]

    def _views(self, image: np.ndarray, mirror: bool) -> list[OrbFeatures]:
        """The query's features, and with `mirror` those of its horizontal flip too."""
        views = [orb_features(image, self.n_features)]
        if mirror:
            views.append(orb_features(image, self.n_features, mirrored=True))
        return views

    def query_many(self, images: Sequence[np.ndarray], **options) -> list[list[tuple[str, float]]]:
        """`query` of each image, with the same options."""
        return [self.query(image, **options) for image in images]

    def save(self, path) -> None:
        """One .npz at exactly `path` (the features, ids and n_features; the faiss index is
        rebuilt from the descriptors on load, which costs less than reading it), written to
        a temporary file and renamed over the old one."""
        counts = np.array([len(f) for f in self.features], np.int64)
        points = [f.points for f in self.features]
        descriptors = [f.descriptors for f in self.features]
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, format=np.int64(ORB_FORMAT), n_features=np.int64(self.n_features),
                     ids=np.array(self.ids, dtype=str), counts=counts,
                     shapes=np.array([f.shape for f in self.features], np.int64).reshape(-1, 2),
                     points=np.concatenate(points) if points else np.zeros((0, 2), np.float32),
                     descriptors=np.concatenate(descriptors) if descriptors
                     else np.zeros((0, ORB_BYTES), np.uint8))

    @classmethod
    def load(cls, path, threads: int | None = 1) -> "OrbIndex":
        """The index `save` wrote; FileNotFoundError / ValueError naming the file."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no ORB index there; build one with OrbIndex.build(...).save()")
        try:
            with np.load(path, allow_pickle=False) as data:
                parts = {key: data[key] for key in data.files}
        except (OSError, ValueError, EOFError) as error:
            raise ValueError(f"{path}: not an ORB index file ({error})") from error
        missing = {"format", "n_features", "ids", "counts", "shapes", "points", "descriptors"} - set(parts)
        if missing or int(parts["format"]) != ORB_FORMAT:
            raise ValueError(f"{path}: not an ORB index of format {ORB_FORMAT}"
                             + (f" (missing {', '.join(sorted(missing))})" if missing else ""))
        counts = parts["counts"]
        if counts.sum() != len(parts["descriptors"]) or len(counts) != len(parts["ids"]):
            raise ValueError(f"{path}: inconsistent ORB index (counts, ids and descriptors disagree)")
        bounds = np.concatenate([[0], np.cumsum(counts)])
        features = [OrbFeatures(parts["points"][a:b].astype(np.float32),
                                np.ascontiguousarray(parts["descriptors"][a:b], np.uint8),
                                tuple(int(v) for v in shape))
                    for a, b, shape in zip(bounds[:-1], bounds[1:], parts["shapes"])]
        return cls(features, [str(i) for i in parts["ids"]], int(parts["n_features"]), threads)
