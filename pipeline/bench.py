"""`make bench`: the numbers users ask for, each with the command that produced it.

On the generator's test frames (low resolution, and the same videos at train
resolution when given): case-sensitive exact match and normalised edit distance per
frame, the ambiguity report (most frequent confusion pairs and the accuracy with them
forgiven, so the ceiling is visible), truth among the k best, end-to-end frames/s with
localisation and recognition timed apart, peak memory; the per-font glyph measurement;
the training curve of the recogniser (validation accuracy vs wall minutes, from its
train.log); pictures of the curve, the confusions and the failures.
"""
from __future__ import annotations

import argparse
import json
import logging
import resource
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from common.atomic import atomic_write_text
from common.errors import UserError
from common.command import command_line, report_file
from common.hardware import describe_machine, machine
from pipeline.assemble import add_reader_arguments, build_reader, recogniser_name
from pipeline.box_reading import crop_tightness, read_boxes, split_boxes
from pipeline.breakdown import exact_by_face, exact_by_grey, exact_by_pitch
from pipeline.read_ids import FrameReading, IdReader
from pipeline.reports import load_truth, score
from ppocr_ext.glyph_ceiling import closest_pairs, coin_flip_ceiling, indistinguishable_groups, render_glyphs
from ppocr_ext.train_log import read_train_log
from synth.fonts import DEFAULT_FONT_ROOT, LATIN_FACES
from synth.frames import video_faces


def timed_read(reader: IdReader, folder: Path, passes: int = 1) -> tuple[list[FrameReading], dict]:
    """Read a folder with the stages timed apart (decode, localise+crop, recognise, beam),
    `passes` times over: the timing is the last pass's, the first pass's rate kept beside
    it: the first pass carries the process's warm-up (kernels built for each new input
    shape, files read from disk), which a reader of frames by the million pays once. On
    this shared 2-core machine the rate swings more than that between runs: release 9 on
    the demo's 1,547 low-res frames read 80.3, then 102.3 and 106.5 frames/s in one
    process, 85.2, 87.6 and 89.1 in another ten minutes later, and bench-release's two
    passes 95.5 then 82.9. The readings are the same at every pass."""
    if passes < 1:
        raise ValueError(f"passes must be >= 1, got {passes}")
    rates = []
    for _ in range(passes):
        timing = {"decode": 0.0, "localise": 0.0, "recognise": 0.0, "beam_search": 0.0}
        result = reader.read_folder(folder, progress=False, timing=timing)
        total = sum(timing.values())
        rates.append(round(len(result.readings) / total, 1))
    timing = {k: round(v, 2) for k, v in timing.items()}
    timing.update(frames=len(result.readings), skipped=len(result.skipped), seconds=round(total, 2),
                  frames_per_second=rates[-1], first_pass_frames_per_second=rates[0], passes=passes)
    return result.readings, timing


def training_curve(log_file: Path) -> list[dict]:
    """[{minutes since the first step, step, val acc}] from an engine train.log."""
    log = read_train_log(log_file)
    return log.evaluations if log is not None else []


def glyph_report(font_paths: dict[str, Path], size_px: int = 14) -> list[dict]:
    """Per font: the closest glyph pairs after a 1/1.7 downscale and the coin-flip
    ceiling if pairs within 8 grey levels could not be told apart."""
    rows = []
    for name, path in font_paths.items():
        glyphs = render_glyphs(path, size_px=size_px)
        groups = indistinguishable_groups(glyphs, tolerance=8)
        rows.append({"font": name, "closest_pairs": closest_pairs(glyphs, 4),
                     "groups_within_8": groups, "coin_flip_ceiling": round(coin_flip_ceiling(groups), 3)})
    return rows


