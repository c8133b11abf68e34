"""Schedules as pandas DataFrames, for notebooks and tables.

pandas is imported here only, so that ``import xpuplan.models`` stays light; the Instance and the
Schedule are imported for type checking only (they call in here, never the other way round).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from xpuplan.models.instance import Instance
    from xpuplan.models.schedule import Schedule

SCHEDULE_COLUMNS = (
    "kernel",
    "job",
    "task",
    "device",
    "unit",
    "level",
    "start",
    "end",
    "duration",
    "resume",
    "power_w",
    "energy",
)


def schedule_frame(schedule: Schedule, instance: Instance) -> pd.DataFrame:
    """One row per assignment of ``schedule``, with what ``instance`` says of its kernel.

    Parameters
    ----------
    schedule
        Any schedule (an infeasible one gives an empty frame with the same columns).
    instance
        The instance it schedules: the source of each kernel's job, task and mode.

    Returns
    -------
    pandas.DataFrame
        Rows in the schedule's order, columns :data:`SCHEDULE_COLUMNS`:

        * ``kernel``, ``device``, ``unit``, ``level``, ``start``, ``end``: the assignment;
        * ``job``: the kernel's job; ``task``: its ``task`` attribute (what the planner built
          it for), else the job;
        * ``duration``: ``end - start``, the time the kernel holds its unit (resume included);
        * ``resume``: ``duration`` minus the chosen mode's duration (the resume time paid after a
          preemption, see :mod:`xpuplan.models.instance`);
        * ``power_w``: the chosen mode's dynamic power; ``energy``: ``power_w * duration``, the
          kernel's dynamic energy in watts x ``time_unit`` (the ``energy`` objective adds the idle
          power of every unit over the makespan to the sum of this column).

        ``job``, ``task``, ``resume``, ``power_w`` and ``energy`` are missing (NA) on a row whose
        kernel, or whose (device, level) mode, the instance does not have: such a schedule fails
        :func:`xpuplan.models.check_schedule`.
    """
    kernel_idx = instance.kernel_idx
    rows: list[dict[str, Any]] = []
    for asg in schedule.assignments:
        row: dict[str, Any] = {
            "kernel": asg.kernel,
            "job": None,
            "task": None,
            "device": asg.device,
            "unit": asg.unit,
            "level": asg.level,
            "start": asg.start,
            "end": asg.end,
            "duration": asg.end - asg.start,
            "resume": None,
            "power_w": None,
            "energy": None,
        }
        k_idx = kernel_idx.get(asg.kernel)
        if k_idx is not None:
            ker = instance.kernels[k_idx]
            task = ker.attrs.get("task")
            row["job"] = ker.job
            row["task"] = ker.job if task is None else str(task)
            m_idx = ker.mode_index(asg.device, asg.level)
            if m_idx is not None:
                mode = ker.modes[m_idx]
                row["resume"] = row["duration"] - mode.duration
                row["power_w"] = mode.power_w
                row["energy"] = mode.power_w * row["duration"]
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(SCHEDULE_COLUMNS))
    # Integer columns stay integers (nullable where a row may miss its mode).
    for column in ("unit", "start", "end", "duration"):
        frame[column] = frame[column].astype("int64")
    frame["resume"] = frame["resume"].astype("Int64")
    for column in ("power_w", "energy"):
        frame[column] = frame[column].astype("float64")
    return frame
