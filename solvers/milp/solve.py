"""The MILP entry points: a formulation driven stage by stage by the shared lexicographic driver.

:func:`solve_time_indexed` and :func:`solve_disjunctive` check the options, take the start schedule
(:func:`xpuplan.solvers.exact.start_schedule`: the checked hint, else the warm start), choose the
horizon (:func:`model_horizon`), check the model's size before building it, build it under the time
limit, and hand it to :func:`xpuplan.solvers.exact.lexicographic` through :class:`MilpStages`.

Status and bounds
-----------------
Each stage is one MILP solve with zero gap. A stage's bound is the objective when the backend
proves it optimal; otherwise HiGHS's best bound, or else (CBC through PuLP does not report its best
bound) the value of the LP relaxation of the stage, rounded up for parts whose values are integers.
Stages after the first keep the earlier parts at their values plus
:data:`FIX_ABS_TOL` + :data:`FIX_REL_TOL` times the value (so that the solver's float round-off
cannot make them infeasible). A first stage proven infeasible is ``infeasible`` on a safe horizon
(every feasible instance has an optimal schedule ending by it), ``unknown`` on a smaller one given
by the user, whose bounds are never reported as proven.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

import pulp

from xpuplan.models import Instance, InvalidInput, Objective, Schedule, Unsupported
from xpuplan.models.objectives import evaluate_part
from xpuplan.models.schedule import Assignment
from xpuplan.solvers.bounds import lower_bound, makespan_lower_bound, serial_upper_bound
from xpuplan.solvers.exact import (
    Deadline,
    OutOfTime,
    StageOutcome,
    lexicographic,
    start_schedule,
    unfinished_schedule,
)
from xpuplan.solvers.milp.backends import (
    PRESOLVE_MIN_VARIABLES,
    MilpSettings,
    check_backend,
    make_solver,
)
from xpuplan.solvers.milp.data import canonical_units, integral_part, objective_horizon
from xpuplan.solvers.milp.disjunctive import DisjunctiveModel, refusal
from xpuplan.solvers.milp.time_indexed import (
    MAX_VARIABLES,
    TimeIndexedModel,
    check_time_indexed_size,
)
from xpuplan.solvers.milp.watchdog import CbcWatchdog

# The objective of a stage may exceed its proven optimum by this much in the later stages, so that
# float round-off in the solver cannot make the next stage infeasible.
FIX_ABS_TOL = 1e-6
FIX_REL_TOL = 1e-9
# A MILP solve spends time outside the backend's own time limit: PuLP writes the model file (CBC)
# or copies it (HiGHS), the backend reads and presolves it, PuLP reads the solution back. That
# walks every nonzero in Python, as building the model did, so the limit handed to the backend is
# the stage's time less STARTUP_FACTOR times the model's build time (at least MIN_SOLVE_SHARE of
# the stage's time). On a 40-kernel layered DAG (benchmarks/results/time_limits.md) the overhead of
# CBC's first solve was 1.7 times the build time; the driver learns it exactly after a stage.
STARTUP_FACTOR = 1.5
MIN_SOLVE_SHARE = 0.1
# CBC runs past its own limit while it reads the model and works at the root; a watchdog
# (xpuplan.solvers.milp.watchdog) kills it this share of the time limit after the limit.
HARD_STOP_GRACE = 0.05


class Formulation(Protocol):
    """A built MILP model of one instance (the time-indexed or the disjunctive one)."""

    prob: pulp.LpProblem

    def part_expr(self, part: Objective) -> pulp.LpAffineExpression:
        """A linear expression equal to ``part``'s value at every integer solution."""
        ...

    def decode(self) -> list[Assignment]:
        """The schedule of the current solution, in instance kernel order."""
        ...

    def start_values(self, assignments: Sequence[Assignment]) -> dict[Any, float] | None:
        """Every variable's value at a schedule (a MIP start), or None if it lies outside."""
        ...


