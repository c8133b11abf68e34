"""Tables out of the command line: ``--csv FILE`` writes the table a command prints.

One helper for every command, so that every CSV file is written the same way: atomically (a
temporary file in the same folder, then a rename), with one clear error for a folder that does
not exist, nested cells (lists, dicts) as JSON text, and missing values as empty cells.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xpuplan.models import InvalidInput


def rows_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """A frame of JSON-like rows; a list or dict cell becomes its JSON text."""
    flat = [
        {
            key: json.dumps(value) if isinstance(value, list | tuple | dict) else value
            for key, value in row.items()
        }
        for row in rows
    ]
    return pd.DataFrame(flat)


def check_csv_target(path: str | os.PathLike[str], *, option: str = "--csv") -> Path:
    """The folder ``path`` will be written into; raises before any work when it does not exist.

    Raises
    ------
    InvalidInput
        When the folder of ``path`` does not exist (``field=option``).
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidInput("the folder to write into does not exist", field=option, value=str(path))
    return folder


def write_csv(path: str | os.PathLike[str], frame: pd.DataFrame, *, option: str = "--csv") -> None:
    """Write ``frame`` to ``path`` as CSV (no index), atomically (see :func:`check_csv_target`)."""
    target = Path(path)
    folder = check_csv_target(path, option=option)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".csv", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            frame.to_csv(handle, index=False)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
