"""The shipped recogniser configs are what the design asks for and build their models;
bad configs and bad data fail early with messages that name the culprit."""
import os
import subprocess
import sys

import lmdb
import pytest
import torch

from ppocr_ext.engine import load_engine
from ppocr_ext.rec_config import (ConfigError, PROJECT_ROOT, apply_override, check_config,
                                  check_names, load_config)
from rec_fixtures import (CONFIGS, DICT, ROOT, make_lmdb, one_torch_thread,  # noqa: F401
                          tiny_config)

load_engine()

# name: (parameter range in millions, algorithm)
FULL_SIZE = {"svtr_tiny": ((3.5, 5.0), "SVTR"),          # paper: 4.0 M at 32x100
             "svtr_large": ((39.0, 43.0), "SVTR"),       # backbone + TPS localisation net
             "svtr_large_nostn": ((37.0, 41.0), "SVTR"),  # paper: 38.8 M
             "sar_r31": ((50.0, 65.0), "SAR")}


@pytest.mark.parametrize("name", sorted(FULL_SIZE))
def test_full_size_config_builds_its_model(name, capsys):
    from openrec.modeling import build_model
    from openrec.postprocess import build_post_process
    cfg = load_config(CONFIGS / f"{name}.yml")
    check_names(cfg)
    glob = cfg["Global"]
    assert glob["character_dict_path"] == str(DICT) and glob["max_text_length"] == 25
    assert cfg["Metric"] == {**cfg["Metric"], "name": "RecMetric", "is_lower": False}
    assert cfg["Optimizer"]["name"] == "AdamW"
    assert cfg["LRScheduler"]["name"] == "CosineAnnealingLR"
    assert cfg["LRScheduler"]["warmup_epoch"] > 0
    for section, folder in (("Train", "data/lmdb/train"), ("Eval", "data/lmdb/val")):
        assert cfg[section]["dataset"]["name"] == "LMDBDataSet"
        assert cfg[section]["dataset"]["data_dir"].endswith(folder)
    post = build_post_process(cfg["PostProcess"], glob)
    assert post.get_character_num() == 62 + (1 if name.startswith("svtr") else 3)
    cfg["Architecture"]["Decoder"]["out_channels"] = post.get_character_num()
    (low, high), algorithm = FULL_SIZE[name]
    assert cfg["Architecture"]["algorithm"] == algorithm
    model = build_model(cfg["Architecture"])
    millions = sum(p.numel() for p in model.parameters()) / 1e6
    with capsys.disabled():
        print(f"\n{name}: {millions:.2f} M parameters")
    assert low < millions < high
    if algorithm == "SVTR":   # 32x256 into the backbone: 64 CTC positions
        encoder = cfg["Architecture"]["Encoder"]
        assert encoder["img_size"] == [32, 256] and encoder["out_char_num"] == 64
        with torch.no_grad():
            shape = cfg["Eval"]["dataset"]["transforms"][2]["SVTRResize"]["image_shape"]
            assert model.eval()(torch.zeros(1, *shape)).shape == (1, 64, 63)


def test_stn_variant_rectifies_a_larger_input():
    with_stn, without = (load_config(CONFIGS / f"{name}.yml")
                         for name in ("svtr_large", "svtr_large_nostn"))
    assert with_stn["Architecture"]["Transform"]["name"] == "Aster_TPS"
    assert with_stn["Architecture"]["Transform"]["tps_outputsize"] == [32, 256]
    assert without["Architecture"]["Transform"] is None
    assert with_stn["Architecture"]["Encoder"] == without["Architecture"]["Encoder"]


def test_cpu_variant_inherits_the_model_and_runs_bf16():
    cpu, full = (load_config(CONFIGS / f"{n}.yml") for n in ("svtr_tiny_cpu", "svtr_tiny"))
    # the same network at 16x256: the full recipe's 64 CTC positions on half the rows
    cpu_encoder, full_encoder = cpu["Architecture"]["Encoder"], full["Architecture"]["Encoder"]
    assert {k: v for k, v in cpu_encoder.items() if k != "img_size"} == \
        {k: v for k, v in full_encoder.items() if k != "img_size"}
    assert cpu_encoder["img_size"] == [16, 256] and cpu_encoder["out_char_num"] == 64
    for section in ("Train", "Eval"):
        resize = [op["SVTRResize"] for op in cpu[section]["dataset"]["transforms"]
                  if "SVTRResize" in op]
        assert resize == [{"image_shape": [3, 16, 256], "padding": False}]
    assert cpu["Train"]["dataset"]["data_dir"] == full["Train"]["dataset"]["data_dir"]
    glob = cpu["Global"]
    assert glob["use_amp"] is True and glob["cal_metric_during_train"] is False
    assert glob["device"] == "cpu" and glob["epoch_num"] < full["Global"]["epoch_num"]
    assert cpu["Train"]["loader"]["batch_size_per_card"] == 64


def test_cpu_recipe_trains_clean_first_and_augments_only_in_its_fine_tune():
    """Augmentation from step 0 prolongs CTC's blank stall (bench/aug_ablation.md)."""
    from ppocr_ext.augment import TRANSFORM_CLASSES
    clean, aug = (load_config(CONFIGS / f"{n}.yml") for n in ("svtr_tiny_cpu", "svtr_tiny_cpu_aug"))
    ours = [[next(iter(op)) for op in cfg["Train"]["dataset"]["transforms"]
             if next(iter(op)) in TRANSFORM_CLASSES] for cfg in (clean, aug)]
    assert ours == [[], ["TIA", "StandardAug", "LowResAug"]]
    assert aug["Optimizer"]["lr"] < clean["Optimizer"]["lr"]
    assert aug["Architecture"] == clean["Architecture"]
    # the light clean loader runs in-process; augmentation gets a worker of its own
    assert clean["Train"]["loader"]["num_workers"] == 0
    assert aug["Train"]["loader"]["num_workers"] == 1 and aug["Global"]["num_threads"] == 1