def peak_memory_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def plot_curve(curve: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot([c["minutes"] for c in curve], [c["val_acc"] for c in curve], marker="o")
    ax.set_xlabel("training wall minutes (2 CPU cores)")
    ax.set_ylabel("val exact match (low-res crops)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusions(confusions: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.barh([c["pair"] for c in confusions][::-1], [c["count"] for c in confusions][::-1])
    ax.set_xlabel("substitutions on the test frames")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def failure_grid(readings: list[FrameReading], truth: dict[str, str], reader: IdReader,
                 folder: Path, path: Path, count: int = 24) -> None:
    """The ID crops of the first `count` misread frames, each with truth and reading."""
    wrong = [r for r in readings if r.name in truth and r.text != truth[r.name]][:count]
    if not wrong:
        return
    frames = [cv2.imread(str(folder / r.name)) for r in wrong]
    crops, _ = reader.crops(frames)
    tiles = []
    for crop, r in zip(crops, wrong):
        crop = cv2.resize(crop, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
        tile = np.zeros((crop.shape[0] + 30, 520, 3), np.uint8)
        tile[:crop.shape[0], :min(520, crop.shape[1])] = crop[:, :520]
        cv2.putText(tile, f"{truth[r.name]} -> {r.text}", (4, tile.shape[0] - 9),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    height = max(t.shape[0] for t in tiles)
    tiles = [cv2.copyMakeBorder(t, 0, height - t.shape[0], 0, 0, cv2.BORDER_CONSTANT) for t in tiles]
    rows = [np.hstack(tiles[i:i + 2] + [np.zeros_like(tiles[0])] * (2 - len(tiles[i:i + 2])))
            for i in range(0, len(tiles), 2)]
    cv2.imwrite(str(path), np.vstack(rows))


def evaluate_set(reader: IdReader, frames: Path, labels: Path, k: int,
                 passes: int = 1) -> tuple[dict, list, dict]:
    truth = load_truth(labels, reader.recognizer.charset)
    readings, timing = timed_read(reader, frames, passes)
    return score(readings, truth, k), readings, timing | {"truth": truth}


def peer_rows(peers: dict) -> dict:
    """The off-the-shelf OCR figures of a tools/bench_peers.py report, flattened."""
    rows = [{"peer": name, "version": peer.get("version", ""), "input": kind,
             "images": r["images"], "exact_match": r["accuracy"],
             "images_per_second": r["images_per_second"]}
            for name, peer in peers["peers"].items() for kind, r in peer["results"].items()]
    return {"command": peers["command"], "date": peers.get("date"), "rows": rows}


def to_markdown(results: dict) -> str:
    lines = ["# Benchmark", "", f"Command: `{results['command']}`  ",
             f"Date: {results['date']}  ",
             f"Machine: {describe_machine(results['machine'])}  ",
             f"Models: localiser `{results['localiser']}`, recogniser `{results['recogniser']}`", ""]
    passes = max((s["timing"].get("passes", 1) for s in results["sets"].values()), default=1)
    lines += ["## Accuracy (frame level, case-sensitive)", ""]
    if passes > 1:
        lines += [f"Each set read {passes} times in one process: frames/s of the last pass, the "
                  "first pass's (with the process's warm-up) in brackets.", ""]
    lines += [f"| frames | n | exact match | 1 - NED | truth in top {results['k']} | GT boxes exact / top {results['k']} | frames/s end to end | localise s | recognise s | beam s | peak MB |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    top_key = f"truth_in_top{results['k']}"
    for name, s in results["sets"].items():
        t = s["timing"]
        boxes = s.get("gt_boxes")
        box_cell = f"{boxes['exact_match']:.4f} / {boxes[top_key]:.4f}" if boxes else "-"
        lines.append(f"| {name} | {s['score']['n']} | {s['score']['exact_match']:.4f} | "
                     f"{1 - s['score']['norm_edit_distance']:.4f} | {s['score'][top_key]:.4f} | {box_cell} | "
                     f"{rate_cell(t)} | {t['localise']} | {t['recognise']} | {t['beam_search']} | {s['peak_memory_mb']} |")
    located = {name: s["crops"] for name, s in results["sets"].items() if s.get("crops", {}).get("n")}
    if located:
        lines += ["", "## The localiser's crops on the generator's boxes", "",
                  "Hit: the crop holds the whole ID; width ratio: crop width / `抖音号:ID` width.", "",
                  "| frames | hit | width ratio p50 / p90 / p95 | within 1.3x | exact, tight / loose |",
                  "|---|---|---|---|---|"]
        for name, c in located.items():
            loose = "-" if c["exact_loose"] is None else f"{c['exact_loose']:.4f}"
            tight = "-" if c["exact_tight"] is None else f"{c['exact_tight']:.4f}"
            lines.append(f"| {name} | {c['hit']:.4f} | {c['width_ratio_p50']} / {c['width_ratio_p90']} / "
                         f"{c['width_ratio_p95']} | {c['within_1.3x']:.4f} | {tight} / {loose} |")
    lines += _binned_table(results, "by_pitch", "pitch_px", "px", "## Exact match by glyph pitch",
                           "Pitch: the ID's ink width in frame pixels over its length (the generator's "
                           "boxes): how many pixels each glyph has.")
    lines += _binned_table(results, "by_grey", "grey", "", "## Exact match by the grey behind the ID",
                           "The median grey inside the ID's box on the frame (the generator's box, "
                           "the white glyphs included): how bright the scene behind the mark is.")
    faced = {name: s["by_face"] for name, s in results["sets"].items() if s.get("by_face")}
    if faced:
        bins = _all_bins({f"{name} {r['face']}": r["by_pitch"] for name, rows in faced.items() for r in rows},
                         "pitch_px")
        lines += ["", "## Exact match by face and glyph pitch", "",
                  "The Latin face each frame's mark is set in (the generator's, replayed from its "
                  "synth_config.json). I/l swap rate: I/l substitutions per I or l in the truths. "
                  "Pitch cells: exact (frames).", "",
                  "| frames | face | n | exact | truth in k best | exact, I/l forgiven | I/l swap rate | "
                  + " | ".join(_bin_label(b["pitch_px"], "px") for b in bins) + " |",
                  "|---|---|---|---|---|---|---|" + "---|" * len(bins)]
        for name, rows in faced.items():
            for r in rows:
                cells = {c["pitch_px"][0]: c for c in r["by_pitch"]}
                lines.append(
                    f"| {name} | {r['face']} | {r['n']} | {r['exact_match']:.3f} | {r['truth_in_alternatives']:.3f} | "
                    f"{r['exact_il_forgiven']:.3f} | "
                    f"{'-' if r['il_swap_rate'] is None else format(r['il_swap_rate'], '.3f')} | "
                    + " | ".join(f"{c['exact_match']:.2f} ({c['n']})" if (c := cells.get(b["pitch_px"][0])) else "-"
                                 for b in bins) + " |")
    for name, s in results["sets"].items():
        lines += ["", f"## Ambiguity report: {name}", "", "| confusion | count |", "|---|---|"]
        lines += [f"| {c['pair']} | {c['count']} |" for c in s["score"]["confusions"]]
        lines += ["", "| forgiven (cumulative) | exact match |", "|---|---|"]
        lines += [f"| {' '.join(f['forgiven'])} | {f['accuracy']:.4f} |"
                  for f in s["score"]["forgiven_cumulative"]]
    lines += ["", "## Glyphs per font (14 px, downscaled 1/1.7)", "",
              "| font | closest pairs (max grey-level difference) | groups within 8 | coin-flip ceiling |",
              "|---|---|---|---|"]
    lines += [f"| {g['font']} | {', '.join(f'{p} ({d})' for p, d in g['closest_pairs'])} | "
              f"{' '.join(g['groups_within_8']) or '-'} | {g['coin_flip_ceiling']} |" for g in results["glyphs"]]
    if results.get("peers"):
        peers = results["peers"]
        lines += ["", "## Off-the-shelf OCR on the same low-resolution frames", "",
                  f"From `bench/peers.md` ({peers['date']}): `{peers['command']}`", "",
                  "| system | input | images | exact match | images/s |", "|---|---|---|---|---|"]
        lines += [f"| {r['version'] or r['peer']} | {r['input']} | {r['images']} | "
                  f"{r['exact_match']:.4f} | {r['images_per_second']} |" for r in peers["rows"]]
    if results.get("training_curve"):
        lines += ["", "## Training curve (validation crops, low resolution)", "",
                  "| wall minutes | step | val exact match |", "|---|---|---|"]
        lines += [f"| {c['minutes']} | {c['step']} | {c['val_acc']:.4f} |" for c in results["training_curve"]]
    return "\n".join(lines) + "\n"


def rate_cell(timing: dict) -> str:
    """frames/s of the timed pass, with the first pass's when there were more."""
    if timing.get("passes", 1) > 1:
        return f"{timing['frames_per_second']} ({timing['first_pass_frames_per_second']})"
    return f"{timing['frames_per_second']}"


def _binned_table(results: dict, field: str, key: str, unit: str, title: str, what: str) -> list[str]:
    """The markdown table of every set's `field` rows (breakdown._binned), a column a bin."""
    binned = {name: s[field] for name, s in results["sets"].items() if s.get(field)}
    if not binned:
        return []
    bins = _all_bins(binned, key)
    lines = ["", title, "", what + " Cells: exact / truth among the k best (frames).", "",
             "| frames | " + " | ".join(_bin_label(b[key], unit) for b in bins) + " |",
             "|---|" + "---|" * len(bins)]
    for name, rows in binned.items():
        cells = {r[key][0]: r for r in rows}
        lines.append(f"| {name} | " + " | ".join(
            f"{c['exact_match']:.3f} / {c['truth_in_alternatives']:.3f} ({c['n']})"
            if (c := cells.get(b[key][0])) else "-" for b in bins) + " |")
    return lines


def _all_bins(binned: dict, key: str) -> list[dict]:
    """The bins any set has, in order."""
    seen = {r[key][0]: r for rows in binned.values() for r in rows}
    return [seen[low] for low in sorted(seen)]


def _bin_label(edges: list[float], unit: str) -> str:
    low, high = edges
    unit = f" {unit}" if unit else ""
    if low == 0:
        return f"< {high:g}{unit}"
    return f">= {low:g}{unit}" if high is None else f"{low:g}-{high:g}{unit}"


def bench_e2e_main(argv: list[str] | None = None) -> dict:
    """The end-to-end benchmark (`tools/bench.py`, `make bench-e2e`)."""
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--set", action="append", required=True, metavar="NAME=FRAMES:LABELS",
                   help="a named folder of full frames and its label file (repeatable)")
    add_reader_arguments(p)
    p.add_argument("--train-log", help="the recogniser's train.log, for the training curve")
    p.add_argument("--peers", help="bench/peers.json of tools/bench_peers.py (its own optional "
                   "install): its figures are quoted beside ours, with its command")
    p.add_argument("--passes", type=int, default=1,
                   help="read each set this many times; frames/s of the last pass (see timed_read)")
    p.add_argument("--out", default="bench/results", help="writes OUT.md, OUT.json and OUT_*.png")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    reader = build_reader(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    results = {"command": command_line("bench.py", argv), "date": datetime.now().isoformat(timespec="seconds"),
               "machine": machine(), "k": args.k, "localiser": f"{args.loc_config} {' '.join(args.loc_opt)}",
               "recogniser": recogniser_name(args.model), "sets": {}}
    for spec in args.set:
        name, _, paths = spec.partition("=")
        frames, _, labels = paths.partition(":")
        report, readings, timing = evaluate_set(reader, Path(frames), Path(labels), args.k, args.passes)
        truth = timing.pop("truth")
        results["sets"][name] = {"frames": frames, "score": report, "timing": timing,
                                 "peak_memory_mb": peak_memory_mb()}
        boxes_json = Path(frames).parent / "boxes.json"
        if boxes_json.is_file():   # the generator's frames: also read its ground-truth boxes
            boxes = split_boxes(boxes_json, Path(frames).name)
            results["sets"][name]["gt_boxes"] = read_boxes(reader.recognizer, Path(frames), boxes,
                                                           truth, args.k)
            results["sets"][name]["crops"] = crop_tightness(readings, boxes, truth)
            results["sets"][name]["by_pitch"] = exact_by_pitch(readings, boxes, truth)
            results["sets"][name]["by_grey"] = exact_by_grey(readings, Path(frames), boxes, truth)
            try:
                faces = video_faces(Path(frames).parent, Path(frames).name)
            except UserError as err:   # made with a user's photos: not replayable
                logging.warning("no per-face table for %s: %s", name, err)
            else:
                results["sets"][name]["by_face"] = exact_by_face(readings, faces, boxes, truth)
        failure_grid(readings, truth, reader, Path(frames), report_file(out, f"_failures_{name}.png"))
        plot_confusions(report["confusions"], report_file(out, f"_confusions_{name}.png"))
    results["glyphs"] = glyph_report({name: DEFAULT_FONT_ROOT / face.relative_path
                                      for name, face in LATIN_FACES.items()})
    if args.train_log:
        results["training_curve"] = training_curve(Path(args.train_log))
        if results["training_curve"]:
            plot_curve(results["training_curve"], report_file(out, "_training_curve.png"))
    if args.peers and Path(args.peers).is_file():
        results["peers"] = peer_rows(json.loads(Path(args.peers).read_text(encoding="utf-8")))
    atomic_write_text(report_file(out, ".json"), json.dumps(results, indent=1))
    atomic_write_text(report_file(out, ".md"), to_markdown(results))
    print(to_markdown(results))
    return results
