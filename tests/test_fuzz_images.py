"""A corpus of broken and unusual image files through every tool that reads images, as a
user runs them (issue #18): each file is read or named as skipped, nothing else is
printed as a traceback, and peak memory stays bounded.

The bound, 1.5 GB: measured here, read_ids peaks at 367 MB and infer_rec at 308 MB on this
corpus (read_ids on 153 ordinary demo frames, batches of 64: 868 MB), and each file may
add at most one decoded image of the limit (40 MP x 3 bytes = 120 MB). Before the limits,
the 74-byte PNG declaring 60000x60000 pixels asked for 10.8 GB and the 3000x2 sliver made
the localiser build 7.7 GB."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from common.images import FRAME_LIMITS, BadImage, decode_frames, read_frame, read_image
from common.lmdb_io import image_problem
from test_bad_images import png_header

ROOT = Path(__file__).resolve().parents[1]
PEAK_LIMIT_MB = 1500
pytestmark = pytest.mark.skipif(not (ROOT / "models" / "svtr_tiny_synth" / "model.onnx").is_file(),
                                reason="needs the released models")


def frame(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 120, (640, 360, 3), dtype=np.uint8)
    cv2.putText(image, "Ab3dE9xQ", (20, 600), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
    return image


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    good = frame(0)
    cv2.imwrite(str(folder / "v0_0_.jpg"), good)
    jpeg = cv2.imencode(".jpg", frame(1))[1].tobytes()
    (folder / "v1_0_.jpg").write_bytes(jpeg[: len(jpeg) // 2])                 # truncated
    (folder / "v2_0_.jpg").write_bytes(b"")                                     # zero bytes
    (folder / "v3_0_.png").write_bytes(np.random.default_rng(3).bytes(4096))    # garbage
    (folder / "v4_0_.png").write_bytes(png_header(60000, 60000))                # huge header
    cv2.imwrite(str(folder / "v5_0_.png"), np.zeros((2, 3000, 3), np.uint8))    # sliver
    cv2.imwrite(str(folder / "v6_0_.png"), cv2.cvtColor(good, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(folder / "v7_0_.png"), cv2.cvtColor(good, cv2.COLOR_BGR2BGRA))
    cv2.imwrite(str(folder / "v8_0_.png"), good.astype(np.uint16) * 257)        # 16-bit
    pil = Image.fromarray(good[:, :, ::-1])
    pil.convert("CMYK").save(folder / "v9_0_.jpg")                              # CMYK JPEG
    pil.save(folder / "v10_0_.gif", save_all=True,
             append_images=[Image.fromarray(frame(2)[:, :, ::-1])])             # animated GIF
    pil.save(folder / "v11_0_.tif", save_all=True,
             append_images=[Image.fromarray(frame(3)[:, :, ::-1])])             # 2-page TIFF
    pil.save(folder / "v12_0_.webp")
    return folder


def run_measured(args: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    """Run a tool in a child of a fresh interpreter; (result, the tool's peak RSS in MB)."""
    wrapper = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
               "print('PEAK', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
               "file=sys.stderr); sys.exit(done.returncode)")
    done = subprocess.run([sys.executable, "-c", wrapper, sys.executable, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    peak_kb = int(done.stderr.rsplit("PEAK", 1)[1].split()[0])
    return done, peak_kb / 1024


def test_the_kernel_gives_every_corpus_file_a_verdict(corpus):
    for path in sorted(corpus.iterdir()):
        try:
            image = read_image(path, FRAME_LIMITS)
            assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
        except BadImage:
            assert read_frame(path) is None
        image_problem(path)                                     # a reason or None, no raise
    skipped = []
    frames, names = decode_frames(sorted(corpus.iterdir()), skipped)
    assert len(frames) + len(skipped) == len(list(corpus.iterdir()))


def test_read_ids_reads_or_names_every_file_within_the_memory_bound(corpus, tmp_path):
    done, peak = run_measured(["tools/read_ids.py", "--frames", str(corpus), "--out",
                               str(tmp_path / "out"), "--threads", "1"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    saved = json.loads((tmp_path / "out" / "predictions.json").read_text())
    read = {row["name"] for row in saved["readings"]}
    skipped = {row["name"]: row["reason"] for row in saved["skipped"]}
    assert read | set(skipped) == {p.name for p in corpus.iterdir()} and not read & set(skipped)
    assert {"v0_0_.jpg", "v6_0_.png", "v7_0_.png", "v8_0_.png", "v9_0_.jpg"} <= read
    assert {"v1_0_.jpg", "v2_0_.jpg", "v3_0_.png", "v4_0_.png", "v5_0_.png", "v10_0_.gif"} <= set(skipped)
    assert "60000x60000" in skipped["v4_0_.png"] and "not an image file" in skipped["v10_0_.gif"]
    assert peak < PEAK_LIMIT_MB, f"read_ids peaked at {peak:.0f} MB"


def test_infer_rec_and_create_lmdb_read_or_name_every_file(corpus, tmp_path):
    done, peak = run_measured(["tools/infer_rec.py", "-o", f"Global.infer_img={corpus}",
                               "--out", str(tmp_path / "crops")])
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    saved = json.loads((tmp_path / "crops.json").read_text())
    names = {row["name"] for row in saved["predictions"]} | {row["name"] for row in saved["skipped"]}
    assert names == {p.name for p in corpus.iterdir()}
    assert peak < PEAK_LIMIT_MB, f"infer_rec peaked at {peak:.0f} MB"

    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"{p.name}\tAb3dE9xQ\n" for p in sorted(corpus.iterdir())))
    done, _ = run_measured(["tools/create_lmdb.py", "--images", str(corpus), "--labels",
                            str(labels), "--out", str(tmp_path / "lmdb"), "--val-fraction", "0"])
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "\nerror: " in done.stderr and "v4_0_.png" in done.stderr
    done, _ = run_measured(["tools/create_lmdb.py", "--images", str(corpus), "--labels",
                            str(labels), "--out", str(tmp_path / "lmdb"), "--val-fraction", "0",
                            "--skip-bad"])
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "wrote all:" in done.stdout and "v4_0_.png" in done.stdout
