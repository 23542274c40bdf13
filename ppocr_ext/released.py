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
    that reads as well as the others on this machine. Where the CPU has native bf16: the
    weights read by torch under bf16 autocast (release 7, 2026-12-06, 2 AVX512-BF16 EPYC
    cores, the demo's 1,547 low-resolution test frames end to end with the bf16 localiser:
    100.6-101.5 frames/s against 93.7-97.0 for int8 ONNX and ~80 for float32 ONNX).
    Elsewhere torch emulates bf16 several times slower (common/hardware.py): the int8 ONNX
    file. Release 9's exact match, low-resolution / train-resolution / unseen-domain low
    frames (`tools/read_ids.py --labels`): torch bf16 0.5986 / 0.9077 / 0.4026, int8 ONNX
    0.6005 / 0.9096 / 0.4010, float32 ONNX 0.5992 / 0.9077 / 0.3977.
    Read it as `released_reading()` says."""
    return released_reading()[0]


def released_reading() -> tuple[list[str], bool]:
    """(`released_model()`, whether to read it under bf16 autocast): the torch form where
    the CPU has native bf16, the int8 ONNX file (no autocast) elsewhere."""
    if native_bf16():
        return [str(require_released(RELEASED_CONFIG)), str(require_released(RELEASED_WEIGHTS))], True
    return [str(require_released(RELEASED_INT8))], False
