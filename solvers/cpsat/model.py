"""The CP-SAT model of an Instance: variables, constraints and objectives put together, and one
solve of one objective stage.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ortools.sat.python.cp_model import (
    FEASIBLE,
    INFEASIBLE,
    MODEL_INVALID,
    OPTIMAL,
    CpModel,
    CpSolver,
    CpSolverStatus,
)

from xpuplan.models import Assignment, Instance, Schedule
from xpuplan.solvers.cpsat.callback import Progress, ProgressFn
from xpuplan.solvers.cpsat.constraints import Constraints
from xpuplan.solvers.cpsat.data import ModelData
from xpuplan.solvers.cpsat.interrupt import solve_interruptibly
from xpuplan.solvers.cpsat.objective import ObjectiveTerm, objective_term
from xpuplan.solvers.cpsat.solution import assignments_from_values
from xpuplan.solvers.cpsat.variables import Variables
from xpuplan.solvers.exact import Deadline

# Scheduling propagators CP-SAT leaves off by default. They give the bounds: on the STG set they
# close 78 of the 84 rows the published tables leave open, mostly in under a second, against 53
# without them (benchmarks/results/solvers.md). Timetable edge finding matters most.
DEFAULT_PARAMS: Mapping[str, Any] = {
    "use_timetable_edge_finding_in_cumulative": True,
    "use_overload_checker_in_cumulative": True,
    "use_hard_precedences_in_cumulative": True,
    "exploit_all_precedences": True,
}
# Presolve probing propagates every literal through the scheduling constraints; on a model with
# thousands of optional intervals (the video-call plan: 5,994) it ate a whole 10 s stage before the
# search began. Large models skip it.
LARGE_MODEL_INTERVALS = 2000
LARGE_MODEL_PARAMS: Mapping[str, Any] = {"cp_model_probing_level": 0}
# Under a time limit, the assignment LP bound (xpuplan.solvers.bounds.assignment_lp_bound) stops
# once this share of the limit has passed (on the 666-kernel video-call instance its 77 LPs take
# seconds).
LP_BOUND_SHARE = 0.25


@dataclass(frozen=True)
class SolverSettings:
    """How to run CP-SAT: time limit (None: none), workers, seed, logging, extra parameters.

    ``params`` are set on ``CpSolver.parameters`` by name (e.g. ``{"linearization_level": 2}``)
    after :data:`DEFAULT_PARAMS`, for experiments and benchmarks.
    """

    workers: int
    seed: int = 0
    log: bool = False
    params: Mapping[str, Any] | None = None

    def solver(self, time_limit: float | None, *, large: bool = False) -> CpSolver:
        """A CP-SAT solver with these settings (``large``: the model is a large one)."""
        solver = CpSolver()
        prm = solver.parameters
        if time_limit is not None:
            prm.max_time_in_seconds = max(time_limit, 0.0)
        prm.num_workers = self.workers
        prm.random_seed = self.seed
        prm.log_search_progress = self.log
        sized = {**DEFAULT_PARAMS, **(LARGE_MODEL_PARAMS if large else {})}
        for name, value in {**sized, **(self.params or {})}.items():
            if isinstance(value, list | tuple):  # a repeated field, e.g. subsolvers
                field = getattr(prm, name)
                field.clear()
                field.extend(value)
            else:
                setattr(prm, name, value)
        return solver


@dataclass(frozen=True)
class StageResult:
    """The outcome of minimising one objective part.

    ``status`` is CP-SAT's; ``assignments`` the solution (None without one); ``bound`` the
    best objective bound, in solver integers.
    """

    status: CpSolverStatus
    assignments: list[Assignment] | None
    bound: float

    @property
    def infeasible(self) -> bool:
        return self.status == INFEASIBLE


class CpsatModel:
    """Builds the CP-SAT model of ``instance``.

    Parameters
    ----------
    instance
        The instance; every rule of it is modelled (see :mod:`xpuplan.solvers.cpsat.constraints`).
    unit_model
        ``"auto"`` pools the units of a device into one cumulative wherever that is exact, and
        models them one by one only where contiguity needs unit identity; ``"per-unit"`` models
        every multi-unit device unit by unit (slower; a cross-check).
    horizon
        An upper bound on the makespan of some optimal schedule that may shrink the computed one.
    explain
        Build the feasibility model with assumption literals instead (no objective).
    deadline
        The solve's time budget: building raises :class:`xpuplan.solvers.exact.OutOfTime` when it
        is spent, and the assignment LP bound may use at most :data:`LP_BOUND_SHARE` of it.
    lean
        Leave out what only strengthens the bound and costs time to build: the assignment LP
        bound and the clique no-overlaps (for the many small models of
        :mod:`xpuplan.solvers.cpsat.lns`, where the bound comes from elsewhere).
    """

    def __init__(
        self,
        instance: Instance,
        *,
        unit_model: str = "auto",
        horizon: int | None = None,
        explain: bool = False,
        deadline: Deadline | None = None,
        lean: bool = False,
    ) -> None:
        self.instance = instance
        deadline = Deadline(None) if deadline is None else deadline
        stop = None
        if lean:

            def stop() -> bool:
                return True

        elif deadline.limit is not None:
            cut = LP_BOUND_SHARE * deadline.limit

            def stop() -> bool:
                return deadline.elapsed() >= cut

        self.data = ModelData.build(instance, unit_model=unit_model, horizon=horizon, stop=stop)
        deadline.check()
        self.model = CpModel()
        parts = () if explain else instance.objective.parts
        self.variables = Variables(self.model, self.data, parts, explain=explain)
        deadline.check()
        constraints = Constraints(self.model, self.data, self.variables, deadline.check)
        constraints.redundant_cliques = not lean
        constraints.add_constraints()
        deadline.check()
        self.terms: list[ObjectiveTerm] = [
            objective_term(self.data, self.variables, part) for part in parts
        ]

    def solve_stage(
        self,
        stage: int,
        settings: SolverSettings,
        *,
        time_limit: float | None,
        hint: Schedule | None,
        progress: ProgressFn | None = None,
        fixed: tuple[int | float, ...] = (),
        began: float | None = None,
    ) -> StageResult:
        """Minimise objective part ``stage`` under the constraints added so far.

        The hints are replaced by ``hint`` (or cleared), so no solve inherits an earlier one's.
        """
        term = self.terms[stage]
        self.model.minimize(term.expr)
        hinting = time.perf_counter()
        if hint is None:
            self.model.clear_hints()
        else:
            self.variables.warmstart(hint)
        if time_limit is not None:
            # Setting the hints is part of the stage's time (1.9 s for 10,000 kernels).
            time_limit = max(time_limit - (time.perf_counter() - hinting), 0.01)
        solver = settings.solver(time_limit, large=self.num_intervals > LARGE_MODEL_INTERVALS)
        callback = None
        if progress is not None:
            callback = Progress(
                progress,
                term,
                fixed,
                lexicographic=self.instance.objective.type == "lexicographic",
                began=time.perf_counter() if began is None else began,
            )
            callback.attach(solver)
        status = solve_interruptibly(solver, self.model, callback)
        if status == MODEL_INVALID:
            raise RuntimeError(f"internal error: invalid CP-SAT model: {self.model.validate()}")
        if status not in (OPTIMAL, FEASIBLE):
            return StageResult(status, None, solver.best_objective_bound)
        assignments = assignments_from_values(self.data, self.variables, solver.value)
        return StageResult(status, assignments, solver.best_objective_bound)

    @property
    def num_intervals(self) -> int:
        """Optional intervals of the model (one per mode, and per unit where units are modelled)."""
        return sum(
            len(kv.mode_intervals) + len(kv.unit_intervals) for kv in self.variables.kernel_vars
        )

    def fix_stage(self, stage: int, value: int) -> None:
        """Keep objective part ``stage`` at most ``value`` (solver integers) from now on."""
        self.model.add(self.terms[stage].expr <= value)
