"""PEFT: Predict Earliest Finish Time.

H. Arabnejad, J. G. Barbosa, "List scheduling algorithm for heterogeneous systems by an optimistic
cost table", IEEE Trans. Parallel and Distributed Systems 25(3), 2014.
"""

from __future__ import annotations

import numpy as np

from xpuplan.models import Instance, Schedule
from xpuplan.solvers.heuristics.list_scheduler import run, schedule_by_priority
from xpuplan.solvers.heuristics.problem import Problem, build_problem
from xpuplan.solvers.heuristics.ranks import optimistic_cost_table
from xpuplan.solvers.heuristics.timeline import Placement, Timeline


def peft(
    instance: Instance, *, problem: Problem | None = None, comm_factor: float = 1.0
) -> Schedule:
    """Schedule ``instance`` with PEFT.

    The Optimistic Cost Table :math:`OCT(t_i, p_k)`
    (:func:`xpuplan.solvers.heuristics.ranks.optimistic_cost_table`) gives each kernel the priority
    :math:`rank_{oct}(t_i) = \\frac{1}{P} \\sum_k OCT(t_i, p_k)`; ready kernels are taken in
    decreasing priority (ties by kernel index), and each goes where the optimistic EFT
    :math:`O_{EFT}(t_i, p_j) = EFT(t_i, p_j) + OCT(t_i, p_j)` is smallest (insertion-based EFT).

    Extensions: the table is per device, with the duration at the device's fastest level and the
    edge cost ``cross_device_delay * comm_factor``; the mean is over units (a device with two
    units counts twice); EFT follows every Instance rule as in
    :func:`xpuplan.solvers.heuristics.heft.heft`, over all (level, unit) of a device.
    """
    prob = build_problem(instance) if problem is None else problem
    oct_table = optimistic_cost_table(prob, prob.device_durations(), comm_factor)
    units = prob.unit_counts()
    rank = (oct_table * units[None, :]).sum(axis=1) / units.sum()
    key = (-rank).tolist()
    bias_rows: list[list[float]] = np.asarray(oct_table).tolist()

    def select(timeline: Timeline, k_idx: int, modes: list[int]) -> Placement | None:
        return timeline.earliest_finish(k_idx, modes, bias=bias_rows[k_idx])

    return run(prob, lambda p: schedule_by_priority(p, key, select))
