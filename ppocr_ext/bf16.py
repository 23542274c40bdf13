"""Whether bfloat16 autocast pays on the machine a training run is on.

The training configs ask for bf16 autocast (`train.bf16` in configs/loc, `Global.use_amp`
in configs/rec and configs/ssl) because on a CPU with native bf16 arithmetic
(AVX512-BF16 or AMX) it trains 1.9-2.7x faster than fp32 (DESIGN.md). On a CPU without
it torch EMULATES bf16 and the same step gets several times slower: measured on an AMD
EPYC with AVX2 only (2 threads), one strip-classifier step at batch 64 took 0.62 s in
fp32 and 4.5 s under bf16 autocast, which turned `make localize` from minutes into an
hour. So a training config's "bf16: true" means "where the hardware does bf16": this
module resolves it, once per run, and says so in the log when it falls back to fp32.

Inference flags (`--bf16`, `inference.bf16`) are off by default and do as they are told:
benchmarks use them to measure bf16 itself.
"""
from __future__ import annotations

import functools
import logging

import torch

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=None)
def native_bf16(device: str = "cpu") -> bool:
    """True where bf16 autocast runs in hardware: a CUDA GPU that supports it, or a CPU
    with AVX512-BF16 or AMX tiles (torch's own CPU feature probes)."""
    if device in ("gpu", "cuda") or device.startswith("cuda:"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    probes = (getattr(torch.cpu, "_is_avx512_bf16_supported", None),
              getattr(torch.cpu, "_is_amx_tile_supported", None))
    return any(probe() for probe in probes if probe is not None)


_reported: set[str] = set()


def training_bf16(requested: bool, device: str = "cpu", key: str = "bf16") -> bool:
    """`requested` where the device does bf16 natively, else False, logging once per
    config `key` why the run trains in fp32 instead."""
    if not requested:
        return False
    if native_bf16(device):
        return True
    if key not in _reported:
        _reported.add(key)
        log.warning("%s: true, but this %s has no native bf16 (AVX512-BF16/AMX): training in "
                    "fp32, which is several times faster here than emulated bf16",
                    key, device.upper())
    return False
