"""The augmentation ablation: its arms differ only in augmentation, and finished runs are
recognised from their logs so a rerun of the benchmark does not retrain them."""
from pathlib import Path

from ppocr_ext.augment import TRANSFORM_CLASSES, aug_preset
from ppocr_ext.augment.ablation import ARMS, CONFIG_DIR, finished, run_summary
from ppocr_ext.rec_config import load_config

LOG = """[2026/11/23 14:00:00] openrec INFO: epoch: [1/2], global_step: 20, lr: 0.0005, loss: 50.1
[2026/11/23 14:03:00] openrec INFO: cur metric, acc: 0.10, norm_edit_dis: 0.5
[2026/11/23 14:03:00] openrec INFO: best metric, acc: 0.10, norm_edit_dis: 0.5
[2026/11/23 14:06:00] openrec INFO: epoch: [2/2], global_step: 40, lr: 0.0001, loss: 9.0
[2026/11/23 14:07:00] openrec INFO: cur metric, acc: 0.05, norm_edit_dis: 0.4
"""


def test_arms_differ_only_in_their_augmentation_steps():
    configs = {arm: load_config(CONFIG_DIR / f"{arm}.yml") for arm in ARMS}
    for arm, cfg in configs.items():
        ours = [next(iter(t)) for t in cfg["Train"]["dataset"]["transforms"]
                if next(iter(t)) in TRANSFORM_CLASSES]
        assert ours == [next(iter(t)) for t in aug_preset(arm)], arm
        for cfg_other in configs.values():
            for section in ("Architecture", "Optimizer", "LRScheduler", "Loss", "Eval"):
                assert cfg[section] == cfg_other[section]
            assert cfg["Global"]["epoch_num"] == cfg_other["Global"]["epoch_num"]
            assert cfg["Train"]["loader"] == cfg_other["Train"]["loader"]


def test_run_summary_reads_progress_and_best_validation(tmp_path: Path):
    (tmp_path / "train.log").write_text(LOG, encoding="utf-8")
    summary = run_summary(tmp_path / "train.log")
    assert summary["epoch"] == 2 and summary["epochs"] == 2 and summary["steps"] == 40
    assert summary["best_val_acc"] == 0.10          # best, not the last evaluation
    assert summary["train_minutes"] == 6.0
    assert run_summary(tmp_path / "missing.log") == {}


def test_a_run_is_finished_only_with_weights_and_the_last_epoch(tmp_path: Path):
    (tmp_path / "train.log").write_text(LOG, encoding="utf-8")
    assert not finished(tmp_path, epochs=2)          # no best.pth yet
    (tmp_path / "best.pth").write_bytes(b"x")
    assert finished(tmp_path, epochs=2)
    assert not finished(tmp_path, epochs=3)          # a longer schedule resumes
