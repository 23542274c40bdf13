"""Copy search end to end for one descriptor: describe the reference frames, index them,
describe the queries, search, normalise the scores; what `tools/copy_detect.py` and the
benchmark run.

Three descriptors behind one interface (`METHODS`): the learned CNN (copydetect.descriptor,
float vectors in a faiss inner-product index), the perceptual hash (copydetect.classic,
64 bits in a faiss binary index, scored 1 - Hamming/64) and ORB keypoints verified by
RANSAC (copydetect.classic.OrbIndex, scored by inliers). Frames are read through
common.images: an unreadable file is listed as skipped by name, never fatal.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from common.atomic import atomic_write_text
from common.images import decode_frames, list_image_files
from copydetect.classic import OrbIndex, phash_codes
from copydetect.descriptor import describe, load_descriptor
from copydetect.index import CopyIndex, normalise_scores, predictions

log = logging.getLogger(__name__)
METHODS = ("cnn", "phash", "orb")


@dataclass
class Frames:
    names: list[str]
    images: list[np.ndarray]
    skipped: list[dict]


def read_folder(folder, progress: bool = True) -> Frames:
    """Every readable image of `folder` (sorted); the others as {"name", "reason"}."""
    paths, skipped = list_image_files(folder)
    images, names = decode_frames(tqdm(paths, desc=f"reading {Path(folder).name}", unit="frame",
                                       disable=not progress), skipped)
    return Frames(names, images, skipped)


class Describer:
    """Frames -> descriptors for one method (`cnn` needs the trained descriptor file)."""

    def __init__(self, method: str, model_path=None, batch: int = 128):
        if method not in METHODS:
            raise ValueError(f"unknown descriptor {method!r}; known: {', '.join(METHODS)}")
        if method == "cnn" and not model_path:
            raise ValueError("the cnn descriptor needs --model (train one with tools/train_descriptor.py)")
        self.method, self.batch = method, batch
        self.model = load_descriptor(model_path) if method == "cnn" else None

    def vectors(self, images, progress: bool = False) -> np.ndarray:
        chunks = []
        for start in tqdm(range(0, len(images), self.batch), desc=f"{self.method} descriptors",
                          unit="batch", disable=not progress):
            part = images[start:start + self.batch]
            chunks.append(describe(self.model, part, self.batch) if self.method == "cnn" else phash_codes(part))
        return np.concatenate(chunks)

    def index(self, images, ids, kind: str = "flat", progress: bool = False):
        """A searchable index of `images` named by `ids`."""
        if self.method == "orb":
            return OrbIndex.build(images, ids)
        kind = "binary" if self.method == "phash" else kind
        return CopyIndex.build(self.vectors(images, progress), list(ids), kind=kind)


def search(describer: Describer, index, query_images, query_ids, k: int = 10,
           background=None, beta: float = 1.0, top: int = 1) -> list[tuple[str, str, float]]:
    """(query, reference, score) predictions, the best `top` per query. `background`: an
    index of frames known not to match (e.g. the generator's training frames); with it
    the scores of float descriptors are normalised as the 2021 challenge's winners did."""
    if describer.method == "orb":
        rows = []
        for query_id, found in zip(query_ids, index.query_many(query_images, k_candidates=k)):
            rows += [(query_id, ref, float(score)) for ref, score in found[:top]]
        return rows
    vectors = describer.vectors(query_images)
    scores, neighbours = index.search(vectors, k=k)
    if background is not None and describer.method == "cnn":
        background_scores, _ = background.search(vectors, k=10)
        scores = normalise_scores(scores, background_scores, beta=beta)
    return predictions(list(query_ids), scores, neighbours, top=top)


def write_predictions(path, rows) -> None:
    """query_id,reference_id,score rows (the challenge's submission shape)."""
    atomic_write_text(path, "query_id,reference_id,score\n" +
                      "".join(f"{q},{r},{s:.6f}\n" for q, r, s in rows))


def write_json(path, payload) -> None:
    atomic_write_text(path, json.dumps(payload, indent=1) + "\n")


def _describer_file(path) -> Path:
    return Path(f"{path}.describer.json")


def save_search_index(path, frames: Frames, method: str, model_path=None, kind: str = "flat"):
    """Describe and index `frames`, write the index and how it was described (the query
    side must use the same method and model); return (describer, index)."""
    describer = Describer(method, model_path)
    index = describer.index(frames.images, frames.names, kind=kind, progress=True)
    index.save(path)
    write_json(_describer_file(path), {"method": method, "kind": kind, "frames": len(frames.names),
                                       "model": str(Path(model_path).resolve()) if model_path else None,
                                       "skipped": frames.skipped})
    return describer, index


def load_search_index(path):
    """(describer, index) of an index written by `save_search_index`."""
    meta_path = _describer_file(path)
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path}: missing; (re)build the index with tools/copy_detect.py index")
    meta = json.loads(meta_path.read_text())
    describer = Describer(meta["method"], meta["model"])
    index = OrbIndex.load(path) if meta["method"] == "orb" else CopyIndex.load(path)
    return describer, index
