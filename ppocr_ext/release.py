"""Release a trained CTC recogniser into `models/<name>/`: what a user downloads.

    python tools/release_model.py -c configs/rec/svtr_tiny_synth_ft.yml \
        --weights output/rec/svtr_tiny_synth_ft/best.pth --out models/svtr_tiny_synth \
        [--check-crops output/demo/loc/val/low]

Writes, each atomically:
- `model.onnx`: the self-contained export (network + dictionary + preprocessing), what
  `tools/read_ids.py` and `tools/infer_rec.py` use by default;
- `model.int8.onnx`: the same export quantised to int8 (`common.onnx_io.quantize_int8`):
  a third of the size and ~1.3x the crops/s on CPU; its strings may differ from torch's
  on a few crops (reported, not refused);
- `model.pth`: the weights alone in float16 (half the size of a float32 checkpoint, no
  optimizer state), for fine-tuning: `-o Global.pretrained_model=models/<name>/model.pth`;
- `config.yml`: the training config, its machine-specific paths removed.
The float16 weights and the ONNX file are both read back and must give the same strings
as the trained checkpoint on the check crops; the model card (README.md) is written by
hand from the benchmarks.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from common.atomic import atomic_write_text
from common.labels import DEFAULT_DICT
from common.torch_files import CheckpointError
from ppocr_ext.checkpoint import atomic_save, plain
from common.onnx_io import OnnxExportError, quantize_int8
from ppocr_ext.onnx_export import check_crops, compare, export_recognizer
from ppocr_ext.posteriors import MACHINE_PATH_KEYS, load_onnx_recognizer, load_torch_recognizer
from ppocr_ext.rec_config import PROJECT_ROOT, ConfigError, load_config


def release(config: str, weights: str, out_dir: str, check_crops_from: str | None = None) -> dict:
    """Write model.onnx, model.pth and config.yml into `out_dir`; return the checks."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    reference = load_torch_recognizer(config, weights)
    crops = check_crops(check_crops_from)

    onnx_path = export_recognizer(reference, out / "model.onnx")
    onnx_check = compare(reference, load_onnx_recognizer(onnx_path), crops)
    int8_check = compare(reference, load_onnx_recognizer(
        quantize_int8(onnx_path, out / "model.int8.onnx")), crops)

    state = {key: value.half() if value.is_floating_point() else value
             for key, value in reference.model.state_dict().items()}
    atomic_save({"state_dict": state}, out / "model.pth")
    half_check = compare(reference, load_torch_recognizer(config, out / "model.pth"), crops)

    cfg = load_config(config)
    for key in MACHINE_PATH_KEYS:
        cfg["Global"].pop(key, None)
    # relative: configs resolve it against the project root wherever they are run
    cfg["Global"]["character_dict_path"] = str(DEFAULT_DICT.relative_to(PROJECT_ROOT))
    for section in ("Train", "Eval"):
        dataset = cfg.get(section, {}).get("dataset", {})
        for key in ("data_dir", "real_data_dir"):
            if dataset.get(key):
                dataset[key] = None
    for key in ("filename", "_config_dir"):
        cfg.pop(key, None)
    atomic_write_text(out / "config.yml",
                      f"# released with ppocr_ext/release.py from {Path(config).name}\n"
                      + yaml.safe_dump(plain(cfg), sort_keys=False, allow_unicode=True))
    sizes = {name: round((out / name).stat().st_size / 1e6, 2)
             for name in ("model.onnx", "model.int8.onnx", "model.pth")}
    return {"onnx": onnx_check, "int8": int8_check, "float16": half_check, "size_mb": sizes}


def release_main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-c", "--config", required=True, help="the training config")
    parser.add_argument("--weights", required=True, help="trained checkpoint, e.g. best.pth")
    parser.add_argument("--out", required=True, help="release folder, e.g. models/svtr_tiny_synth")
    parser.add_argument("--check-crops", help="folder or LMDB of crops to check the "
                        "released files on (default: 16 random images)")
    args = parser.parse_args(argv)
    try:
        result = release(args.config, args.weights, args.out, args.check_crops)
    except (ConfigError, CheckpointError, OnnxExportError, OSError) as err:
        raise SystemExit(f"error: {err}") from err
    for kind in ("onnx", "int8", "float16"):
        check = result[kind]
        print(f"{kind}: same string on {check['same_strings']} of {check['crops']} crops, "
              f"largest posterior difference {check['max_abs_diff']:.2e}")
    print("sizes (MB):", result["size_mb"])
    if result["onnx"]["differing"]:
        raise SystemExit(f"error: ONNX reads differ from torch: {result['onnx']['differing'][:5]}")
    return result
