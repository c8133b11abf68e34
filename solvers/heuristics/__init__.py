"""List-scheduling heuristics on the whole Instance, each registered as a solver.

Every heuristic of :data:`~xpuplan.solvers.heuristics.portfolio.HEURISTICS` is registered under its
name (``solve(inst, "heft")``), and again with the DVFS post-pass
(:func:`~xpuplan.solvers.heuristics.dvfs.lower_levels`) as ``"<name>+dvfs"``; ``"best-heuristic"``
runs
:func:`best_heuristic_schedule`. They report ``feasible`` with the cheap lower bound of
:mod:`xpuplan.solvers.bounds`, or ``unknown`` with a message when they find no schedule that keeps
the hard deadlines (a heuristic proves nothing, so never ``infeasible``).
"""

from __future__ import annotations

from typing import Any

from xpuplan.models import Instance, Schedule
from xpuplan.solvers.bounds import lower_bound
from xpuplan.solvers.heuristics.dvfs import lower_levels, repair_power_cap
from xpuplan.solvers.heuristics.portfolio import (
    DVFS_SUFFIX,
    HEURISTICS,
    best_heuristic_schedule,
    default_names,
    heuristic_names,
    run_heuristic,
)
from xpuplan.solvers.heuristics.timeline import failed
from xpuplan.solvers.registry import SolverFn, register

__all__ = [
    "HEURISTICS",
    "best_heuristic_schedule",
    "default_names",
    "heuristic_names",
    "lower_levels",
    "repair_power_cap",
    "run_heuristic",
]


def _with_bound(instance: Instance, schedule: Schedule) -> Schedule:
    if not schedule.is_solution:
        return schedule
    return schedule.replace(lower_bound=lower_bound(instance))


def _solver_for(name: str) -> SolverFn:
    def solve_with_heuristic(
        instance: Instance,
        *,
        time_limit: float | None,
        workers: int | None,
        seed: int,
        hint: Schedule | None,
        **options: Any,
    ) -> Schedule:
        """A heuristic runs to completion: the limits, seed and hint do not apply to it."""
        return _with_bound(instance, run_heuristic(instance, name))

    return solve_with_heuristic


def _solve_best(
    instance: Instance,
    *,
    time_limit: float | None,
    workers: int | None,
    seed: int,
    hint: Schedule | None,
    **options: Any,
) -> Schedule:
    best = best_heuristic_schedule(instance, seed=seed)
    if best is None:
        return failed(instance, "no heuristic found a schedule that keeps the hard deadlines")
    return _with_bound(instance, best)


for _heur in HEURISTICS:
    register(_heur.name, kind="heuristic", description=_heur.description)(_solver_for(_heur.name))
for _heur in HEURISTICS:
    register(
        _heur.name + DVFS_SUFFIX,
        kind="heuristic",
        description=f"{_heur.description}, then DVFS slack reclamation",
    )(_solver_for(_heur.name + DVFS_SUFFIX))
register(
    "best-heuristic",
    kind="heuristic",
    description="the best schedule of the list-scheduling heuristics for the objective",
)(_solve_best)
