"""HEFT: Heterogeneous Earliest Finish Time, insertion-based.

H. Topcuoglu, S. Hariri, M.-Y. Wu, "Performance-effective and low-complexity task scheduling for
heterogeneous computing", IEEE Trans. Parallel and Distributed Systems 13(3), 2002.
"""

from __future__ import annotations

from xpuplan.models import Instance, Schedule
from xpuplan.solvers.heuristics.list_scheduler import run, schedule_by_priority
from xpuplan.solvers.heuristics.problem import Problem, build_problem
from xpuplan.solvers.heuristics.ranks import upward_ranks
from xpuplan.solvers.heuristics.timeline import Placement, Timeline


def heft(
    instance: Instance, *, problem: Problem | None = None, comm_factor: float = 1.0
) -> Schedule:
    """Schedule ``instance`` with insertion-based HEFT.

    Kernels are taken in decreasing upward rank
    :math:`rank_u(i) = \\bar w_i + \\max_{j \\in succ(i)} (\\bar c_{ij} + rank_u(j))` (ties by
    kernel index) and each goes to the (mode, unit) where it finishes first, in the earliest gap
    of the unit that fits it.

    Extensions of the paper's model (one processor = one unit; one cost per task and processor):

    * :math:`\\bar w_i` is the mean over units of the kernel's duration at its device's fastest
      level (devices it has no mode on are left out); :math:`\\bar c_{ij}` is the edge's
      ``cross_device_delay`` times ``comm_factor``.
    * The finish time of a (mode, unit) follows every rule of the Instance: releases, the
      cross-device delay only between different devices, resume costs with the real contiguity
      rule, power cap and resources over the kernel's whole run, per-device DVFS locks and the
      deadline guard (:mod:`xpuplan.solvers.heuristics.list_scheduler`).

    Parameters
    ----------
    instance
        The instance to schedule.
    problem
        Its flat arrays, when the caller already built them.
    comm_factor
        Weight of the delays in the ranks. 1 is the paper's; SAGA's HEFT averages a transfer over
        all pairs of processors *including* a processor with itself, which is
        ``(m - 1) / (m + 1)`` of the delay on ``m`` processors (used by the speed benchmark to
        reproduce its schedules).

    Returns
    -------
    Schedule
        ``feasible`` with every kernel placed, or ``unknown`` with a message when a hard deadline
        cannot be met.
    """
    prob = build_problem(instance) if problem is None else problem
    rank = upward_ranks(prob, prob.mean_durations(), comm_factor)
    key = [-value for value in rank]
    return run(prob, lambda p: schedule_by_priority(p, key, earliest_finish))


def earliest_finish(timeline: Timeline, k_idx: int, modes: list[int]) -> Placement | None:
    """The insertion-based earliest-finish-time placement (HEFT's processor selection)."""
    return timeline.earliest_finish(k_idx, modes)
