"""Write a file so that an interrupted run never leaves half of it.

Every writer of the project (reports, label files, checkpoints, ONNX files, JSON)
goes through `atomic_path`: the content is written to a unique temporary sibling (same
file system, so the final rename is atomic), renamed over the target only once complete,
and deleted on any failure, so the previous file stays as it was.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to `path` to write to; on success rename it over
    `path`, on failure delete it. The result is readable by everyone (mkstemp alone
    makes it owner-only): the usual 0o666 minus the umask. `suffix` keeps a file type
    for writers that look at the name (e.g. `.onnx`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(handle)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` (UTF-8, newlines as given) through `atomic_path`; return the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            out.write(text)
    return path
