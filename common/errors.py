"""The errors a user can fix, and the one place a tool turns them into a line of text.

Every tool ends in `run_tool(entry)`: an error of this kind (a refused config key or
value, an image, label file, LMDB or checkpoint that cannot be used, a missing file)
prints as one `error: <file or key>: <what is wrong, what to do>` line with exit status 1,
never a traceback. Measured before (issue #18 item 8): a corrupt localiser checkpoint
printed torch's 6-line "Weights only load failed" text, a YAML `!!python/object` tag a
ConstructorError traceback, and each tool caught a different set of exceptions.
Anything else is a bug and keeps its traceback; `ID_OCR_TRACEBACK=1` shows the traceback
of user errors too.
"""
from __future__ import annotations

import os
import sys
from typing import Callable


class UserError(Exception):
    """An error whose message names the file, row or key and says what to do."""


# What a user's input raises besides ours: missing or unreadable paths, and the value
# checks of configs and arguments (their messages name the key; see common.config).
INPUT_ERRORS = (UserError, OSError, ValueError)


def run_tool(entry: Callable[[], object]) -> None:
    """Run a tool's entry function (`tools/*.py`); exit with its status when it returns
    an int, or with one `error:` line for a user error."""
    try:
        status = entry()
    except INPUT_ERRORS as err:
        if os.environ.get("ID_OCR_TRACEBACK"):
            raise
        message = str(err) or type(err).__name__
        sys.exit(message if message.startswith("error:") else f"error: {message}")
    if isinstance(status, int) and not isinstance(status, bool):
        sys.exit(status)
