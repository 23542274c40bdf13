"""YAML configs with `-o key.sub=value` overrides, the same command-line shape as the
recogniser tools, so one habit drives every run.

Unknown override keys are an error (naming the key) rather than silently added: a typo
in `-o ddt.margn=...` must not run a whole localisation with the default margin.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from common.config import ConfigError, parse_override, read_yaml, replaces_number_with_non_number


def parse_overrides(pairs: list[str] | None) -> dict[str, Any]:
    """`["a.b=3", "c=[1, 2]"]` -> {"a.b": 3, "c": [1, 2]} with YAML-typed values."""
    return dict(parse_override(pair) for pair in pairs or [])


def apply_overrides(config: dict, overrides: dict[str, Any]) -> dict:
    """Set each dotted key in place; every key along the path must already exist."""
    for dotted, value in overrides.items():
        node = config
        parts = dotted.split(".")
        for depth, part in enumerate(parts):
            if not isinstance(node, dict) or part not in node:
                known = sorted(node) if isinstance(node, dict) else []
                raise ConfigError(f"unknown config key {'.'.join(parts[:depth + 1])!r} "
                               f"(known here: {known})")
            if depth == len(parts) - 1:
                if replaces_number_with_non_number(node[part], value):
                    raise ConfigError(f"override {dotted}={value!r}: {dotted} takes a number "
                                     f"(it is {node[part]!r})")
                node[part] = value
            else:
                node = node[part]
    return config


REFERENCE = Path(__file__).resolve().parents[1] / "configs" / "loc" / "ddt.yml"


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> dict:
    """A localisation config with overrides applied. Its keys must be those of the
    shipped configs/loc/ddt.yml, which has them all: a misspelled key in a user's copy
    once surfaced as a bare KeyError ('threshold') from deep inside training."""
    path = Path(path)
    config = read_yaml(path)
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a YAML mapping at the top level")
    if path.resolve() != REFERENCE and REFERENCE.is_file():
        check_keys(config, read_yaml(REFERENCE), path)
    return apply_overrides(config, overrides or {})


def check_keys(config: dict, reference: dict, path: Path, prefix: str = "") -> None:
    """Every key of `reference` present in `config` and no other, recursively."""
    unknown, missing = sorted(set(config) - set(reference)), sorted(set(reference) - set(config))
    if unknown or missing:
        parts = [f"unknown key {prefix}{unknown[0]}" if unknown else "",
                 f"missing key {prefix}{missing[0]}" if missing else ""]
        raise ConfigError(f"{path}: {'; '.join(p for p in parts if p)} (known here: "
                         f"{', '.join(sorted(reference))})")
    for key, value in reference.items():
        if isinstance(value, dict) and isinstance(config[key], dict):
            check_keys(config[key], value, path, f"{prefix}{key}.")


def argument_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("-c", "--config", required=True, help="YAML config under configs/loc/")
    parser.add_argument("-o", "--opt", nargs="*", default=[],
                        help="overrides such as data.root=DIR ddt.margin_y=0.01")
    return parser


def config_from_args(args: argparse.Namespace) -> dict:
    return load_config(args.config, parse_overrides(args.opt))
