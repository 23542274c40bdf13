"""Off-the-shelf OCR systems a user would try instead of this toolkit, and their benchmark.

Two peers, each behind the same tiny interface (`read_lines(bgr image) -> [text]`):
- RapidOCR (`rapidocr-onnxruntime`): PaddleOCR's PP-OCRv4 detection + recognition (and
  the mobile angle classifier) as ONNX models shipped inside the wheel, run on
  onnxruntime, which the project already has. Used with its default settings: that is
  what a user gets.
- Tesseract 5 (Debian `tesseract-ocr`), called as a subprocess so the core needs no
  Python binding. Two documented choices a user following Tesseract's own advice makes:
  `--psm 11` (sparse text: a watermark is a lone line on a picture, not a page) and a
  x3 cubic upscale (Tesseract is tuned for capitals 20-30 px tall; the watermark's are
  ~6-8 px in the low-resolution test frames). Probed on 40 test frames and 40 crops, no
  variation gave a single exact read either (x1-x4, --psm 6/7/11, grey inverted to
  dark-on-light, chi_sim+eng): Tesseract's binarisation loses these thin light strokes.

Neither is a dependency of the core: `make setup-peers` installs them, and a missing
one is reported as such by `load_peers` instead of failing the benchmark.

Scoring rule (issue 6): an ID counts as read when some recognised line, with the
`抖音号` prefix and every non-alphanumeric character removed, equals it exactly
(case-sensitive). Peers print full-width forms (`：`, `Ａ`), so lines are NFKC-folded
first, the Unicode way of turning compatibility forms into their plain letters.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Protocol, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from common.atomic import atomic_write_text
from common.command import command_line
from common.hardware import describe_machine, machine
from common.images import is_image_file
from common.labels import (DEFAULT_DICT, LabelFileError, format_problems, load_dictionary,
                           read_label_file)
from common.lmdb_io import read_lmdb

PREFIX = "抖音号"
NOT_ID_SYMBOL = re.compile(r"[^A-Za-z0-9]")
SETUP_HINT = "run make setup-peers"


def normalise_line(text: str) -> str:
    """A recognised line as an ID candidate: NFKC-folded, `抖音号` removed, then only
    [A-Za-z0-9] kept (colons of either width, spaces, CJK and punctuation go)."""
    folded = unicodedata.normalize("NFKC", text).replace(PREFIX, "")
    return NOT_ID_SYMBOL.sub("", folded)


def peer_reads_id(lines: Iterable[str], truth: str) -> bool:
    """The issue's rule: some line, normalised, equals the ID exactly (case-sensitive)."""
    return any(normalise_line(line) == truth for line in lines)


def id_inside_a_line(lines: Iterable[str], truth: str) -> bool:
    """Looser diagnostic: the ID's symbols appear in order inside some normalised line,
    e.g. a misread prefix glued in front (`#18: JP0...` -> `18JP0...`). Shows how often a
    peer saw the ID but the line around it spoiled the exact match."""
    return any(truth in normalise_line(line) for line in lines)


class Peer(Protocol):
    name: str

    def version(self) -> str: ...

    def read_lines(self, image: np.ndarray) -> list[str]: ...


class PeerUnavailable(RuntimeError):
    """A peer that is not installed; the message says what is missing and how to fix it."""


class RapidOcrPeer:
    """RapidOCR with its packaged PP-OCRv4 models and default settings."""

    name = "rapidocr"
    PACKAGE = "rapidocr-onnxruntime"

    def __init__(self, threads: int = 1):
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as err:
            raise PeerUnavailable(f"{self.PACKAGE} not installed ({SETUP_HINT})") from err
        # onnxruntime's own thread pools; -1 (its default) would take every core
        self._engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)

    def version(self) -> str:
        return (f"{self.PACKAGE} {importlib.metadata.version(self.PACKAGE)} "
                f"(PP-OCRv4 det+rec, mobile v2 cls; onnxruntime "
                f"{importlib.metadata.version('onnxruntime')})")

    def read_lines(self, image: np.ndarray) -> list[str]:
        result, _ = self._engine(image)
        return [text for _box, text, _score in (result or [])]


