"""Trace a repost to its source (issue #21): the copy search says which reference frame a
query was copied from, the ID reader says whose account that reference video carries.

A repost is often cropped, re-encoded or has its watermark cut off, so the ID read from
the query itself may be missing or wrong; the reference frames are clean and a video keeps
one ID, so the source ID is the per-video consensus over the matched video's reference
frames (ppocr_ext.consensus), read once and kept beside the index (INDEX.ids.json, read
again when the recogniser changes). Both
answers are reported, with whether they agree.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from common.atomic import atomic_write_text
from common.split import video_id
from copydetect.search import Frames, search
from pipeline.read_ids import IdReader
from ppocr_ext.consensus import consensus_by_video


@dataclass
class Trace:
    query: str
    reference: str            # the best-matching reference frame ('' without a match)
    video: str
    score: float              # the copy search's score of that match
    matched: bool             # score >= the threshold (every best match without one)
    source_id: str            # the consensus ID of the matched video's reference frames
    source_confidence: float  # its share among the consensus's candidates
    query_id: str             # the ID read from the query frame itself
    query_confidence: float
    agrees: bool              # query_id == source_id


def ids_file(index_path) -> Path:
    return Path(f"{index_path}.ids.json")


def reader_signature(reader: IdReader) -> str:
    """What the cached reference IDs were read with: the recogniser's weights or ONNX file
    (its `name`) with its size and modification time (a new release at the same path reads
    differently), and k. A change to the localiser's code or config is not seen: delete
    INDEX.ids.json."""
    path = Path(reader.recognizer.name)
    stamp = f"{path}:{path.stat().st_size}:{path.stat().st_mtime_ns}" if path.is_file() else str(path)
    return f"{stamp} k={reader.k}"


def reference_ids(reader: IdReader, references_dir, index_path, progress: bool = True) -> dict:
    """{video: {"id", "confidence", "frames"}} of the reference frames, read once and
    cached at INDEX.ids.json with the reader's signature; read again when the recogniser
    differs from the cached one's (or delete the file)."""
    cache, signature = ids_file(index_path), reader_signature(reader)
    if cache.is_file():
        cached = json.loads(cache.read_text())
        if cached.get("reader") == signature:
            return cached["videos"]
    result = reader.read_folder(references_dir, progress=progress, keep_posteriors=True)
    videos = consensus_by_video([r.name for r in result.readings], [result.posteriors],
                                reader.recognizer.charset, k=reader.k)
    table = {video: {"id": c.text, "confidence": c.alternatives[0][1] if c.alternatives else 0.0,
                     "frames": c.observations} for video, c in videos.items()}
    atomic_write_text(cache, json.dumps({"reader": signature, "videos": table}, indent=1) + "\n")
    return table


def trace(queries: Frames, searcher: tuple, reader: IdReader, sources: dict, threshold: float | None = None,
          k: int = 10, verifier=None, verify_top: int = 10, frames=None) -> list[Trace]:
    """One Trace per query frame, in order; `searcher`: `load_search_index(INDEX)`;
    `verifier` and `frames` as copydetect.search.search takes them (the exact frame of the
    video, not only the video)."""
    describer, index = searcher
    best = {q: (r, s) for q, r, s in search(describer, index, queries.images, queries.names, k=k, top=1,
                                             verifier=verifier, verify_top=verify_top, frames=frames)}
    reads = reader.read(queries.images, queries.names)
    rows = []
    for name, reading in zip(queries.names, reads):
        reference, score = best.get(name, ("", 0.0))
        video = video_id(reference) if reference else ""
        source = sources.get(video, {"id": "", "confidence": 0.0})
        rows.append(Trace(
            query=name, reference=reference, video=video, score=float(score),
            matched=bool(reference) and (threshold is None or score >= threshold),
            source_id=source["id"], source_confidence=float(source["confidence"]),
            query_id=reading.text, query_confidence=float(reading.confidence),
            agrees=bool(reference) and reading.text == source["id"]))
    return rows


def write_traces(rows: list[Trace], out_dir) -> dict[str, str]:
    """traces.csv and traces.json under `out_dir`; return their paths."""
    out_dir = Path(out_dir)
    fields = list(Trace.__dataclass_fields__)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(asdict(r) for r in rows)
    csv_path = atomic_write_text(out_dir / "traces.csv", buffer.getvalue())
    json_path = atomic_write_text(out_dir / "traces.json", json.dumps([asdict(r) for r in rows], indent=1) + "\n")
    return {"csv": str(csv_path), "json": str(json_path)}
