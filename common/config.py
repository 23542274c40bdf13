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