def settings_of(
    backend: str,
    time_limit: float | None,
    workers: int | None,
    seed: int,
    presolve: bool | None,
    options: dict[str, Any],
) -> MilpSettings:
    """The solver settings; unknown options and unavailable backends are refused here."""
    if options:
        name = next(iter(options))
        raise InvalidInput("is not an option of the MILP solvers", field=name, value=options[name])
    settings = MilpSettings(backend, time_limit, workers, seed, presolve)
    check_backend(settings)
    return settings


def model_horizon(
    instance: Instance, horizon: int | None, start: Schedule | None
) -> tuple[int, bool]:
    """The model horizon and whether it is safe (every optimal schedule ends by it).

    The safe one is :func:`~xpuplan.solvers.milp.data.objective_horizon` of the start, or
    :func:`xpuplan.solvers.bounds.serial_upper_bound` without one.
    """
    safe = (
        serial_upper_bound(instance)
        if start is None
        else objective_horizon(instance, start.assignments)
    )
    if horizon is None:
        return safe, True
    return horizon, horizon >= safe


def _check_horizon(horizon: int | None) -> None:
    if horizon is not None and (
        not isinstance(horizon, int) or isinstance(horizon, bool) or horizon < 1
    ):
        raise InvalidInput("must be an integer >= 1", field="horizon", value=horizon)


