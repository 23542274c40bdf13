"""The encoder comparison reads each arm's held-out curve within the budget and its
speed on this machine (issue #16 item 3)."""
from ppocr_ext.encoder_bench import arm_report, to_markdown
from rec_fixtures import make_lmdb, one_torch_thread, tiny_config  # noqa: F401 (autouse)

LOG = """[2026/12/03 10:00:00] openrec INFO: epoch: [1/7], global_step: 10, lr: 0.0005, loss: 50.0
[2026/12/03 10:04:00] openrec INFO: cur metric, acc: 0.0, norm_edit_dis: 0.1, fps: 100
[2026/12/03 10:10:00] openrec INFO: epoch: [1/7], global_step: 500, lr: 0.0005, loss: 9.0
[2026/12/03 10:12:00] openrec INFO: cur metric, acc: 0.25, norm_edit_dis: 0.6, fps: 100
[2026/12/03 10:30:00] openrec INFO: epoch: [2/7], global_step: 1500, lr: 0.0004, loss: 4.0
[2026/12/03 10:31:00] openrec INFO: cur metric, acc: 0.5, norm_edit_dis: 0.8, fps: 100
"""


def test_an_arm_is_scored_at_the_budget_and_timed(tmp_path):
    config = tiny_config(tmp_path, make_lmdb(tmp_path / "train", 16), None)
    run = tmp_path / "run"
    run.mkdir()
    (run / "train.log").write_text(LOG)
    arm = arm_report("tiny", str(config), run, budget_minutes=20, speed_seconds=0.05)
    assert [e["step"] for e in arm["curve"]] == [10, 500]       # the 31-minute point is out
    assert arm["acc_at_budget"] == 0.25 and arm["steps_at_budget"] == 500
    assert arm["train_img_s"] > 0 and arm["infer_crops_s"] > 0 and arm["input"] == "32x64"
    text = to_markdown({"command": "c", "date": "d", "machine": {}, "budget_minutes": 20,
                        "arms": [arm, {**arm, "arm": "none", "curve": [], "acc_at_budget": None,
                                       "best_acc": None}]})
    assert "| tiny |" in text and "12 min (step 500): 0.250" in text
    assert "none: no evaluation logged" in text
