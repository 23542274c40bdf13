"""Reading frames by the million on Ray Data (issue #20): `tools/read_ids_ray.py`.

Ray Data does the distributing; nothing here schedules. Frames are read as bytes by Ray's
file reader (a folder, a glob, a file list, or any URI its filesystems read: s3://,
gs://, hdfs://), then an actor pool reads them: each actor loads the localiser and the
recogniser once (the released models by default, `pipeline.assemble.assemble_reader`) and
reads batches of frames end to end, decoding, localising and recognising in one pass. One
stage, not a decode-task stage in front of an actor stage: on CPU nodes the frame bytes
are ~10 KB and the decoded frames ~200 KB each, so moving bytes to the actor and decoding
there keeps the object store out of the hot path; the localiser is a model too and loads
once per actor for the same reason as the recogniser.

Output (`--out`): `readings/*.parquet` (Ray's writer, one file per block) and one
`predictions.csv` streamed from them: name, path, status (`read` or `skipped`), reason,
ID, confidence, box, side, k best. A frame that cannot be decoded is a `skipped` row with
its reason, never a failed job. Actors restart and their tasks are retried when a worker
dies (`max_restarts=-1, max_task_retries=-1`); a block is written once, so no frame is
lost or read twice (tests/test_ray_read.py kills an actor mid-run). With `--group-by
video` a second stage groups the rows by video id (`<video>_<frame>_` names) and writes
one consensus per video (`videos.parquet`, `ppocr_ext.consensus` over the frames' CTC
posteriors, which the first stage keeps only then: ~16 KB a frame).
"""
from __future__ import annotations

import argparse
import glob as globbing
import json
import logging
import time
from pathlib import Path

import numpy as np

from common.cli import positive_int
from common.images import FRAME_LIMITS, BadImage, decode_image, list_image_files
from common.split import video_id
from pipeline.read_ids import alternatives_text, reading_rows

LOG = logging.getLogger(__name__)
URI_SCHEMES = ("s3://", "gs://", "gcs://", "hdfs://", "abfs://", "az://", "http://", "https://")
COLUMNS = ("name", "path", "status", "reason", "text", "confidence", "box", "side", "alternatives")


def frame_sources(inputs: list[str], follow_symlinks: bool = False) -> tuple[list[str], list[dict]]:
    """Paths or URIs of the frames, and the local files skipped on the way (name, reason).
    Each input is a folder (its images, sorted), a glob, a `.txt` list (one path or URI a
    line), a URI (passed to Ray's reader as is) or a file."""
    sources, skipped = [], []
    for item in inputs:
        path = Path(item)
        if item.startswith(URI_SCHEMES):
            sources.append(item)
        elif path.is_dir():
            files, rejected = list_image_files(path, follow_symlinks)
            sources += [str(p) for p in files]
            skipped += [{"name": r["name"], "path": str(path / r["name"]), "reason": r["reason"]}
                        for r in rejected]
        elif path.suffix == ".txt" and path.is_file():
            lines = path.read_text(encoding="utf-8").splitlines()
            sources += [line.strip() for line in lines if line.strip()]
        elif any(ch in item for ch in "*?["):
            sources += sorted(globbing.glob(item, recursive=True))
        elif path.is_file():
            sources.append(str(path))
        else:
            raise FileNotFoundError(f"{item}: no such folder, file, list or glob match")
    if not sources:
        raise FileNotFoundError(f"no frames in {', '.join(inputs)}")
    return sources, skipped


