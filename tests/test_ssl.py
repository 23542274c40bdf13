"""Self- and semi-supervised recognition (ppocr_ext/ssl): masks as configured, exact EMA
arithmetic, DiG loss falls and resumes, its encoder loads into a recogniser config,
consistency ignores unsure positions, the semi runner and the benchmark run end to end.

Models are the tiny SVTR of rec_fixtures (32x64 input) and torch runs on one thread:
on a CPU shared with other jobs, OpenMP threads spin-waiting for a busy core make tiny
steps up to 50x slower.
"""
import gc
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from common.torch_files import read_checkpoint
from ppocr_ext.engine import build_trainer, load_engine
from ppocr_ext.rec_config import ConfigError, check_config, load_config
from ppocr_ext.ssl import bench
from ppocr_ext.ssl.consistency import consistency_loss, ctc_reading_lengths
from ppocr_ext.ssl.data import UnlabeledCrops, base_transforms, find_sources, view_transforms
from ppocr_ext.ssl.dig import DiG
from ppocr_ext.ssl.ema import cosine_momentum, ema_update
from ppocr_ext.ssl.masking import upsample
from ppocr_ext.ssl.pretrain import pretrain
from ppocr_ext.ssl.semi import SemiRun, semi_settings
from rec_fixtures import CONFIGS, ROOT, make_lmdb, render_crop, tiny_config

load_engine()
DIG_CONFIG = ROOT / "configs" / "ssl" / "dig_tiny.yml"
TINY_SSL = {"batch_size": 8, "num_workers": 0, "hidden_dim": 64, "proj_dim": 32, "instances": 4}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    gc.collect()   # engine trainers hold their LMDB open until collected (py-lmdb: once per process)


@pytest.fixture(scope="module")
def crops(tmp_path_factory):
    """Labelled (16), validation (8) LMDBs and the tiny recogniser config over them."""
    root = tmp_path_factory.mktemp("crops")
    train_dir = make_lmdb(root / "train", 16)
    val_dir = make_lmdb(root / "val", 8, first_seed=100)
    return root, train_dir, tiny_config(root, train_dir, val_dir)


def _derived_config(path: Path, bases: list[Path], **sections) -> Path:
    """A config inheriting `bases` in order (the shipped one first, the tiny dims last)."""
    path.write_text(yaml.safe_dump({"_BASE_": [str(b) for b in bases], **sections}),
                    encoding="utf-8")
    return path


def _dig_config(tmp_path, crops, **ssl) -> Path:
    root, train_dir, tiny = crops
    return _derived_config(tmp_path / "dig.yml", [DIG_CONFIG, tiny],
                           SSL={**TINY_SSL, "data_dir": [str(train_dir)], **ssl},
                           Global={"output_dir": str(tmp_path / "dig"), "epoch_num": 10,
                                   "print_batch_step": 5},
                           Optimizer={"lr": 0.002}, LRScheduler={"warmup_epoch": 1})


def _tiny_encoder(crops) -> dict:
    return load_config(crops[2])["Architecture"]["Encoder"]


# ------------------------------------------------------------------ masking

@pytest.mark.parametrize("patch, ratio", [((4, 4), 0.6), ((8, 8), 0.4), ((4, 8), 0.75)])
def test_mask_ratio_and_patch_size_are_as_configured(crops, patch, ratio):
    model = DiG(_tiny_encoder(crops), mask_ratio=ratio, patch_size=patch,
                hidden_dim=16, proj_dim=8, instances=2)
    rows, cols = 32 // patch[0], 64 // patch[1]
    mask = model.draw_mask(5, torch.Generator().manual_seed(0))
    assert mask.shape == (5, rows, cols)
    assert mask.flatten(1).sum(1).tolist() == [round(ratio * rows * cols)] * 5
    pixels = upsample(mask, model.patch_size)
    assert pixels.shape == (5, 32, 64)
    blocks = pixels.view(5, rows, patch[0], cols, patch[1])   # constant inside each patch
    assert torch.equal(blocks.all(dim=4).all(dim=2), blocks.any(dim=4).any(dim=2))
    # one SVTR token per 4x4 pixels: masked tokens are replaced by the mask token
    token_mask = upsample(mask, model.tokens_per_patch)
    images = torch.randn(5, 3, 32, 64)
    branch = model.online.eval()
    plain = branch.encoder.patch_embed(images)
    branch._token_mask = token_mask
    masked = branch.encoder.patch_embed(images)
    branch._token_mask = None
    flat = token_mask.flatten(1)
    assert torch.equal(masked[flat], branch.mask_token[0].expand(int(flat.sum()), -1))
    assert torch.equal(masked[~flat], plain[~flat])


