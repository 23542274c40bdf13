"""The localiser's YAML configs: every key of the shipped configs/loc/ddt.yml and no
other, with `-o key.sub=value` overrides (common.config), the same command-line shape as
the recogniser tools, so one habit drives every run."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from common.config import load_checked_config, parse_overrides


REFERENCE = Path(__file__).resolve().parents[1] / "configs" / "loc" / "ddt.yml"


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> dict:
    """A localisation config (keys checked against configs/loc/ddt.yml) with overrides."""
    return load_checked_config(path, REFERENCE, overrides)


def argument_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("-c", "--config", required=True, help="YAML config under configs/loc/")
    parser.add_argument("-o", "--opt", nargs="*", default=[],
                        help="overrides such as data.root=DIR ddt.margin_y=0.01")
    return parser


def config_from_args(args: argparse.Namespace) -> dict:
    return load_config(args.config, parse_overrides(args.opt))
