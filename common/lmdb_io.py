"""Recognition LMDBs in the engine's layout: reading them, and writing them so that a
failure never costs data.

Layout read by OpenOCR's `LMDBDataSet`: `num-samples`, then `image-%09d` (the encoded
image file, unchanged) and `label-%09d` (UTF-8 text), numbered from 1. We also store
`name-%09d` (the source image's file name, which the engine ignores) so that readers of
our crops can still group frames by video and report failures by file.

Every database is built in a temporary folder next to its target and renamed into place
only once complete; a target that already exists is moved aside first and deleted only
after the new one is in place. So an interrupted or failed run leaves the previous
output as it was (a SIGKILL can at worst leave a hidden `.NAME.tmp-*` folder behind).
An existing target is replaced only if it holds nothing but LMDB databases: pointing
`--out` at an images folder by mistake is refused instead of deleting the images.

`create_lmdb()` turns an images folder and a label file into train/val databases.
Policy for bad input: by default (strict) every row is checked first and ONE error lists
all problems as `labels.txt:LINE: reason` before anything is written; with
`skip_bad=True` the good rows are written and the bad ones are returned in the summary
with the same messages.
"""
from __future__ import annotations

import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import lmdb
from tqdm import tqdm

from common.errors import UserError
from common.images import BadImage, decode_image, link_outside, read_bytes
from common.labels import (DEFAULT_DICT, InvalidLabel, LabelEntry, LabelFileError, Problem,
                           format_problems, load_dictionary, read_label_file, validate_label)
from common.split import split_by_video, video_id

# written into every folder replacing_dirs() puts in place: what may be replaced later
MARKER = ".written-by-tiktok-id-ocr"
_CHUNK_SAMPLES = 1000          # samples per write transaction
_CHUNK_BYTES = 64 << 20        # ... or this many image bytes, whichever comes first
_INITIAL_MAP_SIZE = 64 << 20   # doubled whenever a transaction runs out of map space


class LmdbError(UserError, RuntimeError):
    """An LMDB that cannot be written or read; the message names the path."""


# ---------------------------------------------------------------- writing and reading

def write_lmdb(out_dir: str | os.PathLike, samples: Iterable[tuple[str, bytes, str]], *,
               charset: Iterable[str] | None = None, total: int | None = None,
               desc: str = "writing LMDB") -> int:
    """Write `(name, encoded image bytes, label)` samples atomically; return their count.

    `name` only serves error messages. Labels are checked to be non-empty text, and
    against `charset` when given (the engine would silently drop unknown symbols).
    """
    with replacing_dirs([out_dir]) as (staging,):
        return fill_lmdb(staging, samples, charset=charset, total=total, desc=desc)


def fill_lmdb(path: str | os.PathLike, samples: Iterable[tuple[str, bytes, str]], *,
              charset: Iterable[str] | None = None, total: int | None = None,
              desc: str = "writing LMDB") -> int:
    """Write samples into a new LMDB at `path` (an empty folder), NOT atomically.

    Building block for `write_lmdb` and for writing several databases that must be
    published together (see `replacing_dirs`). Raises on an empty sample stream: a
    database with no samples would only fail later, inside training.
    """
    allowed = frozenset(charset) if charset is not None else None
    env = lmdb.open(str(path), map_size=_INITIAL_MAP_SIZE, subdir=True, lock=True)
    try:
        count, chunk, chunk_bytes = 0, [], 0
        for name, image, label in tqdm(samples, total=total, desc=desc, unit="img"):
            count += 1
            chunk.append(_checked_sample(name, image, label, allowed, count))
            chunk_bytes += len(chunk[-1][1])
            if len(chunk) >= _CHUNK_SAMPLES or chunk_bytes >= _CHUNK_BYTES:
                _put_chunk(env, chunk, count - len(chunk) + 1)
                chunk, chunk_bytes = [], 0
        if count == 0:
            raise LmdbError(f"{path}: no samples to write")
        _put_chunk(env, chunk, count - len(chunk) + 1, num_samples=count)
        env.sync(True)
        return count
    finally:
        env.close()