def test_bad_mask_settings_are_refused(crops):
    with pytest.raises(ValueError, match="multiple of the encoder's 4x4"):
        DiG(_tiny_encoder(crops), patch_size=(2, 2))
    with pytest.raises(ValueError, match="does not tile"):
        DiG(_tiny_encoder(crops), patch_size=(12, 12))
    with pytest.raises(ValueError, match="mask_ratio"):
        DiG(_tiny_encoder(crops), mask_ratio=1.0).draw_mask(1)


# ------------------------------------------------------------------ EMA

def test_ema_update_arithmetic():
    target, source = torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.BatchNorm1d(1)), \
        torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.BatchNorm1d(1))
    with torch.no_grad():
        target[0].weight.fill_(1.0), target[0].bias.fill_(0.0)
        source[0].weight.fill_(3.0), source[0].bias.fill_(2.0)
        source[1].running_mean.fill_(5.0)
    ema_update(target, source, decay=0.9)
    assert target[0].weight.item() == pytest.approx(1.2)     # 0.9 * 1 + 0.1 * 3
    assert target[0].bias.item() == pytest.approx(0.2)       # 0.9 * 0 + 0.1 * 2
    ema_update(target, source, decay=0.9)
    assert target[0].weight.item() == pytest.approx(1.38)    # 0.9 * 1.2 + 0.1 * 3
    assert target[1].running_mean.item() == 5.0              # buffers are copied
    assert source[0].weight.item() == 3.0                    # the source is untouched
    assert cosine_momentum(0, 10, 0.99) == pytest.approx(0.99)
    assert cosine_momentum(5, 10, 0.99) == pytest.approx(0.995)
    assert cosine_momentum(10, 10, 0.99) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="different parameters"):
        ema_update(torch.nn.Linear(1, 1), torch.nn.Linear(1, 2, bias=False), 0.5)


# ------------------------------------------------------------------ DiG pre-training

@pytest.fixture(scope="module")
def pretrained(tmp_path_factory, crops):
    tmp = tmp_path_factory.mktemp("dig")
    torch.set_num_threads(1)
    config = _dig_config(tmp, crops)
    return config, pretrain(str(config), ["Global.epoch_num=6"])


def test_dig_loss_falls_and_the_run_resumes(pretrained):
    config, first = pretrained
    curve = first["loss_curve"]
    assert first["steps"] == len(curve) == 12                # 6 epochs of 16 crops / 8
    assert np.mean(curve[-4:]) < np.mean(curve[:4]) - 0.1
    resumed = pretrain(str(config), ["Global.epoch_num=8"], resume=True)
    assert resumed["steps"] == 16 and len(resumed["loss_curve"]) == 4
    saved = read_checkpoint(Path(first["encoder"]).with_name("latest.pth"))
    assert saved["global_step"] == 16 and saved["optimizer"]["state"]


def test_pretrained_encoder_loads_into_the_recogniser_config(pretrained, crops, caplog):
    _, result = pretrained
    encoder = read_checkpoint(result["encoder"])["state_dict"]
    cfg = load_config(crops[2], [f"Global.pretrained_model={result['encoder']}",
                                 f"Global.output_dir={crops[0] / 'finetune'}"])
    check_config(cfg, "train")
    with caplog.at_level(logging.WARNING, logger="ppocr_ext.checkpoint"):
        trainer = build_trainer(cfg, "train")
    recogniser = trainer.model.state_dict()
    assert set(encoder) == {key for key in recogniser if key.startswith("encoder.")}
    assert all(torch.equal(recogniser[key], value) for key, value in encoder.items())
    missing = {r.getMessage().split("no weights for ")[1].split(" ")[0]
               for r in caplog.records if "no weights for" in r.getMessage()}
    assert missing == {key for key in recogniser if not key.startswith("encoder.")}
    trainer.train_dataloader.close()


