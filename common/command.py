"""The command line a report names as the one that produced it.

Every benchmark and report writes the command that made it, spelled as a user would
type it from the project root (`python tools/<script> ARGS`), quoted for a shell.
"""
from __future__ import annotations

import shlex
import sys
from typing import Sequence


def command_line(tool: str, argv: Sequence[str] | None = None) -> str:
    """`python tools/<tool> ARGS`; `argv` defaults to this process's arguments."""
    args = list(sys.argv[1:] if argv is None else argv)
    return shlex.join(["python", f"tools/{tool}", *map(str, args)])
