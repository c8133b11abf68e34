"""Reading YAML files with errors that name the file and the place of a syntax error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from xpuplan.models.errors import InvalidInput


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """Parse a YAML (or JSON) file; a missing or malformed file raises :class:`InvalidInput`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput("no such file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot be read: {exc}", file=str(path)) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInput(f"malformed YAML{where}: {problem}", file=str(path)) from None
