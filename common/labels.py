"""Label files (`<image>\\t<ID>` lines) and the recognition dictionary.

The engine is silent about bad labels: `CTCLabelEncode` drops characters missing from
the dictionary and replaces a sample whose label ends up empty or too long with a random
other sample. A typo in a label file therefore trains on a wrong target without any
message. Everything that produces or consumes labels (LMDB creation, pseudo-labelling,
evaluation) validates through these functions instead, and reports problems as
`file:line: reason` so the user can fix the exact row.

`DEFAULT_DICT` is the project's dictionary (`common/dicts/id62.txt`: 0-9A-Za-z,
case-sensitive, the challenge's 62 symbols).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Iterable, Sequence

from common.atomic import atomic_path
from common.errors import UserError

DEFAULT_DICT = Path(__file__).resolve().parent / "dicts" / "id62.txt"


class InvalidLabel(UserError, ValueError):
    """A label or image name that cannot go into a training set; the message says why."""


class LabelFileError(UserError, ValueError):
    """A label file (or dictionary) with problems; the message lists every one of them."""


@dataclass(frozen=True)
class LabelEntry:
    """One well-formed row of a label file; `line` is 1-based, for error messages."""

    name: str
    label: str
    line: int


@dataclass(frozen=True)
class Problem:
    """Why one row of a label file cannot be used, located as `file:line`."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


def load_dictionary(path: str | os.PathLike) -> list[str]:
    """Symbols of a dictionary file, one per line, in file order (= class order).

    Lines are read exactly like the engine's label encoders read them (UTF-8, newline and
    a trailing CR removed) so that what we validate against is what the engine encodes.
    A blank line, a line holding more than one symbol or a repeated symbol is an error:
    the engine would silently turn each of them into a class that can never be read.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        raise LabelFileError(f"{path}: cannot read dictionary: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise LabelFileError(f"{path}: dictionary is not valid UTF-8 ({err.reason})") from err
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise LabelFileError(f"{path}: dictionary is empty")
    symbols, problems, first_seen = [], [], {}
    for number, line in enumerate(lines, start=1):
        symbol = line.rstrip("\r")
        if len(symbol) != 1:
            problems.append(Problem(str(path), number, f"expected one symbol, found {symbol!r}"))
        elif symbol in first_seen:
            problems.append(Problem(str(path), number,
                                    f"symbol {symbol!r} repeats line {first_seen[symbol]}"))
        else:
            first_seen[symbol] = number
            symbols.append(symbol)
    if problems:
        raise LabelFileError(format_problems(f"{path}: bad dictionary", problems))
    return symbols


def validate_label(text: str, charset: Iterable[str]) -> str:
    """Return `text` if it is a usable recognition target, else raise `InvalidLabel`.

    Usable means non-empty and made only of dictionary symbols (case-sensitive).
    """
    if not isinstance(text, str):
        raise InvalidLabel(f"label must be a str, got {type(text).__name__}")
    if text == "":
        raise InvalidLabel("empty label")
    allowed = charset if isinstance(charset, (set, frozenset)) else set(charset)
    outside = sorted({char for char in text if char not in allowed})
    if outside:
        listed = ", ".join(repr(char) for char in outside)
        raise InvalidLabel(f"label {text!r} has characters outside the dictionary: {listed}")
    return text


def validate_image_name(name: str) -> str:
    """Return `name` if it is a path inside the data folder, else raise `InvalidLabel`.

    Label files may come from elsewhere (pseudo-labels, downloads); a row naming
    `../x.jpg` or `/etc/x.jpg` must not make the tools read or publish files outside the
    folder the user pointed at. Sub-folders (`clip1/a.jpg`) are fine.
    """
    if name == "":
        raise InvalidLabel("empty image name")
    if name != name.strip():
        raise InvalidLabel(f"image name {name!r} starts or ends with whitespace")
    windows = PureWindowsPath(name)
    if PurePosixPath(name).is_absolute() or windows.drive or windows.root:
        raise InvalidLabel(f"image name {name!r} is an absolute path; "
                           "names must be relative to the images folder")
    if ".." in windows.parts:  # Windows parsing splits on both '/' and '\\'
        raise InvalidLabel(f"image name {name!r} escapes the images folder ('..')")
    return name


def read_label_file(path: str | os.PathLike,
                    charset: Iterable[str]) -> tuple[list[LabelEntry], list[Problem]]:
    """Parse a label file into its good rows and the problems of the others.

    Every row is checked (nothing stops at the first problem) so one run reports all of
    them. Blank lines are ignored; a UTF-8 byte-order mark and CRLF endings are accepted.
    A repeated image name is a problem on each later row (the first row is kept): which
    of two labels is right cannot be decided here. Raises `LabelFileError` when the file
    cannot be read or holds no rows at all.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise LabelFileError(f"{path}: cannot read label file: {err.strerror}") from err
    charset = frozenset(charset)
    entries: list[LabelEntry] = []
    problems: list[Problem] = []
    first_line_of: dict[str, int] = {}
    seen_any_row = False
    for number, raw_line in enumerate(raw.split(b"\n"), start=1):
        if number == 1 and raw_line.startswith(b"\xef\xbb\xbf"):
            raw_line = raw_line[3:]
        try:
            line = raw_line.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as err:
            seen_any_row = True
            problems.append(Problem(str(path), number, f"not valid UTF-8 ({err.reason})"))
            continue
        if line.strip() == "":
            continue
        seen_any_row = True
        reason = _row_problem(line, charset, first_line_of)
        if reason:
            problems.append(Problem(str(path), number, reason))
            continue
        name, label = line.split("\t")
        first_line_of[_same_file_key(name)] = number
        entries.append(LabelEntry(name, label, number))
    if not seen_any_row:
        raise LabelFileError(f"{path}: label file has no rows")
    return entries, problems


