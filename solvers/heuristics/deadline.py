"""Deadline-aware list scheduling: earliest deadline first and least laxity first.

C. L. Liu, J. W. Layland, "Scheduling algorithms for multiprogramming in a hard-real-time
environment", JACM 20(1), 1973 (EDF); A. K. Mok, "Fundamental design problems of distributed
systems for the hard-real-time environment", PhD thesis, MIT, 1983 (least laxity); H. Chetto,
M. Silly, T. Bouchentouf, "Dynamic scheduling of real-time tasks under precedence constraints",
Real-Time Systems 2(3), 1990 (deadlines of dependent tasks).

Precedence is folded into the deadlines as in Chetto et al.: a kernel must finish early enough for
its successors to run, even on their fastest mode and without any delay,

.. math::

    d^*_k = \\min\\big(D_{job(k)}, \\min_{j \\in succ(k)} d^*_j - w^{min}_j\\big),

where :math:`D` is the job's deadline (:math:`+\\infty` when it has none) and :math:`w^{min}_j`
the shortest duration among the modes of ``j``. Both heuristics place each kernel where it
finishes first (insertion-based, every Instance rule honoured); they differ in which ready kernel
goes next. They apply to soft deadlines too (``late_jobs``, ``weighted_tardiness``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from xpuplan.models import Instance, Schedule
from xpuplan.solvers.heuristics.heft import earliest_finish
from xpuplan.solvers.heuristics.list_scheduler import (
    run,
    schedule_by_priority,
    schedule_by_selection,
)
from xpuplan.solvers.heuristics.problem import Problem, build_problem
from xpuplan.solvers.heuristics.ranks import upward_ranks
from xpuplan.solvers.heuristics.timeline import Placement


def edf(instance: Instance, *, problem: Problem | None = None) -> Schedule:
    """Earliest deadline first: ready kernels in increasing :math:`d^*_k`.

    Ties (kernels of jobs without deadline, all at :math:`+\\infty`) go by decreasing HEFT upward
    rank, then kernel index.
    """
    prob = build_problem(instance) if problem is None else problem
    due = modified_deadlines(prob)
    rank = upward_ranks(prob, prob.mean_durations())
    key = [(due[k_idx], -rank[k_idx]) for k_idx in range(prob.num_kernels)]
    return run(prob, lambda p: schedule_by_priority(p, key, earliest_finish))


def least_laxity(instance: Instance, *, problem: Problem | None = None) -> Schedule:
    """Least laxity first: at every step the ready kernel with the least slack goes next.

    A ready kernel's laxity is :math:`d^*_k - EFT_k`, its modified deadline minus the earliest it
    can finish now; it is placed where it finishes at :math:`EFT_k`. Ties (kernels without a
    deadline) go by decreasing HEFT upward rank, then kernel index.
    """
    prob = build_problem(instance) if problem is None else problem
    due = modified_deadlines(prob)
    rank = upward_ranks(prob, prob.mean_durations())

    def pair_key(k_idx: int, placement: Placement) -> tuple[float, ...]:
        return (due[k_idx] - placement.end, -rank[k_idx])

    return run(prob, lambda p: schedule_by_selection(p, pair_key))


def modified_deadlines(prob: Problem) -> list[float]:
    """:math:`d^*_k` for every kernel (see the module docstring)."""
    shortest = [math.inf] * prob.num_kernels
    for m_idx, k_idx in enumerate(prob.mode_kernel):
        shortest[k_idx] = min(shortest[k_idx], prob.mode_duration[m_idx])
    return folded_deadlines(prob, shortest)


def folded_deadlines(prob: Problem, durations: Sequence[float]) -> list[float]:
    """Job deadlines folded back along successors: each kernel must end early enough for its
    successors to run for ``durations`` (one per kernel) before their own folded deadlines."""
    due = list(prob.job_deadline)
    succs = prob.succs
    for k_idx in reversed(prob.topological_order):
        for dst, _ in succs[k_idx]:
            due[k_idx] = min(due[k_idx], due[dst] - durations[dst])
    return due
