"""PSPLIB single-mode RCPSP files (``.sm``, e.g. j30) -> :class:`xpuplan.models.Instance`.

Format
------
Sections separated by lines of ``*``. The parser reads ``jobs (incl. supersource/sink ):  N``, the
resource counts (``- renewable : K R``; nonrenewable and doubly constrained must be 0), the
``PRECEDENCE RELATIONS`` table (``jobnr #modes #successors successors...``), the
``REQUESTS/DURATIONS`` table (``jobnr mode duration R1..RK``) and ``RESOURCEAVAILABILITIES``.
Activity 1 is the dummy source and activity N the dummy sink, both of duration 0.

Mapping
-------
* renewable resource ``k`` -> Instance resource ``"R<k>"`` with the file's capacity;
* activity ``a`` -> kernel ``"a<a>"`` (the file's numbering, so j30 kernels are ``a2..a31``) in one
  job ``"project"``, with one mode of the activity's duration and its non-zero demands;
* each activity runs on its own single-unit device ``"exec-a<a>"``. RCPSP has no machines: only the
  resources limit parallelism. A private device never binds (an activity cannot overlap itself), so
  the semantics are exact, and it keeps a CP-SAT model lean: one fixed interval per activity and no
  unit choice, where one shared device with a unit per activity would create ``N^2`` optional
  intervals in a per-unit formulation;
* precedence -> edges without delay; activities of duration 0 (the dummies) are dropped with their
  precedence kept (:func:`xpuplan.models.formats.precedence.contract_zero_tasks`);
* objective: makespan; time unit ``"unit"``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from xpuplan.models.errors import InvalidInput
from xpuplan.models.formats.precedence import contract_zero_tasks
from xpuplan.models.formats.text import Line, data_lines, fail, parse_int, take_id_list, take_ints
from xpuplan.models.instance import Device, Edge, Instance, Job, Kernel, Mode, Objective, Resource

JOB = "project"
LEVEL = "-"
_NUM_JOBS = re.compile(r"^jobs\s*\(incl\. supersource/sink\s*\)\s*:\s*(\S+)", re.IGNORECASE)
_RESOURCE_COUNT = re.compile(
    r"^-\s*(renewable|nonrenewable|doubly constrained)\s*:\s*(\S+)", re.IGNORECASE
)


def psplib_to_instance(path: str | os.PathLike[str], *, name: str | None = None) -> Instance:
    """Read a single-mode PSPLIB ``.sm`` file as an :class:`Instance` minimising the makespan.

    Parameters
    ----------
    path
        The ``.sm`` file.
    name
        The instance's name; default the file's stem (``j301_1``), as ``psplib/optimum.csv``
        names it without the extension.

    Raises
    ------
    InvalidInput
        Naming the file, the line, the field and the value at fault.
    """
    project = read_psplib(path)
    activities = range(1, project.num_activities + 1)
    dropped = {a for a in activities if project.durations[a] == 0}
    if len(dropped) == len(activities):
        raise fail(
            path, None, "activities", "no activity has a positive duration", show_value=False
        )
    edges = [(a, s) for a in activities for s in project.successors[a]]
    try:
        kept_edges = contract_zero_tasks(list(activities), edges, dropped)
    except InvalidInput as exc:
        raise exc.in_file(str(path)) from None
    resources = tuple(Resource(f"R{r + 1}", float(cap)) for r, cap in enumerate(project.capacities))
    kernels = tuple(
        Kernel(
            f"a{a}",
            JOB,
            (
                Mode(
                    f"exec-a{a}",
                    LEVEL,
                    project.durations[a],
                    0.0,
                    {f"R{r + 1}": float(d) for r, d in enumerate(project.demands[a]) if d > 0},
                ),
            ),
        )
        for a in activities
        if a not in dropped
    )
    try:
        return Instance(
            name=name or Path(path).stem,
            devices=tuple(Device(f"exec-a{a}") for a in activities if a not in dropped),
            jobs=(Job(JOB),),
            kernels=kernels,
            edges=tuple(Edge(f"a{u}", f"a{v}") for u, v in kept_edges),
            objective=Objective("makespan"),
            resources=resources,
            time_unit="unit",
        )
    except InvalidInput as exc:
        raise exc.in_file(str(path)) from None


@dataclass(frozen=True)
class Project:
    """The parsed content of an ``.sm`` file (activities numbered from 1, dummies included)."""

    num_activities: int
    capacities: tuple[int, ...]
    successors: dict[int, list[int]] = field(default_factory=dict)
    durations: dict[int, int] = field(default_factory=dict)
    demands: dict[int, list[int]] = field(default_factory=dict)


def read_psplib(path: str | os.PathLike[str]) -> Project:
    """Parse a single-mode ``.sm`` file; every table must cover activities 1..N once, in order."""
    lines = data_lines(path)
    num_activities = _header_int(path, lines, _NUM_JOBS, "jobs (incl. supersource/sink)")
    counts = _resource_counts(path, lines)
    for kind in ("nonrenewable", "doubly constrained"):
        line, count = counts[kind]
        if count != 0:
            raise fail(
                path,
                line.number,
                f"{kind} resources",
                "only renewable resources are supported (RCPSP)",
                line.text.strip(),
            )
    num_renewable = counts["renewable"][1]

    capacities_at = _section(path, lines, "RESOURCEAVAILABILITIES:")
    # The title is followed by a line of resource names, then the capacities.
    if capacities_at + 2 >= len(lines):
        raise fail(
            path,
            lines[-1].number,
            "RESOURCEAVAILABILITIES",
            "the capacities are missing",
            show_value=False,
        )
    cap_line = lines[capacities_at + 2]
    capacities = take_ints(path, cap_line, 0, num_renewable, "resource capacity", minimum=0)
    project = Project(num_activities, tuple(capacities))

    prec_at = _section(path, lines, "PRECEDENCE RELATIONS:")
    for a_idx, line in enumerate(_table(path, lines, prec_at + 2, num_activities, "precedence")):
        activity = a_idx + 1
        _, num_modes, num_succ = take_ints(path, line, 0, 3, f"activity {activity}", minimum=0)
        if num_modes != 1:
            raise fail(
                path,
                line.number,
                f"activity {activity}: #modes",
                "only single-mode files (.sm) are supported",
                line.tokens[1],
            )
        succs = take_id_list(
            path,
            line,
            num_succ,
            ids=range(1, num_activities + 1),
            own=activity,
            list_field=f"activity {activity}: successors",
            item_field=f"activity {activity}: successor",
            what="activity",
        )
        project.successors[activity] = succs

    req_at = _section(path, lines, "REQUESTS/DURATIONS:")
    # The section title is followed by a column header and a line of dashes.
    for a_idx, line in enumerate(_table(path, lines, req_at + 3, num_activities, "requests")):
        activity = a_idx + 1
        if len(line.tokens) != 3 + num_renewable:
            raise fail(
                path,
                line.number,
                f"activity {activity}: requests",
                f"expected jobnr, mode, duration and {num_renewable} demand(s)",
                line.text.strip(),
            )
        values = take_ints(
            path, line, 1, 2 + num_renewable, f"activity {activity}: requests", minimum=0
        )
        project.durations[activity] = values[1]
        project.demands[activity] = values[2:]
        for r_idx, demand in enumerate(values[2:]):
            if demand > capacities[r_idx]:
                raise fail(
                    path,
                    line.number,
                    f"activity {activity}: demand for R{r_idx + 1}",
                    f"exceeds the capacity {capacities[r_idx]}",
                    line.tokens[3 + r_idx],
                )
    return project


def _header_int(
    path: str | os.PathLike[str], lines: list[Line], pattern: re.Pattern[str], field: str
) -> int:
    for line in lines:
        match = pattern.match(line.text.strip())
        if match:
            return parse_int(path, line.number, field, match.group(1), minimum=2)
    raise fail(path, None, field, "is missing", show_value=False)


def _resource_counts(
    path: str | os.PathLike[str], lines: list[Line]
) -> dict[str, tuple[Line, int]]:
    """Kind -> (its line, its count) for the three resource kinds of the header."""
    out: dict[str, tuple[Line, int]] = {}
    for line in lines:
        match = _RESOURCE_COUNT.match(line.text.strip())
        if match:
            kind = match.group(1).lower()
            out.setdefault(
                kind,
                (
                    line,
                    parse_int(path, line.number, f"{kind} resources", match.group(2), minimum=0),
                ),
            )
    for kind in ("renewable", "nonrenewable", "doubly constrained"):
        if kind not in out:
            raise fail(path, None, f"{kind} resources", "the count is missing", show_value=False)
    return out


def _section(path: str | os.PathLike[str], lines: list[Line], title: str) -> int:
    """Index in ``lines`` of the line that starts with ``title``."""
    for l_idx, line in enumerate(lines):
        if line.text.strip().upper().startswith(title):
            return l_idx
    raise fail(path, None, title.rstrip(":"), "the section is missing", show_value=False)


def _table(
    path: str | os.PathLike[str], lines: list[Line], first: int, num_rows: int, field: str
) -> list[Line]:
    """``num_rows`` lines from index ``first``, the k-th starting with activity number k."""
    rows = []
    for a_idx in range(num_rows):
        at = first + a_idx
        if at >= len(lines) or lines[at].tokens[0].startswith("*"):
            where = lines[min(at, len(lines) - 1)].number
            raise fail(
                path,
                where,
                field,
                f"the table ends after {a_idx} of {num_rows} activities",
                show_value=False,
            )
        line = lines[at]
        number = parse_int(path, line.number, f"{field}: jobnr", line.tokens[0])
        if number != a_idx + 1:
            raise fail(
                path,
                line.number,
                f"{field}: jobnr",
                f"expected activity {a_idx + 1} (rows in order)",
                line.tokens[0],
            )
        rows.append(line)
    return rows
