"""The machine a run is on: whether bfloat16 autocast pays there, and its description.

Every report names the machine that produced its figures (`machine()`, and
`describe_machine()` for a report's "Machine:" line), since a number without it cannot
be compared.

Whether bf16 pays:

The training configs ask for bf16 autocast (`train.bf16` in configs/loc, `Global.use_amp`
in configs/rec and configs/ssl) because on a CPU with native bf16 arithmetic
(AVX512-BF16 or AMX) it trains 1.9-2.7x faster than fp32 (DESIGN.md). On a CPU without
it torch EMULATES bf16 and the same step gets several times slower: measured on an AMD
EPYC with AVX2 only (2 threads), one strip-classifier step at batch 64 took 0.62 s in
fp32 and 4.5 s under bf16 autocast, which turned `make localize` from minutes into an
hour. So a config's "bf16: true" means "where the hardware does bf16": this module
resolves it (`bf16_where_native`), once per run, and says so in the log when it falls back
to fp32. The localiser's `inference.bf16` is resolved the same way (measured 2026-12-06 on
2 AVX512-BF16 EPYC cores: the demo's 1,547 test frames localised in 5.7 s instead of 9.3 s,
end-to-end exact match unchanged).

The recogniser's `--bf16` flag does as it is told: benchmarks use it to measure bf16 itself.
"""
from __future__ import annotations

import functools
import logging
import os
import platform
from pathlib import Path

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


def bf16_where_native(requested: bool, device: str = "cpu", key: str = "bf16") -> bool:
    """`requested` where the device does bf16 natively, else False, logging once per
    config `key` why the run computes in fp32 instead."""
    if not requested:
        return False
    if native_bf16(device):
        return True
    if key not in _reported:
        _reported.add(key)
        log.warning("%s: true, but this %s has no native bf16 (AVX512-BF16/AMX): running in "
                    "fp32, which is several times faster here than emulated bf16",
                    key, device.upper())
    return False


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _has_cpu_flag(flag: str) -> bool:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return flag in line.split()
    except OSError:
        pass
    return False


def machine() -> dict:
    """CPU model, core count, bf16 support, torch version and threads, Python, platform,
    and the 1-minute load average now (other jobs sharing the cores lower every speed)."""
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "avx512_bf16": _has_cpu_flag("avx512_bf16"),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(), "platform": platform.platform(),
            "load_average_1min": round(os.getloadavg()[0], 2)}


def describe_machine(info: dict | None = None) -> str:
    """One line for a report: `CPU, N cores (avx512_bf16: x), torch V on T threads, load
    average L`; parts missing from `info` (e.g. an older report's) are left out."""
    info = machine() if info is None else info
    text = f"{info.get('cpu', 'unknown')}, {info.get('cores')} cores"
    if "avx512_bf16" in info:
        text += f" (avx512_bf16: {info['avx512_bf16']})"
    if "torch" in info:
        text += f", torch {info['torch']}"
        if "torch_threads" in info:
            text += f" on {info['torch_threads']} threads"
    if "load_average_1min" in info:
        text += f", load average {info['load_average_1min']:.1f}"
    return text
