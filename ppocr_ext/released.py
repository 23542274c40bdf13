"""Where the released recogniser lives (`make train-release` writes it, git ships it), so
that `tools/read_ids.py`, `tools/infer_rec.py` and the importable reader need no
`--model` to read: see models/svtr_tiny_synth/README.md for what it is and how well it
reads."""
from __future__ import annotations

from pathlib import Path

from common.hardware import native_bf16
from ppocr_ext.rec_config import PROJECT_ROOT, ConfigError

RELEASED_DIR = PROJECT_ROOT / "models" / "svtr_tiny_synth"
RELEASED_ONNX = RELEASED_DIR / "model.onnx"        # self-contained: network + dictionary + preprocessing
RELEASED_INT8 = RELEASED_DIR / "model.int8.onnx"   # the same export quantised to int8
RELEASED_WEIGHTS = RELEASED_DIR / "model.pth"      # float16 weights, for fine-tuning and torch inference
RELEASED_CONFIG = RELEASED_DIR / "config.yml"


def require_released(path: Path) -> Path:
    if not path.is_file():
        raise ConfigError(f"no model given and no released model at {path}: pass --model "
                          "(or -c/-o Global.pretrained_model), or build it with `make train-release`")
    return path


def released_model() -> list[str]:
    """The `--model` of the reading tools when none is given: the fastest released form
    that reads as well as the others on this machine. Measured 2026-12-06 on 2 AVX512-BF16
    EPYC cores, the demo's 1,547 low-resolution test frames end to end (`tools/read_ids.py
    --labels`, bf16 localiser): torch under bf16 autocast 100.6-101.5 frames/s, exact 0.6025;
    int8 ONNX 93.7-97.0, 0.6057; float32 ONNX ~80, 0.6025 (int8 vs float32 on train-resolution /
    unseen-domain frames: 0.8910 / 0.3442 vs 0.8929 / 0.3442). Where the CPU has no native
    bf16, torch emulates it several times slower (common/hardware.py): int8 ONNX there.
    Read it with `load_recognizer(released_model(), bf16=native_bf16())`."""
    if native_bf16():
        return [str(require_released(RELEASED_CONFIG)), str(require_released(RELEASED_WEIGHTS))]
    return [str(require_released(RELEASED_INT8))]