class BatchReader:
    """The actor of the pool: one `IdReader` per actor, reading batches of encoded frames
    (`{"bytes": [...], "path": [...]}`) into rows of COLUMNS (+ `posteriors`)."""

    def __init__(self, reader_options: dict, threads: int, keep_posteriors: bool):
        import torch

        from pipeline.assemble import assemble_reader
        if threads:
            torch.set_num_threads(threads)
        self.reader = assemble_reader(**reader_options)
        self.keep_posteriors = keep_posteriors

    def __call__(self, batch: dict) -> dict:
        rows = {column: [] for column in
                COLUMNS + (("posteriors", "shape") if self.keep_posteriors else ())}
        frames, names, paths = [], [], []
        for data, path in zip(batch["bytes"], batch["path"]):
            try:
                frames.append(decode_image(bytes(data), FRAME_LIMITS))
                names.append(Path(path).name)
                paths.append(path)
            except BadImage as err:
                _add(rows, name=Path(path).name, path=path, status="skipped", reason=str(err))
        posteriors = [] if self.keep_posteriors else None
        readings = self.reader.read(frames, names, posteriors=posteriors) if frames else []
        for i, (row, path) in enumerate(zip(reading_rows(readings), paths)):
            probs = posteriors[i].astype(np.float32) if posteriors is not None else None
            _add(rows, **{**row, "path": path, "status": "read",
                          "confidence": float(row["confidence"]),
                          "posteriors": None if probs is None else probs.tobytes(),
                          "shape": None if probs is None else list(probs.shape)})
        return rows


MAX_BATCHES_PER_BLOCK = 64   # ~2k frames of ~10-50 KB: a block stays far below 100 MB


