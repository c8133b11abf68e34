"""Line-numbered reading of the benchmark text formats, with errors that point into the file.

Every parser of :mod:`xpuplan.models.formats` reads through these helpers, so a malformed file fails
with one :class:`xpuplan.models.InvalidInput` naming the file, the line, the field and the value at
fault, e.g. ``stg/50/rand0009.stg: line 7: predecessor of task 5: names no task (got '77')``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from xpuplan.models.errors import InvalidInput


@dataclass(frozen=True)
class Line:
    """One line of a text file: its 1-based number and its whitespace-separated tokens."""

    number: int
    tokens: tuple[str, ...]
    text: str


def read_text(path: str | os.PathLike[str]) -> str:
    """The file's text; a missing or unreadable file raises :class:`InvalidInput` naming it."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput("no such file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot be read: {exc}", file=str(path)) from None


def data_lines(path: str | os.PathLike[str], *, comment: str | None = None) -> list[Line]:
    """The non-blank lines of a file, cut at ``comment`` (when given), split on whitespace."""
    out = []
    for number, text in enumerate(read_text(path).splitlines(), start=1):
        body = text.split(comment, 1)[0] if comment else text
        tokens = tuple(body.split())
        if tokens:
            out.append(Line(number, tokens, text))
    return out


def fail(
    path: str | os.PathLike[str],
    line: int | None,
    field: str,
    message: str,
    value: object = None,
    *,
    show_value: bool = True,
) -> InvalidInput:
    """An :class:`InvalidInput` for ``field`` on ``line`` of ``path`` (raise it)."""
    where = f"line {line}: {field}" if line is not None else field
    return InvalidInput(message, field=where, value=value, file=str(path), show_value=show_value)


def parse_int(
    path: str | os.PathLike[str], line: int, field: str, token: str, minimum: int | None = None
) -> int:
    """``token`` as an integer (>= ``minimum`` when given), or an error naming file and line."""
    try:
        value = int(token)
    except ValueError:
        raise fail(path, line, field, "must be an integer", token) from None
    if minimum is not None and value < minimum:
        raise fail(path, line, field, f"must be an integer >= {minimum}", token)
    return value


def take_ints(
    path: str | os.PathLike[str],
    line: Line,
    start: int,
    count: int,
    field: str,
    minimum: int | None = None,
) -> list[int]:
    """``count`` integers of ``line`` from token ``start`` on; too few tokens is an error."""
    if start + count > len(line.tokens):
        raise fail(
            path,
            line.number,
            field,
            f"the line ends early: expected {count} value(s) from token {start + 1}, "
            f"found {max(0, len(line.tokens) - start)}",
            line.text.strip(),
            show_value=False,
        )
    return [
        parse_int(path, line.number, field, token, minimum)
        for token in line.tokens[start : start + count]
    ]


def take_id_list(
    path: str | os.PathLike[str],
    line: Line,
    count: int,
    *,
    ids: range,
    own: int,
    list_field: str,
    item_field: str,
    what: str,
) -> list[int]:
    """The ``count`` ids listed from token 4 of ``line`` on (``id value count id...``).

    The line must end after them, and each must be in ``ids`` and differ from ``own`` (the
    line's own id). ``list_field`` and ``item_field`` name the list and an entry in errors,
    ``what`` the kind of thing the ids number (``"task"``).
    """
    if len(line.tokens) != 3 + count:
        raise fail(
            path,
            line.number,
            list_field,
            f"the line lists {len(line.tokens) - 3} id(s) but says {count}",
            line.text.strip(),
        )
    values = take_ints(path, line, 3, count, item_field, minimum=ids.start)
    for v_idx, value in enumerate(values):
        if value not in ids or value == own:
            raise fail(
                path,
                line.number,
                item_field,
                f"names no other {what} (ids run {ids.start}..{ids[-1]})",
                line.tokens[3 + v_idx],
            )
    return values
