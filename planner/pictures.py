"""Pictures of a schedule: a Gantt chart (matplotlib) and a Chrome/Perfetto trace.

The Gantt chart has three panels sharing the time axis:

* the device units, one row each, one bar per kernel coloured by task; the shade of a bar is its
  DVFS level (darkest = the device's fastest level used) and wide bars are labelled with it;
* the jobs, one row per task: a line from each job's release to its completion, a triangle at the
  release and a bar at the deadline (red when the job finished late);
* the power over time (idle power of every unit plus the power of the running kernels' modes)
  with the power cap as a dashed line.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xpuplan.models import Instance, InvalidInput, Schedule
from xpuplan.models.jsonio import FileWriter, write_files, write_json
from xpuplan.models.objectives import job_completions
from xpuplan.planner.report import objective_text

#: The panels of the chart, top to bottom.
PANELS = ("units", "jobs", "power")


def _task_of(instance: Instance, kernel: str) -> str:
    attrs = instance.kernels[instance.kernel_idx[kernel]].attrs
    task = attrs.get("task")
    return str(task) if task is not None else instance.kernels[instance.kernel_idx[kernel]].job


def _job_task(instance: Instance, j_idx: int) -> str:
    kernels = instance.job2kernels[j_idx]
    if kernels:
        task = instance.kernels[kernels[0]].attrs.get("task")
        if task is not None:
            return str(task)
    return instance.jobs[j_idx].name


def _level_rank(instance: Instance) -> dict[tuple[str, str], float]:
    """(device, level) -> 0..1, the level's place among the device's levels by mean mode power
    (a higher DVFS level draws more power), 1 for the fastest."""
    power: dict[tuple[str, str], list[float]] = defaultdict(list)
    for ker in instance.kernels:
        for mode in ker.modes:
            power[(mode.device, mode.level)].append(mode.power_w)
    by_device: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for (device, level), values in power.items():
        by_device[device].append((sum(values) / len(values), level))
    rank: dict[tuple[str, str], float] = {}
    for device, levels in by_device.items():
        levels.sort()
        for l_idx, (_, level) in enumerate(levels):
            rank[(device, level)] = 1.0 if len(levels) == 1 else l_idx / (len(levels) - 1)
    return rank


def power_profile(instance: Instance, schedule: Schedule) -> tuple[list[float], list[float]]:
    """The platform's power over time: step points ``(times, watts)`` in the instance's units,
    idle power of every unit plus the power of each running kernel's mode."""
    delta: dict[int, float] = defaultdict(float)
    for asg in schedule.assignments:
        ker = instance.kernels[instance.kernel_idx[asg.kernel]]
        idx = ker.mode_index(asg.device, asg.level)
        watts = ker.modes[idx].power_w if idx is not None else 0.0
        delta[asg.start] += watts
        delta[asg.end] -= watts
    times = [0.0]
    levels = [instance.idle_power_w]
    level = instance.idle_power_w
    for time in sorted(delta):
        level += delta[time]
        times.append(float(time))
        levels.append(max(level, 0.0))
    return times, levels


def draw_gantt(
    path: str | os.PathLike[str],
    instance: Instance,
    schedule: Schedule,
    *,
    panels: Sequence[str] = PANELS,
    title: str | None = None,
    power_note: str = "",
    power_cap_w: float | None = None,
) -> None:
    """Draw the chart of the module docstring into ``path`` (format from its suffix).

    ``panels`` picks and orders the panels among ``"units"``, ``"jobs"`` and ``"power"``;
    ``power_note`` is added to the power panel's title; ``power_cap_w`` is the line drawn on it
    (default: the instance's cap).
    """
    cap = instance.power_cap_w if power_cap_w is None else power_cap_w
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [f"{dev.name}/{u}" for dev in instance.devices for u in range(dev.units)]
    tasks = sorted({_job_task(instance, j_idx) for j_idx in range(instance.num_jobs)})
    height = {"units": 0.45 * len(rows) + 0.8, "jobs": 0.3 * len(tasks) + 0.6, "power": 1.8}
    heights = [height[panel] for panel in panels]
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(12, sum(heights) + 1.2),
        sharex=True,
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    scale, unit = (1000.0, "ms") if instance.time_unit == "us" else (1.0, instance.time_unit)
    if title is None:
        title = (
            f"{instance.name}: {schedule.solver} {schedule.status}, "
            f"{objective_text(instance, schedule.objective, None, None)}"
        )
    for ax, panel in zip(axes[:, 0], panels, strict=True):
        if panel == "units":
            _units_panel(ax, plt, instance, schedule, rows, scale)
        elif panel == "jobs":
            _jobs_panel(ax, instance, schedule, tasks, scale)
        else:
            _power_panel(ax, instance, schedule, scale, power_note, cap)
    axes[0, 0].set_title(title + "\n" + axes[0, 0].get_title(), fontsize=10)
    axes[-1, 0].set_xlabel(f"time ({unit})")
    fig.tight_layout()
    suffix = Path(os.fspath(path)).suffix.lstrip(".").lower() or "png"
    fig.savefig(path, dpi=110, format=suffix)
    plt.close(fig)


