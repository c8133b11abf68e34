"""Plan files (``xpuplan.plan/1``): an instance, its schedule and the settings they assume.

A plan is self-contained: it can be checked (``xpuplan verify PLAN``) and executed by the runtime
without the scenario or platform files it came from. ``settings`` records what a deployment must
configure for the schedule to hold: the power mode, the DVFS level(s) each device runs at, the
preemption points chosen, and per-unit dispatch tables (the kernels of each device unit in order,
with their planned offsets).
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from xpuplan.models.errors import InvalidInput
from xpuplan.models.instance import Instance
from xpuplan.models.jsonio import (
    instance_from_json,
    instance_to_json,
    read_json,
    schedule_from_json,
    schedule_to_json,
    write_json,
)
from xpuplan.models.schedule import Schedule, preemptions_of

PLAN_FORMAT = "xpuplan.plan/1"


@dataclass(frozen=True)
class Plan:
    """An instance, a schedule for it, and the platform settings the schedule assumes."""

    instance: Instance
    schedule: Schedule
    settings: dict[str, Any] = field(default_factory=dict)


def plan_settings(instance: Instance, schedule: Schedule, **context: Any) -> dict[str, Any]:
    """The settings a schedule assumes, derived from it (plus ``context``: platform, mode...).

    ``dvfs_levels`` maps each device to the levels its kernels use (one level per device under
    per-device DVFS: the static setting to apply); ``dispatch`` maps ``"device/unit"`` to the
    ordered kernels of that unit with planned start, end and level.

    Parameters
    ----------
    instance, schedule
        The instance and a schedule for it.
    **context
        Recorded as given (e.g. ``platform``, ``power_mode``, ``scenario``, ``solver``, ``seed``,
        ``horizon_us``: the period after which a plan of periodic tasks repeats).

    Returns
    -------
    dict
        JSON-ready settings, for :class:`Plan`.

    Examples
    --------
    >>> from xpuplan.models import Assignment, Device, Instance, Job, Kernel, Mode, Schedule
    >>> inst = Instance("tiny", devices=(Device("cpu"),), jobs=(Job("j"),),
    ...                 kernels=(Kernel("k", "j", (Mode("cpu", "max", 5),)),))
    >>> sched = Schedule("tiny", (Assignment("k", "cpu", 0, "max", 0, 5),), objective=5)
    >>> settings = plan_settings(inst, sched, platform="my-board")
    >>> settings["dvfs_levels"], settings["dispatch"]["cpu/0"][0]["kernel"]
    ({'cpu': ['max']}, 'k')
    """
    levels: dict[str, list[str]] = {dev.name: [] for dev in instance.devices}
    dispatch: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for asg in sorted(schedule.assignments, key=lambda a: (a.device, a.unit, a.start, a.kernel)):
        if asg.level not in levels[asg.device]:
            levels[asg.device].append(asg.level)
        dispatch[f"{asg.device}/{asg.unit}"].append(
            {"kernel": asg.kernel, "start": asg.start, "end": asg.end, "level": asg.level}
        )
    return {
        **context,
        "dvfs": instance.dvfs,
        "dvfs_levels": levels,
        "power_cap_w": instance.power_cap_w,
        "preemption_points": [list(p) for p in preemptions_of(instance, schedule.assignments)],
        "dispatch": dict(dispatch),
    }


def plan_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "format": PLAN_FORMAT,
        "instance": instance_to_json(plan.instance),
        "schedule": schedule_to_json(plan.schedule),
        "settings": plan.settings,
    }


def plan_from_json(data: Any) -> Plan:
    if not isinstance(data, dict):
        raise InvalidInput("must be a JSON object", field="(document)", value=data)
    if data.get("format") != PLAN_FORMAT:
        raise InvalidInput(f"must be {PLAN_FORMAT!r}", field="format", value=data.get("format"))
    unknown = set(data) - {"format", "instance", "schedule", "settings"}
    if unknown:
        raise InvalidInput(
            "is not a known field", field=sorted(unknown)[0], value=None, show_value=False
        )
    try:
        instance = instance_from_json(data.get("instance"))
    except InvalidInput as exc:
        raise exc.under("instance") from None
    try:
        schedule = schedule_from_json(data.get("schedule"))
    except InvalidInput as exc:
        raise exc.under("schedule") from None
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        raise InvalidInput("must be a JSON object", field="settings", value=settings)
    return Plan(instance, schedule, settings)


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read a plan file; errors name the file and the field (e.g. ``schedule.assignments[3]``).

    Parameters
    ----------
    path
        An ``xpuplan.plan/1`` file (``xpuplan plan -o``, :func:`save_plan`).

    Returns
    -------
    Plan
        The instance, its schedule and the settings; equal to the plan :func:`save_plan` wrote.

    Raises
    ------
    InvalidInput
        Naming the file, the field and the value at fault.

    Examples
    --------
    >>> import tempfile
    >>> from xpuplan.models import Assignment, Device, Instance, Job, Kernel, Mode, Schedule
    >>> inst = Instance("tiny", devices=(Device("cpu"),), jobs=(Job("j"),),
    ...                 kernels=(Kernel("k", "j", (Mode("cpu", "max", 5),)),))
    >>> sched = Schedule("tiny", (Assignment("k", "cpu", 0, "max", 0, 5),), objective=5)
    >>> plan = Plan(inst, sched, plan_settings(inst, sched, platform="my-board"))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_plan(f"{folder}/plan.json", plan)
    ...     load_plan(f"{folder}/plan.json") == plan
    True
    """
    data = read_json(path)
    try:
        return plan_from_json(data)
    except InvalidInput as exc:
        raise exc.in_file(str(path)) from None


def save_plan(path: str | os.PathLike[str], plan: Plan) -> None:
    """Write a plan file atomically.

    Parameters
    ----------
    path
        The file to write (its folder must exist); a failed write leaves no partial file.
    plan
        The plan; :func:`load_plan` reads it back equal.

    Examples
    --------
    >>> import tempfile
    >>> from xpuplan.models import Assignment, Device, Instance, Job, Kernel, Mode, Schedule
    >>> inst = Instance("tiny", devices=(Device("cpu"),), jobs=(Job("j"),),
    ...                 kernels=(Kernel("k", "j", (Mode("cpu", "max", 5),)),))
    >>> sched = Schedule("tiny", (Assignment("k", "cpu", 0, "max", 0, 5),), objective=5)
    >>> plan = Plan(inst, sched, plan_settings(inst, sched, platform="my-board"))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_plan(f"{folder}/plan.json", plan)
    ...     load_plan(f"{folder}/plan.json").settings["platform"]
    'my-board'
    """
    write_json(path, plan_to_json(plan))


def is_plan_file(path: str | os.PathLike[str]) -> bool:
    """True when the JSON file at ``path`` declares the plan format."""
    data = read_json(path)
    return isinstance(data, dict) and data.get("format") == PLAN_FORMAT