def is_lmdb(path: str | os.PathLike) -> bool:
    """Whether `path` is one LMDB folder (it holds a data.mdb)."""
    return (Path(path) / "data.mdb").is_file()


def iter_lmdb(path: str | os.PathLike) -> Iterator[tuple[bytes, str]]:
    """Yield `(image bytes, label)` of a recognition LMDB in key order (1..num-samples)."""
    path = Path(path)
    if not is_lmdb(path):
        raise LmdbError(f"{path}: not an LMDB folder (no data.mdb)")
    env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False)
    try:
        with env.begin() as txn:
            raw_count = txn.get(b"num-samples")
            if raw_count is None:
                raise LmdbError(f"{path}: no 'num-samples' key")
            for index in range(1, int(raw_count) + 1):
                image = txn.get(b"image-%09d" % index)
                label = txn.get(b"label-%09d" % index)
                if image is None or label is None:
                    raise LmdbError(f"{path}: sample {index} of {int(raw_count)} is missing")
                yield bytes(image), label.decode("utf-8")
    finally:
        env.close()


def lmdbs_under(path: str | os.PathLike) -> list[Path]:
    """Every LMDB at or below `path`, sorted: a folder of LMDBs is walked as the engine's
    LMDBDataSet walks its `data_dir` (e.g. localize's `train/` holding `high/` and `low/`)."""
    return sorted(Path(d) for d, _, files in os.walk(path) if "data.mdb" in files)


def lmdb_names(path: str | os.PathLike) -> list[str] | None:
    """The source file names stored beside the samples (1..num-samples), or None for an
    LMDB written elsewhere, which has no `name-` keys."""
    env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False)
    try:
        with env.begin() as txn:
            count = int(txn.get(b"num-samples") or 0)
            names = [txn.get(b"name-%09d" % index) for index in range(1, count + 1)]
    finally:
        env.close()
    if not names or any(name is None for name in names):
        return None
    return [bytes(name).decode("utf-8") for name in names]


def read_lmdb(path: str | os.PathLike) -> list[tuple[bytes, str]]:
    """All `(image bytes, label)` pairs of a recognition LMDB, in key order."""
    return list(iter_lmdb(path))


@contextmanager
def replacing_dirs(targets: Sequence[str | os.PathLike]) -> Iterator[list[Path]]:
    """Yield one empty staging folder per target; on success, swap them all into place.

    Staging folders are hidden siblings of their targets (same file system, so the final
    renames are atomic); those a killed run left behind are removed first. Each folder
    put in place carries MARKER, and only such folders (or empty ones) are replaced.
    Existing targets are moved aside before the swap and deleted after it; if any rename
    fails, the ones already done are rolled back. On any error the staging folders are
    deleted and the targets are left untouched.
    """
    targets = [Path(target) for target in targets]
    for target in targets:
        _check_replaceable(target)
        _remove_leftovers(target)
    created_parents = {_first_missing_ancestor(t.parent) for t in targets} - {None}
    stagings: list[Path] = []
    succeeded = False
    try:
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = _hidden_sibling(target, "tmp")
            staging.mkdir()  # not mkdtemp: its 0700 mode would lock other users out
            stagings.append(staging)
        yield stagings
        for staging in stagings:
            (staging / MARKER).write_text("replaceable by this toolkit's next run\n",
                                          encoding="utf-8")
        _swap_into_place(stagings, targets)
        succeeded = True
    finally:
        for staging in stagings:
            shutil.rmtree(staging, ignore_errors=True)
        if not succeeded:
            for parent in created_parents:
                _remove_empty_dirs(parent)


