"""Min-Min and Max-Min.

O. H. Ibarra, C. E. Kim, "Heuristic algorithms for scheduling independent tasks on nonidentical
processors", Journal of the ACM 24(2), 1977; T. D. Braun et al., "A comparison of eleven static
heuristics for mapping a class of independent tasks onto heterogeneous distributed computing
systems", JPDC 61(6), 2001.

Both compute, for every unmapped task, its minimum completion time over the machines. Min-Min then
maps the task whose minimum is smallest, Max-Min the task whose minimum is largest, each onto the
machine that gives that minimum, and repeats.

Extensions to DAGs and to the Instance: the candidates are the *ready* kernels (all predecessors
mapped), a machine is a (mode, unit), and completion times follow every Instance rule with
insertion into idle gaps (see :mod:`xpuplan.solvers.heuristics.timeline`); ties go to the lower
kernel index.
"""

from __future__ import annotations

from xpuplan.models import Instance, Schedule
from xpuplan.solvers.heuristics.list_scheduler import run, schedule_by_selection
from xpuplan.solvers.heuristics.problem import Problem, build_problem
from xpuplan.solvers.heuristics.timeline import Placement


def min_min(instance: Instance, *, problem: Problem | None = None) -> Schedule:
    """Min-Min (see the module docstring)."""
    prob = build_problem(instance) if problem is None else problem
    return run(prob, lambda p: schedule_by_selection(p, _smallest_end))


def max_min(instance: Instance, *, problem: Problem | None = None) -> Schedule:
    """Max-Min (see the module docstring)."""
    prob = build_problem(instance) if problem is None else problem
    return run(prob, lambda p: schedule_by_selection(p, _largest_end))


def _smallest_end(k_idx: int, placement: Placement) -> tuple[float, ...]:
    return (placement.end,)


def _largest_end(k_idx: int, placement: Placement) -> tuple[float, ...]:
    return (-placement.end,)
