"""Fast lower bounds and a safe horizon, from the instance's data alone (no solver).

Every bound here is a relaxation of the rules in :mod:`xpuplan.models.instance`, so it holds for
every feasible schedule; the exact solvers use the same numbers as redundant constraints, and the
heuristics report them as their ``lower_bound``.

Notation: :math:`p^{min}_k` is kernel :math:`k`'s shortest duration over its modes plus the resume
time it pays whatever it does (an in-edge with a ``resume_cost`` whose endpoints share no device
can never be contiguous); :math:`h_k` (head) is a lower bound on :math:`k`'s start and :math:`q_k`
(tail) on the time between :math:`k`'s end and the makespan, both along critical paths with the
fastest modes, releases, and cross-device delays wherever the two kernels share no device.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import combinations
from typing import TypeVar, cast

from xpuplan.models import Instance, Objective
from xpuplan.models.schedule import ObjectiveValue

# Device subsets are enumerated exhaustively up to this many devices; beyond, the single devices
# and the whole platform only.
MAX_SUBSET_DEVICES = 8


_T = TypeVar("_T")


def _per_instance(fn: Callable[[Instance], _T]) -> Callable[[Instance], _T]:
    """Compute ``fn(instance)`` once per Instance (an Instance is immutable); lists are handed
    out as copies.

    The bounds ask for the same per-kernel tables many times while one model is built (43 calls
    of :func:`kernel_devices` for one CP-SAT model of a 10,000-kernel instance, 4.8 s of its
    build); the table lives in the instance's ``__dict__``, as a ``cached_property`` would.
    """
    key = f"_bounds_{fn.__name__}"

    @functools.wraps(fn)
    def wrapper(instance: Instance) -> _T:
        cached = instance.__dict__.get(key)
        if cached is None:
            cached = instance.__dict__[key] = fn(instance)
        return cast(_T, list(cached)) if isinstance(cached, list) else cached

    return wrapper


@_per_instance
def kernel_devices(instance: Instance) -> list[frozenset[int]]:
    """The device indices each kernel has a mode on."""
    device_idx = instance.device_idx
    return [frozenset(device_idx[m.device] for m in ker.modes) for ker in instance.kernels]


@_per_instance
def forced_resumes(instance: Instance) -> list[int]:
    """The resume time each kernel pays in every schedule.

    An in-edge with a ``resume_cost`` is contiguous only if both kernels run on one device, so when
    their device sets are disjoint the cost is always paid:
    :math:`r^{min}_v = \\max \\{c_e : e = (u, v), D_u \\cap D_v = \\emptyset\\}`.
    """
    devices = kernel_devices(instance)
    out = [0] * instance.num_kernels
    for edge, (src, dst) in zip(instance.edges, instance.edge_endpoints, strict=True):
        if edge.resume_cost and not devices[src] & devices[dst]:
            out[dst] = max(out[dst], edge.resume_cost)
    return out


@_per_instance
def fastest_durations(instance: Instance) -> list[int]:
    """:math:`p^{min}_k = \\min_m d_{k,m} + r^{min}_k` for every kernel."""
    resumes = forced_resumes(instance)
    return [
        min(m.duration for m in ker.modes) + resumes[k_idx]
        for k_idx, ker in enumerate(instance.kernels)
    ]


@_per_instance
def heads(instance: Instance) -> list[int]:
    """Earliest start of every kernel along critical paths.

    .. math::
        h_v = \\max\\Big(r_{j(v)},\\ \\max_{e=(u,v)} h_u + r^{min}_u
              + \\min_{m \\in M_u} \\big(d_{u,m} + \\delta_e [dev(m) \\notin D_v]\\big)\\Big)

    The cross-device delay :math:`\\delta_e` counts for a mode of ``u`` exactly when ``v`` has no
    mode on that mode's device.
    """
    devices = kernel_devices(instance)
    resumes = forced_resumes(instance)
    device_idx = instance.device_idx
    out = [instance.jobs[j_idx].release for j_idx in instance.kernel2job]
    for dst in instance.topological_order:
        for e_idx in instance.in_edges[dst]:
            src = instance.edge_endpoints[e_idx][0]
            delay = instance.edges[e_idx].cross_device_delay
            step = min(
                m.duration + (delay if device_idx[m.device] not in devices[dst] else 0)
                for m in instance.kernels[src].modes
            )
            out[dst] = max(out[dst], out[src] + resumes[src] + step)
    return out


@_per_instance
def tails(instance: Instance) -> list[int]:
    """Least time between every kernel's end and the makespan, along critical paths.

    .. math::
        q_u = \\max_{e=(u,v)} q_v + r^{min}_v
              + \\min_{m \\in M_v} \\big(d_{v,m} + \\delta_e [dev(m) \\notin D_u]\\big)
    """
    devices = kernel_devices(instance)
    resumes = forced_resumes(instance)
    device_idx = instance.device_idx
    out = [0] * instance.num_kernels
    for src in reversed(instance.topological_order):
        for e_idx in instance.out_edges[src]:
            dst = instance.edge_endpoints[e_idx][1]
            delay = instance.edges[e_idx].cross_device_delay
            step = min(
                m.duration + (delay if device_idx[m.device] not in devices[src] else 0)
                for m in instance.kernels[dst].modes
            )
            out[src] = max(out[src], out[dst] + resumes[dst] + step)
    return out


def job_completion_bounds(instance: Instance) -> list[int]:
    """:math:`C_j \\ge \\max_{k \\in j} h_k + p^{min}_k` for every job."""
    head = heads(instance)
    dur = fastest_durations(instance)
    out = [job.release for job in instance.jobs]
    for k_idx, j_idx in enumerate(instance.kernel2job):
        out[j_idx] = max(out[j_idx], head[k_idx] + dur[k_idx])
    return out


def device_subsets(instance: Instance) -> list[frozenset[int]]:
    """The device sets the work bounds range over: all of them for small platforms."""
    num = instance.num_devices
    if num <= MAX_SUBSET_DEVICES:
        return [
            frozenset(subset)
            for size in range(1, num + 1)
            for subset in combinations(range(num), size)
        ]
    return [frozenset({d_idx}) for d_idx in range(num)] + [frozenset(range(num))]


def work_bounds(instance: Instance) -> dict[frozenset[int], int]:
    """:func:`work_bound` of every subset in :func:`device_subsets`."""
    stats = _KernelStats.of(instance)
    return {subset: _work_bound(instance, subset, stats) for subset in device_subsets(instance)}


def work_bound(instance: Instance, subset: frozenset[int]) -> int:
    """The makespan bound of the kernels that can only run on the devices in ``subset``.

    With :math:`K_S = \\{k : D_k \\subseteq S\\}` and :math:`U_S = \\sum_{d \\in S} u_d` units,
    every threshold :math:`t` gives
    :math:`C_{max} \\ge t + \\lceil \\sum_{k \\in K_S, h_k \\ge t} p^{min}_k / U_S \\rceil
    + \\min_{k \\in K_S, h_k \\ge t} q_k`, and symmetrically for thresholds on the tails.
    """
    return _work_bound(instance, subset, _KernelStats.of(instance))


def _work_bound(instance: Instance, subset: frozenset[int], stats: _KernelStats) -> int:
    members = [k_idx for k_idx, devs in enumerate(stats.devices) if devs <= subset]
    if not members:
        return 0
    units = sum(instance.devices[d_idx].units for d_idx in subset)
    head, tail, dur = stats.head, stats.tail, stats.duration
    forward = _threshold_bound([(head[k], tail[k], dur[k]) for k in members], units)
    backward = _threshold_bound([(tail[k], head[k], dur[k]) for k in members], units)
    return max(forward, backward)


@dataclass(frozen=True)
class _KernelStats:
    """Per-kernel device sets, fastest durations, heads and tails, computed once."""

    devices: list[frozenset[int]]
    duration: list[int]
    head: list[int]
    tail: list[int]

    @classmethod
    def of(cls, instance: Instance) -> _KernelStats:
        return cls(
            kernel_devices(instance), fastest_durations(instance), heads(instance), tails(instance)
        )


def _threshold_bound(items: Sequence[tuple[int, int, int]], units: int) -> int:
    """``max_t t + ceil(work of items with key >= t / units) + min other of those items``."""
    best = 0
    work = 0
    least_other = math.inf
    for key, other, duration in sorted(items, reverse=True):
        work += duration
        least_other = min(least_other, other)
        best = max(best, key + -(-work // units) + int(least_other))
    return best


def cumulative_bound(instance: Instance) -> int:
    """Makespan bounds of the power cap and of every resource, seen as energies.

    Over :math:`[0, C_{max}]` the running kernels draw at most the dynamic cap
    :math:`P - \\sum_d u_d p^{idle}_d`, so
    :math:`C_{max} \\ge \\sum_k \\min_m p_{k,m} (d_{k,m} + r^{min}_k) / (P - P^{idle})`; the same
    with each resource's demands and capacity.
    """
    resumes = forced_resumes(instance)
    best = 0
    profiles: list[tuple[float, list[list[float]]]] = []
    if instance.dynamic_power_cap_w is not None:
        profiles.append(
            (instance.dynamic_power_cap_w, [[m.power_w for m in k.modes] for k in instance.kernels])
        )
    for res in instance.resources:
        profiles.append(
            (
                res.capacity,
                [[m.demands.get(res.name, 0.0) for m in k.modes] for k in instance.kernels],
            )
        )
    for capacity, rates in profiles:
        if capacity <= 0:
            continue
        area = math.fsum(
            min(
                rate * (m.duration + resumes[k_idx])
                for rate, m in zip(rows, ker.modes, strict=True)
            )
            for k_idx, (rows, ker) in enumerate(zip(rates, instance.kernels, strict=True))
        )
        best = max(best, _ceil(area / capacity))
    return best


@_per_instance
def makespan_lower_bound(instance: Instance) -> int:
    """:math:`C_{max}` bound: critical path, work per device subset, power and resource energy.

    .. math::
        C_{max} \\ge \\max\\big(\\max_k h_k + p^{min}_k + q_k,\\
        \\max_S \\text{work}(S),\\ \\text{power/resource area}\\big)
    """
    stats = _KernelStats.of(instance)
    best = max(h + d + q for h, d, q in zip(stats.head, stats.duration, stats.tail, strict=True))
    best = max(best, *(_work_bound(instance, s, stats) for s in device_subsets(instance)))
    return max(best, cumulative_bound(instance))


def assignment_lp_bound(
    instance: Instance, thresholds: int | None = None, stop: Callable[[], bool] | None = None
) -> int:
    """A makespan bound that sees unrelated devices: the assignment LP over head/tail windows.

    :func:`work_bound` charges every kernel its fastest duration, which is weak when kernels are
    fast on different devices: they cannot all run on their favourite one. For a threshold
    :math:`t` on the heads, the kernels :math:`K_t = \\{k : h_k \\ge t\\}` all run after :math:`t`
    and end at least :math:`\\min_{k \\in K_t} q_k` before the makespan, so
    :math:`C_{max} \\ge t + L_t + \\min_{k \\in K_t} q_k`, where :math:`L_t` is the optimum of the
    fractional assignment (load balancing) relaxation

    .. math::
        L_t = \\min L \\quad\\text{s.t.}\\quad \\sum_m x_{k,m} = 1\\ (k \\in K_t), \\quad
        \\sum_{k, m : dev(m) = d} (d_{k,m} + r^{min}_k)\\, x_{k,m} \\le u_d L\\ (\\forall d),
        \\quad x \\ge 0;

    the same with thresholds on the tails. Up to ``thresholds`` evenly spread values of each are
    tried (by default as many as keep the LPs' total size near 40,000 kernel rows, at least 16),
    each one LP (GLOP); the result never exceeds the optimum because every feasible
    schedule gives a feasible :math:`x` (the share of each kernel's mode, 0 or 1) with
    :math:`L` its busiest device's load per unit. Each threshold's value is a bound of its own, so
    when ``stop()`` becomes true (a solver's time budget) the thresholds left are skipped and the
    best so far is returned.
    """
    from ortools.linear_solver import pywraplp

    stats = _KernelStats.of(instance)
    resumes = forced_resumes(instance)
    device_idx = instance.device_idx
    units = [dev.units for dev in instance.devices]
    if thresholds is None:
        thresholds = max(16, 40_000 // max(1, instance.num_kernels))
    # Per kernel, each mode's device and load; the LPs below differ only in which kernels count.
    loads = [
        [(device_idx[m.device], float(m.duration + resumes[k_idx])) for m in ker.modes]
        for k_idx, ker in enumerate(instance.kernels)
    ]
    best = 0
    for key, other in ((stats.head, stats.tail), (stats.tail, stats.head)):
        values = sorted(set(key))
        step = max(1, -(-len(values) // thresholds))
        for t in values[::step]:
            if stop is not None and stop():
                return best
            members = [k_idx for k_idx in range(instance.num_kernels) if key[k_idx] >= t]
            solver = pywraplp.Solver.CreateSolver("GLOP")
            load = solver.NumVar(0.0, solver.infinity(), "load")
            rows = []  # sum of loads on d - u_d L <= 0
            for count in units:
                row = solver.Constraint(-solver.infinity(), 0.0)
                row.SetCoefficient(load, -float(count))
                rows.append(row)
            for k_idx in members:
                whole = solver.Constraint(1.0, 1.0)  # the kernel's shares sum to 1
                for d_idx, weight in loads[k_idx]:
                    share = solver.NumVar(0.0, 1.0, "")
                    whole.SetCoefficient(share, 1.0)
                    rows[d_idx].SetCoefficient(share, weight)
            solver.Objective().SetCoefficient(load, 1.0)
            solver.Objective().SetMinimization()
            if solver.Solve() != pywraplp.Solver.OPTIMAL:
                continue
            # GLOP's optimum is exact up to its tolerances: shave them off before rounding up.
            value = load.solution_value() * (1 - 1e-7) - 1e-6
            best = max(best, t + _ceil(value) + min(other[k_idx] for k_idx in members))
    return best


def makespan_bound(
    instance: Instance, *, lp: bool = False, stop: Callable[[], bool] | None = None
) -> int:
    """:func:`makespan_lower_bound`, and with ``lp`` also :func:`assignment_lp_bound` (a few LPs,
    stronger on unrelated devices; one device gives it nothing the cheap bounds miss; ``stop`` as
    there)."""
    cheap = makespan_lower_bound(instance)
    if not lp or instance.num_devices < 2:
        return cheap
    return max(cheap, assignment_lp_bound(instance, stop=stop))


def dynamic_energy_lower_bound(instance: Instance) -> float:
    """:math:`\\sum_k \\min_m p_{k,m} (d_{k,m} + r^{min}_k)`: every kernel at its cheapest mode."""
    resumes = forced_resumes(instance)
    return math.fsum(
        min(m.power_w * (m.duration + resumes[k_idx]) for m in ker.modes)
        for k_idx, ker in enumerate(instance.kernels)
    )


def part_lower_bound(instance: Instance, part: Objective, *, lp: bool = False) -> int | float:
    """A lower bound on one simple objective (see :class:`xpuplan.models.Objective` for the
    formulas).

    * makespan: :func:`makespan_bound` (with ``lp``, the assignment LP too: slower, stronger);
    * energy: :func:`dynamic_energy_lower_bound` :math:`+ P^{idle} \\cdot` the makespan bound;
    * weighted_completion: :math:`\\sum_j w_j \\underline{C}_j` (:func:`job_completion_bounds`);
    * weighted_tardiness: :math:`\\sum_j w_j \\max(0, \\underline{C}_j - d_j)`;
    * late_jobs: :math:`\\sum_j w_j [\\underline{C}_j > d_j]`.
    """
    return _part_bound(instance, part, lambda: makespan_bound(instance, lp=lp))


def _part_bound(instance: Instance, part: Objective, makespan: Callable[[], int]) -> int | float:
    """:func:`part_lower_bound` with the makespan bound from ``makespan`` (called when needed)."""
    if part.type == "makespan":
        return makespan()
    if part.type == "energy":
        return _integral(dynamic_energy_lower_bound(instance) + instance.idle_power_w * makespan())
    completions = job_completion_bounds(instance)
    if part.type == "weighted_completion":
        terms: Iterable[float] = (
            job.weight * completions[j_idx] for j_idx, job in enumerate(instance.jobs)
        )
    elif part.type == "weighted_tardiness":
        terms = (
            job.weight * max(0, completions[j_idx] - job.deadline)
            for j_idx, job in enumerate(instance.jobs)
            if job.deadline is not None
        )
    elif part.type == "late_jobs":
        terms = (
            job.weight
            for j_idx, job in enumerate(instance.jobs)
            if job.deadline is not None and completions[j_idx] > job.deadline
        )
    else:
        raise ValueError(f"not a simple objective: {part.type}")
    return _integral(math.fsum(terms))


def lower_bound(instance: Instance, *, lp: bool = False) -> ObjectiveValue:
    """A lower bound on the instance's objective: a number, or a tuple for a lexicographic one.

    A tuple of per-part bounds is a valid lexicographic bound: each part's bound holds over all
    schedules, in particular over those optimal for the earlier parts. ``lp`` adds
    :func:`assignment_lp_bound` to the makespan and energy parts (see :func:`part_lower_bound`).

    Examples
    --------
    >>> from models import Instance, Device, Job, Kernel, Mode, Edge
    >>> inst = Instance("chain", devices=(Device("cpu", units=2),), jobs=(Job("j"),),
    ...                 kernels=tuple(Kernel(f"k{i}", "j", (Mode("cpu", "-", 3),))
    ...                               for i in range(4)),
    ...                 edges=(Edge("k0", "k1"),))
    >>> lower_bound(inst)  # 4 x 3 of work on 2 units
    6
    """
    makespan = cache(lambda: makespan_bound(instance, lp=lp))  # once, whatever parts need it
    values = tuple(_part_bound(instance, part, makespan) for part in instance.objective.parts)
    return values if instance.objective.type == "lexicographic" else values[0]


def serial_upper_bound(instance: Instance) -> int:
    """A horizon: some optimal schedule (of every objective) ends by this time, if any is feasible.

    Take any feasible schedule and close every stretch after the last release where no kernel
    runs down to :math:`g = \\max_e \\delta_e` (at least 1 when some edge has a resume cost, so no
    broken edge becomes contiguous): precedences, deadlines, power, resources and contiguity still
    hold and no objective gets worse. What is left is at most

    .. math::
        \\max_j r_j + \\sum_k \\big(\\max_m d_{k,m} + \\max_{e \\to k} c_e + g\\big).
    """
    gap = max((e.cross_device_delay for e in instance.edges), default=0)
    if any(e.resume_cost for e in instance.edges):
        gap = max(gap, 1)
    resume = [0] * instance.num_kernels
    for edge, (_, dst) in zip(instance.edges, instance.edge_endpoints, strict=True):
        resume[dst] = max(resume[dst], edge.resume_cost)
    busy = sum(
        max(m.duration for m in ker.modes) + resume[k_idx] + gap
        for k_idx, ker in enumerate(instance.kernels)
    )
    return max(job.release for job in instance.jobs) + busy


def _ceil(value: float) -> int:
    """Ceiling that forgives float noise just above an integer (a bound must not overshoot)."""
    return math.ceil(value - 1e-9 * max(1.0, abs(value)))


def _integral(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