def test_paths_resolve_from_another_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(os.path.relpath(CONFIGS / "svtr_tiny.yml"),
                      ["Global.output_dir=runs/x", "Global.epoch_num=5",
                       "Train.loader.batch_size_per_card=8"])
    assert cfg["Global"]["character_dict_path"] == str(DICT)
    assert cfg["Global"]["output_dir"] == str(tmp_path / "runs" / "x")   # outputs: cwd
    assert cfg["Global"]["epoch_num"] == 5 and cfg["Train"]["loader"]["batch_size_per_card"] == 8


def test_override_and_yaml_errors_name_the_problem(tmp_path):
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        apply_override({}, "Global.epoch_num")
    with pytest.raises(ConfigError, match="Global.epoch_num is int"):
        apply_override({"Global": {"epoch_num": 3}}, "Global.epoch_num.x=1")
    bad = tmp_path / "bad.yml"
    bad.write_text("Global:\n  a: 1\n b: [\n")
    with pytest.raises(ConfigError, match=r"bad.yml:\d+: invalid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="nope.yml: config file not found"):
        load_config(tmp_path / "nope.yml")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("lmdb")
    return make_lmdb(root / "train", 16), make_lmdb(root / "val", 4, first_seed=50)


def _load(tmp_path, data, *overrides):
    return load_config(tiny_config(tmp_path, *data), overrides)


@pytest.mark.parametrize("override, message", [
    ("Global.character_dict_path=dicts/missing62.txt", "missing62.txt' not found"),
    ("Global.pretrained_model=runs/none/best.pth", "best.pth' not found"),
    ("Global.checkpoints=runs/none/latest", "latest' not found"),
    ("Architecture.Encoder.name=SVTRNett", "'SVTRNett' is unknown; valid names: .*SVTRNet"),
    ("Architecture.Decoder.name=CTC", "'CTC' is unknown; valid names: .*CTCDecoder"),
    ("Loss.name=CTC", "Loss.name 'CTC' is unknown"),
    ("Train.dataset.name=STRLMDBDataSet", "use LMDBDataSet"),
    ("Train.loader.batch_size_per_card=64", "16 samples, fewer than one batch"),
])
def test_bad_config_is_a_clear_error(tmp_path, data, override, message):
    with pytest.raises(ConfigError, match=message):
        check_config(_load(tmp_path, data, override), "train")


def test_torchvision_transforms_are_refused(tmp_path, data):
    cfg = _load(tmp_path, data)
    cfg["Train"]["dataset"]["transforms"].insert(1, {"SVTRAug": None})
    with pytest.raises(ConfigError, match="SVTRAug needs torchvision"):
        check_config(cfg, "train")


def test_missing_and_empty_and_foreign_data_folders(tmp_path, data):
    with pytest.raises(ConfigError, match="nowhere/train.*LMDB folder not found"):
        check_config(_load(tmp_path, data, "Train.dataset.data_dir=nowhere/train"), "train")
    empty = tmp_path / "empty"
    env = lmdb.open(str(empty))
    with env.begin(write=True) as txn:
        txn.put(b"num-samples", b"0")
    env.close()
    with pytest.raises(ConfigError, match=f"{empty}: empty LMDB"):
        check_config(_load(tmp_path, data, f"Eval.dataset.data_dir={empty}"), "train")
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.jpg").write_bytes(b"x")
    with pytest.raises(ConfigError, match="not an LMDB"):
        check_config(_load(tmp_path, data, f"Eval.dataset.data_dir={images}"), "train")


def test_eval_and_infer_need_weights(tmp_path, data):
    cfg = _load(tmp_path, data)
    for mode in ("eval", "infer"):
        with pytest.raises(ConfigError, match="needs trained weights"):
            check_config(cfg, mode)


def test_cli_reports_errors_without_traceback_from_any_directory(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "eval.py"), "-c",
         str(CONFIGS / "svtr_tiny_cpu.yml"), "-o", "Global.pretrained_model=gone/best.pth"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "Global.pretrained_model = 'gone/best.pth' not found" in result.stderr
    assert "Traceback" not in result.stderr
    assert str(PROJECT_ROOT) in result.stderr


@pytest.mark.parametrize("override, message", [
    ("Global.epoch_nmu=1", "unknown key Global.epoch_nmu"),
    ("Global.epoch_num=abc", "epoch_num takes a number"),
    ("Optimizer.lr=fast", "lr takes a number"),
    ("Train.loader.batch_size_per_card=0", "at least 1"),
    ("Train.dataset.data_dirr=x", "known here: data_dir"),
    ("Glob.epoch_num=1", "unknown key Glob")])
def test_override_typos_and_wrong_types_are_refused(override, message):
    """Issue #18 item 6: `train.py -o Global.epoch_nmu=1` once trained all 40 epochs."""
    from ppocr_ext.rec_config import ConfigError, load_config
    with pytest.raises(ConfigError, match=message):
        load_config(CONFIGS / "svtr_tiny_cpu.yml", [override])


def test_engine_keywords_and_optional_global_keys_stay_open():
    from ppocr_ext.rec_config import load_config
    cfg = load_config(CONFIGS / "svtr_tiny_cpu.yml", ["Architecture.Encoder.drop_path_rate=0",
                                                      "Global.distributed=false"])
    assert cfg["Architecture"]["Encoder"]["drop_path_rate"] == 0
    assert cfg["Global"]["distributed"] is False
