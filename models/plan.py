"""Plan files (``xpuplan.plan/1``): an instance, its schedule, where they come from and the
settings they assume.

A plan is self-contained: it can be checked (``xpuplan verify PLAN``) and executed by the runtime
without the scenario or platform files it came from. Its typed fields say what it is a plan of
(:class:`Plan`: platform, power mode, scenario, the task of every job, the repeat period);
``settings`` records what a deployment must configure for the schedule to hold: the DVFS
level(s) each device runs at, the power cap, the preemption points chosen, and per-unit dispatch
tables (the kernels of each device unit in order, with their planned offsets).

Settings are derived from the schedule (:func:`plan_settings`); a plan file whose settings
disagree with its schedule (a dispatch table edited by hand, a malformed value) is refused when
it is read (:func:`validate_settings`).

A robust plan (``xpuplan plan --noise-cv X --quantile Q``) also records its ``margin``
(:class:`xpuplan.models.margin.Margin`): its ``instance`` is then the workload as it runs, with
nominal durations (what the runtime executes), and its schedule was planned on
:attr:`Plan.planned_instance`, the same instance with every duration at the margin's quantile,
which is what the schedule is checked against (``xpuplan verify PLAN``). Without a margin the two
are one instance; plan files without the field are read as plans without a margin.
"""

from __future__ import annotations

import copy
import math
import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
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
from xpuplan.models.margin import Margin, inflate
from xpuplan.models.schedule import Schedule, preemptions_of

PLAN_FORMAT = "xpuplan.plan/1"
# Settings derived from the schedule: a plan file must agree with its schedule on each of these.
DERIVED_SETTINGS = ("dvfs", "dvfs_levels", "power_cap_w", "preemption_points", "dispatch")
_FIELDS = (
    "format",
    "instance",
    "schedule",
    "settings",
    "platform",
    "power_mode",
    "scenario",
    "period_us",
    "job_tasks",
    "margin",
)


@dataclass(frozen=True)
class Plan:
    """An instance, a schedule for it, where they come from and the settings they assume.

    Parameters
    ----------
    instance, schedule
        The problem and its solution.
    settings
        What a deployment configures (:func:`plan_settings`), plus provenance such as the solver
        and the seed.
    platform, power_mode, scenario
        Names of what the instance was built from (None when unknown, e.g. a plan made from an
        instance file).
    period_us
        The plan repeats every ``period_us`` (its instance covers one hyperperiod of periodic
        tasks); None when it runs once.
    job_tasks
        The scenario task of every job of the instance, by job name. Jobs it does not name are
        tasks of their own (:meth:`task_of`).
    margin
        The robustness margin the schedule was planned with (None: none). With a margin,
        ``instance`` holds the nominal durations the runtime executes and ``schedule`` is a
        schedule of :attr:`planned_instance` (see the module docstring).
    """

    instance: Instance
    schedule: Schedule
    settings: dict[str, Any] = field(default_factory=dict)
    platform: str | None = None
    power_mode: str | None = None
    scenario: str | None = None
    period_us: int | None = None
    job_tasks: Mapping[str, str] = field(default_factory=dict)
    margin: Margin | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.job_tasks, MappingProxyType):
            object.__setattr__(self, "job_tasks", MappingProxyType(dict(self.job_tasks)))
        if self.period_us is not None:
            _require_period(self.period_us)
        unknown = sorted(set(self.job_tasks) - set(self.instance.job_idx))
        if unknown:
            raise InvalidInput("names no job of the instance", field="job_tasks", value=unknown[0])

    def task_of(self, job: str) -> str:
        """The task of job ``job``: from :attr:`job_tasks`, else the job itself."""
        return self.job_tasks.get(job, job)

    @cached_property
    def planned_instance(self) -> Instance:
        """The instance the schedule was planned on and is checked against: :attr:`instance`
        with every duration at the margin's quantile (:func:`xpuplan.models.margin.inflate`),
        or :attr:`instance` itself without a margin."""
        return inflate(self.instance, self.margin)

    @property
    def tasks(self) -> list[str]:
        """The plan's tasks, in the order of their first job."""
        return list(dict.fromkeys(self.task_of(job.name) for job in self.instance.jobs))