class MilpStages:
    """A MILP formulation as a :class:`xpuplan.solvers.exact.StageSolver`."""

    def __init__(
        self,
        instance: Instance,
        form: Formulation,
        settings: MilpSettings,
        *,
        solver: str,
        safe_horizon: bool,
        deadline: Deadline,
        build_seconds: float = 0.0,
    ) -> None:
        self.instance = instance
        self.startup = STARTUP_FACTOR * build_seconds
        self.form = form
        if settings.presolve is None:
            big = form.prob.numVariables() >= PRESOLVE_MIN_VARIABLES
            settings = replace(settings, presolve=big)
        self.settings = settings
        self.solver = solver
        self.safe_horizon = safe_horizon
        self.deadline = deadline
        self.exprs: dict[int, Any] = {}

    def solve_stage(
        self, stage: int, time_limit: float | None, start: Schedule | None
    ) -> StageOutcome:
        part = self.instance.objective.parts[stage]
        expr = self.form.part_expr(part)
        self.exprs[stage] = expr
        self.form.prob.setObjective(expr)
        begin = None
        if start is not None:
            ordered = sorted(start.assignments, key=lambda a: self.instance.kernel_idx[a.kernel])
            begin = canonical_units(self.instance, ordered)
        if time_limit is not None:
            time_limit = max(MIN_SOLVE_SHARE * time_limit, time_limit - self.startup)
        status, assignments, bound = self._run(time_limit, begin)
        if status == "optimal" and assignments is not None:
            bound = evaluate_part(self.instance, part, assignments)
        elif bound is not None:
            bound = _round_bound(self.instance, stage, bound)
        if not self.safe_horizon:  # nothing is proven on a horizon that may cut off every optimum
            return StageOutcome(status, assignments, None, conclusive=False)
        return StageOutcome(status, assignments, bound)

    def fix_stage(self, stage: int, value: float) -> None:
        slack = FIX_ABS_TOL + FIX_REL_TOL * abs(value)
        self.form.prob += (self.exprs[stage] <= value + slack), f"fix_part_{stage}"

    def no_schedule(self, time_left: float | None) -> Schedule:
        instance = self.instance
        if self.safe_horizon:
            return Schedule(
                instance.name,
                solver=self.solver,
                status="infeasible",
                message="the MILP is infeasible: no schedule satisfies every rule",
            )
        return Schedule(
            instance.name,
            solver=self.solver,
            status="unknown",
            lower_bound=lower_bound(instance),
            message="no schedule ends within the given horizon",
        )

    def _run(
        self, time_limit: float | None, start: Sequence[Assignment] | None
    ) -> tuple[str, list[Assignment] | None, float | None]:
        """One MILP solve from ``start``: status, schedule (decoded before any relaxation solve
        overwrites the variables' values) and bound."""
        form, settings = self.form, self.settings
        prob = form.prob
        values = None if start is None else form.start_values(start)
        if values is not None:
            for var in prob.variables():
                var.setInitialValue(values.get(var, 0.0))
        warm = values is not None
        solver = make_solver(settings, time_limit, warm_start=warm)
        try:
            with CbcWatchdog(self._cbc_path(solver), self._hard_stop()) as dog:
                prob.solve(solver)
        except pulp.PulpSolverError:
            if dog.fired:  # killed at the time limit: no solution from this stage
                return "unknown", None, None
            if settings.backend != "cbc" or settings.presolve is not False:
                raise
            # The CBC 2.10.3 bundled with PuLP segfaults on some infeasible models when its
            # preprocessing is off (seen on random_small_instance(178, max_kernels=5) under
            # "milp"); with preprocessing on it reports them infeasible.
            prob.solve(make_solver(replace(settings, presolve=True), time_limit, warm_start=warm))
        if prob.sol_status == pulp.LpSolutionOptimal:
            return "optimal", form.decode(), pulp.value(prob.objective)
        if prob.status == pulp.LpStatusInfeasible:
            return "infeasible", None, None
        found = form.decode() if prob.sol_status == pulp.LpSolutionIntegerFeasible else None
        bound = _best_bound(prob) if settings.backend == "highs" else None
        if bound is None:
            bound = self._relaxation_value()
        return ("feasible" if found else "unknown"), found, bound

    def _cbc_path(self, solver: Any) -> str | None:
        """The CBC executable PuLP will run (None for the other backends)."""
        if self.settings.backend != "cbc":
            return None
        path = getattr(solver, "path", None)
        return None if path is None else shutil.which(path) or path

    def _hard_stop(self) -> float | None:
        """Seconds until the watchdog kills CBC: the time left plus :data:`HARD_STOP_GRACE`."""
        left = self.deadline.remaining()
        if left is None or self.deadline.limit is None:
            return None
        return max(left, 0.0) + HARD_STOP_GRACE * self.deadline.limit

    def _relaxation_value(self) -> float | None:
        """The optimum of the LP relaxation, a valid lower bound of the stage (None when the time
        left would not cover the solver's start-up, or the watchdog stopped it)."""
        left = self.deadline.remaining()
        if left is not None and left <= self.startup:
            return None
        prob = self.form.prob
        solver = make_solver(self.settings, left, mip=False)
        try:
            with CbcWatchdog(self._cbc_path(solver), self._hard_stop()) as dog:
                prob.solve(solver)
        except pulp.PulpSolverError:
            if dog.fired:
                return None
            raise
        if prob.status != pulp.LpStatusOptimal:
            return None
        value = pulp.value(prob.objective)
        return None if value is None else float(value)


def _best_bound(prob: pulp.LpProblem) -> float | None:
    """HiGHS's proven MIP bound (it does not see PuLP's objective constant, so add it)."""
    info = prob.solverModel.getInfo()
    bound = info.mip_dual_bound
    if bound is None or not math.isfinite(bound):
        return None
    return float(bound) + float(prob.objective.constant)


def _round_bound(instance: Instance, stage: int, bound: float) -> float:
    """Round a bound up for parts whose values are integers (forgiving float noise)."""
    if integral_part(instance, instance.objective.parts[stage]):
        return float(math.ceil(bound - 1e-6 * max(1.0, abs(bound))))
    return bound


