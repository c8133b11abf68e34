"""Pictures and traces of a schedule: a Gantt chart (matplotlib) and a Chrome trace."""

from __future__ import annotations

import os
from typing import Any

from xpuplan.models import Instance, Schedule
from xpuplan.models.jsonio import write_json


def _task_of(instance: Instance, kernel: str) -> str:
    attrs = instance.kernels[instance.kernel_idx[kernel]].attrs
    task = attrs.get("task")
    return str(task) if task is not None else instance.kernels[instance.kernel_idx[kernel]].job


def save_gantt(path: str | os.PathLike[str], instance: Instance, schedule: Schedule) -> None:
    """A Gantt chart: one row per device unit, one bar per kernel coloured by task (or job).

    Parameters
    ----------
    path
        The PNG file to write.
    instance, schedule
        The instance and a schedule for it.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from xpuplan.models.generate import layered_dag_instance
    >>> from xpuplan.solvers import solve
    >>> inst = layered_dag_instance(seed=0, num_kernels=10, num_devices=2)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_gantt(f"{folder}/gantt.png", inst, solve(inst, "heft").schedule)
    ...     Path(f"{folder}/gantt.png").read_bytes()[1:4] == b"PNG"
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [f"{dev.name}/{u}" for dev in instance.devices for u in range(dev.units)]
    row_idx = {row: r_idx for r_idx, row in enumerate(rows)}
    groups = sorted({_task_of(instance, a.kernel) for a in schedule.assignments})
    cmap = plt.get_cmap("tab20")
    colour = {g: cmap(g_idx % 20) for g_idx, g in enumerate(groups)}
    scale, unit = (1000.0, "ms") if instance.time_unit == "us" else (1.0, instance.time_unit)
    fig, ax = plt.subplots(figsize=(12, 0.6 * len(rows) + 1.8))
    for asg in schedule.assignments:
        group = _task_of(instance, asg.kernel)
        ax.barh(
            row_idx[f"{asg.device}/{asg.unit}"],
            (asg.end - asg.start) / scale,
            left=asg.start / scale,
            color=colour[group],
            edgecolor="black",
            linewidth=0.3,
        )
    ax.set_yticks(range(len(rows)), rows)
    ax.invert_yaxis()
    ax.set_xlabel(f"time ({unit})")
    ax.set_title(
        f"{instance.name}: {schedule.solver} {schedule.status}, objective {schedule.objective}"
    )
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour[g]) for g in groups[:20]]
    ax.legend(handles, groups[:20], loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    tmp = f"{path}.tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def chrome_trace(instance: Instance, schedule: Schedule) -> dict[str, Any]:
    """The schedule as Chrome trace events (open in chrome://tracing or ui.perfetto.dev)."""
    pid = {dev.name: d_idx for d_idx, dev in enumerate(instance.devices)}
    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": pid[dev.name], "args": {"name": dev.name}}
        for dev in instance.devices
    ]
    for asg in schedule.assignments:
        events.append(
            {
                "name": asg.kernel,
                "cat": _task_of(instance, asg.kernel),
                "ph": "X",
                "ts": asg.start,
                "dur": asg.end - asg.start,
                "pid": pid[asg.device],
                "tid": asg.unit,
                "args": {
                    "level": asg.level,
                    "job": instance.kernels[instance.kernel_idx[asg.kernel]].job,
                },
            }
        )
    return {"traceEvents": events, "displayTimeUnit": "ms"}


def save_trace(path: str | os.PathLike[str], instance: Instance, schedule: Schedule) -> None:
    write_json(path, chrome_trace(instance, schedule), indent=None)