def _require_period(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput("must be an integer number of us >= 1", field="period_us", value=value)


def plan_settings(instance: Instance, schedule: Schedule, **context: Any) -> dict[str, Any]:
    """The settings a schedule assumes, derived from it (plus ``context``: solver, seed...).

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


def validate_settings(plan: Plan) -> None:
    """Check the plan's settings against its schedule.

    Every derived setting present (:data:`DERIVED_SETTINGS`) must equal what
    :func:`plan_settings` derives from the schedule: a dispatch table edited to overlap, a level
    the schedule does not use, a malformed value are refused.

    Raises
    ------
    InvalidInput
        Naming the first setting that disagrees (``settings.dispatch.gpu/0[3].start``).
    """
    settings = plan.settings
    if not plan.schedule.assignments:
        return  # no schedule to derive settings from (an infeasible or unknown result)
    derived = plan_settings(plan.planned_instance, plan.schedule)
    for key in DERIVED_SETTINGS:
        if key in settings:
            _same(settings[key], derived[key], f"settings.{key}")


def _same(value: Any, expected: Any, where: str) -> None:
    """Raise naming the first place where ``value`` (read from JSON) differs from ``expected``."""
    if isinstance(expected, dict):
        if not isinstance(value, dict):
            raise InvalidInput("must be a JSON object", field=where, value=value)
        for key in sorted(set(value) | set(expected), key=str):
            if key not in expected:
                raise InvalidInput(
                    "is not in the schedule", field=f"{where}.{key}", value=value[key]
                )
            if key not in value:
                raise InvalidInput(
                    "is missing (the schedule has it)", field=f"{where}.{key}", value=None
                )
            _same(value[key], expected[key], f"{where}.{key}")
        return
    if isinstance(expected, list):
        if not isinstance(value, list):
            raise InvalidInput("must be a JSON list", field=where, value=value)
        for i, (got, want) in enumerate(zip(value, expected, strict=False)):
            _same(got, want, f"{where}[{i}]")
        if len(value) != len(expected):
            raise InvalidInput(
                f"has {len(value)} entries, the schedule {len(expected)}",
                field=where,
                value=len(value),
            )
        return
    if isinstance(expected, float | int) and not isinstance(expected, bool):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput("must be a number", field=where, value=value)
        if not math.isclose(float(value), float(expected), rel_tol=1e-12, abs_tol=0.0):
            raise InvalidInput(
                f"disagrees with the schedule ({expected!r})", field=where, value=value
            )
        return
    if value != expected or type(value) is not type(expected):
        raise InvalidInput(f"disagrees with the schedule ({expected!r})", field=where, value=value)


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan's JSON document (``margin`` only when the plan has one)."""
    doc = {
        "format": PLAN_FORMAT,
        "platform": plan.platform,
        "power_mode": plan.power_mode,
        "scenario": plan.scenario,
        "period_us": plan.period_us,
        "job_tasks": dict(plan.job_tasks),
        "instance": instance_to_json(plan.instance),
        "schedule": schedule_to_json(plan.schedule),
        "settings": copy.deepcopy(plan.settings),
    }
    if plan.margin is not None:
        doc["margin"] = plan.margin.to_json()
    return doc


def plan_from_json(data: Any) -> Plan:
    """A plan from its JSON document, its settings checked against its schedule.

    Plans written before the typed fields existed (their context in ``settings``: ``platform``,
    ``power_mode``, ``scenario``, ``horizon_us``) are read too: the context fills the fields and
    each job's task is the part of its name before ``@``, as those plans named jobs.
    """
    if not isinstance(data, dict):
        raise InvalidInput("must be a JSON object", field="(document)", value=data)
    if data.get("format") != PLAN_FORMAT:
        raise InvalidInput(f"must be {PLAN_FORMAT!r}", field="format", value=data.get("format"))
    unknown = set(data) - set(_FIELDS)
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
    legacy = "job_tasks" not in data
    names = {}
    for key in ("platform", "power_mode", "scenario"):
        value = data.get(key, settings.get(key) if legacy else None)
        if value is not None and not isinstance(value, str):
            raise InvalidInput("must be a string or null", field=key, value=value)
        names[key] = value
    period = data.get("period_us") if not legacy else settings.get("horizon_us")
    if period is not None:
        _require_period(period)
    if legacy:
        job_tasks = {job.name: job.name.split("@", 1)[0] for job in instance.jobs}
    else:
        job_tasks = data["job_tasks"]
        if not isinstance(job_tasks, dict) or not all(
            isinstance(v, str) and v for v in job_tasks.values()
        ):
            raise InvalidInput(
                "must map job names to task names", field="job_tasks", value=job_tasks
            )
    margin = None
    if data.get("margin") is not None:
        try:
            margin = Margin.from_json(data["margin"])
        except InvalidInput as exc:
            raise exc.under("margin") from None
    plan = Plan(
        instance,
        schedule,
        settings,
        names["platform"],
        names["power_mode"],
        names["scenario"],
        period,
        job_tasks,
        margin,
    )
    if plan.schedule.instance != instance.name:
        raise InvalidInput(
            f"is for another instance than the plan's ({instance.name!r})",
            field="schedule.instance",
            value=plan.schedule.instance,
        )
    validate_settings(plan)
    return plan


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