def solve_time_indexed(
    instance: Instance,
    *,
    time_limit: float | None = None,
    workers: int | None = None,
    seed: int = 0,
    hint: Schedule | None = None,
    backend: str = "cbc",
    max_variables: int = MAX_VARIABLES,
    horizon: int | None = None,
    warm_start: bool = True,
    presolve: bool | None = None,
    **options: Any,
) -> Schedule:
    """Solve ``instance`` with the time-indexed MILP.

    Parameters
    ----------
    instance
        Any instance; refused with ``Unsupported`` when the model would need more than
        ``max_variables`` start variables (counted before anything is built, first on the
        shortest horizon any model could get, then on the model's own).
    time_limit
        Wall seconds for the whole solve: warm start, model building and every stage (a model
        whose building outlasts it returns the start schedule, or ``unknown``).
    workers, seed
        Passed to the backend.
    hint
        A valid schedule to start from (see :func:`xpuplan.solvers.exact.checked_hint`).
    backend
        ``"cbc"``, ``"highs"``, ``"gurobi"`` or ``"cplex"``.
    max_variables
        The size above which the model is refused.
    horizon
        The latest end the model allows. The default is the safe horizon: every optimal schedule
        ends by it (:func:`~xpuplan.solvers.milp.data.objective_horizon` of the start schedule,
        else :func:`xpuplan.solvers.bounds.serial_upper_bound`). A smaller one makes a smaller
        model whose answers are never reported as proven.
    warm_start
        Without a hint, start from the heuristics' best schedule
        (:func:`xpuplan.solvers.exact.warm_start`), which also tightens the horizon.
    presolve
        The backend's MIP presolve on or off; default by model size (see
        :data:`~xpuplan.solvers.milp.backends.PRESOLVE_MIN_VARIABLES`).
    """
    deadline = Deadline(time_limit)
    settings = settings_of(backend, time_limit, workers, seed, presolve, options)
    _check_horizon(horizon)
    # No model is smaller than the one over the shortest horizon any start could give.
    shortest = horizon if horizon is not None else makespan_lower_bound(instance)
    check_time_indexed_size(instance, shortest, max_variables)
    start = start_schedule(instance, hint, seed=seed, use_heuristics=warm_start, deadline=deadline)
    chosen, safe = model_horizon(instance, horizon, start)
    check_time_indexed_size(instance, chosen, max_variables)
    building = deadline.elapsed()
    try:
        form = TimeIndexedModel(
            instance, horizon=chosen, max_variables=max_variables, deadline=deadline
        )
    except OutOfTime:
        return unfinished_schedule(instance, start, "milp-ti")
    stages = MilpStages(
        instance,
        form,
        settings,
        solver="milp-ti",
        safe_horizon=safe,
        deadline=deadline,
        build_seconds=deadline.elapsed() - building,
    )
    return lexicographic(instance, stages, solver="milp-ti", deadline=deadline, start=start)


def solve_disjunctive(
    instance: Instance,
    *,
    time_limit: float | None = None,
    workers: int | None = None,
    seed: int = 0,
    hint: Schedule | None = None,
    backend: str = "cbc",
    horizon: int | None = None,
    warm_start: bool = True,
    presolve: bool | None = None,
    **options: Any,
) -> Schedule:
    """Solve ``instance`` with the disjunctive big-M MILP.

    Parameters are those of :func:`solve_time_indexed` (without ``max_variables``; the horizon is
    the big-M); instances with a power cap or resource demands are refused with ``Unsupported``.
    """
    deadline = Deadline(time_limit)
    settings = settings_of(backend, time_limit, workers, seed, presolve, options)
    _check_horizon(horizon)
    if (reason := refusal(instance)) is not None:
        raise Unsupported(reason)
    start = start_schedule(instance, hint, seed=seed, use_heuristics=warm_start, deadline=deadline)
    chosen, safe = model_horizon(instance, horizon, start)
    building = deadline.elapsed()
    try:
        form = DisjunctiveModel(instance, horizon=chosen, deadline=deadline)
    except OutOfTime:
        return unfinished_schedule(instance, start, "milp")
    stages = MilpStages(
        instance,
        form,
        settings,
        solver="milp",
        safe_horizon=safe,
        deadline=deadline,
        build_seconds=deadline.elapsed() - building,
    )
    return lexicographic(instance, stages, solver="milp", deadline=deadline, start=start)
