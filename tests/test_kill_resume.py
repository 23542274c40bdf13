"""Killed with SIGKILL at random points, then resumed the way the Makefile does it
(`--resume` when latest.pth exists), a run ends with the same outputs as one that was
never interrupted, and leaves no temporary files (issue #18)."""
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from common.lmdb_io import read_lmdb
from rec_fixtures import make_lmdb, tiny_config

ROOT = Path(__file__).resolve().parents[1]


def run_with_kills(command: list[str], resume_if: Path | None, kill_when: list) -> int:
    """Run `command` to completion, SIGKILLing it once for each predicate of `kill_when`
    (polled every 20 ms; it receives the seconds since that start); each restart adds
    `--resume` when `resume_if` exists. Returns the kills delivered."""
    delivered = 0
    while True:
        args = command + (["--resume"] if resume_if is not None and resume_if.exists() else [])
        child = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, "MKL_CBWR": "AUTO,STRICT"})
        start = time.monotonic()
        while delivered < len(kill_when) and child.poll() is None:
            if kill_when[delivered](time.monotonic() - start):
                child.send_signal(signal.SIGKILL)
                child.wait()
                delivered += 1
                break
            time.sleep(0.02)
        if child.returncode == -signal.SIGKILL:
            continue
        _, err = child.communicate(timeout=600)
        assert child.returncode == 0, err[-3000:]
        return delivered


def step_reached(latest: Path, step: int):
    """A predicate: latest.pth records `step` or more (it is replaced atomically)."""
    def reached(_seconds: float) -> bool:
        try:
            return torch.load(latest, weights_only=True)["global_step"] >= step
        except (OSError, RuntimeError, EOFError):
            return False
    return reached


def appeared(folder: Path, name: str, within: float, seed: int):
    """A predicate: a file `name` exists under `folder`, and a random 0..`within` seconds
    (drawn from `seed`) have passed since it was first seen."""
    delay, seen = random.Random(seed).uniform(0.0, within), []

    def reached(_seconds: float) -> bool:
        if not seen and next(folder.rglob(name), None) is not None:
            seen.append(time.monotonic())
        return bool(seen) and time.monotonic() - seen[0] >= delay
    return reached


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*") if p.name != ".written-by-tiktok-id-ocr")


# Comparing weights across processes to 1e-5 needs arithmetic that does not depend on the
# process: fp32, MKL's strict reproducibility mode (below), and an Adam eps that keeps
# noise-sized gradients from taking full steps. A real resume bug (a batch replayed or
# skipped, lost optimizer or random state) still moves the weights by far more than the
# tolerance: checked by breaking EpochSampler's skip, which gave 6.8e-3 (tolerance 1e-5).
# This test failed now and then (0.025 once in CI, 2.8e-3 once locally) when a kill
# landed just after an epoch-end checkpoint: the resume restored the random streams after
# the new epoch's iterator had drawn its worker seed, which the uninterrupted run drew
# after saving (engine.TrainLoader). Killing right after each of steps 6, 12, 18 and 24
# (epoch ends) then gave 0.08 / 0.09 / 0 / 0; with the fix 0 at every epoch end to 42.
REPRODUCIBLE = ["Train.loader.shuffle=true", "Global.use_amp=false", "Optimizer.eps=0.001"]


def test_a_training_run_killed_and_resumed_ends_where_an_uninterrupted_one_does(tmp_path):
    train = make_lmdb(tmp_path / "train", 96)
    total = 12 * 96 // 16
    outputs = {}
    for name, kills in (("straight", 0), ("killed", 3)):
        (tmp_path / name).mkdir()
        config = tiny_config(tmp_path / name, train, None, epoch_num=12, save_iter_step=[0, 1],
                             seed=7)
        latest = tmp_path / name / "out" / "latest.pth"
        steps = sorted(random.Random(1).sample(range(2, total - 2), kills))
        delivered = run_with_kills(["tools/train.py", "-c", str(config),
                                    "-o", *REPRODUCIBLE], latest,
                                   [step_reached(latest, step) for step in steps])
        assert delivered == kills
        outputs[name] = torch.load(latest, weights_only=True)
        assert leftovers(tmp_path / name / "out") == []
    straight, killed = outputs["straight"], outputs["killed"]
    assert killed["global_step"] == straight["global_step"] == total
    for key, weight in straight["state_dict"].items():
        torch.testing.assert_close(killed["state_dict"][key], weight, rtol=0, atol=1e-5,
                                   msg=lambda m: f"{key}: {m}")


def test_localize_killed_and_rerun_writes_the_same_lmdbs(tmp_path):
    from synth.frames import SynthConfig, generate
    from test_loc import TINY_TRAINING

    frames = tmp_path / "frames"
    generate(frames, videos=16, seed=13, test_videos=4, progress=False,
             config=SynthConfig(frames_min=3, frames_max=4, portrait_fraction=1.0,
                                caption_prob=0.0, logo_prob=0.0))
    outputs = {}
    for name, kills in (("straight", 0), ("killed", 2)):
        out = tmp_path / name
        overrides = TINY_TRAINING + [f"data.root={frames}", f"output.dir={out / 'crops'}",
                                     f"model.checkpoint={out / 'model' / 'strip_ddt.pt'}",
                                     f"psol.checkpoint={out / 'model' / 'psol.pt'}"]
        # kill points set by progress, not by the clock (a rerun with warm caches ran faster
        # than the uninterrupted run it was timed from, and finished before its kill): once
        # the localiser's checkpoint is on disk (the line head or the crops come next), then
        # once the first crop LMDB is (the others are being written)
        delivered = run_with_kills(["tools/localize.py", "-c", "configs/loc/ddt.yml",
                                    "-o", *overrides], None,
                                   [appeared(out / "model", "strip_ddt.pt", 0.3, seed=2),
                                    appeared(out / "crops", "data.mdb", 0.2, seed=3)])
        assert delivered >= min(kills, 1)   # a rerun reuses what was saved: it may finish first
        outputs[name] = {str(p.parent.relative_to(out)): read_lmdb(p.parent)
                         for p in sorted(out.rglob("data.mdb"))}
        assert outputs[name] and leftovers(out) == []
    assert outputs["killed"] == outputs["straight"]
