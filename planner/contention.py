"""Contention-aware planning: plans whose kernels the runtime's bandwidth contention never slows.

The runtime's contention model (:mod:`xpuplan.runtime.platform_sim`) slows kernels only when
more than one running kernel streams memory and their bandwidth demands :math:`b_k` (each mode's
``mem_bw_gbps``) sum above the shared capacity :math:`B`
(:func:`xpuplan.runtime.platform_sim.contention_capacity_gbps`, calibrated to Agent.xpu's 1.59x
pair slowdown); then at least the most demanding kernel is slowed (max-min shares). So a kernel
is slowed at some instant exactly when

.. math:: |\\{k \\in R(t) : b_k > 0\\}| \\ge 2 \\quad\\text{and}\\quad \\sum_{k \\in R(t)} b_k > B,

and a schedule in which no kernel is ever slowed is one that keeps, at every instant,

.. math:: \\sum_{k \\in R(t)} \\min(b_k, B) \\le B,

a cumulative constraint over the modes' clipped demands: clipping at :math:`B` keeps a lone
kernel that streams more than :math:`B` feasible (the runtime never slows a lone stream) and
forbids it any co-runner that streams at all, and kernels that stream nothing are free. That is
what ``--contention`` plans: the Instance gets the ``mem_bw_gbps`` resource at :math:`B` rounded
down to 1e-3 GB/s, each mode's demand rounded up to 1e-3 GB/s and clipped there (so every solver,
CP-SAT's exact integer scaling included, reads exact numbers, and rounding can only make the plan
more careful), and the solvers handle the rest through their resource constraints (all but the
disjunctive ``milp``, which refuses resources). With zero noise and instant DVFS switches (the
Instance's assumption; ``docs/contention.md`` for the simulator's 100 us default) the runtime
then runs the plan with every rate at 1, so kernels end exactly as planned.

What the model does not do: price contention. A plan that lets two memory-bound kernels co-run
and slow down could be better (HaX-CoNN, PPoPP 2024, puts a piecewise slowdown into its solver),
but under max-min sharing a kernel's rate changes at every start and end of another stream, so a
fixed stretched "shared" duration is exact only for kernels that start together with a fixed
partner and nothing else streaming; this module forbids slowdowns instead (see
``benchmarks/results/contention.md`` for what that costs).

A plan made with ``--contention`` records ``settings["contention"] = {"capacity_gbps": B}``
(:func:`contention_settings`); :func:`check_plan_contention` compares it with the platform a plan
is simulated on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from xpuplan.models import MEM_BW, Instance, InvalidInput, Kernel, Mode, Resource, Schedule
from xpuplan.models.plan import Plan
from xpuplan.models.platform import Platform
from xpuplan.runtime.platform_sim import contention_capacity_gbps

#: The resolution of the planned capacity and demands (GB/s): B is rounded down, demands up.
RESOLUTION_GBPS = 1e-3
#: The key of a plan's settings that records a contention-aware plan.
SETTINGS_KEY = "contention"


def planned_capacity_gbps(platform: Platform) -> float:
    """The runtime's contention capacity :math:`B` of ``platform`` rounded down to 1e-3 GB/s.

    Raises
    ------
    InvalidInput
        When that rounds to 0 (a platform whose memory or devices stream almost nothing).

    Examples
    --------
    >>> from xpuplan.models.presets import get_platform
    >>> planned_capacity_gbps(get_platform("core-ultra-125h"))
    50.576
    """
    exact = contention_capacity_gbps(platform)
    planned = math.floor(round(exact / RESOLUTION_GBPS, 6)) * RESOLUTION_GBPS
    if planned <= 0:
        raise InvalidInput(
            f"gives a contention capacity of {exact:.3g} GB/s, below the {RESOLUTION_GBPS:g} "
            "GB/s a contention-aware plan resolves",
            field="mem_bw_gbps",
            value=platform.mem_bw_gbps,
        )
    return round(planned, 3)


def contention_kernel(kernel: Kernel, capacity: float) -> Kernel:
    """``kernel`` with each mode's bandwidth demand rounded up to 1e-3 GB/s and clipped at
    ``capacity`` (a mode without a demand streams nothing)."""
    modes = []
    for mode in kernel.modes:
        demand = mode.demands.get(MEM_BW, 0.0)
        rounded = math.ceil(round(demand / RESOLUTION_GBPS, 6)) * RESOLUTION_GBPS
        clipped = round(min(rounded, capacity), 3)
        modes.append(Mode(mode.device, mode.level, mode.duration, mode.power_w, {MEM_BW: clipped}))
    return Kernel(kernel.name, kernel.job, tuple(modes), kernel.attrs)


def _bandwidth_resource(instance: Instance) -> Resource | None:
    """The instance's ``mem_bw_gbps`` resource (None: it has none)."""
    r_idx = instance.resource_idx.get(MEM_BW)
    return None if r_idx is None else instance.resources[r_idx]


