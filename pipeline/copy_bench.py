"""`make bench-copy` (issue #21 item 5): the learned descriptor against ORB and the
perceptual hash on the same queries of the generator's copy benchmark, per edit; the
trace's source ID; queries/s and index build time and memory at 10k / 100k / 1M
references (synthetic vectors beyond the benchmark's own frames).

Queries/s count describing the (decoded) query frames and searching; decoding JPEGs is
the same for every method and is left out. The 100k-reference row searches the
benchmark's real query descriptors in an index of its reference descriptors padded with
random unit vectors to 100k, so its speed is that of a real 100k index and its matches
are still the benchmark's.
"""
from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from common.atomic import atomic_write_text
from common.command import command_line, report_file
from common.hardware import describe_machine, machine
from common.split import video_id
from copydetect.breakdown import OUTCOMES, outcomes, per_group, pr_curve_png
from copydetect.index import CopyIndex, measure, random_unit_vectors
from copydetect.metrics import CopyScores, evaluate
from copydetect.search import Describer, read_folder, search
from copydetect.siblings import VideoFrames, sibling_choices
from pipeline.assemble import assemble_reader
from pipeline.trace import reference_ids
from ppocr_ext.ambiguity import forgiven_accuracy
from synth.copies import read_csv


def _row(scores: CopyScores) -> dict:
    return {"uap": round(scores.uap, 4), "recall_at_p90": scores.recall_at_p90,
            "threshold_at_p90": scores.threshold_at_p90, "recall_at_1": round(scores.recall_at_1, 4),
            "recall_at_10": round(scores.recall_at_10, 4)}


class References:
    """The reference frames' index per method, built once (with its build time) for every
    row that searches it."""

    def __init__(self, frames):
        self.frames, self.built = frames, {}

    def index(self, describer: Describer):
        if describer.method not in self.built:
            started = time.perf_counter()
            index = describer.index(self.frames.images, self.frames.names)
            self.built[describer.method] = (index, time.perf_counter() - started)
        return self.built[describer.method]


def run_method(name, describer, refs: References, queries, truth, query_rows, background=None,
               limit=None, verifier=None, frames=None):
    index, build = refs.index(describer)
    images, names = queries.images[:limit], queries.names[:limit]
    started = time.perf_counter()
    rows = search(describer, index, images, names, k=10, background=background,
                  verifier=verifier, verify_top=10, frames=frames)
    seconds = time.perf_counter() - started
    kept = set(names)
    truth = [t for t in truth if t[0] in kept]
    scores = evaluate(truth, rows)
    groups = per_group(truth, rows, [q for q in query_rows if q["query_id"] in kept])
    return scores, rows, {"method": name, **_row(scores), "queries": len(names),
                          "queries_per_second": round(len(names) / seconds, 1),
                          "index_seconds": round(build, 2),
                          "outcomes": outcomes(truth, rows, query_rows),
                          "per_edit": {g: {"uap": round(s.uap, 4), "recall_at_1": round(s.recall_at_1, 4)}
                                       for g, s in groups.items()}}


def video_level(rows, query_rows) -> CopyScores:
    """uAP of the (query, video) answers: what a trace needs (another frame of the right
    video is a right answer)."""
    truth = [(q["query_id"], q["video"]) for q in query_rows if q["kind"] != "distractor"]
    return evaluate(truth, [(q, video_id(r), s) for q, r, s in rows])


def copies_only(rows, truth, query_rows) -> CopyScores:
    """The frame-level scores without the same video's held-out frames (copies and
    distractors only): whose truth, the reference frame nearest in time, the pixels pick
    about half the time (copydetect/siblings.py)."""
    held_out = {q["query_id"] for q in query_rows if q["kind"] == "same_video"}
    return evaluate([t for t in truth if t[0] not in held_out], [r for r in rows if r[0] not in held_out])


def source_ids(rows, query_rows, sources: dict) -> dict:
    """Of the queries whose best match is in the right video, how many get the right
    account ID from the reference frames, and how many once `I` and `l` count as one symbol
    (the glyph pair the watermark's face draws alike: synth/glyph_ambiguity.py)."""
    by_query = {q["query_id"]: q for q in query_rows}
    matched = [(by_query[q], video_id(r)) for q, r, _ in rows
               if by_query[q]["kind"] != "distractor" and video_id(r) == by_query[q]["video"]]
    pairs = [(q["account_id"], sources.get(video, {}).get("id", "")) for q, video in matched]
    right = sum(truth == read for truth, read in pairs)
    return {"correctly_matched": len(matched), "source_id_right": right,
            "share": round(right / max(len(matched), 1), 4),
            "share_il_forgiven": round(forgiven_accuracy(pairs, [("I", "l")]), 4) if pairs else None}


def scale_rows(sizes, dim: int) -> list[dict]:
    rows = []
    for n in sizes:
        for kind in ("flat", "ivf") if n >= 100_000 else ("flat",):
            rows.append({"references": n, **measure(n, dim=dim, kind=kind, queries=1000)})
    return rows


