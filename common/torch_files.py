"""Reading a torch file without trusting it: `torch.load(weights_only=True)` (no
unpickling of arbitrary objects, so a hostile checkpoint runs no code) with one-line
errors naming the file. Every checkpoint of the project, the localiser's and the
recogniser's, is read here."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from common.errors import UserError


class CheckpointError(UserError, RuntimeError):
    """A checkpoint that cannot be read or does not fit the model; names the file."""


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint file with `weights_only=True`; clear errors naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError as err:
            raise CheckpointError(f"{path}: reading .safetensors needs the 'safetensors' "
                                  "package (pip install safetensors)") from err
        return {"state_dict": load_file(str(path))}
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError/RuntimeError/EOFError/...
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        if "weights_only" in str(err) or "Unsupported global" in str(err):
            raise CheckpointError(
                f"{path}: refused by torch.load(weights_only=True): it pickles Python "
                f"objects, which could run code when loaded ({first})") from err
        raise CheckpointError(f"{path}: not a readable checkpoint, truncated or corrupt? "
                              f"({type(err).__name__}: {first})") from err
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path}: holds a {type(payload).__name__}, not a checkpoint")
    return payload
