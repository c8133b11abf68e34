"""Measured kernel profiles: latency and power per (model, kernel, device, DVFS level).

A profile is a CSV file with exactly the header ``model,kernel,device,level,latency_us,power_w``.
``kernel`` names a kernel of the model's kernel graph or its label (e.g. ``conv+batchnorm+relu``,
see :mod:`xpuplan.models.kernels`); :func:`xpuplan.models.costs.annotate` uses a matching row
instead of the roofline. ``latency_us`` is a finite number > 0; ``power_w`` is a finite number >= 0
or empty (not measured: the roofline's power is used). Lines starting with ``#`` are comments (for
the source of the figures), blank lines are skipped.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeGuard

from xpuplan.models.errors import InvalidInput

PROFILE_COLUMNS = ("model", "kernel", "device", "level", "latency_us", "power_w")
KEY_COLUMNS = PROFILE_COLUMNS[:4]

ProfileKey = tuple[str, str, str, str]
ProfileValue = tuple[float, float | None]


@dataclass(frozen=True)
class ProfileTable:
    """Measured rows, keyed by ``(model, kernel, device, level)``.

    Parameters
    ----------
    rows
        Key -> ``(latency_us, power_w)``; ``power_w`` is None where it was not measured.
    source
        Where the rows came from (a file name), for messages.
    """

    rows: Mapping[ProfileKey, ProfileValue] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.rows, MappingProxyType):
            object.__setattr__(self, "rows", MappingProxyType(dict(self.rows)))
        for key, (latency, power) in self.rows.items():
            where = "/".join(key)
            _check_row(latency, power, where, latency, power, self.source or None)

    def __len__(self) -> int:
        return len(self.rows)

    def lookup(self, model: str, kernel: str, device: str, level: str) -> ProfileValue | None:
        """The measured ``(latency_us, power_w)`` of a kernel at (device, level), or None."""
        return self.rows.get((model, kernel, device, level))


def load_profile(path: str | os.PathLike[str]) -> ProfileTable:
    """Read a profile CSV (see the module docstring), validating every row.

    Raises
    ------
    InvalidInput
        Naming the file, the line and column, and the value: an unknown or missing column, an
        empty key, a latency that is not a finite number > 0, a negative or non-finite power, or
        a key given twice.
    """
    file = str(path)
    lines = _data_lines(path)
    if not lines:
        raise InvalidInput("has no header line", field="header", value="", file=file)
    reader = csv.reader(line for _, line in lines)
    header = [name.strip() for name in next(reader)]
    _check_header(header, f"line {lines[0][0]}.header", file)
    rows: dict[ProfileKey, ProfileValue] = {}
    for (line_no, _), cells in zip(lines[1:], reader, strict=True):
        if len(cells) != len(header):
            raise InvalidInput(
                f"has {len(cells)} cells, the header {len(header)}",
                field=f"line {line_no}",
                value=",".join(cells),
                file=file,
            )
        record = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
        for name in KEY_COLUMNS:
            if not record[name]:
                raise InvalidInput(
                    "must not be empty",
                    field=f"line {line_no}.{name}",
                    value=record[name],
                    file=file,
                )
        latency = _number(record["latency_us"], file, line_no, "latency_us")
        power = _number(record["power_w"], file, line_no, "power_w") if record["power_w"] else None
        _check_row(latency, power, f"line {line_no}", record["latency_us"], record["power_w"], file)
        key = (record["model"], record["kernel"], record["device"], record["level"])
        if key in rows:
            raise InvalidInput(
                "repeats the (model, kernel, device, level) of an earlier row",
                field=f"line {line_no}",
                value="/".join(key),
                file=file,
            )
        rows[key] = (latency, power)
    return ProfileTable(rows, source=file)


def _data_lines(path: str | os.PathLike[str]) -> list[tuple[int, str]]:
    """(line number, text) of the lines that are neither blank nor comments."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return [
                (no, line)
                for no, line in enumerate(handle, start=1)
                if line.strip() and not line.lstrip().startswith("#")
            ]
    except OSError as exc:
        raise InvalidInput(
            f"cannot be read ({exc.strerror})", field="profile", value=str(path)
        ) from None


def _check_header(header: list[str], field: str, file: str) -> None:
    """The header names exactly the columns of :data:`PROFILE_COLUMNS`, in any order."""
    for name in header:
        if name not in PROFILE_COLUMNS:
            raise InvalidInput(
                f"is not a known column (columns: {', '.join(PROFILE_COLUMNS)})",
                field=field,
                value=name,
                file=file,
            )
    missing = [name for name in PROFILE_COLUMNS if name not in header]
    if missing or len(header) != len(set(header)):
        raise InvalidInput(
            f"must be exactly {','.join(PROFILE_COLUMNS)}",
            field=field,
            value=",".join(header),
            file=file,
        )


def _check_row(
    latency: object,
    power: object,
    where: str,
    shown_latency: object,
    shown_power: object,
    file: str | None,
) -> None:
    """A latency that is a finite number > 0 and a power that is None or a finite number >= 0.

    Errors name ``<where>.latency_us`` (``.power_w``) and show ``shown_latency``
    (``shown_power``): the text of a file's cell, or the value given in code.
    """
    if not (_finite(latency) and latency > 0):
        raise InvalidInput(
            "must be a finite number > 0",
            field=f"{where}.latency_us",
            value=shown_latency,
            file=file,
        )
    if power is not None and not (_finite(power) and power >= 0):
        raise InvalidInput(
            "must be a finite number >= 0",
            field=f"{where}.power_w",
            value=shown_power,
            file=file,
        )


def _finite(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number(text: str, file: str, line_no: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(
            "must be a number", field=f"line {line_no}.{column}", value=text, file=file
        ) from None
    if not math.isfinite(value):
        raise InvalidInput(
            "must be a finite number", field=f"line {line_no}.{column}", value=text, file=file
        )
    return value


__all__ = ["PROFILE_COLUMNS", "ProfileTable", "load_profile"]