def read_blocks(files: int, batch_size: int, actors: int) -> int:
    """How many blocks Ray's file reader cuts `files` into: as few as keep every actor
    fed (4 per actor), each holding many whole batches. Why: left to Ray, 1,547 frames
    became ~200 blocks of ~8, and the actor pool, which bundles blocks up to `batch_size`
    rows, then read a full batch and a batch of 1-2 frames from every bundle; the actor
    read 45 frames/s inside the pipeline against 57 called directly (bench/scale.md).
    Here only a block's last batch may be short."""
    batches = -(-files // batch_size)
    wanted = max(4 * actors, -(-batches // MAX_BATCHES_PER_BLOCK))
    return max(1, min(batches, wanted))


def _add(rows: dict, **values) -> None:
    for column in rows:
        rows[column].append(values.get(column, _EMPTY.get(column, "")))


_EMPTY = {"confidence": float("nan"), "posteriors": b"", "shape": [0, 0]}   # a skipped row


def video_consensus(group, charset: list[str], k: int):
    """The second stage, one task per group of frames of a video: one consensus reading
    from their posteriors. A function, not an actor pool: actors holding every core
    starved the shuffle tasks of the group-by (measured: the job waited forever)."""
    import pandas as pd

    from ppocr_ext.consensus import consensus
    read = group[group["status"] == "read"]
    observations = [np.frombuffer(p, np.float32).reshape(s)
                    for p, s in zip(read["posteriors"], read["shape"])]
    if not observations:
        return pd.DataFrame(columns=["video", "text", "logprob", "frames", "alternatives"])
    best = consensus(observations, charset, k=k)
    return pd.DataFrame([{"video": group["video"].iloc[0], "text": best.text,
                          "logprob": best.logprob, "frames": best.observations,
                          "alternatives": alternatives_text(best.alternatives)}])


def read_with_ray(sources: list[str], out: Path, reader_options: dict, actors: int,
                  threads: int, batch_size: int, group_by_video: bool = False,
                  skipped: list[dict] = ()) -> dict:
    """Run the pipeline on the Ray already initialised; returns the summary it writes."""
    import pyarrow.csv as pacsv
    import pyarrow.dataset as padataset
    import ray

    start = time.perf_counter()
    readings_dir = out / "readings"
    # reading bytes and writing Parquet are I/O: they hold no logical CPU, or actors that
    # hold every core (2 actors x 1 thread on 2 cores) would starve them (measured: the
    # job waited forever at "3/2 CPU")
    # a URI may name a whole folder, whose file count only Ray's reader knows
    blocks = (None if any(s.startswith(URI_SCHEMES) for s in sources)
              else read_blocks(len(sources), batch_size, actors))
    ds = ray.data.read_binary_files(sources, include_paths=True, num_cpus=0,
                                    override_num_blocks=blocks)
    ds = ds.map_batches(BatchReader, fn_constructor_kwargs={
        "reader_options": reader_options, "threads": threads, "keep_posteriors": group_by_video},
        batch_size=batch_size, concurrency=actors, num_cpus=max(threads, 1),
        batch_format="numpy", max_restarts=-1, max_task_retries=-1)
    if skipped:   # files rejected before reading (not images, links leaving the folder)
        extra = ("posteriors", "shape") if group_by_video else ()
        ds = ds.union(ray.data.from_items([
            {c: s.get(c, _EMPTY.get(c, "")) for c in COLUMNS + extra} | {"status": "skipped"}
            for s in skipped]))
    ds.write_parquet(str(readings_dir), ray_remote_args={"num_cpus": 0})
    table = padataset.dataset(str(readings_dir), format="parquet").to_table(columns=list(COLUMNS))
    table = table.sort_by([("name", "ascending")])
    pacsv.write_csv(table, str(out / "predictions.csv"))
    status = table.column("status").to_pylist()
    summary = {"frames": status.count("read"), "skipped": status.count("skipped"),
               "actors": actors, "threads_per_actor": threads, "batch_size": batch_size,
               "files": {"parquet": str(readings_dir), "csv": str(out / "predictions.csv")}}
    if group_by_video:
        frames = ray.data.read_parquet(str(readings_dir)).map_batches(
            lambda b: {**b, "video": [video_id(n) for n in b["name"]]}, batch_format="pandas")
        from ppocr_ext.posteriors import load_recognizer
        from ppocr_ext.released import released_model
        charset = load_recognizer(reader_options.get("model") or released_model()).charset
        videos = frames.groupby("video", num_partitions=actors).map_groups(
            video_consensus, fn_kwargs={"charset": list(charset), "k": reader_options.get("k", 3)},
            batch_format="pandas")
        videos.write_parquet(str(out / "videos.parquet"), ray_remote_args={"num_cpus": 0})
        summary["videos"] = padataset.dataset(str(out / "videos.parquet"),
                                              format="parquet").count_rows()
        summary["files"]["videos"] = str(out / "videos.parquet")
    summary["seconds"] = round(time.perf_counter() - start, 2)
    summary["frames_per_second"] = round(summary["frames"] / max(summary["seconds"], 1e-9), 1)
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def read_ids_ray_main(argv: list[str] | None = None) -> dict:
    """`tools/read_ids_ray.py`: read frames on a local Ray (the cores present) or a cluster."""
    from pipeline.assemble import DEFAULT_LOC_CONFIG
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("inputs", nargs="+", help="folders, globs, .txt lists or URIs of frames")
    p.add_argument("--out", default="output/read_ids_ray", help="output folder")
    p.add_argument("--address", help="a Ray cluster (ray://host:10001 or auto); default: a "
                                     "local Ray with the cores of this machine")
    p.add_argument("--actors", type=positive_int, default=1,
                   help="reader actors (each loads the models once)")
    p.add_argument("--threads", type=int, default=2, help="torch threads per actor (its CPUs)")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--loc-config", default=DEFAULT_LOC_CONFIG)
    p.add_argument("--loc-opt", nargs="*", default=[])
    p.add_argument("--model", nargs="+", metavar="PATH",
                   help="recogniser (default: the released model, ppocr_ext/released.py)")
    p.add_argument("--k", type=positive_int, default=3)
    p.add_argument("--group-by", choices=["video"], help="also one consensus per video")
    p.add_argument("--follow-symlinks", action="store_true")
    args = p.parse_args(argv)
    try:
        import ray
    except ImportError as err:
        raise SystemExit("error: Ray is not installed: `make setup-scale` "
                         "(pip install -r requirements-scale.txt)") from err
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sources, skipped = frame_sources(args.inputs, args.follow_symlinks)
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"error: --out {out} is not empty (Ray's writer adds files; "
                         "choose a new folder)")
    out.mkdir(parents=True, exist_ok=True)
    ray.init(address=args.address, ignore_reinit_error=True, log_to_driver=False,
             include_dashboard=False)
    reader_options = {"loc_config": args.loc_config, "loc_opts": args.loc_opt,
                      "model": args.model, "k": args.k, "batch_size": args.batch_size}
    summary = read_with_ray(sources, out, reader_options, args.actors, args.threads,
                            args.batch_size, args.group_by == "video", skipped)
    print(json.dumps(summary, indent=1))
    return summary