def _checked_sample(name: str, image, label, allowed: frozenset[str] | None,
                    index: int) -> tuple[str, bytes, str]:
    where = f"sample {index} ({name!r})"
    if not isinstance(image, (bytes, bytearray, memoryview)):
        raise LmdbError(f"{where}: image must be encoded bytes, got {type(image).__name__}")
    if len(image) == 0:
        raise LmdbError(f"{where}: image has zero bytes")
    try:
        if allowed is None:
            if not isinstance(label, str) or label == "":
                raise InvalidLabel(f"label must be non-empty text, got {label!r}")
        else:
            validate_label(label, allowed)
    except InvalidLabel as err:
        raise LmdbError(f"{where}: {err}") from err
    return name, bytes(image), label


def _put_chunk(env: lmdb.Environment, chunk: list[tuple[str, bytes, str]], first_index: int,
               num_samples: int | None = None) -> None:
    """Write one transaction, growing the map (instead of guessing a huge one) when full."""
    while True:
        try:
            with env.begin(write=True) as txn:
                for index, (name, image, label) in enumerate(chunk, start=first_index):
                    txn.put(b"name-%09d" % index, str(name).encode("utf-8"))
                    txn.put(b"image-%09d" % index, image)
                    txn.put(b"label-%09d" % index, label.encode("utf-8"))
                if num_samples is not None:
                    txn.put(b"num-samples", str(num_samples).encode())
            return
        except lmdb.MapFullError:
            env.set_mapsize(env.info()["map_size"] * 2)


def _check_replaceable(target: Path) -> None:
    """Only what this toolkit wrote may be replaced: `create_lmdb.py --out PARENT
    --val-fraction 0` once deleted two sibling datasets because PARENT "held only LMDBs"."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise LmdbError(f"{target}: exists and is not a folder; refusing to replace it")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).is_file():
        raise LmdbError(f"{target}: exists and was not written by this toolkit (no {MARKER}); "
                        "refusing to replace it: choose another output path, or delete it "
                        "yourself")


def _remove_leftovers(target: Path) -> None:
    """Staging and moved-aside folders a killed run left beside `target`."""
    for role in ("tmp", "old"):
        for leftover in target.parent.glob(f".{target.name}.{role}-*"):
            shutil.rmtree(leftover, ignore_errors=True)


def _swap_into_place(stagings: list[Path], targets: list[Path]) -> None:
    done: list[tuple[Path, Path, Path | None]] = []   # (staging, target, moved-aside old)
    try:
        for staging, target in zip(stagings, targets):
            old = None
            if target.exists():
                old = _hidden_sibling(target, "old")
                os.rename(target, old)
            done.append((staging, target, old))
            os.rename(staging, target)
    except BaseException:
        for staging, target, old in reversed(done):
            if not staging.exists() and target.exists():
                os.rename(target, staging)
            if old is not None:
                os.rename(old, target)
        raise
    for _, _, old in done:
        if old is not None:
            shutil.rmtree(old)


def _hidden_sibling(target: Path, role: str) -> Path:
    """Unused name next to `target` (same file system, so renaming it is atomic)."""
    return target.with_name(f".{target.name}.{role}-{uuid.uuid4().hex[:12]}")


def _first_missing_ancestor(folder: Path) -> Path | None:
    """Topmost folder that `mkdir(parents=True)` would create for `folder`, if any."""
    missing = None
    while not folder.exists():
        missing, folder = folder, folder.parent
    return missing


def _remove_empty_dirs(folder: Path) -> None:
    """Undo `mkdir(parents=True)` of a failed run, keeping anything not empty."""
    for path in sorted([folder, *folder.rglob("*")], key=lambda p: len(p.parts), reverse=True):
        if path.is_dir():
            try:
                path.rmdir()
            except OSError:
                pass


# ---------------------------------------------------------------- folder -> LMDBs

@dataclass
class WrittenSet:
    path: Path
    samples: int
    videos: int


@dataclass
class CreateSummary:
    """What `create_lmdb` wrote and what it skipped, and why."""

    written: dict[str, WrittenSet] = field(default_factory=dict)
    skipped: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"wrote {name}: {s.samples} samples from {s.videos} videos -> {s.path}"
                 for name, s in self.written.items()]
        if self.skipped:
            lines.append(format_problems("skipped", self.skipped))
        else:
            lines.append("skipped: none")
        return "\n".join(lines)


def image_problem(path: Path) -> str | None:
    """Why an image file cannot be a training sample, or None. Decodes it the way the
    engine's `DecodeImage` does, so what passes here also loads in training."""
    try:
        decode_image(read_bytes(path))
    except BadImage as err:
        return f"image {err}"
    return None


