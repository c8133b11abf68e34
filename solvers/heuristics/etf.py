"""ETF: Earliest Task First.

J.-J. Hwang, Y.-C. Chow, F. D. Anger, C.-Y. Lee, "Scheduling precedence graphs in systems with
interprocessor communication times", SIAM Journal on Computing 18(2), 1989.
"""

from __future__ import annotations

from xpuplan.models import Instance, Schedule
from xpuplan.solvers.heuristics.list_scheduler import run, schedule_by_selection
from xpuplan.solvers.heuristics.problem import Problem, build_problem
from xpuplan.solvers.heuristics.ranks import upward_ranks
from xpuplan.solvers.heuristics.timeline import Placement


def etf(instance: Instance, *, problem: Problem | None = None) -> Schedule:
    """Schedule ``instance`` with ETF.

    At every step, among all ready kernels and all (mode, unit) pairs, the pair that can *start*
    earliest is scheduled; ties go to the kernel with the higher static level (the longest path of
    mean durations from it to an exit, communication left out, as in the paper), then to the lower
    kernel index. Each kernel's earliest start on a (mode, unit) follows every Instance rule (see
    :mod:`xpuplan.solvers.heuristics.timeline`).

    Extensions: a processor is a (device level, unit); a kernel may start in an idle gap of a unit
    (insertion), not only after the unit's last kernel.
    """
    prob = build_problem(instance) if problem is None else problem
    static_level = upward_ranks(prob, prob.mean_durations(), comm_factor=0.0)

    def pair_key(k_idx: int, placement: Placement) -> tuple[float, ...]:
        return (placement.start, -static_level[k_idx])

    return run(prob, lambda p: schedule_by_selection(p, pair_key, by_start=True))