def contention_settings(instance: Instance) -> dict[str, Any]:
    """What a plan of the contention-aware ``instance`` records in its settings (under
    :data:`SETTINGS_KEY`): the capacity of its ``mem_bw_gbps`` resource."""
    resource = _bandwidth_resource(instance)
    if resource is None:
        raise InvalidInput(
            f"has no {MEM_BW} resource: it is not contention-aware",
            field="instance",
            value=instance.name,
        )
    return {"capacity_gbps": resource.capacity}


def plan_contention_capacity(plan: Plan) -> float | None:
    """The capacity a plan was made contention-aware for (None: a contention-blind plan).

    Raises
    ------
    InvalidInput
        When ``settings.contention`` is malformed, or the instance's ``mem_bw_gbps`` resource
        is missing or allows more than the recorded capacity (the claim would be false).
    """
    record = plan.settings.get(SETTINGS_KEY)
    if record is None:
        return None
    field = f"settings.{SETTINGS_KEY}.capacity_gbps"
    capacity = record.get("capacity_gbps") if isinstance(record, dict) else None
    if isinstance(capacity, bool) or not isinstance(capacity, int | float) or not capacity > 0:
        raise InvalidInput("must be a number of GB/s > 0", field=field, value=capacity)
    resource = _bandwidth_resource(plan.instance)
    if resource is None or resource.capacity > capacity * (1 + 1e-9):
        raise InvalidInput(
            f"is not enforced by the instance (its {MEM_BW} resource: "
            f"{'none' if resource is None else f'{resource.capacity:g}'})",
            field=field,
            value=capacity,
        )
    return float(capacity)


def check_plan_contention(plan: Plan, platform: Platform) -> str | None:
    """A warning when simulating ``plan`` on ``platform`` may slow its kernels, else None.

    A contention-aware plan made for a larger capacity than ``platform``'s (another platform
    or power mode) can be slowed; a plan whose kernels carry no bandwidth demands cannot be
    slowed by the simulated contention at all, because the runtime takes the kernels from the
    plan, which then say they move no memory.
    """
    capacity = plan_contention_capacity(plan)
    if capacity is not None:
        here = planned_capacity_gbps(platform)
        if capacity > here + RESOLUTION_GBPS / 2:
            return (
                f"the plan is contention-aware for {capacity:g} GB/s, above the contention "
                f"capacity of {platform.name} ({here:g} GB/s): co-running kernels may slow down"
            )
        return None
    if not any(MEM_BW in m.demands for k in plan.instance.kernels for m in k.modes):
        return (
            "the plan's kernels carry no memory-bandwidth demands, so the simulated contention "
            "cannot slow them (plan with --contention, or --memory-bandwidth, to simulate "
            "their memory traffic)"
        )
    return None


