"""Where the released recogniser lives (`make train-release` writes it, git ships it), so
that `tools/read_ids.py`, `tools/infer_rec.py` and the importable reader need no
`--model` to read: see models/svtr_tiny_synth/README.md for what it is and how well it
reads."""
from __future__ import annotations

from pathlib import Path

from ppocr_ext.rec_config import PROJECT_ROOT, ConfigError

RELEASED_DIR = PROJECT_ROOT / "models" / "svtr_tiny_synth"
RELEASED_ONNX = RELEASED_DIR / "model.onnx"        # self-contained: network + dictionary + preprocessing
RELEASED_WEIGHTS = RELEASED_DIR / "model.pth"      # float16 weights, for fine-tuning and torch inference
RELEASED_CONFIG = RELEASED_DIR / "config.yml"


def require_released(path: Path) -> Path:
    if not path.is_file():
        raise ConfigError(f"no model given and no released model at {path}: pass --model "
                          "(or -c/-o Global.pretrained_model), or build it with `make train-release`")
    return path


def released_model() -> list[str]:
    """The `--model` of the reading tools when none is given: the released ONNX file."""
    return [str(require_released(RELEASED_ONNX))]
