"""Training through tools/train.py's code path: the loss falls on rendered crops,
evaluation agrees with inference, and a killed run resumes at the step it reached."""
import csv

import pytest
import torch

from ppocr_ext import engine, rec_train
from ppocr_ext.rec_infer import infer_rec_main
from ppocr_ext.rec_train import eval_main, train_main
from common.lmdb_io import read_lmdb
from rec_fixtures import make_lmdb, one_torch_thread, tiny_config  # noqa: F401 (autouse)


def _record_steps(monkeypatch, on_step=None):
    """Wrap build_trainer so every optimizer step records the loss it applies."""
    losses = []
    build = engine.build_trainer

    def recording(cfg, mode):
        trainer = build(cfg, mode)
        if trainer.optimizer is not None:
            def hook(optimizer, args, kwargs):
                losses.append(trainer.loss_class.last)
                if on_step:
                    on_step(len(losses))
            trainer.optimizer.register_step_pre_hook(hook)
        return trainer

    monkeypatch.setattr(rec_train, "build_trainer", recording)
    return losses


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("trained")
    config = tiny_config(root, make_lmdb(root / "train", 192), make_lmdb(root / "val", 16, 1000),
                         epoch_num=8)
    with pytest.MonkeyPatch.context() as monkeypatch:
        losses = _record_steps(monkeypatch)
        best = train_main(["-c", str(config)])
    return root, config, losses, best


def test_loss_falls_over_a_few_dozen_steps(trained):
    root, _, losses, best = trained
    assert len(losses) == 8 * 192 // 16
    first, last = sum(losses[:8]) / 8, sum(losses[-8:]) / 8
    assert last < 0.6 * first, (first, last)
    assert {"acc", "norm_edit_dis"} <= set(best)
    assert (root / "out" / "best.pth").is_file() and (root / "out" / "latest.pth").is_file()


def test_eval_matches_inference_on_the_same_crops(trained, tmp_path):
    root, config, _, _ = trained
    weights = root / "out" / "best.pth"
    metrics = eval_main(["-c", str(config), "-o", f"Global.pretrained_model={weights}",
                         "--out", str(tmp_path / "metrics.json")])
    assert metrics["num_samples"] == 16
    assert metrics["acc"] >= 0.5    # 96 steps learn the 4 words, read on unseen renders
    crops = tmp_path / "crops"
    crops.mkdir()
    labels = {}
    for index, (image, label) in enumerate(read_lmdb(root / "val")):
        (crops / f"{index:02d}.png").write_bytes(image)
        labels[f"{index:02d}.png"] = label
    infer_rec_main(["-c", str(config), "-o", f"Global.pretrained_model={weights}",
                f"Global.infer_img={crops}", "--out", str(tmp_path / "pred")])
    with open(tmp_path / "pred.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["name"] for row in rows) == sorted(labels)
    exact = sum(row["text"] == labels[row["name"]] for row in rows) / len(rows)
    assert exact == pytest.approx(metrics["acc"], abs=1e-4)   # case-sensitive both ways
    assert (tmp_path / "metrics.json").is_file()


def test_resume_after_a_kill_continues_the_step_count(tmp_path, monkeypatch):
    config = tiny_config(tmp_path, make_lmdb(tmp_path / "train", 64), None, epoch_num=2,
                         save_iter_step=[0, 1])     # 4 steps per epoch, latest.pth every step

    def kill_at_step_6(step):
        if step == 6:
            raise KeyboardInterrupt
    _record_steps(monkeypatch, kill_at_step_6)
    with pytest.raises(KeyboardInterrupt):
        train_main(["-c", str(config)])
    latest = tmp_path / "out" / "latest.pth"
    assert torch.load(latest, weights_only=True)["global_step"] == 5

    resumed = _record_steps(monkeypatch)
    train_main(["-c", str(config), "--resume"])
    state = torch.load(latest, weights_only=True)
    assert len(resumed) == 3                        # steps 6, 7, 8: the epoch is finished
    assert state["global_step"] == 8 and state["epoch"] == 2
    assert state["scheduler"]["last_epoch"] == 8    # LR schedule continued, not restarted


def test_resume_without_a_previous_run_is_a_clear_error(tmp_path):
    config = tiny_config(tmp_path, make_lmdb(tmp_path / "train", 16), None)
    with pytest.raises(SystemExit, match="no checkpoint to resume from.*latest.pth"):
        train_main(["-c", str(config), "--resume"])


def test_num_threads_setting_is_honoured():
    import torch

    from ppocr_ext.rec_train import set_threads
    before = torch.get_num_threads()
    try:
        set_threads({"Global": {"num_threads": 1}})
        assert torch.get_num_threads() == 1
        set_threads({"Global": {}})          # absent: left as it is
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_a_resume_that_does_not_fit_leaves_the_runs_config_alone(tmp_path):
    """Issue #18 item 7: a failed --resume rewrote config.yml with the config that did not
    fit, so the run's own weights no longer loaded with it."""
    config = tiny_config(tmp_path, make_lmdb(tmp_path / "train", 32), None, epoch_num=1,
                         save_iter_step=[0, 1])
    train_main(["-c", str(config)])
    saved = (tmp_path / "out" / "config.yml").read_text()
    with pytest.raises(SystemExit, match="does not fit"):
        train_main(["-c", str(config), "--resume", "-o", "Architecture.Encoder.out_channels=32"])
    assert (tmp_path / "out" / "config.yml").read_text() == saved