def _units_panel(
    ax: Any, plt: Any, instance: Instance, schedule: Schedule, rows: list[str], scale: float
) -> None:
    row_idx = {row: r_idx for r_idx, row in enumerate(rows)}
    groups = sorted({_task_of(instance, a.kernel) for a in schedule.assignments})
    cmap = plt.get_cmap("tab20")
    colour = {g: cmap(g_idx % 20) for g_idx, g in enumerate(groups)}
    span = max((a.end for a in schedule.assignments), default=1) / scale
    rank = _level_rank(instance)
    for asg in schedule.assignments:
        group = _task_of(instance, asg.kernel)
        width = (asg.end - asg.start) / scale
        y = row_idx[f"{asg.device}/{asg.unit}"]
        wide = width > 0.005 * span
        ax.barh(
            y,
            width,
            left=asg.start / scale,
            color=colour[group],
            alpha=0.35 + 0.65 * rank.get((asg.device, asg.level), 1.0),
            # A bar narrower than a pixel is drawn as a line of its own colour.
            edgecolor="black" if wide else colour[group],
            linewidth=0.3 if wide else 0.8,
        )
        if asg.level and width > 0.06 * span:
            ax.text(
                (asg.start / scale) + width / 2,
                y,
                asg.level,
                ha="center",
                va="center",
                fontsize=6,
                clip_on=True,
            )
    ax.set_yticks(range(len(rows)), rows)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_title("kernels by device unit (shade of a bar: its DVFS level, darker = faster)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour[g]) for g in groups[:20]]
    ax.legend(handles, groups[:20], loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)


def _jobs_panel(
    ax: Any, instance: Instance, schedule: Schedule, tasks: list[str], scale: float
) -> None:
    """Jobs: release -> completion, deadline marked (red when late)."""
    completions = job_completions(instance, schedule.assignments)
    task_row = {task: t_idx for t_idx, task in enumerate(tasks)}
    for j_idx, job in enumerate(instance.jobs):
        y = task_row[_job_task(instance, j_idx)]
        done = completions[j_idx]
        late = job.deadline is not None and done > job.deadline
        ax.plot(
            [job.release / scale, max(done, job.release) / scale],
            [y, y],
            color="0.55",
            linewidth=1.0,
        )
        ax.plot(job.release / scale, y, marker="^", color="tab:blue", markersize=4)
        if job.deadline is not None:
            ax.plot(
                job.deadline / scale,
                y,
                marker="|",
                color="tab:red" if late else "black",
                markersize=9,
                markeredgewidth=1.5,
            )
    ax.set_yticks(range(len(tasks)), tasks)
    ax.set_ylim(len(tasks) - 0.5, -0.5)
    ax.set_ylabel("jobs")
    ax.set_title("jobs: release (triangle) to completion (line), deadline (bar; red: late)")


def _power_panel(
    ax: Any, instance: Instance, schedule: Schedule, scale: float, note: str, cap: float | None
) -> None:
    times, watts = power_profile(instance, schedule)
    ax.step([t / scale for t in times], watts, where="post", color="tab:orange")
    if cap is not None:
        ax.axhline(cap, color="tab:red", linestyle="--", linewidth=1.0)
        ax.annotate(
            f"cap {cap:g} W",
            (0, cap),
            xytext=(2, 2),
            textcoords="offset points",
            fontsize=7,
            color="tab:red",
        )
    ax.set_ylabel("power (W)")
    ax.set_ylim(bottom=0)
    ax.set_title("power: idle power of every unit + the running kernels' modes" + note)


#: Picture formats the Gantt chart and other plots may be written in (by the file's suffix).
PICTURE_FORMATS = ("png", "svg", "pdf", "jpg", "jpeg", "webp", "tif", "tiff", "eps", "ps")


def check_picture_path(path: str | os.PathLike[str] | None, field: str) -> None:
    """A picture path's suffix names a format matplotlib writes (checked before any work)."""
    if path is None:
        return
    suffix = Path(os.fspath(path)).suffix.lstrip(".").lower()
    if suffix and suffix not in PICTURE_FORMATS:
        raise InvalidInput(
            f"must end in one of .{', .'.join(PICTURE_FORMATS)}", field=field, value=os.fspath(path)
        )


def gantt_writer(instance: Instance, schedule: Schedule) -> FileWriter:
    """A :data:`~xpuplan.models.jsonio.FileWriter` drawing the Gantt chart."""

    def write(tmp: Path) -> None:
        draw_gantt(tmp, instance, schedule)

    return write


def save_gantt(path: str | os.PathLike[str], instance: Instance, schedule: Schedule) -> None:
    """Draw the Gantt chart of the module docstring into ``path`` (atomically).

    Parameters
    ----------
    path
        The picture to write (PNG, SVG, PDF... by its suffix).
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
    write_files([(path, gantt_writer(instance, schedule))])


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
