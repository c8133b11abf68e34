"""The two list-scheduling loops every heuristic of this package is built from.

* :func:`schedule_by_priority`: a ready list ordered by a static key (HEFT, CPOP, PEFT, MCT, MET,
  OLB, EDF); each popped kernel is placed by a heuristic-specific rule.
* :func:`schedule_by_selection`: at every step the best (kernel, placement) pair over *all* ready
  kernels is chosen (ETF, Min-Min, Max-Min, least laxity). Each ready kernel's best placement is
  cached and recomputed only when the last placement can have changed it.

A kernel is *ready* when all its predecessors are placed. Both loops share the *deadline guard*:
when the chosen placement ends after a hard deadline, the placement that ends first is taken
instead; when even that one is late, the heuristic gives up and says which kernel and deadline
failed (a heuristic never returns a schedule that breaks a hard rule).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence

from xpuplan.models import Schedule
from xpuplan.solvers.heuristics.problem import Problem
from xpuplan.solvers.heuristics.timeline import Placement, Timeline, failed

# Picks a placement for one kernel among its allowed modes (None: the kernel has no mode left).
Select = Callable[[Timeline, int, list[int]], Placement | None]
# Orders ready kernels by their cached best placement; the smallest key is placed next.
PairKey = Callable[[int, Placement], tuple[float, ...]]


class NoSchedule(Exception):
    """A heuristic cannot complete its schedule; the message says why."""


def commit(timeline: Timeline, k_idx: int, choice: Placement | None, modes: list[int]) -> None:
    """Place ``choice`` for ``k_idx``, applying the deadline guard (see the module docstring)."""
    prob = timeline.problem
    name = prob.instance.kernels[k_idx].name
    if choice is None:
        raise NoSchedule(
            f"kernel {name!r} has no mode left it may use (power cap or per-device DVFS levels)"
        )
    deadline = prob.hard_deadline[k_idx]
    if choice.end > deadline:
        fastest = timeline.earliest_finish(k_idx, modes)
        if fastest is not None and fastest.end < choice.end:
            choice = fastest
        if choice.end > deadline:
            job = prob.instance.jobs[prob.kernel_job[k_idx]]
            raise NoSchedule(
                f"kernel {name!r} cannot end before job {job.name!r}'s deadline {job.deadline} "
                f"(earliest end {choice.end})"
            )
    timeline.place(choice)


def _indegrees(prob: Problem) -> list[int]:
    return [len(preds) for preds in prob.preds]


def schedule_by_priority(
    prob: Problem, key: Sequence[float] | Sequence[tuple[float, ...]], select: Select
) -> Timeline:
    """Place ready kernels in increasing ``key`` order (ties by kernel index) with ``select``.

    Raises
    ------
    NoSchedule
        When a kernel has no usable mode or misses a hard deadline.
    """
    timeline = Timeline(prob)
    waiting = _indegrees(prob)
    ready = [(key[k_idx], k_idx) for k_idx in range(prob.num_kernels) if waiting[k_idx] == 0]
    heapq.heapify(ready)
    succs = prob.succs
    while ready:
        _, k_idx = heapq.heappop(ready)
        modes = timeline.allowed_modes(k_idx)
        commit(timeline, k_idx, select(timeline, k_idx, modes), modes)
        for dst, _ in succs[k_idx]:
            waiting[dst] -= 1
            if waiting[dst] == 0:
                heapq.heappush(ready, (key[dst], dst))
    return timeline


def schedule_by_selection(prob: Problem, pair_key: PairKey, *, by_start: bool = False) -> Timeline:
    """Repeatedly place the ready kernel whose best placement has the smallest ``pair_key``.

    Each ready kernel's best placement is its earliest-finishing one (earliest-starting with
    ``by_start``, ties by finish), cached in a heap by ``pair_key`` (stale entries are skipped
    when popped). Placing a kernel over ``[s, e)`` on unit ``u`` only makes other options worse,
    and only those on ``u`` that overlap ``[s, e)`` (on any unit when a power cap or a resource
    couples the units): a cached best that does not overlap stays feasible, hence best. So only
    the overlapping bests are recomputed, and all of them when a per-device DVFS level was just
    fixed.

    Raises
    ------
    NoSchedule
        When a kernel has no usable mode or misses a hard deadline.
    """
    timeline = Timeline(prob)
    waiting = _indegrees(prob)
    best: dict[int, Placement | None] = {}
    version = [0] * prob.num_kernels
    heap: list[tuple[tuple[float, ...], int, int]] = []

    def refresh(k_idx: int) -> None:
        placement = timeline.earliest_finish(
            k_idx, timeline.allowed_modes(k_idx), by_start=by_start
        )
        best[k_idx] = placement
        version[k_idx] += 1
        # A kernel with no placement left goes first, so that commit reports it.
        key = (-math.inf,) if placement is None else pair_key(k_idx, placement)
        heapq.heappush(heap, (key, k_idx, version[k_idx]))

    for k_idx in range(prob.num_kernels):
        if waiting[k_idx] == 0:
            refresh(k_idx)
    succs = prob.succs
    profiles = timeline.has_profiles
    while heap:
        _, chosen, stamp = heapq.heappop(heap)
        if stamp != version[chosen] or chosen not in best:
            continue
        choice = best.pop(chosen)
        locks_before = list(timeline.level_lock)
        commit(timeline, chosen, choice, timeline.allowed_modes(chosen))
        unit, start, end = timeline.unit[chosen], timeline.start[chosen], timeline.end[chosen]
        stale_all = timeline.level_lock != locks_before
        for k_idx, placement in list(best.items()):
            if (
                stale_all
                or placement is None
                or (
                    placement.start < end
                    and start < placement.end
                    and (profiles or placement.unit == unit)
                )
            ):
                refresh(k_idx)
        for dst, _ in succs[chosen]:
            waiting[dst] -= 1
            if waiting[dst] == 0:
                refresh(dst)
    return timeline


def run(prob: Problem, build: Callable[[Problem], Timeline]) -> Schedule:
    """``build(prob)`` as a Schedule, or an ``unknown`` Schedule saying why there is none."""
    try:
        timeline = build(prob)
    except NoSchedule as exc:
        return failed(prob.instance, str(exc))
    return timeline.to_schedule()