def write_label_file(path: str | os.PathLike, rows: Iterable[tuple[str, str]],
                     charset: Iterable[str]) -> int:
    """Write `(image name, label)` rows as a label file the readers above accept.

    Every row is validated first (all problems raised together, nothing written), then
    the file is written next to its target and renamed over it, so a crash never leaves
    a half-written label file in place of a good one. Returns the number of rows.
    """
    path = Path(path)
    charset = frozenset(charset)
    rows = list(rows)
    problems, first_row_of = [], {}
    for number, (name, label) in enumerate(rows, start=1):
        reason = _row_problem(f"{name}\t{label}", charset, first_row_of)
        if reason:
            problems.append(Problem(f"{path} (row to write)", number, reason))
        else:
            first_row_of[_same_file_key(name)] = number
    if problems:
        raise LabelFileError(format_problems(f"{path}: refusing to write bad rows", problems))
    with atomic_path(path) as temporary:
        with open(temporary, "w", encoding="utf-8", newline="\n") as out:
            out.writelines(f"{name}\t{label}\n" for name, label in rows)
    return len(rows)


def _row_problem(line: str, charset: frozenset[str], first_line_of: dict[str, int]) -> str | None:
    """Why a non-blank label-file line is unusable, or None when it is fine."""
    tabs = line.count("\t")
    if tabs != 1:
        found = "no tab" if tabs == 0 else f"{tabs} tabs"
        return f"malformed line (expected '<image>\\t<label>', found {found}): {line!r}"
    name, label = line.split("\t")
    try:
        validate_image_name(name)
    except InvalidLabel as err:
        return str(err)
    try:
        validate_label(label, charset)
    except InvalidLabel as err:
        return f"{err} (image {name!r})"
    first = first_line_of.get(_same_file_key(name))
    if first is not None:
        return f"duplicate image name {name!r} (first on line {first})"
    return None


def _same_file_key(name: str) -> str:
    """`a.jpg`, `./a.jpg` and `sub//a.jpg` style spellings of one file compare equal."""
    return str(PurePosixPath(name.replace("\\", "/")))


def format_problems(title: str, problems: Sequence[Problem]) -> str:
    """One message listing every problem, one `file:line: reason` per line."""
    return f"{title} ({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n" + \
        "\n".join(f"  {problem}" for problem in problems)
