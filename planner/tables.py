"""Tables out of the command line: ``--csv FILE`` writes the table a command prints.

One helper for every command, so that every CSV file is written the same way: atomically (a
temporary file in the same folder, then a rename), with one clear error for a folder that does
not exist, nested cells (lists, dicts) as JSON text, and missing values as empty cells.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xpuplan.models.jsonio import FileWriter, check_output_path, write_files


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
    """The folder ``path`` will be written into; raises before any work when it cannot be written
    (see :func:`xpuplan.models.jsonio.check_output_path`: a missing or read-only folder, a path
    that is a folder or a device).

    Raises
    ------
    InvalidInput
        Naming ``option`` and the path.
    """
    return check_output_path(path, option).parent


def csv_writer(frame: pd.DataFrame) -> FileWriter:
    """A :data:`~xpuplan.models.jsonio.FileWriter` of ``frame`` as CSV (no index)."""
    text = frame.to_csv(index=False)

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)

    return write


def write_csv(path: str | os.PathLike[str], frame: pd.DataFrame, *, option: str = "--csv") -> None:
    """Write ``frame`` to ``path`` as CSV (no index), atomically (see :func:`check_csv_target`;
    a symbolic link is written through)."""
    check_csv_target(path, option=option)
    write_files([(path, csv_writer(frame))])
