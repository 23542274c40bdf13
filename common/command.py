"""The command line a report names as the one that produced it, and its files' names.

Every benchmark and report writes the command that made it, spelled as a user would
type it from the project root (`python tools/<script> ARGS`), quoted for a shell.
"""
from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Sequence


def command_line(tool: str, argv: Sequence[str] | None = None) -> str:
    """`python tools/<tool> ARGS`; `argv` defaults to this process's arguments."""
    args = list(sys.argv[1:] if argv is None else argv)
    return shlex.join(["python", f"tools/{tool}", *map(str, args)])


def report_file(out: Path, suffix: str) -> Path:
    """`--out OUT`'s file OUT + suffix (`bench/margin_0.015` -> `bench/margin_0.015.md`):
    Path.with_suffix would cut a dotted name's tail (`margin_0.md`), and two reports
    whose names differ after a dot would overwrite each other."""
    return out.with_name(out.name + suffix)
