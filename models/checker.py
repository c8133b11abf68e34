"""The independent checker: every rule of an Instance, checked against a Schedule.

It trusts no solver. Each rule is one small function that appends :class:`Violation` records, so a
broken schedule gets every violation listed, not just the first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from xpuplan.models.errors import InvalidInput
from xpuplan.models.instance import Instance, Mode
from xpuplan.models.objectives import evaluate, value_leq, values_close
from xpuplan.models.schedule import Assignment, Schedule, preemptions_of, resume_of

# Relative slack for float sums of power and resource demands.
_EPS = 1e-9


@dataclass(frozen=True)
class Violation:
    """One broken rule: ``rule`` is a short stable name, ``message`` says where and by how much."""

    rule: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.message}"


class _Context:
    """What every rule needs: the placed kernels, resolved against the instance once."""

    def __init__(self, instance: Instance, schedule: Schedule) -> None:
        self.instance = instance
        self.schedule = schedule
        self.by_index: list[Assignment | None] = [None] * instance.num_kernels
        self.mode_of: list[Mode | None] = [None] * instance.num_kernels
        self.violations: list[Violation] = []

    def add(self, rule: str, message: str) -> None:
        self.violations.append(Violation(rule, message))

    def placed(self) -> list[tuple[int, Assignment, Mode]]:
        return [
            (k_idx, asg, mode)
            for k_idx, (asg, mode) in enumerate(zip(self.by_index, self.mode_of, strict=True))
            if asg is not None and mode is not None
        ]


def check_schedule(
    instance: Instance, schedule: Schedule, *, measured: bool = False
) -> list[Violation]:
    """Every violation of the instance's rules by ``schedule``; empty when it is valid.

    The checker trusts no solver: it recomputes every rule of :mod:`xpuplan.models.instance` from
    the assignments alone, and the objective and preemptions a schedule reports.

    With ``measured=True`` the schedule is one that was *executed* (a real run's start and end
    times, :mod:`xpuplan.runtime.ort_exec`): the rule ``end - start == duration + resume`` becomes
    ``end >= start`` (a measured kernel takes the time it took), and every other rule -- coverage,
    modes, release, precedence with its cross-device delays, unit exclusivity, deadlines,
    resources, power, DVFS -- is checked exactly as for a plan.

    Parameters
    ----------
    instance
        The instance.
    schedule
        A schedule for it (an infeasible or unknown one without assignments is valid).
    measured
        True for an executed schedule (see above).

    Returns
    -------
    list[Violation]
        Each with a ``rule`` (``coverage``, ``mode``, ``duration``, ``precedence``, ``overlap``,
        ``release``, ``deadline``, ``power``, ``resource``, ``dvfs``, ``reported``...) and a
        ``message`` saying where and by how much.

    Raises
    ------
    InvalidInput
        When the schedule names another instance.

    Examples
    --------
    >>> from models import Instance, Device, Job, Kernel, Mode, Schedule, Assignment
    >>> inst = Instance("tiny", devices=(Device("cpu"),), jobs=(Job("j"),),
    ...                 kernels=(Kernel("k", "j", (Mode("cpu", "max", 5),)),))
    >>> check_schedule(inst, Schedule("tiny", (Assignment("k", "cpu", 0, "max", 0, 5),),
    ...                                objective=5))
    []
    """
    if schedule.instance != instance.name:
        raise InvalidInput(
            f"the schedule is for another instance (this one is {instance.name!r})",
            field="instance",
            value=schedule.instance,
        )
    if not schedule.is_solution and not schedule.assignments:
        return []
    ctx = _Context(instance, schedule)
    _check_coverage(ctx)
    for rule in _RULES:
        if measured and rule is _check_duration:
            rule = _check_measured_duration
        rule(ctx)
    if not any(v.rule in ("coverage", "mode") for v in ctx.violations):
        _check_reported(ctx)
    return ctx.violations


def _check_coverage(ctx: _Context) -> None:
    inst = ctx.instance
    for asg in ctx.schedule.assignments:
        k_idx = inst.kernel_idx.get(asg.kernel)
        if k_idx is None:
            ctx.add("coverage", f"kernel {asg.kernel!r} is not in the instance")
            continue
        if ctx.by_index[k_idx] is not None:
            ctx.add("coverage", f"kernel {asg.kernel!r} is assigned more than once")
            continue
        ctx.by_index[k_idx] = asg
        ker = inst.kernels[k_idx]
        mode = next((m for m in ker.modes if (m.device, m.level) == (asg.device, asg.level)), None)
        if mode is None:
            ctx.add(
                "mode",
                f"kernel {asg.kernel!r} has no mode on device {asg.device!r} at level "
                f"{asg.level!r}",
            )
            continue
        ctx.mode_of[k_idx] = mode
        units = inst.devices[inst.device_idx[asg.device]].units
        if not 0 <= asg.unit < units:
            ctx.add(
                "unit",
                f"kernel {asg.kernel!r} is on unit {asg.unit} of {asg.device!r}, which has "
                f"{units} unit(s)",
            )
    for k_idx, placed in enumerate(ctx.by_index):
        if placed is None:
            ctx.add("coverage", f"kernel {inst.kernels[k_idx].name!r} is not assigned")


def _check_duration(ctx: _Context) -> None:
    for k_idx, asg, mode in ctx.placed():
        resume = resume_of(ctx.instance, k_idx, ctx.by_index)
        if asg.end - asg.start != mode.duration + resume:
            ctx.add(
                "duration",
                f"kernel {asg.kernel!r} runs {asg.end - asg.start} but its mode takes "
                f"{mode.duration} + resume {resume}",
            )


def _check_measured_duration(ctx: _Context) -> None:
    for _, asg, _ in ctx.placed():
        if asg.end < asg.start:
            ctx.add("duration", f"kernel {asg.kernel!r} ends at {asg.end} before its start")


def _check_release(ctx: _Context) -> None:
    inst = ctx.instance
    for k_idx, asg, _ in ctx.placed():
        job = inst.jobs[inst.kernel2job[k_idx]]
        if asg.start < job.release:
            ctx.add(
                "release",
                f"kernel {asg.kernel!r} starts at {asg.start}, before job {job.name!r}'s "
                f"release {job.release}",
            )
        elif asg.start < 0:
            ctx.add("release", f"kernel {asg.kernel!r} starts at a negative time {asg.start}")


def _check_precedence(ctx: _Context) -> None:
    inst = ctx.instance
    for e_idx, (src_idx, dst_idx) in enumerate(inst.edge_endpoints):
        src, dst = ctx.by_index[src_idx], ctx.by_index[dst_idx]
        if src is None or dst is None:
            continue
        edge = inst.edges[e_idx]
        delay = edge.cross_device_delay if src.device != dst.device else 0
        if dst.start < src.end + delay:
            ctx.add(
                "precedence",
                f"kernel {dst.kernel!r} starts at {dst.start}, before {src.kernel!r} ends at "
                f"{src.end} + delay {delay}",
            )


def _check_overlap(ctx: _Context) -> None:
    per_unit: dict[tuple[str, int], list[Assignment]] = defaultdict(list)
    for _, asg, _ in ctx.placed():
        per_unit[(asg.device, asg.unit)].append(asg)
    for (device, unit), items in per_unit.items():
        items.sort(key=lambda a: (a.start, a.end))
        latest = items[0]
        for asg in items[1:]:
            if asg.start < latest.end:
                ctx.add(
                    "overlap",
                    f"kernels {latest.kernel!r} [{latest.start}, {latest.end}) and "
                    f"{asg.kernel!r} [{asg.start}, {asg.end}) overlap on {device} unit {unit}",
                )
            if asg.end > latest.end:
                latest = asg


def _check_deadline(ctx: _Context) -> None:
    inst = ctx.instance
    if inst.soft_deadlines:
        return
    for k_idx, asg, _ in ctx.placed():
        job = inst.jobs[inst.kernel2job[k_idx]]
        if job.deadline is not None and asg.end > job.deadline:
            ctx.add(
                "deadline",
                f"kernel {asg.kernel!r} ends at {asg.end}, after job {job.name!r}'s deadline "
                f"{job.deadline}",
            )


def _profile_peaks(items: list[tuple[int, int, float]], limit: float) -> list[tuple[int, float]]:
    """Instants where a sum of ``(start, end, amount)`` intervals exceeds ``limit``.

    Returns the start of each maximal stretch over the limit with the peak level in it.
    """
    events = sorted(
        [(s, 1, a) for s, e, a in items if e > s] + [(e, 0, -a) for s, e, a in items if e > s]
    )
    level = 0.0
    out: list[tuple[int, float]] = []
    over_since: int | None = None
    peak = 0.0
    idx = 0
    tol = _EPS * max(1.0, abs(limit))
    while idx < len(events):
        time = events[idx][0]
        while idx < len(events) and events[idx][0] == time:
            level += events[idx][2]
            idx += 1
        if level > limit + tol:
            if over_since is None:
                over_since, peak = time, level
            peak = max(peak, level)
        elif over_since is not None:
            out.append((over_since, peak))
            over_since = None
    return out


def _check_power(ctx: _Context) -> None:
    inst = ctx.instance
    cap = inst.dynamic_power_cap_w
    if cap is None:
        return
    items = [(asg.start, asg.end, mode.power_w) for _, asg, mode in ctx.placed()]
    for time, peak in _profile_peaks(items, cap):
        ctx.add(
            "power",
            f"at t={time} the platform draws {peak + inst.idle_power_w:.6g} W (idle "
            f"{inst.idle_power_w:.6g} W included), above the cap {inst.power_cap_w:g} W",
        )


def _check_resources(ctx: _Context) -> None:
    inst = ctx.instance
    for res in inst.resources:
        items = [
            (asg.start, asg.end, mode.demands.get(res.name, 0.0))
            for _, asg, mode in ctx.placed()
            if mode.demands.get(res.name, 0.0) > 0
        ]
        for time, peak in _profile_peaks(items, res.capacity):
            ctx.add(
                "resource",
                f"at t={time} the running kernels demand {peak:.6g} of {res.name!r}, above its "
                f"capacity {res.capacity:g}",
            )


def _check_dvfs(ctx: _Context) -> None:
    if ctx.instance.dvfs != "per-device":
        return
    levels: dict[str, dict[str, str]] = defaultdict(dict)
    for _, asg, _ in ctx.placed():
        levels[asg.device].setdefault(asg.level, asg.kernel)
    for device, seen in levels.items():
        if len(seen) > 1:
            detail = ", ".join(f"{lvl} ({ker!r})" for lvl, ker in seen.items())
            ctx.add(
                "dvfs", f"device {device!r} runs at several levels under per-device DVFS: {detail}"
            )


def _check_reported(ctx: _Context) -> None:
    """The reported objective, bound, status and preemptions agree with the assignments."""
    inst, sched = ctx.instance, ctx.schedule
    actual = evaluate(inst, sched)
    if sched.objective is not None and not values_close(sched.objective, actual):
        ctx.add(
            "objective", f"reported objective {sched.objective} but the schedule gives {actual}"
        )
    if sched.lower_bound is not None and not value_leq(sched.lower_bound, actual):
        ctx.add("bound", f"reported lower bound {sched.lower_bound} exceeds the objective {actual}")
    if sched.status == "optimal" and (
        sched.lower_bound is None or not values_close(sched.lower_bound, actual)
    ):
        ctx.add(
            "bound",
            f"status optimal but the lower bound {sched.lower_bound} differs from the objective "
            f"{actual}",
        )
    if sched.preemptions is not None:
        listed = {tuple(p) for p in sched.preemptions}
        actual_pre = set(preemptions_of(inst, sched.assignments))
        if listed != actual_pre:
            missing = sorted(actual_pre - listed)
            extra = sorted(listed - actual_pre)
            ctx.add(
                "preemptions",
                f"reported preemptions differ from the schedule's: missing {missing}, "
                f"not preemptions {extra}",
            )


_RULES: tuple[Callable[[_Context], None], ...] = (
    _check_duration,
    _check_release,
    _check_precedence,
    _check_overlap,
    _check_deadline,
    _check_resources,
    _check_power,
    _check_dvfs,
)