def test_unknown_ssl_key_is_named(tmp_path, crops):
    config = _dig_config(tmp_path, crops, mask_ration=0.5)
    with pytest.raises(ConfigError, match="mask_ration"):
        pretrain(str(config))


# ------------------------------------------------------------------ unlabeled data

def test_unlabeled_crops_from_lmdb_and_folder_skip_bad_files(tmp_path, crops, caplog):
    folder = tmp_path / "frames"
    folder.mkdir()
    for index in range(3):
        (folder / f"crop{index}.png").write_bytes(render_crop("Ab12", index))
    (folder / "broken.jpg").write_bytes(b"not an image")
    sources = find_sources([str(crops[1]), str(folder)])
    assert [(s.kind, s.count) for s in sources] == [("lmdb", 16), ("files", 4)]
    cfg = load_config(crops[2])
    base = base_transforms(cfg)
    assert [next(iter(op)) for op in base] == ["DecodeImage", "SVTRResize"]
    dataset = UnlabeledCrops(sources, [view_transforms(base, "none"),
                                       view_transforms(base, "standard_tia")], cfg["Global"])
    assert len(dataset) == 20
    with caplog.at_level(logging.WARNING, logger="ppocr_ext.ssl.data"):
        items = [dataset[i] for i in range(len(dataset))]
    assert all(view.shape == (3, 32, 64) and view.dtype == np.float32
               for item in items for view in item)
    assert any("broken.jpg" in r.getMessage() for r in caplog.records)
    with pytest.raises(ConfigError, match="not found"):
        find_sources([str(tmp_path / "nowhere")])


# ------------------------------------------------------------------ consistency

def test_consistency_ignores_low_confidence_positions():
    torch.manual_seed(0)
    teacher = torch.full((2, 4, 3), 0.1)
    teacher[:, :, 0] = 0.8                                   # confident blank ...
    teacher[0, 1] = torch.tensor([0.05, 0.9, 0.05])          # ... or symbol 1
    teacher[0, 2] = torch.tensor([0.4, 0.3, 0.3])            # unsure
    teacher[1, 3] = torch.tensor([0.3, 0.4, 0.3])            # unsure
    for mode in ("kl", "argmax"):
        student = torch.randn(2, 4, 3, requires_grad=True)
        loss, mask = consistency_loss(student, teacher, threshold=0.75, mode=mode)
        assert mask.tolist() == [[True, True, False, True], [True, True, True, False]]
        loss.backward()
        assert torch.all(student.grad[~mask] == 0)
        assert torch.all(student.grad[mask].abs().sum(-1) > 0)
        changed = student.detach().clone()
        changed[0, 2] += 5.0
        changed[1, 3] -= 5.0
        assert consistency_loss(changed, teacher, 0.75, mode)[0] == pytest.approx(loss.item())
    # crops the teacher reads as fewer than min_chars symbols are ignored entirely
    teacher[1, 3] = torch.tensor([0.5, 0.25, 0.25])          # crop 1 now reads as ""
    _, mask = consistency_loss(torch.randn(2, 4, 3), teacher, 0.75, "kl", min_chars=1)
    assert mask.tolist() == [[True, True, False, True], [False] * 4]
    assert ctc_reading_lengths(torch.tensor([[0, 1, 1, 0, 1, 2, 2], [0, 0, 0, 0, 0, 0, 0]])
                               ).tolist() == [3, 0]


# ------------------------------------------------------------------ semi-supervised runner

def test_semi_runner_trains_student_and_teacher(tmp_path, crops):
    root, train_dir, tiny = crops
    config = _derived_config(
        tmp_path / "semi.yml", [CONFIGS / "svtr_tiny_cpu_semi.yml", tiny],
        Semi={"data_dir": [str(train_dir)], "batch_size": 8, "num_workers": 0,
              "start_step": 1, "threshold": 0.0, "min_chars": 0},
        Global={"output_dir": str(tmp_path / "semi"), "epoch_num": 6, "eval_batch_step": [0, 4]})
    cfg = load_config(config)
    check_config(cfg, "train")
    run = SemiRun(cfg, resumed=False)
    best = run.run()
    assert run.step == 6 and best["teacher"].endswith("teacher.pth")
    assert run.averages.values["weight"][0] == 0.0            # start_step: off at first
    assert len(run.averages.values["consistency"]) == 5
    teacher = read_checkpoint(tmp_path / "semi" / "teacher.pth")
    student = read_checkpoint(tmp_path / "semi" / "latest.pth")
    assert teacher["global_step"] == student["global_step"] == 6
    assert not torch.equal(teacher["state_dict"]["decoder.fc.weight"],
                           student["state_dict"]["decoder.fc.weight"])
    assert (tmp_path / "semi" / "best.pth").is_file()
    bad = load_config(config, ["Semi.mode=js"])
    with pytest.raises(ConfigError, match="Semi.mode"):
        semi_settings(bad)