def with_traffic(plan: Plan, traffic: Instance) -> Plan:
    """``plan``'s schedule on the same kernels carrying their bandwidth demands, unconstrained.

    A contention-blind plan's instance has no demands, so the runtime would run its kernels as
    if they moved no memory. ``traffic`` is the same scenario built with the demands
    (``PlanningOptions(memory_bandwidth=True)`` or ``contention=True``); its ``mem_bw_gbps``
    resource is lifted to the sum of every kernel's largest demand, which no schedule can
    exceed, so ``plan``'s schedule stays valid and the simulator, given the platform, slows
    the kernels that the schedule makes contend (:func:`xpuplan.runtime.api.simulate`).

    Raises
    ------
    InvalidInput
        When ``traffic`` has no demands or other kernels or modes than ``plan``'s instance.
    """
    inst = plan.instance
    if traffic.name != inst.name or [k.name for k in traffic.kernels] != [
        k.name for k in inst.kernels
    ]:
        raise InvalidInput(
            "has other kernels than the plan's instance", field="traffic", value=traffic.name
        )
    for ker, other in zip(inst.kernels, traffic.kernels, strict=True):
        ours = [(m.device, m.level, m.duration, m.power_w) for m in ker.modes]
        theirs = [(m.device, m.level, m.duration, m.power_w) for m in other.modes]
        if ours != theirs:
            raise InvalidInput(
                "has other modes than the plan's instance", field="traffic", value=ker.name
            )
    total = sum(max(m.demands.get(MEM_BW, 0.0) for m in k.modes) for k in traffic.kernels)
    if not total > 0:
        raise InvalidInput("has no bandwidth demands", field="traffic", value=traffic.name)
    others = tuple(r for r in traffic.resources if r.name != MEM_BW)
    lifted = replace(traffic, resources=(*others, Resource(MEM_BW, math.ceil(total))))
    settings = {k: v for k, v in plan.settings.items() if k != SETTINGS_KEY}
    return replace(plan, instance=lifted, settings=settings)


@dataclass(frozen=True)
class EndShift:
    """How far a run's kernel ends are from a reference schedule's (:func:`end_shift`).

    Parameters
    ----------
    max_us
        The largest :math:`|e_k - e^{ref}_k|` over the kernels both placed.
    max_rel
        The largest :math:`|e_k - e^{ref}_k| / (e^{ref}_k - s^{ref}_k)`: the shift as a share of
        the kernel's reference duration (0.02 is "within 2 %").
    kernel
        The kernel with the largest relative shift (None when no kernel shifted).
    missing
        Kernels of the reference that the run did not place (e.g. still running at its end).
    late_jobs
        Jobs of ``instance`` that the run finished after their deadline or did not finish.
    """

    max_us: float
    max_rel: float
    kernel: str | None
    missing: int
    late_jobs: int


def end_shift(instance: Instance, reference: Schedule, run: Schedule) -> EndShift:
    """Compare the kernel ends of ``run`` (e.g. a simulated plan) with ``reference``'s.

    Examples
    --------
    >>> from xpuplan.models import Assignment, Device, Job, Kernel, Mode
    >>> inst = Instance("t", devices=(Device("cpu"),), jobs=(Job("j", 0, 12),),
    ...                 kernels=(Kernel("k", "j", (Mode("cpu", "max", 10),)),))
    >>> plan = Schedule("t", (Assignment("k", "cpu", 0, "max", 0, 10),))
    >>> ran = Schedule("t", (Assignment("k", "cpu", 0, "max", 0, 13),))
    >>> end_shift(inst, plan, ran)
    EndShift(max_us=3, max_rel=0.3, kernel='k', missing=0, late_jobs=1)
    """
    planned = reference.by_kernel()
    ran = run.by_kernel()
    max_us: float = 0
    max_rel, worst = 0.0, None
    for name, asg in planned.items():
        got = ran.get(name)
        if got is None:
            continue
        shift = abs(got.end - asg.end)
        max_us = max(max_us, shift)
        rel = shift / max(asg.end - asg.start, 1)
        if rel > max_rel:
            max_rel, worst = rel, name
    ends: dict[str, float] = {}
    unfinished: set[str] = set()
    for ker in instance.kernels:
        got = ran.get(ker.name)
        if got is None:
            unfinished.add(ker.job)
        else:
            ends[ker.job] = max(ends.get(ker.job, 0), got.end)
    late = sum(
        1
        for job in instance.jobs
        if job.name in unfinished
        or (job.deadline is not None and ends.get(job.name, 0) > job.deadline)
    )
    missing = sum(1 for name in planned if name not in ran)
    return EndShift(max_us, max_rel, worst, missing, late)
