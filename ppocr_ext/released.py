"""Where the released recogniser lives (`make train-release` writes it, git ships it), so
that `tools/read_ids.py`, `tools/infer_rec.py` and the importable reader need no
`--model` to read: see models/svtr_tiny_synth/README.md for what it is and how well it
reads."""
from __future__ import annotations

from pathlib import Path

from ppocr_ext.rec_config import PROJECT_ROOT, ConfigError

RELEASED_DIR = PROJECT_ROOT / "models" / "svtr_tiny_synth"
RELEASED_ONNX = RELEASED_DIR / "model.onnx"        # self-contained: network + dictionary + preprocessing
# the same export quantised to int8, what the reading tools use by default: measured
# 2026-12-06 (2 AVX512-BF16 EPYC cores, `tools/read_ids.py --labels`), exact match 0.6057 /
# 0.8910 / 0.3442 vs 0.6025 / 0.8929 / 0.3442 for model.onnx on the demo's low-resolution
# test frames / train-resolution frames / unseen-domain low frames, at 93 vs 80-82 frames/s
RELEASED_INT8 = RELEASED_DIR / "model.int8.onnx"
RELEASED_WEIGHTS = RELEASED_DIR / "model.pth"      # float16 weights, for fine-tuning and torch inference
RELEASED_CONFIG = RELEASED_DIR / "config.yml"


def require_released(path: Path) -> Path:
    if not path.is_file():
        raise ConfigError(f"no model given and no released model at {path}: pass --model "
                          "(or -c/-o Global.pretrained_model), or build it with `make train-release`")
    return path


def released_model() -> list[str]:
    """The `--model` of the reading tools when none is given: the released int8 ONNX file."""
    return [str(require_released(RELEASED_INT8))]