# ------------------------------------------------------------------ benchmark

def test_bench_smoke_writes_the_report_and_a_rerun_trains_nothing(tmp_path):
    out = tmp_path / "ssl.md"
    argv = ["--smoke", "--work", str(tmp_path / "work"), "--out", str(out)]
    results = bench.bench_ssl_main(argv)
    arms = ["scratch", "dig", "semi", "dig+semi"]   # no --synth-weights: no synth arm
    assert [(r.budget, r.arm, r.seed) for r in results] == [(32, arm, 0) for arm in arms]
    assert all(0.0 <= r.acc <= 1.0 and r.steps > 0 for r in results)
    assert [r.student_acc is not None for r in results] == [False, False, True, True]
    text = out.read_text()
    assert "Command: `python tools/bench_ssl.py --smoke --work" in text
    rows = [line.split(" | ")[:3] for line in text.splitlines() if line.startswith("| 32 |")]
    assert rows == [["| 32", "scratch", "random"], ["| 32", "dig", "dig"],
                    ["| 32", "semi", "random"], ["| 32", "dig+semi", "dig"]]
    assert "Partial" not in text and "the contrastive branch is" in text
    runs = tmp_path / "work" / "runs"
    stamps = {p: p.stat().st_mtime_ns for p in runs.rglob("*.pth")}
    assert bench.bench_ssl_main(argv) == results                 # read back, CPU times included
    assert {p: p.stat().st_mtime_ns for p in runs.rglob("*.pth")} == stamps
    assert out.read_text() == text.replace(text.split("Machine: ")[1].split("\n")[0],
                                           out.read_text().split("Machine: ")[1].split("\n")[0])


def test_bench_synth_arms_start_from_the_synthetic_weights(tmp_path):
    """`synth+dig` fine-tunes from the synthetic weights with DiG's adapted encoder: the
    CTC head (which DiG does not train) stays the synthetic one."""
    first = ["--smoke", "--work", str(tmp_path / "w0"), "--out", str(tmp_path / "a.md"),
             "--arms", "scratch"]
    bench.bench_ssl_main(first)
    synth = tmp_path / "w0" / "runs" / "scratch_32_seed0" / "latest.pth"
    argv = ["--smoke", "--work", str(tmp_path / "w1"), "--out", str(tmp_path / "b.md"),
            "--synth-weights", str(synth), "--arms", "synth", "synth+dig", "--seeds", "0", "1"]
    results = bench.bench_ssl_main(argv)
    assert [(r.arm, r.seed) for r in results] == [("synth", 0), ("synth+dig", 0),
                                                  ("synth", 1), ("synth+dig", 1)]
    start = read_checkpoint(tmp_path / "w1" / "runs" / "pretrain_synth_dig" / "start.pth")["state_dict"]
    base = read_checkpoint(synth)["state_dict"]
    adapted = read_checkpoint(tmp_path / "w1" / "runs" / "pretrain_synth_dig" / "encoder.pth")["state_dict"]
    assert set(start) == set(base)
    assert all(torch.equal(start[k], adapted[k] if k in adapted else base[k]) for k in start)
    assert not all(torch.equal(base[k], adapted[k]) for k in adapted)   # DiG trained it
    text = (tmp_path / "b.md").read_text()
    assert "| 32 | synth | synth | 2 |" in text and "`synth+dig` vs `synth`" in text
    with pytest.raises(SystemExit, match="synth-weights"):
        bench.parse_args(["--arms", "synth"])


