"""Batch reading on Ray Data (issue #20 item 1): where frames come from, and the job
itself on a local Ray (skipped where the optional `make setup-scale` is not installed):
every frame once in the output, a corrupt one named as skipped, the same readings as the
single-process reader, and no frame lost or read twice when a reader actor is killed."""
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.ray_read import MAX_BATCHES_PER_BLOCK, frame_sources, read_blocks
from synth.frames import SynthConfig, generate

ROOT = Path(__file__).resolve().parents[1]


def test_sources_from_a_folder_a_glob_a_list_and_a_uri(tmp_path):
    for name in ("b_0_.jpg", "a_0_.png"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "notes.md").write_text("not a frame")
    folder, skipped = frame_sources([str(tmp_path)])
    assert [Path(p).name for p in folder] == ["a_0_.png", "b_0_.jpg"]
    assert [s["name"] for s in skipped] == ["notes.md"]
    listed = tmp_path / "list.txt"
    listed.write_text(f"{tmp_path / 'b_0_.jpg'}\n\ns3://bucket/f_1_.jpg\n")
    assert frame_sources([str(listed)])[0] == [str(tmp_path / "b_0_.jpg"), "s3://bucket/f_1_.jpg"]
    assert frame_sources([str(tmp_path / "*.jpg")])[0] == [str(tmp_path / "b_0_.jpg")]
    with pytest.raises(FileNotFoundError, match="missing"):
        frame_sources([str(tmp_path / "missing")])
    with pytest.raises(FileNotFoundError, match="no frames"):
        frame_sources([str(tmp_path / "*.webp")])


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    pytest.importorskip("ray")
    root = tmp_path_factory.mktemp("ray_frames")
    generate(root, videos=6, seed=11, test_videos=6, progress=False,
             config=SynthConfig(frames_min=6, frames_max=6))
    (root / "test" / "corrupt_0_.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    return root / "test"


def read_rows(out: Path) -> list[dict]:
    with open(out / "predictions.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def ray_command(frames: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "tools/read_ids_ray.py", str(frames), "--out", str(out),
            "--actors", "2", "--threads", "1", "--batch-size", "4", *extra]


def test_blocks_hold_whole_batches_and_feed_every_actor():
    assert read_blocks(1547, 64, actors=1) == 4        # 25 batches: ~6 whole ones a block
    assert read_blocks(1547, 64, actors=2) == 8
    assert read_blocks(100, 64, actors=2) == 2         # never more blocks than batches
    assert read_blocks(1, 64, actors=4) == 1
    ten_million = read_blocks(10_000_000, 32, actors=16)
    assert -(-10_000_000 // ten_million) <= 32 * MAX_BATCHES_PER_BLOCK   # bounded block size
    assert ten_million == -(-(-(-10_000_000 // 32)) // MAX_BATCHES_PER_BLOCK)


def test_a_killed_reader_actor_loses_no_frame_and_reads_none_twice(frames, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_DEDUP_LOGS": "0"}
    child = subprocess.Popen(ray_command(frames, tmp_path / "out"), cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed, deadline = None, time.monotonic() + 300
    while killed is None and child.poll() is None and time.monotonic() < deadline:
        found = subprocess.run(["pgrep", "-f", "BatchReader"], capture_output=True, text=True)
        pids = [int(p) for p in found.stdout.split()]
        if pids:
            time.sleep(4)                 # let it load the models and take a batch
            os.kill(pids[0], signal.SIGKILL)
            killed = pids[0]
        time.sleep(0.2)
    output, _ = child.communicate(timeout=600)
    assert child.returncode == 0, output[-4000:]
    assert killed is not None, "no reader actor was seen"
    rows = read_rows(tmp_path / "out")
    names = [r["name"] for r in rows]
    expected = sorted(p.name for p in frames.iterdir())
    assert sorted(names) == expected                           # each frame exactly once
    status = {r["name"]: r["status"] for r in rows}
    assert status["corrupt_0_.jpg"] == "skipped"
    assert sum(s == "read" for s in status.values()) == len(expected) - 1


def test_ray_reads_what_the_single_process_reader_reads(frames, tmp_path):
    subprocess.run(ray_command(frames, tmp_path / "ray", "--group-by", "video"), cwd=ROOT,
                   check=True, capture_output=True, timeout=600)
    subprocess.run([sys.executable, "tools/read_ids.py", "--frames", str(frames),
                    "--out", str(tmp_path / "one")], cwd=ROOT, check=True,
                   capture_output=True, timeout=600)
    ray_rows = {r["name"]: r["text"] for r in read_rows(tmp_path / "ray") if r["status"] == "read"}
    one_rows = {r["name"]: r["text"] for r in read_rows(tmp_path / "one")}
    assert ray_rows == one_rows and len(ray_rows) == 36
    import pyarrow.parquet as pq
    videos = pq.read_table(tmp_path / "ray" / "videos.parquet").to_pylist()
    assert len(videos) == 6 and all(v["frames"] == 6 for v in videos)
