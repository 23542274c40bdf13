"""The one place where this project touches OpenOCR's internals.

Every work-around for a trap of openocr-python 0.1.5 lives here, each small and tested
(tests/test_engine.py). Import the engine only through `load_engine()`.
"""
from __future__ import annotations

import importlib
import sys
import types

from ppocr_ext import plugins

_loaded = False


def _stub_cmer_metric() -> None:
    """`openrec.metrics` eagerly imports a CMER metric needing undeclared packages
    (`datasets`, ...). We never use CMER, so give it an empty module first."""
    name = "openrec.metrics.rec_metric_cmer"
    if name not in sys.modules:
        stub = types.ModuleType(name)
        stub.CMERMetric = None
        sys.modules[name] = stub


def load_engine() -> types.ModuleType:
    """Import OpenOCR with its traps disarmed and our plugins registered.

    `import openocr` appends its own folder to `sys.path`, exposing top-level
    `tools`, `openrec` and `opendet`; this project therefore owns no importable
    `tools` package (its `tools/` holds plain scripts).
    """
    global _loaded
    openocr = importlib.import_module("openocr")
    if _loaded:
        return openocr
    _stub_cmer_metric()
    preprocess = importlib.import_module("openrec.preprocess")
    preprocess.MODULE_MAPPING.update(plugins.TRANSFORMS)
    data = importlib.import_module("tools.data")
    data.DATASET_MODULES.update(plugins.DATASETS)
    _loaded = True
    return openocr