class TesseractPeer:
    """The `tesseract` command on an upscaled PNG piped through stdin."""

    name = "tesseract"

    def __init__(self, threads: int = 1, lang: str = "eng", psm: int = 11, scale: float = 3.0):
        binary = shutil.which("tesseract")
        if binary is None:
            raise PeerUnavailable(f"tesseract not installed ({SETUP_HINT})")
        self._binary = binary
        installed = self._run(["--list-langs"]).stdout.decode().split()
        missing = [part for part in lang.split("+") if part not in installed]
        if missing:
            raise PeerUnavailable(f"tesseract language data {'+'.join(missing)} not installed "
                                  f"({SETUP_HINT})")
        self.lang, self.psm = lang, psm
        self.scale = scale
        self._env = {**os.environ, "OMP_THREAD_LIMIT": str(threads)}

    def _run(self, args: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run([self._binary, *args], capture_output=True, check=True, timeout=120)

    def version(self) -> str:
        first = self._run(["--version"]).stdout.decode().splitlines()[0]
        return f"{first} (-l {self.lang} --psm {self.psm}, upscaled x{self.scale:.2f} cubic)"

    def read_lines(self, image: np.ndarray) -> list[str]:
        big = cv2.resize(image, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_CUBIC)
        ok, png = cv2.imencode(".png", big)
        if not ok:
            raise ValueError("cannot encode the image as PNG for tesseract")
        done = subprocess.run([self._binary, "stdin", "stdout", "-l", self.lang, "--psm", str(self.psm)],
                              input=png.tobytes(), capture_output=True, env=self._env, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"tesseract failed ({done.returncode}): {done.stderr.decode().strip()}")
        return [line for line in done.stdout.decode().splitlines() if line.strip()]


PEERS = {"rapidocr": RapidOcrPeer, "tesseract": TesseractPeer}


def load_peers(names: Sequence[str], threads: int = 1) -> dict[str, Peer | str]:
    """name -> ready peer, or -> the reason it is unavailable (never raises for that)."""
    loaded: dict[str, Peer | str] = {}
    for name in names:
        if name not in PEERS:
            raise ValueError(f"unknown peer {name!r}; known: {', '.join(PEERS)}")
        try:
            loaded[name] = PEERS[name](threads=threads)
        except PeerUnavailable as err:
            loaded[name] = str(err)
    return loaded


# --- the benchmark -------------------------------------------------------------------

@dataclass
class Sample:
    name: str       # frame file name, or `crop-%05d` for LMDB crops (which carry no names)
    image: np.ndarray
    truth: str


def spread(items: list, limit: int | None) -> list:
    """`limit` items evenly spaced over the list (all when no limit), so a short run
    still covers every part of a sorted set instead of its first few videos."""
    if not limit or limit >= len(items):
        return items
    return [items[int(i * len(items) / limit)] for i in range(limit)]


def frame_samples(frames_dir: Path, label_file: Path, limit: int | None) -> list[Sample]:
    """Labelled frames of a folder; a labelled name with no file is an error naming both."""
    charset = load_dictionary(DEFAULT_DICT)
    entries, problems = read_label_file(label_file, charset)
    if problems:
        raise LabelFileError(format_problems(f"{label_file}: bad label rows", problems))
    if not frames_dir.is_dir():
        raise FileNotFoundError(f"{frames_dir}: no such folder of frames")
    present = {p.name: p for p in frames_dir.iterdir() if is_image_file(p)}
    truth = {Path(e.name).name: e.label for e in entries}
    absent = sorted(set(truth) - set(present))
    if absent:
        raise FileNotFoundError(f"{label_file}: {len(absent)} labelled frames missing from "
                                f"{frames_dir}, e.g. {absent[0]}")
    samples = []
    for name in spread(sorted(truth), limit):
        image = cv2.imread(str(present[name]), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{present[name]}: cannot be decoded")
        samples.append(Sample(name, image, truth[name]))
    return samples


def crop_samples(lmdb_dir: Path, limit: int | None) -> list[Sample]:
    rows = list(enumerate(read_lmdb(lmdb_dir), start=1))
    samples = []
    for index, (data, label) in spread(rows, limit):
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{lmdb_dir}: image-{index:09d} cannot be decoded")
        samples.append(Sample(f"crop-{index:05d}", image, label))
    return samples


def bench_peer(peer: Peer, samples: Sequence[Sample], what: str, examples: int = 12) -> dict:
    """Read every sample; accuracy by the issue's rule, the looser 'inside a line' rate,
    frames/s over the reading calls alone, and the first misreads as examples."""
    exact = inside = no_text = 0
    misreads = []
    seconds = 0.0
    for sample in tqdm(samples, desc=f"{peer.name} on {what}", unit="img"):
        start = time.perf_counter()
        try:
            lines = peer.read_lines(sample.image)
        except Exception as err:
            raise RuntimeError(f"{peer.name} failed on {sample.name}: {err}") from err
        seconds += time.perf_counter() - start
        hit = peer_reads_id(lines, sample.truth)
        exact += hit
        inside += id_inside_a_line(lines, sample.truth)
        no_text += not lines
        if not hit and len(misreads) < examples:
            misreads.append({"name": sample.name, "truth": sample.truth, "lines": lines})
    n = len(samples)
    return {"images": n, "exact": exact, "accuracy": round(exact / n, 4),
            "id_inside_a_line": inside, "no_text": no_text, "seconds": round(seconds, 2),
            "images_per_second": round(n / seconds, 2) if seconds else None,
            "misread_examples": misreads}


def markdown(report: dict) -> str:
    m = report["machine"]
    out = ["# Off-the-shelf OCR peers on the generator's test frames", "",
           f"Command: `{report['command']}`  ", f"Date: {report['date']}  ",
           f"Machine: {describe_machine(m)} at start (other jobs share this CPU, so speeds "
           f"are lower bounds), Python {m['python']}, "
           f"{report['threads']} thread(s) per peer", "",
           "Rule (issue 6): an ID is read when some recognised line, NFKC-folded, with `抖音号` "
           "and every non-[A-Za-z0-9] symbol removed, equals it exactly (case-sensitive). "
           "'ID inside a line' is looser: the ID appears within such a line (junk glued to it).", "",
           "| peer | version | input | images | exact match | ID inside a line | no text | images/s |",
           "|---|---|---|---|---|---|---|---|"]
    for name, peer in report["peers"].items():
        if "unavailable" in peer:
            out.append(f"| {name} | {peer['unavailable']} | | | | | | |")
            continue
        for what, r in peer["results"].items():
            out.append(f"| {name} | {peer['version']} | {what} | {r['images']} | "
                       f"{r['accuracy']:.3f} ({r['exact']}) | {r['id_inside_a_line']} | "
                       f"{r['no_text']} | {r['images_per_second']} |")
    for name, peer in report["peers"].items():
        for what, r in peer.get("results", {}).items():
            out += ["", f"## {name} on {what}: first misreads", ""]
            out += [f"- `{e['name']}` truth `{e['truth']}` read {json.dumps(e['lines'], ensure_ascii=False)}"
                    for e in r["misread_examples"][:6]]
    return "\n".join(out) + "\n"


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=Path, required=True, help="folder of full frames")
    parser.add_argument("--labels", type=Path, required=True, help="<image>\\t<ID> label file")
    parser.add_argument("--crops", type=Path, help="LMDB of the toolkit's localised crops (optional)")
    parser.add_argument("--limit", type=positive_int, help="read only N images per input, evenly spread")
    parser.add_argument("--peers", nargs="+", default=list(PEERS), choices=list(PEERS))
    parser.add_argument("--threads", type=int, default=1, help="threads per peer (default 1)")
    parser.add_argument("--out", type=Path, default=Path("bench/peers"),
                        help="writes OUT.md and OUT.json")
    return parser.parse_args(argv)


def bench_peers_main(argv: Sequence[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    inputs = {"full frames": frame_samples(args.frames, args.labels, args.limit)}
    if args.crops:
        inputs["toolkit crops"] = crop_samples(args.crops, args.limit)
    report = {"command": command_line("bench_peers.py", argv),
              "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(),
              "threads": args.threads, "peers": {}}
    for name, peer in load_peers(args.peers, args.threads).items():
        if isinstance(peer, str):
            print(f"{name}: {peer}", file=sys.stderr)
            report["peers"][name] = {"unavailable": peer}
            continue
        report["peers"][name] = {"version": peer.version(), "results": {
            what: bench_peer(peer, samples, what) for what, samples in inputs.items()}}
    atomic_write_text(Path(f"{args.out}.json"), json.dumps(report, indent=1, ensure_ascii=False))
    atomic_write_text(Path(f"{args.out}.md"), markdown(report))
    print(markdown(report))
    return report
