"""What limits reading at low resolution: one set of located marks read at the train
resolution, shrunk to the test resolution, and shrunk then JPEG-compressed at fixed
qualities (the logic of tools/bench_limits.py).

The demo's low-resolution frames are shrunk 1/1.7 *and* saved as JPEG at quality 35-75
(`synth/degrade.py`, as real screenshots are). Reading them end to end mixes both losses;
here each is measured alone on the same crops (the localiser's boxes of the validation
frames, cut as `localization.export.cut` cuts the training crops), so the table says how
many points the resolution costs, how many each JPEG quality costs on top, and how much of
what is left is I/l. Measured with release 7 on the demo's 651 validation frames: train
resolution 0.871, shrunk 0.811, shrunk + JPEG 35-75 (the training crops' range) 0.674.
"""
from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

from common.atomic import atomic_write_text
from common.command import command_line, report_file
from common.hardware import describe_machine, machine
from common.lmdb_io import is_lmdb
from common.screenshot import Screenshot
from localization.export import cut
from localization.frame_records import FrameRecord
from ppocr_ext.ambiguity import ambiguity_report, forgiven_accuracy
from ppocr_ext.ctc import ctc_kbest, greedy_reading
from ppocr_ext.posteriors import UNNAMED, CropSample, load_recognizer, read_crops, run_samples
from ppocr_ext.released import released_model
from synth.degrade import TEST_CHAIN

QUALITIES = (95, 75, 65, 55, 45, 35)


def conditions(shrink: float, qualities) -> list[tuple[str, float, Screenshot]]:
    """(name, shrink factor, screenshot chain) of each row: train resolution, shrunk,
    shrunk + each fixed JPEG quality, the localiser's training crops (JPEG 35-75 after the
    shrink) and the test frames' whole chain."""
    low = f"1/{shrink:g}"
    jpeg, video = ("{}-{}".format(*q) for q in (TEST_CHAIN.jpeg, TEST_CHAIN.video_jpeg))
    return [("train resolution", 1.0, Screenshot()), (low, shrink, Screenshot())] + \
        [(f"{low} + JPEG {q}", shrink, Screenshot(jpeg=(q, q))) for q in qualities] + \
        [(f"{low} + JPEG {jpeg} (training crops)", shrink, Screenshot(jpeg=TEST_CHAIN.jpeg)),
         (f"video JPEG {video} + {low} + JPEG {jpeg} (test frames)", shrink, TEST_CHAIN)]


def located_frames(crops: Path, frames: Path, boxes: Path) -> tuple[list[FrameRecord], dict]:
    """The frames behind a localiser's crop LMDB (its names and labels) and their boxes."""
    samples = read_crops(crops) if is_lmdb(crops) else []
    if not samples or samples[0].name.startswith(UNNAMED):
        raise FileNotFoundError(f"{crops}: no crop LMDB with frame names (written by "
                                f"tools/localize.py)")
    split_boxes = json.loads(Path(boxes).read_text(encoding="utf-8"))["train"]
    records = [FrameRecord(s.name, s.label, Path(frames) / s.name) for s in samples]
    missing = [r.name for r in records if r.name not in split_boxes or not r.path.is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} crops of {crops} have no frame in {frames} "
                                f"or no box in {boxes}, e.g. {missing[0]}")
    return records, split_boxes


def cut_condition(records: list[FrameRecord], boxes: dict, shrink: float,
                  screenshot: Screenshot) -> list[CropSample]:
    samples = []
    for record in records:
        data = cut(record, boxes[record.name], shrink, ".png", screenshot)
        if data is not None:
            samples.append(CropSample(record.name, data, record.label))
    return samples


def read_condition(recognizer, samples: list[CropSample], k: int = 3) -> dict:
    """Exact match, truth in top k, and exact with I/l forgiven, over `samples`."""
    run = run_samples(recognizer, samples, desc="reading")
    pairs, in_top = [], 0
    for index, probs in zip(run.indexes, run.probs):
        truth = samples[index].label
        pairs.append((truth, greedy_reading(probs, recognizer.charset).text))
        in_top += truth in [t for t, _ in ctc_kbest(probs, list(recognizer.charset), k=k)]
    read = set(run.indexes)
    pairs += [(samples[i].label, "") for i in range(len(samples)) if i not in read]
    report = ambiguity_report(pairs)
    return {"n": len(samples), "exact": round(report["exact_match"], 4),
            f"top{k}": round(in_top / len(samples), 4),
            "exact_Il_forgiven": round(forgiven_accuracy(pairs, [("I", "l")]), 4),
            "confusions": report["confusions"][:5]}


def to_markdown(info: dict, rows: list[dict], models: list[str]) -> str:
    lines = ["# What limits low-resolution reading", "",
             f"Command: `{info['command']}`  ", f"Date: {info['date']}  ",
             f"Machine: {describe_machine(info['machine'])}  ",
             f"Crops: the localiser's boxes of `{info['crops']}`'s frames, cut from "
             f"`{info['frames']}` under each condition  ", "",
             "Each row reads the same located marks; only the degradation differs. "
             "Top confusions as truth/read pairs.", "",
             "| condition | model | n | exact | top 3 | exact, I/l forgiven | top confusions |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        for model in models:
            r = row["models"][model]
            pairs = ", ".join(f"{c['pair']} {c['count']}" for c in r["confusions"])
            lines.append(f"| {row['condition']} | {model} | {r['n']} "
                         f"| {r['exact']} | {r['top3']} | {r['exact_Il_forgiven']} | {pairs} |")
    return "\n".join(lines) + "\n"


def bench_limits_main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crops", default="output/demo/loc/val/high",
                        help="a localiser crop LMDB: its frame names and labels")
    parser.add_argument("--frames", default="data/demo/train", help="the frames it was cut from")
    parser.add_argument("--boxes", default="output/demo/loc/boxes.json")
    parser.add_argument("--model", nargs="+", action="append",
                        help="ONNX file or CONFIG WEIGHTS; repeat for several "
                             "(default: the released recogniser)")
    parser.add_argument("--shrink", type=float, default=1.7)
    parser.add_argument("--qualities", type=int, nargs="+", default=list(QUALITIES))
    parser.add_argument("--out", default="bench/limits", help="writes OUT.md and OUT.json")
    args = parser.parse_args(argv)
    models = args.model or [released_model()]
    names = ["/".join(Path(m[-1]).parts[-2:]) for m in models]   # folder/file of the weights
    recognizers = [load_recognizer(m) for m in models]
    records, boxes = located_frames(Path(args.crops), Path(args.frames), Path(args.boxes))
    rows = []
    for condition, shrink, screenshot in conditions(args.shrink, args.qualities):
        samples = cut_condition(records, boxes, shrink, screenshot)
        rows.append({"condition": condition, "models": {
            name: read_condition(rec, samples) for name, rec in zip(names, recognizers)}})
        print(condition, {n: r["exact"] for n, r in rows[-1]["models"].items()}, flush=True)
    info = {"command": command_line("bench_limits.py", argv),
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "machine": machine(), "crops": args.crops, "frames": args.frames}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(report_file(out, ".json"), json.dumps({**info, "rows": rows}, indent=2))
    atomic_write_text(report_file(out, ".md"), to_markdown(info, rows, names))
    print(report_file(out, ".md").read_text(encoding="utf-8"))
    return rows
