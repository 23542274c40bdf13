"""Hostile image files (issue #18, items 1-3): one decoding path (common.images) gives
every tool the same verdict, checks the declared size before decoding, and names why."""
import struct
import zlib

import cv2
import numpy as np
import pytest

from common.images import (CROP_LIMITS, FRAME_LIMITS, BadImage, check_encoded, decode_frames, decode_image,
                           read_frame, read_image)
from localization.geometry import work_size
from common.lmdb_io import image_problem


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height (its pixels are missing)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda kind, body: (struct.pack(">I", len(body)) + kind + body
                                + struct.pack(">I", zlib.crc32(kind + body)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.fixture
def files(tmp_path):
    good = cv2.imencode(".jpg", np.full((64, 48, 3), 120, np.uint8))[1].tobytes()
    noisy = cv2.imencode(".jpg", np.random.default_rng(0).integers(
        0, 256, (360, 640, 3), dtype=np.uint8))[1].tobytes()   # header intact, scan cut
    made = {"good.jpg": good, "truncated.jpg": noisy[:len(noisy) * 3 // 5], "empty.jpg": b"",
            "huge.png": png_header(60000, 60000), "sliver.png": cv2.imencode(
                ".png", np.zeros((2, 3000, 3), np.uint8))[1].tobytes(),
            "text.jpg": b"this is not an image"}
    for name, data in made.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


@pytest.mark.parametrize("name, reason", [
    ("truncated.jpg", "truncated JPEG"), ("empty.jpg", "zero bytes"),
    ("huge.png", "60000x60000"), ("sliver.png", "aspect ratio"), ("text.jpg", "cannot be decoded")])
def test_every_tool_refuses_the_same_files_for_the_same_reason(files, name, reason):
    path = files / name
    with pytest.raises(BadImage, match=reason):
        read_image(path, FRAME_LIMITS)
    assert read_frame(path) is None                       # localiser
    assert reason in (image_problem(path) or "") or name == "sliver.png"   # create_lmdb (crops may be slivers)
    skipped = []
    frames, names = decode_frames([path, files / "good.jpg"], skipped)   # read_ids
    assert names == ["good.jpg"] and len(frames) == 1
    assert skipped[0]["name"] == name and reason in skipped[0]["reason"]


def test_the_declared_size_is_checked_before_decoding():
    with pytest.raises(BadImage, match="more than the limit"):
        check_encoded(png_header(3000, 3000), CROP_LIMITS)
    assert check_encoded(png_header(300, 20), CROP_LIMITS) == (300, 20)


def test_a_good_image_decodes_and_gray_is_one_channel(files):
    assert decode_image((files / "good.jpg").read_bytes()).shape == (64, 48, 3)
    assert read_image(files / "good.jpg", gray=True).shape == (64, 48)


def test_the_localisers_working_image_stays_bounded():
    assert work_size(3000, 2, 10, 32, 8) == (2560, 320)
    assert work_size(640, 360, 10, 32, 8)[0] == 568


def test_the_kernel_imports_no_stage():
    """common/ sits below synth, localization, ppocr_ext and pipeline (issue #19)."""
    import ast
    from pathlib import Path

    stages = {"synth", "localization", "ppocr_ext", "pipeline"}
    for path in (Path(__file__).resolve().parents[1] / "common").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not {n.split(".")[0] for n in names} & stages, (path.name, names)
