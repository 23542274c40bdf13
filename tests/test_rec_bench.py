"""The recogniser benchmark writes comparable results: rates for every model and
precision, the command that produced them and the machine (no timing is asserted)."""
import json
import shlex

from ppocr_ext.rec_bench import bench_rec_main, input_shape
from ppocr_ext.rec_config import load_config
from rec_fixtures import CONFIGS, make_lmdb, one_torch_thread, tiny_config  # noqa: F401


def test_bench_writes_markdown_and_json_with_command_and_machine(tmp_path):
    config = tiny_config(tmp_path, make_lmdb(tmp_path / "train", 16), None)
    argv = ["--configs", str(config), "--train-batch", "4", "--infer-batch", "4",
            "--seconds", "0", "--min-iterations", "1", "--note", "test run",
            "--out", str(tmp_path / "bench" / "speed")]
    rows = bench_rec_main(argv)
    saved = json.loads((tmp_path / "bench" / "speed.json").read_text())
    assert saved["rows"] == rows and saved["command"] == shlex.join(["python", "tools/bench_rec.py", *argv])
    assert saved["machine"]["cores"] >= 1 and saved["machine"]["torch"]
    row = rows[0]
    assert row["input"] == "32x64" and row["params_m"] > 0
    assert all(row[key] > 0 for key in ("train_fp32", "train_bf16", "infer_fp32", "infer_bf16"))
    report = (tmp_path / "bench" / "speed.md").read_text()
    assert saved["command"] in report and saved["machine"]["cpu"] in report
    assert "| tiny | " in report and "test run" in report


def test_input_size_is_what_the_model_reads():
    assert input_shape(load_config(CONFIGS / "svtr_large.yml")) == (3, 64, 512)
    assert input_shape(load_config(CONFIGS / "svtr_large_nostn.yml")) == (3, 32, 256)
    assert input_shape(load_config(CONFIGS / "sar_r31.yml")) == (3, 48, 256)


def test_speed_of_a_config_whose_loss_reads_glyph_spans():
    """The aligned configs keep glyph_spans as their fourth key (AlignedCTCLoss): the speed
    benchmark's random batch gives them spans, not SAR's valid ratios (make bench-encoders
    failed on it)."""
    from ppocr_ext.rec_bench import bench_config
    row = bench_config(str(CONFIGS / "svtr_tiny_synth_aligned.yml"), 2, 2, 0, 1)
    assert row["train_fp32"] > 0 and row["train_bf16"] > 0 and row["input"] == "16x256"
