"""What the localiser's and the recogniser's configs share: the error they raise and the
`-o key.sub=value` overrides of every tool (values parsed as YAML, so numbers stay
numbers and `[1, 2]` is a list)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import yaml

from common.errors import UserError


class ConfigError(UserError, ValueError):
    """A config (or a file it names) that cannot drive a run; the message says which."""


def read_yaml(path: str | Path) -> Any:
    """A YAML file read with `safe_load` (no Python tags: `!!python/object` is refused);
    an unreadable or invalid file is a ConfigError naming `file:line`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: config file not found") from err
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot be read as UTF-8 text ({err})") from err
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML: {problem}") from err


def parse_override(text: str) -> tuple[str, Any]:
    """`"Section.key.sub=value"` -> ("Section.key.sub", YAML-typed value)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r}: expected KEY=VALUE, a dotted key=value "
                          "such as Global.epoch_num=5 or train.steps=5")
    dotted, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        raise ConfigError(f"override {text!r}: value is not valid YAML") from err
    return dotted.strip(), value


def replaces_number_with_non_number(old, new) -> bool:
    """True when a config number would be overridden by something else (`lr=fast`,
    `ddt.threshold=abc`), which would otherwise fail late and deep inside a run."""
    def is_number(value):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return is_number(old) and not is_number(new)


def flatten_overrides(groups: Iterable[Iterable[str]] | None) -> list[str]:
    """Flatten argparse's `-o a=1 b=2 -o c=3` (nargs="*", action="append") into one list."""
    return [item for group in groups or [] for item in group]


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


def load_checked_config(path: str | Path, reference: Path, overrides: dict[str, Any] | None = None) -> dict:
    """A YAML config with overrides applied, whose keys must be those of the shipped
    `reference` config (which has them all): a misspelled key in a user's copy once
    surfaced as a bare KeyError ('threshold') from deep inside a localiser's training."""
    path = Path(path)
    config = read_yaml(path)
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a YAML mapping at the top level")
    if path.resolve() != reference.resolve() and reference.is_file():
        check_keys(config, read_yaml(reference), path)
    return apply_overrides(config, overrides or {})
