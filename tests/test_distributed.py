"""`torchrun --nproc_per_node=N tools/train.py -c ...` on a CPU (issue #20 item 3): the
engine alone would not start (NCCL only, DistributedDataParallel only with several CUDA
devices); `ppocr_ext.engine._distributed` runs it on Gloo. Two processes with batch B
each must train what one process with batch 2B trains: both ranks end with identical
weights, the loss of each global batch matches the single run, rank 0 alone writes the
checkpoints, and `--resume` continues."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rec_fixtures import make_lmdb, tiny_config

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("ddp_worker.py")


def run(nproc: int, config: Path, out: Path, *overrides: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone",
                 f"--nproc_per_node={nproc}"] if nproc > 1 else [sys.executable])
    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}", "OMP_NUM_THREADS": "1",
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([*launcher, str(WORKER), str(config), str(out), *overrides],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    train = make_lmdb(tmp / "train", 64)
    config = tiny_config(tmp, train, None, epoch_num=2, save_iter_step=[0, 2], seed=5)
    common = ["Train.loader.shuffle=true", "Train.loader.drop_last=true"]
    run(1, config, tmp / "one", f"Global.output_dir={tmp / 'one_ckpt'}",
        "Train.loader.batch_size_per_card=16", *common)
    run(2, config, tmp / "two", f"Global.output_dir={tmp / 'two_ckpt'}",
        "Train.loader.batch_size_per_card=8", *common)
    return tmp, config


def test_two_cpu_ranks_hold_identical_weights_and_train_what_one_process_trains(runs):
    tmp, _ = runs
    one = torch.load(tmp / "one" / "rank0.pt", weights_only=True)
    rank0, rank1 = (torch.load(tmp / "two" / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert rank0["world"] == rank1["world"] == 2 and one["world"] == 1
    # every weight; BatchNorm's running statistics are each rank's own until DDP
    # broadcasts rank 0's at the next forward (rank 0's are what the checkpoints keep)
    weights = [n for n in rank0["state_dict"] if "running_" not in n and "num_batches" not in n]
    assert len(weights) > 10
    for name in weights:
        assert torch.equal(rank0["state_dict"][name], rank1["state_dict"][name]), name
    assert len(one["losses"]) == len(rank0["losses"]) == 2 * 64 // 16      # same steps
    # the same samples per global batch; only BatchNorm's per-rank statistics differ
    torch.testing.assert_close(rank0["losses"], one["losses"], rtol=0.02, atol=0.0)
    drift = max(float((value.float() - one["state_dict"][name].float()).abs().max())
                for name, value in rank0["state_dict"].items() if value.is_floating_point())
    assert drift < 0.05, drift


def test_rank_zero_alone_writes_checkpoints_and_a_resume_continues(runs):
    tmp, config = runs
    ckpt = tmp / "two_ckpt"
    latest = torch.load(ckpt / "latest.pth", weights_only=True)
    assert latest["global_step"] == 8                 # 2 epochs x 64 / (2 x 8)
    assert not list(ckpt.glob("*rank*")) and len(list(ckpt.glob("train.log"))) == 1
    run(2, config, tmp / "more", f"Global.output_dir={ckpt}", "Global.epoch_num=3",
        f"Global.checkpoints={ckpt / 'latest.pth'}",
        "Train.loader.batch_size_per_card=8", "Train.loader.shuffle=true",
        "Train.loader.drop_last=true")
    assert torch.load(ckpt / "latest.pth", weights_only=True)["global_step"] == 12
    more = torch.load(tmp / "more" / "rank0.pt", weights_only=True)
    assert len(more["losses"]) == 4                      # only the third epoch's steps


@pytest.mark.parametrize("stream", [False, True])
def test_the_ranks_blocks_of_a_step_are_the_single_process_batch(stream):
    """Rank r takes the r-th block of every global batch, also after a resume mid-epoch."""
    from types import SimpleNamespace
    from ppocr_ext.engine import EpochSampler, StreamSampler

    def batches(rank, world, size, step):
        loader = SimpleNamespace(step=step)
        sampler = (StreamSampler(loader, 100, size, rank, world) if stream else
                   EpochSampler(loader, 100, size, True, True, 7, rank, world))
        order = list(sampler)
        return [order[i:i + size] for i in range(0, len(order), size)]

    for step in (0, 2):
        single = batches(0, 1, 12, step)
        ranks = [batches(r, 3, 4, step) for r in range(3)]
        assert len({len(b) for b in ranks}) == 1           # every rank runs the same steps
        for t, parts in enumerate(zip(*ranks)):
            assert sum(parts, []) == single[t]