def test_bench_comparisons_weigh_differences_against_the_seed_spread():
    def row(*accs):
        return {"acc": float(np.mean(accs)), "spread": max(accs) - min(accs), "seeds": len(accs)}
    table = {(1000, "scratch"): row(0.0, 0.0), (1000, "semi"): row(0.0, 0.03),
             (1000, "synth"): row(0.30, 0.34), (1000, "synth+semi"): row(0.40, 0.42),
             (1000, "synth+dig"): row(0.31, 0.35)}
    lines = bench.comparisons(table)
    assert "- 1000 labels: best arm with unlabeled or synthetic data is `synth+semi`, +41.0 points over scratch." in lines
    assert "- 1000 labels: `semi` vs `scratch`: +1.5 points (spread 3.0; within the seed spread)." in lines
    assert "- 1000 labels: `synth+semi` vs `synth`: +9.0 points (spread 4.0; beyond the seed spread)." in lines
    assert "- 1000 labels: `synth+dig` vs `synth`: +1.0 points (spread 4.0; within the seed spread)." in lines
    assert not any("`synth` vs `scratch`" in line or "`synth+semi` vs `scratch`" in line for line in lines)


@pytest.mark.parametrize("weight, passes", [(1.0, (2, 2)), (0.0, (1, 0))])
def test_dig_without_its_contrastive_branch_runs_one_encoder_pass(crops, weight, passes):
    model = DiG(_tiny_encoder(crops), instances=4, hidden_dim=64, proj_dim=32,
                contrastive_weight=weight)
    calls = {"online": 0, "momentum": 0}
    model.online.encoder.register_forward_hook(lambda *_: calls.__setitem__("online", calls["online"] + 1))
    model.momentum_branch.encoder.register_forward_hook(
        lambda *_: calls.__setitem__("momentum", calls["momentum"] + 1))
    height, width = model.image_hw
    losses = model(torch.randn(2, 3, height, width), torch.randn(2, 3, height, width))
    assert (calls["online"], calls["momentum"]) == passes
    assert (float(losses["contrastive"]) > 0) == bool(weight)
    if not weight:
        assert torch.equal(losses["loss"], losses["pixel"])


def test_dig_starts_from_a_recogniser_encoder(crops):
    model = DiG(_tiny_encoder(crops), instances=4, hidden_dim=64, proj_dim=32)
    other = DiG(_tiny_encoder(crops), instances=4, hidden_dim=64, proj_dim=32)
    state = other.encoder_state_dict()
    model.load_encoder({**state, "decoder.fc.weight": torch.zeros(3)})
    for key, value in state.items():
        name = key[len("encoder."):]
        assert torch.equal(model.online.encoder.state_dict()[name], value)
        assert torch.equal(model.momentum_branch.encoder.state_dict()[name], value)
    with pytest.raises(ValueError, match="no encoder"):
        model.load_encoder({"decoder.fc.weight": torch.zeros(3)})


def test_label_budget_subset_walks_a_folder_of_lmdbs(tmp_path):
    """localize writes train/{high,low}: a label budget is drawn from both."""
    from common.lmdb_io import read_lmdb
    make_lmdb(tmp_path / "train" / "high", 5)
    make_lmdb(tmp_path / "train" / "low", 3)
    everything = read_lmdb(tmp_path / "train" / "high") + read_lmdb(tmp_path / "train" / "low")
    subset = read_lmdb(bench.sample_lmdb(tmp_path / "train", 4, tmp_path / "four", seed=0))
    assert len(subset) == 4 and all(sample in everything for sample in subset)
    whole = read_lmdb(bench.sample_lmdb(tmp_path / "train", 100, tmp_path / "all", seed=0))
    assert whole == everything


def test_semi_budget_prices_steps_before_the_consistency_start_as_supervised():
    # 480 s: 200 plain steps at 0.4 s (80 s), then 400 s / 2.0 s = 200 consistency steps
    assert bench.semi_epochs_for(480, 0.4, 2.0, 200, steps_per_epoch=10) == 40
    # a budget that ends before the start: every step is a plain one
    assert bench.semi_epochs_for(40, 0.4, 2.0, 200, steps_per_epoch=10) == 10
    assert bench.epochs_for(480, 2.0, 10) == 24          # what pricing them all as semi gave
