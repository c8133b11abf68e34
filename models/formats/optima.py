"""Ground truth of the benchmark sets: published optima, bounds and best-known values.

Layout (see ``../shared/benchmarks/README.md``), relative to a benchmark directory:

* ``stg/optima/Case{size}_{m}_OPT.csv``: rows ``path,m,opt`` or, where the optimum is still open,
  ``path,m,lb,ub`` (:math:`P|prec|C_{max}` on ``m`` identical processors);
* ``fjsp/bks.json``: a list of ``{"instance", "family", "status", "lower_bound", "upper_bound"}``
  with ``status`` ``closed`` or ``open``;
* ``psplib/optimum.csv``: a header ``problem,optimum`` and rows ``j301_1.sm,43``, all proven.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from xpuplan.models.errors import InvalidInput
from xpuplan.models.formats.text import data_lines, fail, parse_int
from xpuplan.models.jsonio import read_json

_STG_TABLE = re.compile(r"^Case(\d+)_(\d+)_OPT\.csv$")


def stg_optima(
    bench_dir: str | os.PathLike[str], size: int
) -> dict[tuple[str, int], tuple[int, int]]:
    """``(path, m) -> (lb, ub)`` for the STG set of ``size`` tasks, over every ``m`` tabulated.

    ``path`` is spelled as in the tables (``"50/rand0009.stg"``, relative to ``stg/``); a row with a
    published optimum gives ``lb == ub``.

    Raises
    ------
    InvalidInput
        When no table exists for ``size``, or a row is malformed (naming file and line).
    """
    folder = Path(bench_dir) / "stg" / "optima"
    tables = sorted(
        (int(match.group(2)), path)
        for path in (folder.iterdir() if folder.is_dir() else ())
        if (match := _STG_TABLE.match(path.name)) and int(match.group(1)) == size
    )
    if not tables:
        raise InvalidInput(f"holds no table Case{size}_<m>_OPT.csv", file=str(folder))
    out: dict[tuple[str, int], tuple[int, int]] = {}
    for table_m, path in tables:
        for l_idx, line in enumerate(data_lines(path)):
            cells = [cell.strip() for cell in line.text.split(",")]
            if l_idx == 0 and cells[:2] == ["path", "m"]:
                continue  # a header row, as some copies of the tables carry
            if len(cells) not in (3, 4):
                raise fail(
                    path,
                    line.number,
                    "row",
                    "must be 'path,m,opt' or 'path,m,lb,ub'",
                    line.text.strip(),
                )
            m = parse_int(path, line.number, "m", cells[1], minimum=1)
            if m != table_m:
                raise fail(
                    path, line.number, "m", f"differs from the table's m = {table_m}", cells[1]
                )
            values = [parse_int(path, line.number, "bound", cell, minimum=0) for cell in cells[2:]]
            lb, ub = (values[0], values[0]) if len(values) == 1 else (values[0], values[1])
            if lb > ub:
                raise fail(path, line.number, "lb", f"exceeds ub {ub}", lb)
            key = (cells[0], m)
            if key in out:
                raise fail(path, line.number, "path", "repeats an earlier row", cells[0])
            out[key] = (lb, ub)
    return out


def fjsp_bks(bench_dir: str | os.PathLike[str]) -> dict[str, tuple[int, int, str]]:
    """``name -> (lower_bound, upper_bound, status)`` from ``fjsp/bks.json``.

    Names follow :func:`xpuplan.models.formats.fjsp.fjsp_name` (``mk01``, ``abz5_edata``);
    ``status`` is ``"closed"`` (``lower_bound == upper_bound`` is the optimum) or ``"open"``.
    """
    path = Path(bench_dir) / "fjsp" / "bks.json"
    data = read_json(path)
    if not isinstance(data, list):
        raise InvalidInput(
            "must be a JSON array", field="(document)", value=type(data).__name__, file=str(path)
        )
    out: dict[str, tuple[int, int, str]] = {}
    for r_idx, row in enumerate(data):
        where = f"[{r_idx}]"
        if not isinstance(row, Mapping):
            raise InvalidInput("must be a JSON object", field=where, value=row, file=str(path))
        for key in ("instance", "lower_bound", "upper_bound", "status"):
            if key not in row:
                raise InvalidInput(
                    "is required", field=f"{where}.{key}", file=str(path), show_value=False
                )
        name, status = row["instance"], row["status"]
        lb, ub = row["lower_bound"], row["upper_bound"]
        for key, value in (("lower_bound", lb), ("upper_bound", ub)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInput(
                    "must be an integer >= 0", field=f"{where}.{key}", value=value, file=str(path)
                )
        if status not in ("closed", "open"):
            raise InvalidInput(
                "must be 'closed' or 'open'", field=f"{where}.status", value=status, file=str(path)
            )
        if lb > ub or (status == "closed" and lb != ub):
            raise InvalidInput(
                f"is inconsistent with upper_bound {ub} and status {status}",
                field=f"{where}.lower_bound",
                value=lb,
                file=str(path),
            )
        if not isinstance(name, str) or not name or name in out:
            raise InvalidInput(
                "must be a new non-empty name",
                field=f"{where}.instance",
                value=name,
                file=str(path),
            )
        out[name] = (lb, ub, status)
    return out


def psplib_optima(bench_dir: str | os.PathLike[str]) -> dict[str, int]:
    """``name -> optimal makespan`` from ``psplib/optimum.csv`` (names without ``.sm``)."""
    path = Path(bench_dir) / "psplib" / "optimum.csv"
    lines = data_lines(path)
    if not lines or lines[0].text.strip().replace(" ", "").lower() != "problem,optimum":
        raise fail(
            path,
            lines[0].number if lines else None,
            "header",
            "must be 'problem,optimum'",
            lines[0].text.strip() if lines else None,
        )
    out: dict[str, int] = {}
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.text.split(",")]
        if len(cells) != 2 or not cells[0]:
            raise fail(path, line.number, "row", "must be 'problem,optimum'", line.text.strip())
        name = cells[0].removesuffix(".sm")
        if name in out:
            raise fail(path, line.number, "problem", "repeats an earlier row", cells[0])
        out[name] = parse_int(path, line.number, "optimum", cells[1], minimum=0)
    return out
