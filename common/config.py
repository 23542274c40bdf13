"""What the localiser's and the recogniser's configs share: the error they raise and the
`-o key.sub=value` overrides of every tool (values parsed as YAML, so numbers stay
numbers and `[1, 2]` is a list)."""
from __future__ import annotations

from typing import Any, Iterable

import yaml


class ConfigError(ValueError):
    """A config (or a file it names) that cannot drive a run; the message says which."""


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
