"""The encoder comparison reads each arm's held-out curve within its CPU budget (the
ledger of tools/cpu_budget.py beside train.log) and its speed on this machine (issue #16
item 3)."""
import pytest

from ppocr_ext.encoder_bench import arm_report, to_markdown
from rec_fixtures import make_lmdb, one_torch_thread, tiny_config  # noqa: F401 (autouse)

LOG = """[2026/12/03 10:00:00] openrec INFO: epoch: [1/7], global_step: 10, lr: 0.0005, loss: 50.0
[2026/12/03 10:04:00] openrec INFO: cur metric, acc: 0.0, norm_edit_dis: 0.1, fps: 100
[2026/12/03 10:10:00] openrec INFO: epoch: [1/7], global_step: 500, lr: 0.0005, loss: 9.0
[2026/12/03 10:12:00] openrec INFO: cur metric, acc: 0.25, norm_edit_dis: 0.6, fps: 100
[2026/12/03 10:12:08] openrec INFO: cur metric, acc: 0.25, norm_edit_dis: 0.6, fps: 100
[2026/12/03 10:30:00] openrec INFO: epoch: [2/7], global_step: 1500, lr: 0.0004, loss: 4.0
[2026/12/03 10:31:00] openrec INFO: cur metric, acc: 0.5, norm_edit_dis: 0.8, fps: 100
"""


def test_an_arm_is_scored_at_the_budget_and_timed(tmp_path):
    config = tiny_config(tmp_path, make_lmdb(tmp_path / "train", 16), None)
    run = tmp_path / "run"
    run.mkdir()
    (run / "train.log").write_text(LOG)
    # 1.5 CPU-minutes per wall minute until 10:20, then a busy machine left it 0.5
    (run / "cpu.tsv").write_text("2026-12-03T09:59:50\t0.0\n2026-12-03T10:20:00\t1815.0\n"
                                 "2026-12-03T10:40:00\t2415.0\n")
    arm = arm_report("tiny", str(config), run, budget_cpu_minutes=35, speed_seconds=0.05)
    # 10:04 -> 6.25, 10:12 -> 18.25, 10:31 -> 35.75 CPU-minutes: the last is out
    assert [(e["step"], e["cpu_minutes"]) for e in arm["curve"]] == [(10, 6.2), (500, 18.2)]
    assert arm["acc_at_budget"] == 0.25 and arm["steps_at_budget"] == 500
    assert arm["train_img_s"] > 0 and arm["infer_crops_s"] > 0 and arm["input"] == "32x64"
    text = to_markdown({"command": "c", "date": "d", "machine": {}, "budget_cpu_minutes": 35,
                        "arms": [arm, {**arm, "arm": "none", "curve": [], "acc_at_budget": None,
                                       "best_acc": None}]})
    assert "| tiny |" in text and "18.2 (12) min, step 500: 0.250" in text
    assert "none: no evaluation logged" in text


@pytest.mark.parametrize("name, positions", [("svtr_tiny_synth", 64), ("svtrv2_small_synth", 64),
                                             ("lcnetv3_synth", 40)])
def test_each_arm_trains_on_the_same_stream_and_leaves_room_for_15_symbols(name, positions):
    """Only the architecture (and, for LCNetV3, the input size its pooling needs) differs
    from the released recipe. The SVTR arms read 64 CTC positions; LCNetV3 at 48x320
    reads 40 (its neck unpooled), enough for 15 symbols but not for every doubled one.
    Every arm's encoder gets gradients (PP-OCRv4's guided neck detached LCNetV3's)."""
    import torch

    from openrec.losses import build_loss
    from openrec.modeling import build_model
    from ppocr_ext.rec_bench import input_shape
    from ppocr_ext.rec_config import load_config
    from rec_fixtures import CONFIGS

    cfg, base = load_config(CONFIGS / f"{name}.yml"), load_config(CONFIGS / "svtr_tiny_synth.yml")
    for section in ("Optimizer", "LRScheduler", "Loss"):
        assert cfg[section] == base[section], section
    assert cfg["Train"]["dataset"]["name"] == "SynthCropDataSet"
    assert {k: v for k, v in cfg["Train"]["dataset"].items() if k != "transforms"} == \
        {k: v for k, v in base["Train"]["dataset"].items() if k != "transforms"}
    assert cfg["Eval"]["dataset"]["data_dir"] == base["Eval"]["dataset"]["data_dir"]
    cfg["Architecture"]["Decoder"]["out_channels"] = 63
    model = build_model(cfg["Architecture"])
    images = torch.zeros(2, *input_shape(cfg))
    labels = torch.zeros(2, 25, dtype=torch.long)
    labels[:, :15] = 5
    lengths = torch.tensor([15, 15])
    loss = build_loss(cfg["Loss"])(model.train()(images, data=[labels, lengths]),
                                   [images, labels, lengths])["loss"]
    assert torch.isfinite(loss)
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.encoder.parameters())
    with torch.no_grad():
        assert model.eval()(images).shape[1] == positions