def create_lmdb(images_dir: str | os.PathLike, label_file: str | os.PathLike,
                out: str | os.PathLike, *, val_fraction: float = 0.1, seed: int = 0,
                dict_path: str | os.PathLike = DEFAULT_DICT,
                skip_bad: bool = False, follow_symlinks: bool = False) -> CreateSummary:
    """Write `out/train` and `out/val` (or just `out` when `val_fraction` is 0).

    Images are stored as their original file bytes. The split is by video (see
    `common.split`). Both databases are published together only when both are
    complete. Strict mode raises `LabelFileError` listing every problem before writing.
    A listed image that is a link leading outside `images_dir` is a bad row unless
    `follow_symlinks` (common.images.link_outside).
    """
    images_dir, label_file, out = Path(images_dir), Path(label_file), Path(out)
    charset = load_dictionary(dict_path)
    if not images_dir.is_dir():
        raise LabelFileError(f"{images_dir}: images folder does not exist")
    if not any(images_dir.iterdir()):
        raise LabelFileError(f"{images_dir}: images folder is empty")
    targets = {"train": out / "train", "val": out / "val"} if val_fraction > 0 else {"all": out}
    if val_fraction > 0 and (out / "data.mdb").exists():
        raise LmdbError(f"{out}: is itself an LMDB (from a --val-fraction 0 run); "
                        "choose another output path for a train/val split")
    for target in targets.values():
        _check_replaceable(target)

    entries, problems = read_label_file(label_file, charset)
    image_problems = _check_images(images_dir, label_file, entries, follow_symlinks)
    problems = sorted(problems + image_problems, key=lambda problem: problem.line)
    if problems and not skip_bad:
        raise LabelFileError(format_problems(
            f"{label_file}: nothing written, fix these rows or pass --skip-bad", problems))
    bad_lines = {problem.line for problem in image_problems}
    good = [entry for entry in entries if entry.line not in bad_lines]
    if not good:
        raise LabelFileError(format_problems(f"{label_file}: no usable samples", problems))

    train_names, val_names = split_by_video([entry.name for entry in good], val_fraction,
                                            seed=seed)
    by_name = {entry.name: entry for entry in good}
    sides = {"train": train_names, "val": val_names} if val_fraction > 0 \
        else {"all": train_names}
    summary = CreateSummary(skipped=problems)
    with replacing_dirs(list(targets.values())) as stagings:
        for (side, names), staging in zip(sides.items(), stagings):
            rows = [by_name[name] for name in names]
            count = fill_lmdb(staging, _file_samples(images_dir, rows), charset=charset,
                              total=len(rows), desc=f"writing {side}")
            summary.written[side] = WrittenSet(targets[side], count,
                                               len({video_id(name) for name in names}))
    return summary


def _check_images(images_dir: Path, label_file: Path, entries: list[LabelEntry],
                  follow_symlinks: bool = False) -> list[Problem]:
    """Decode every listed image once (threads: OpenCV releases the GIL)."""
    paths = [images_dir / entry.name for entry in entries]

    def problem(path: Path) -> str | None:
        return (None if follow_symlinks else link_outside(path, images_dir)) or image_problem(path)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        reasons = list(tqdm(pool.map(problem, paths), total=len(paths),
                            desc="checking images", unit="img"))
    return [Problem(str(label_file), entry.line, f"image {entry.name!r}: {reason} ({path})")
            for entry, path, reason in zip(entries, paths, reasons) if reason]


def _file_samples(images_dir: Path, rows: list[LabelEntry]) -> Iterator[tuple[str, bytes, str]]:
    for row in rows:
        yield row.name, (images_dir / row.name).read_bytes(), row.label