def padded_speed(describer: Describer, refs, queries, n: int) -> dict:
    """Queries/s (describe + search) against n references: the real ones plus random fillers."""
    vectors = describer.vectors(refs.images)
    filler = random_unit_vectors(max(0, n - len(vectors)), vectors.shape[1], seed=0)
    index = CopyIndex.build(np.concatenate([vectors, filler]),
                            refs.names + [f"filler{i}" for i in range(len(filler))], kind="flat")
    started = time.perf_counter()
    index.search(describer.vectors(queries.images), k=10)
    seconds = time.perf_counter() - started
    return {"references": len(index.ids), "queries": len(queries.names),
            "queries_per_second": round(len(queries.names) / seconds, 1)}


def _sibling_lines(siblings: dict, searched: list[dict]) -> list[str]:
    """The pixels' own frame-level limit (copydetect.siblings, the true video given) beside
    the recall@1 of the verified rows of the search on the same edit."""
    lines = ["", "## Which frame of its video: the pixels, placed", "",
             "Each query with a match, placed on the first frame of its true video (scale, offset "
             "and mirror by template matching) and compared at that placement with each frame of "
             "the video (zero-mean normalised correlation): how often its truth is the most alike "
             "frame (copydetect/siblings.py; no search). The search rows' recall@1 count every "
             "query of the edit.", "",
             "| queries | n | truth is the most alike frame | a blind pick among the video's frames | "
             + " | ".join(f"{row['method']}, recall@1" for row in searched) + " |",
             "|---|---|---|---|" + "---|" * len(searched)]
    for group, row in siblings.items():
        edit = "same video" if group.startswith("same video") else group
        recalls = [method["per_edit"].get(edit, {}).get("recall_at_1") for method in searched]
        lines.append(f"| {group} | {row['queries']} | {row['right']} ({row['right'] / row['queries']:.3f}) | "
                     f"{row['chance'] / row['queries']:.3f} | "
                     + " | ".join("-" if r is None else f"{r:.3f}" for r in recalls) + " |")
    return lines


def _markdown(command, args, info, methods, video, trace, scale, speed, siblings, copies) -> str:
    lines = ["# Copy detection: which reference frame a repost came from", "",
             f"Command: `{command}`  ", f"Date: {datetime.now().isoformat(timespec='seconds')}  ",
             f"Machine: {describe_machine(info)}  ",
             f"Benchmark: `{args.bench}` (tools/synth_copies.py), descriptor `{args.model}`", "",
             "## Frame level, the 2021 challenge's scores (top-1 prediction per query)", "",
             "| method | queries | uAP | recall at P90 (threshold) | recall@1 | recall@10 | queries/s | index s |",
             "|---|---|---|---|---|---|---|---|"]
    for m in methods:
        p90 = "-" if m["recall_at_p90"] is None else f"{m['recall_at_p90']:.4f} ({m['threshold_at_p90']:.3f})"
        lines.append(f"| {m['method']} | {m['queries']} | {m['uap']:.4f} | {p90} | {m['recall_at_1']:.4f} | "
                     f"{m['recall_at_10']:.4f} | {m['queries_per_second']} | {m['index_seconds']} |")
    groups = sorted({g for m in methods for g in m["per_edit"]})
    lines += ["", "## Per edit: uAP / recall@1 (that edit's queries plus every distractor)", "",
              "| edit | " + " | ".join(m["method"] for m in methods) + " |",
              "|---|" + "---|" * len(methods)]
    for g in groups:
        cells = [f"{m['per_edit'][g]['uap']:.3f} / {m['per_edit'][g]['recall_at_1']:.3f}"
                 if g in m["per_edit"] else "-" for m in methods]
        lines.append(f"| {g} | " + " | ".join(cells) + " |")
    lines += ["", "## Where frame-level hits are lost: the rank-1 answer of each query that has a "
              "match", "", "| rank-1 answer | " + " | ".join(m["method"] for m in methods) + " |",
              "|---|" + "---|" * len(methods)]
    for outcome in OUTCOMES:
        lines.append(f"| {outcome} | " + " | ".join(str(m["outcomes"][outcome]) for m in methods) + " |")
    p90 = "-" if copies["recall_at_p90"] is None else f"{copies['recall_at_p90']:.4f}"
    lines += ["", f"Without the same video's held-out frames (the copies and the distractors only), "
              f"{copies['method']}: uAP {copies['uap']:.4f}, recall@1 {copies['recall_at_1']:.4f}, "
              f"recall at P90 {p90}."]
    lines += ["", "## Video level and the trace's source ID (learned descriptor)", "",
              f"Video-level uAP (another frame of the right video counts): {video['uap']:.4f}, "
              f"recall@1 {video['recall_at_1']:.4f}.  ",
              f"Source ID (per-video consensus of the reference frames, released reader) right for "
              f"{trace['source_id_right']} of {trace['correctly_matched']} correctly matched queries "
              f"({trace['share']:.4f}); with `I` and `l` counted as one symbol "
              f"{trace['share_il_forgiven']}.", "",
              "## Scale (synthetic unit vectors, 128-d float32, 1,000 queries, k = 10)", "",
              "| references | index | build s | memory MB | queries/s | recall@1 vs exact |",
              "|---|---|---|---|---|---|"]
    for r in scale:
        recall = r.get("recall_at_1")
        lines.append(f"| {r['references']:,} | {r['kind']} | {r['build_seconds']:.2f} | "
                     f"{r['memory_bytes'] / 2**20:.1f} | {r['queries_per_second']:.0f} | "
                     f"{'-' if recall is None else f'{recall:.3f}'} |")
    lines += ["", f"End to end against {speed['references']:,} references (the benchmark's plus random "
              f"fillers, exact index), describing and searching {speed['queries']} query frames: "
              f"{speed['queries_per_second']} queries/s."]
    verified = [m for m in methods if "verification" in m["method"]]
    if siblings and verified:
        lines += _sibling_lines(siblings, verified)
    return "\n".join(lines + [""])


