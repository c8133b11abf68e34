"""CPOP: Critical Path On a Processor.

H. Topcuoglu, S. Hariri, M.-Y. Wu, "Performance-effective and low-complexity task scheduling for
heterogeneous computing", IEEE Trans. Parallel and Distributed Systems 13(3), 2002.
"""

from __future__ import annotations

import math

import numpy as np

from xpuplan.models import Instance, Schedule
from xpuplan.solvers.heuristics.list_scheduler import run, schedule_by_priority
from xpuplan.solvers.heuristics.problem import Problem, build_problem
from xpuplan.solvers.heuristics.ranks import downward_ranks, upward_ranks
from xpuplan.solvers.heuristics.timeline import Placement, Timeline


def cpop(
    instance: Instance, *, problem: Problem | None = None, comm_factor: float = 1.0
) -> Schedule:
    """Schedule ``instance`` with CPOP.

    A kernel's priority is :math:`rank_u(i) + rank_d(i)` (see
    :mod:`xpuplan.solvers.heuristics.ranks`);
    :math:`|CP|` is the largest priority of an entry kernel, and the critical path is walked from
    that entry through successors whose priority equals :math:`|CP|` (ties by kernel index). The
    critical-path processor :math:`p_{CP}` minimises :math:`\\sum_{i \\in CP} w(i, p)`. Ready
    kernels are taken in decreasing priority; a critical-path kernel goes to :math:`p_{CP}`, any
    other to the (mode, unit) where it finishes first (insertion-based).

    Extensions: :math:`p_{CP}` is a device, with :math:`w(i, p)` the duration at its fastest level,
    chosen among the devices every critical-path kernel has a mode on (none: every kernel is placed
    by earliest finish time); on it a critical-path kernel takes the unit and level where it
    finishes first, and any device when the per-device DVFS lock leaves it no mode there. Costs,
    ``comm_factor`` and every Instance rule are as in :func:`xpuplan.solvers.heuristics.heft.heft`.
    """
    prob = build_problem(instance) if problem is None else problem
    table = prob.device_durations()
    mean_cost = prob.mean_durations(table)
    priority = [
        up + down
        for up, down in zip(
            upward_ranks(prob, mean_cost, comm_factor),
            downward_ranks(prob, mean_cost, comm_factor),
            strict=True,
        )
    ]
    on_path = critical_path(prob, priority)
    cp_cost = table[on_path].sum(axis=0) if on_path else np.full(prob.num_devices, np.inf)
    cp_device = int(np.argmin(cp_cost)) if np.isfinite(cp_cost).any() else -1
    is_critical = [False] * prob.num_kernels
    for k_idx in on_path:
        is_critical[k_idx] = True
    mode_device = prob.mode_device

    def select(timeline: Timeline, k_idx: int, modes: list[int]) -> Placement | None:
        if is_critical[k_idx]:
            on_cp = [m_idx for m_idx in modes if mode_device[m_idx] == cp_device]
            if on_cp:
                return timeline.earliest_finish(k_idx, on_cp)
        return timeline.earliest_finish(k_idx, modes)

    key = [-value for value in priority]
    return run(prob, lambda p: schedule_by_priority(p, key, select))


def critical_path(prob: Problem, priority: list[float]) -> list[int]:
    """Kernels of CPOP's critical path, from the entry kernel with the largest priority."""
    entries = [k_idx for k_idx in range(prob.num_kernels) if not prob.preds[k_idx]]
    if not entries:
        return []
    length = max(priority[k_idx] for k_idx in entries)
    tol = 1e-9 * max(1.0, abs(length))
    k_idx = next(k for k in entries if priority[k] >= length - tol)
    path = [k_idx]
    while True:
        nxt = [
            dst for dst, _ in prob.succs[k_idx] if math.isclose(priority[dst], length, abs_tol=tol)
        ]
        if not nxt:
            return path
        k_idx = min(nxt)
        path.append(k_idx)