def bench_copy_main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bench", default="data/copies", help="a tools/synth_copies.py folder")
    p.add_argument("--model", default="output/copy/descriptor/descriptor.pt")
    p.add_argument("--background", help="frames that match nothing (the descriptor's training "
                   "frames), for the normalised-score row")
    p.add_argument("--orb-limit", type=int, help="queries ORB reads (it is the slow one)")
    p.add_argument("--scale", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--work", default="output/bench_copy")
    p.add_argument("--out", default="bench/copy", help="writes OUT.md, OUT.json, OUT_pr.png")
    args = p.parse_args(argv)
    bench = Path(args.bench)
    refs, queries = References(read_folder(bench / "references")), read_folder(bench / "queries")
    truth = [(t["query_id"], t["reference_id"]) for t in read_csv(bench / "ground_truth.csv")]
    query_rows = read_csv(bench / "queries.csv")

    cnn = Describer("cnn", args.model)
    background = None
    if args.background:
        frames = read_folder(args.background)
        background = cnn.index(frames.images, frames.names)
    methods, curves, cnn_rows = [], {}, None
    orb = Describer("orb")
    verifier = refs.index(orb)[0]   # the ORB row's index verifies the CNN's candidates too
    frames = VideoFrames(dict(zip(refs.frames.names, refs.frames.images)))
    plan = [("learned CNN", cnn, None, None, None, None),
            ("learned CNN + ORB verification of its top 10", cnn, None, None, verifier, None),
            ("learned CNN + ORB verification + the most alike frame of its video", cnn, None, None,
             verifier, frames),
            ("perceptual hash", Describer("phash"), None, None, None, None),
            ("ORB + RANSAC", orb, None, args.orb_limit, None, None)]
    if background is not None:
        plan.insert(1, ("learned CNN, normalised", cnn, background, None, None, None))
    if args.orb_limit:   # the learned descriptor on exactly ORB's queries too
        plan.append((f"learned CNN, ORB's {args.orb_limit} queries", cnn, None, args.orb_limit, None, None))
    for name, describer, bg, limit, verify_with, whole_frames in plan:
        scores, rows, row = run_method(name, describer, refs, queries, truth, query_rows, bg, limit,
                                       verify_with, whole_frames)
        methods.append(row)
        curves[name] = scores
        cnn_rows = rows if cnn_rows is None else cnn_rows
        if whole_frames is not None:
            copies = {"method": name, **_row(copies_only(rows, truth, query_rows))}
        print(f"{name}: uAP {row['uap']:.4f}, recall@1 {row['recall_at_1']:.4f}, {row['queries_per_second']} q/s")
    video = _row(video_level(cnn_rows, query_rows))
    reader = assemble_reader(batch_size=64)
    sources = reference_ids(reader, bench / "references", Path(args.work) / "references")
    trace = source_ids(cnn_rows, query_rows, sources)
    speed = padded_speed(cnn, refs.frames, queries, 100_000)
    scale = scale_rows(args.scale, cnn.model.config["dim"])
    siblings = sibling_choices(bench, read_csv(bench / "references.csv"), query_rows, dict(truth))
    info = machine()
    out = Path(args.out)
    pr_curve_png(out.with_name(out.name + "_pr.png"), curves, f"{args.bench}: {len(queries.names)} queries")
    command = command_line("bench_copy.py", argv)
    payload = {"command": command, "machine": info, "methods": methods, "video_level": video,
               "trace": trace, "scale": scale, "speed_100k": speed, "siblings": siblings,
               "copies_only": copies}
    atomic_write_text(report_file(out, ".json"), json.dumps(payload, indent=1) + "\n")
    atomic_write_text(report_file(out, ".md"),
                      _markdown(command, args, info, methods, video, trace, scale, speed, siblings, copies))
    return payload
