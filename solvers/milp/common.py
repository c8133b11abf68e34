"""What the two MILP formulations share: solver backends, the lexicographic driver, bounds, status.

A formulation (:mod:`xpuplan.solvers.milp.time_indexed`, :mod:`xpuplan.solvers.milp.disjunctive`)
builds one PuLP problem holding every constraint of the instance and offers, for every simple
objective, a linear expression equal to that objective's value at every integer solution.
:func:`optimise` then minimises the parts of the instance's objective one after the other: it
minimises part
:math:`i`, and when that is proven optimal with value :math:`v_i` adds
:math:`f_i(x) \\le v_i + \\epsilon` before minimising part :math:`i+1` (a lexicographic objective
solved sequentially; a simple objective is the one-part case). A valid start schedule (a hint or
a heuristic's) is handed to every stage as a MIP start, and the best schedule known so far to the
next stage.

Status and bounds
-----------------
* ``optimal``: every part was proven optimal (relative and absolute MIP gaps are set to 0).
* ``feasible``: a schedule was found but some part :math:`i` was not proven; the lower bound is
  :math:`(v_1, \\dots, v_{i-1}, b_i, \\beta_{i+1}, \\dots)` with :math:`b_i` the MIP's best bound
  (HiGHS reports it) or else the value of the LP relaxation of stage :math:`i` (CBC through PuLP
  does not report its best bound), and :math:`\\beta` the bounds of
  :func:`xpuplan.solvers.bounds.lower_bound`; each entry is also at least that function's value for
  its part, rounded up for parts whose values are integers, and never above the schedule's value.
* ``infeasible`` when the first stage is proven infeasible on a horizon that is safe (every
  feasible instance has an optimal schedule ending by it); ``unknown`` otherwise.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import highspy
import pulp

from xpuplan.models import (
    Instance,
    InvalidInput,
    Objective,
    Schedule,
    Unsupported,
    evaluate,
    preemptions_of,
)
from xpuplan.models.objectives import evaluate_part, job_completions, value_leq
from xpuplan.models.schedule import Assignment, ObjectiveValue
from xpuplan.solvers.bounds import (
    dynamic_energy_lower_bound,
    job_completion_bounds,
    lower_bound,
    serial_upper_bound,
)

BACKENDS = ("cbc", "highs", "gurobi", "cplex")
# The objective of a stage may exceed its proven optimum by this much in the later stages, so that
# float round-off in the solver cannot make the next stage infeasible.
FIX_ABS_TOL = 1e-6
FIX_REL_TOL = 1e-9
# A binary counts as chosen above this value (solvers return 0.9999999 for 1).
CHOSEN = 0.5
# Below this many variables the MIP presolve is off by default: on the cross-check instances
# (a few hundred binaries in long clique rows) HiGHS's presolve and CBC's preprocessing took
# 80-95% of the solve time and the search itself well under a second.
PRESOLVE_MIN_VARIABLES = 5000


@dataclass(frozen=True)
class MilpSettings:
    """How to run the MILP solver: ``backend`` is one of :data:`BACKENDS`.

    ``presolve`` switches the backend's MIP presolve (CBC's preprocessing) on or off; ``None``
    lets :func:`optimise` decide by the model size (see :data:`PRESOLVE_MIN_VARIABLES`).
    """

    backend: str = "cbc"
    time_limit: float | None = None
    workers: int | None = None
    seed: int = 0
    presolve: bool | None = None


class Formulation(Protocol):
    """A built MILP model of one instance."""

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


def new_var(
    prob: pulp.LpProblem, name: str, low: float | None, up: float | None, cat: str
) -> pulp.LpVariable:
    """A variable owned by ``prob`` (PuLP >= 3.3 way; plain ``LpVariable`` before)."""
    # PuLP 3.3 deprecates building LpVariable directly; pyproject allows PuLP >= 2.8.
    if hasattr(prob, "add_variable"):
        return prob.add_variable(name, low, up, cat)
    return pulp.LpVariable(name, low, up, cat)


def affine(terms: Sequence[tuple[pulp.LpVariable, float]], constant: float = 0.0) -> Any:
    """``sum(coef * var) + constant`` built in one go (much faster than ``lpSum``).

    A variable listed twice gets the sum of its coefficients.
    """
    coefs: dict[pulp.LpVariable, float] = {}
    for var, coef in terms:
        coefs[var] = coefs.get(var, 0.0) + coef
    return pulp.LpAffineExpression(coefs, constant)


def add_dvfs_levels(
    prob: pulp.LpProblem,
    instance: Instance,
    mode_terms: Callable[[int, int], Sequence[tuple[pulp.LpVariable, float]]],
) -> dict[tuple[int, str], pulp.LpVariable]:
    """Per-device DVFS: one level per device, and a mode only at its device's level.

    With :math:`y_{d,l}` binary, :math:`\\sum_l y_{d,l} = 1` for every device with two or more
    levels and :math:`\\sum (\text{choices of mode } m) \\le y_{dev(m), lvl(m)}`, where
    ``mode_terms(k, m)`` lists the formulation's variables that choose mode ``m`` of kernel ``k``.
    Nothing when the instance's ``dvfs`` is not ``per-device``. Returns the level variables.
    """
    level_vars: dict[tuple[int, str], pulp.LpVariable] = {}
    if instance.dvfs != "per-device":
        return level_vars
    for d_idx, dev in enumerate(instance.devices):
        levels = instance.levels_by_device[dev.name]
        if len(levels) < 2:
            continue
        mine = {
            lvl: new_var(prob, f"level_{d_idx}_{l_idx}", 0, 1, pulp.LpBinary)
            for l_idx, lvl in enumerate(levels)
        }
        level_vars.update({(d_idx, lvl): var for lvl, var in mine.items()})
        prob += affine([(v, 1.0) for v in mine.values()]) == 1, f"one_level_{d_idx}"
        for k_idx, ker in enumerate(instance.kernels):
            for m_idx, mode in enumerate(ker.modes):
                if mode.device != dev.name:
                    continue
                terms = list(mode_terms(k_idx, m_idx))
                if terms:
                    prob += (
                        affine([*terms, (mine[mode.level], -1.0)]) <= 0,
                        f"dvfs_{k_idx}_{m_idx}",
                    )
    return level_vars


# ---------------------------------------------------------------------- backends
def check_backend(settings: MilpSettings) -> None:
    """Refuse an unknown or unavailable backend before building a model."""
    if settings.backend not in BACKENDS:
        raise InvalidInput(
            f"must be one of {', '.join(BACKENDS)}", field="backend", value=settings.backend
        )
    if not make_solver(settings, None).available():
        raise Unsupported(
            f"MILP backend {settings.backend!r} is not available here (PuLP cannot find or "
            "license it); use backend='cbc' or backend='highs'"
        )


class _HiGHSWithStart(pulp.HiGHS):
    """PuLP's HiGHS interface with a MIP start and a thread count that can change between solves.

    PuLP passes no start to HiGHS; this hands it the variables' current values (HiGHS checks the
    start and ignores it if infeasible). HiGHS fixes its thread pool for the whole process at its
    first solve, and a later solve asking for another size fails, so the pool is rebuilt first.
    """

    def __init__(self, *, warm_start: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.warm_start = warm_start

    def callSolver(self, lp: pulp.LpProblem) -> None:
        if self.threads is not None:
            highspy.Highs.resetGlobalScheduler(True)
        if self.warm_start:
            values = [0.0] * lp.solverModel.getNumCol()
            for var in lp.variables():
                values[var.index] = float(var.varValue or 0.0)
            start = highspy.HighsSolution()
            start.col_value = values
            start.value_valid = True
            lp.solverModel.setSolution(start)
        super().callSolver(lp)


def make_solver(
    settings: MilpSettings, time_limit: float | None, mip: bool = True, warm_start: bool = False
) -> Any:
    """The PuLP solver object for ``settings``, silent, with zero optimality gap.

    With ``warm_start`` the variables' current values are passed as a MIP start.
    """
    threads = settings.workers
    presolve_off = settings.presolve is False
    if settings.backend == "cbc":
        bundled = pulp.PULP_CBC_CMD.pulp_cbc_path
        # COIN_CMD on the CBC binary bundled with PuLP: the same solver as PULP_CBC_CMD without
        # its deprecation warning; a system CBC when PuLP no longer bundles one.
        path = bundled if pulp.COIN_CMD(path=bundled, msg=False).available() else None
        return pulp.COIN_CMD(
            path=path,
            mip=mip,
            msg=False,
            timeLimit=time_limit,
            gapRel=0.0,
            gapAbs=0.0,
            threads=threads,
            options=[f"randomCbcSeed {settings.seed}"] * bool(settings.seed)
            + ["preprocess off"] * presolve_off,
            warmStart=warm_start,
        )
    if settings.backend == "highs":
        return _HiGHSWithStart(
            warm_start=warm_start,
            mip=mip,
            msg=False,
            timeLimit=time_limit,
            gapRel=0.0,
            gapAbs=0.0,
            threads=threads,
            random_seed=settings.seed,
            **({"presolve": "off"} if presolve_off else {}),
        )
    common = {"mip": mip, "msg": False, "timeLimit": time_limit, "gapRel": 0.0, "threads": threads}
    if settings.backend == "gurobi":
        return pulp.GUROBI(warmStart=warm_start, **common)
    return pulp.CPLEX_PY(warmStart=warm_start, **common)


# ---------------------------------------------------------------------- starts and horizons
def canonical_units(instance: Instance, assignments: Sequence[Assignment]) -> list[Assignment]:
    """The same schedule with each device's units numbered by their lowest kernel index.

    Units of a device are interchangeable, so this is an equally valid schedule; it is the one the
    time-indexed model's symmetry rows admit.
    """
    kernel_idx = instance.kernel_idx
    first: dict[tuple[str, int], int] = {}
    for asg in assignments:
        key = (asg.device, asg.unit)
        first[key] = min(first.get(key, kernel_idx[asg.kernel]), kernel_idx[asg.kernel])
    relabel: dict[tuple[str, int], int] = {}
    for device in {d for d, _ in first}:
        used = sorted((k, unit) for (d, unit), k in first.items() if d == device)
        relabel.update({(device, unit): new for new, (_, unit) in enumerate(used)})
    return [replace(a, unit=relabel[(a.device, a.unit)]) for a in assignments]


def contiguous_in_edge(
    instance: Instance, k_idx: int, by_index: Sequence[Assignment]
) -> int | None:
    """The resumable in-edge of kernel ``k_idx`` that is contiguous in a schedule, if any."""
    dst = by_index[k_idx]
    for e_idx in instance.in_edges[k_idx]:
        if instance.edges[e_idx].resume_cost:
            src = by_index[instance.edge_endpoints[e_idx][0]]
            if src.device == dst.device and src.unit == dst.unit and dst.start == src.end:
                return e_idx
    return None


def objective_values(
    instance: Instance, assignments: Sequence[Assignment]
) -> tuple[int, list[int], list[int], list[int]]:
    """Makespan, and per job the completion, tardiness and lateness (0/1) of a schedule."""
    completions = job_completions(instance, assignments)
    tardiness = [
        0 if job.deadline is None else max(0, c - job.deadline)
        for job, c in zip(instance.jobs, completions, strict=True)
    ]
    late = [int(t > 0) for t in tardiness]
    return max((a.end for a in assignments), default=0), completions, tardiness, late


def objective_horizon(instance: Instance, assignments: Sequence[Assignment]) -> int:
    """A horizon every optimal schedule ends by, given a valid schedule with first part :math:`V`.

    Every optimal schedule has first part :math:`\\le V`, hence, with :math:`\\underline{C}_j` the
    completion bounds of :func:`xpuplan.solvers.bounds.job_completion_bounds`:

    * makespan: :math:`C_{max} \\le V`;
    * weighted completion, all :math:`w_j > 0`:
      :math:`C_j \\le (V - \\sum_{i \\ne j} w_i \\underline{C}_i) / w_j`;
    * weighted tardiness, every job with a deadline and :math:`w_j > 0`:
      :math:`C_j \\le d_j + V / w_j`;
    * energy with idle power :math:`P^{idle} > 0`: :math:`C_{max} \\le (V - \\underline{E}) /
      P^{idle}` with :math:`\\underline{E}`
      :func:`xpuplan.solvers.bounds.dynamic_energy_lower_bound`;

    and :func:`xpuplan.solvers.bounds.serial_upper_bound` always (an optimal schedule ends by it).
    Late jobs give no bound of their own.
    """
    serial = serial_upper_bound(instance)
    part = instance.objective.parts[0]
    value = float(evaluate_part(instance, part, assignments))
    jobs = instance.jobs
    bound = math.inf
    if part.type == "makespan":
        bound = value
    elif part.type == "weighted_completion" and all(job.weight > 0 for job in jobs):
        least = job_completion_bounds(instance)
        total = math.fsum(job.weight * c for job, c in zip(jobs, least, strict=True))
        bound = max(
            (value - total + job.weight * c) / job.weight
            for job, c in zip(jobs, least, strict=True)
        )
    elif part.type == "weighted_tardiness" and all(
        job.deadline is not None and job.weight > 0 for job in jobs
    ):
        bound = max(job.deadline + value / job.weight for job in jobs if job.deadline is not None)
    elif part.type == "energy" and instance.idle_power_w > 0:
        bound = (value - dynamic_energy_lower_bound(instance)) / instance.idle_power_w
    if not math.isfinite(bound):
        return serial
    return min(serial, math.floor(bound + 1e-6 * max(1.0, abs(bound))))


# ---------------------------------------------------------------------- one stage
@dataclass(frozen=True)
class StageOutcome:
    """One MILP solve: ``status`` as in a Schedule, the schedule found (if any), the bound."""

    status: str
    assignments: list[Assignment] | None
    bound: float | None


def run_stage(
    form: Formulation,
    settings: MilpSettings,
    time_limit: float | None,
    start: Sequence[Assignment] | None = None,
) -> StageOutcome:
    """Solve the problem with its current objective, from ``start`` if given.

    The solution is decoded before any relaxation solve overwrites the variables' values.
    """
    prob = form.prob
    values = None if start is None else form.start_values(start)
    if values is not None:
        for var in prob.variables():
            var.setInitialValue(values.get(var, 0.0))
    warm = values is not None
    try:
        prob.solve(make_solver(settings, time_limit, warm_start=warm))
    except pulp.PulpSolverError:
        if settings.backend != "cbc" or settings.presolve is not False:
            raise
        # The CBC 2.10.3 bundled with PuLP segfaults on some infeasible models when its
        # preprocessing is off (seen on random_small_instance(178, max_kernels=5) under "milp");
        # with preprocessing on it reports them infeasible.
        prob.solve(make_solver(replace(settings, presolve=True), time_limit, warm_start=warm))
    if prob.sol_status == pulp.LpSolutionOptimal:
        return StageOutcome("optimal", form.decode(), pulp.value(prob.objective))
    if prob.status == pulp.LpStatusInfeasible:
        return StageOutcome("infeasible", None, None)
    found = form.decode() if prob.sol_status == pulp.LpSolutionIntegerFeasible else None
    bound = _best_bound(prob) if settings.backend == "highs" else None
    if bound is None:
        bound = _relaxation_value(form, settings, time_limit)
    return StageOutcome("feasible" if found else "unknown", found, bound)


def _best_bound(prob: pulp.LpProblem) -> float | None:
    """HiGHS's proven MIP bound (it does not see PuLP's objective constant, so add it)."""
    info = prob.solverModel.getInfo()
    bound = info.mip_dual_bound
    if bound is None or not math.isfinite(bound):
        return None
    return float(bound) + float(prob.objective.constant)


def _relaxation_value(
    form: Formulation, settings: MilpSettings, time_limit: float | None
) -> float | None:
    """The optimum of the LP relaxation, a valid lower bound of the stage."""
    prob = form.prob
    prob.solve(make_solver(settings, time_limit, mip=False))
    if prob.status != pulp.LpStatusOptimal:
        return None
    value = pulp.value(prob.objective)
    return None if value is None else float(value)


# ---------------------------------------------------------------------- driver
def integral_part(instance: Instance, part: Objective) -> bool:
    """Whether the part's value is an integer in every schedule (times are integers)."""
    if part.type == "makespan":
        return True
    if part.type == "energy":
        return False
    jobs = instance.jobs
    if part.type != "weighted_completion":
        jobs = tuple(job for job in jobs if job.deadline is not None)
    return all(float(job.weight).is_integer() for job in jobs)


def optimise(
    instance: Instance,
    form: Formulation,
    settings: MilpSettings,
    *,
    solver_name: str,
    safe_horizon: bool,
    start: Sequence[Assignment] | None = None,
) -> Schedule:
    """Minimise the instance's objective, part after part (see the module docstring).

    ``safe_horizon`` says whether the model's horizon keeps an optimal schedule of every feasible
    instance; when it does not, no result is reported as proven. ``start`` is a valid schedule
    (checked by the caller) handed to every stage as a MIP start; the best schedule known is the
    start of the next stage.
    """
    began = time.monotonic()
    if settings.presolve is None:
        settings = replace(settings, presolve=form.prob.numVariables() >= PRESOLVE_MIN_VARIABLES)
    parts = instance.objective.parts
    cheap = lower_bound(instance)
    cheap_parts = cheap if isinstance(cheap, tuple) else (cheap,)
    proven: list[float] = []
    assignments: list[Assignment] | None = None if start is None else list(start)
    stopped_bound: float | None = None
    for p_idx, part in enumerate(parts):
        remaining = None
        if settings.time_limit is not None:
            remaining = settings.time_limit - (time.monotonic() - began)
            if remaining <= 0:
                break
        expr = form.part_expr(part)
        form.prob.setObjective(expr)
        outcome = run_stage(form, settings, remaining, assignments)
        if outcome.status == "infeasible":
            if assignments is None:
                return _no_schedule(instance, solver_name, safe_horizon, began)
            # Round-off made the fixed earlier parts too tight: keep the schedule we have.
            break
        if outcome.assignments is not None and (
            assignments is None
            or value_leq(evaluate(instance, outcome.assignments), evaluate(instance, assignments))
        ):
            assignments = outcome.assignments
        if outcome.status != "optimal" or not safe_horizon:
            stopped_bound = outcome.bound if safe_horizon else None
            break
        assert assignments is not None
        value = float(evaluate_part(instance, part, assignments))
        proven.append(value)
        if p_idx + 1 < len(parts):
            slack = FIX_ABS_TOL + FIX_REL_TOL * abs(value)
            form.prob += (expr <= value + slack), f"fix_part_{p_idx}"
    seconds = time.monotonic() - began

    bound_parts: list[float] = list(proven)
    if len(proven) < len(parts):
        p_idx = len(proven)
        stage = -math.inf if stopped_bound is None else stopped_bound
        bound_parts.append(_round_bound(instance, parts[p_idx], max(stage, cheap_parts[p_idx])))
        bound_parts.extend(float(b) for b in cheap_parts[p_idx + 1 :])
    bound: ObjectiveValue = _as_value(instance, bound_parts)
    if assignments is None:
        return Schedule(
            instance.name,
            solver=solver_name,
            status="unknown",
            lower_bound=bound,
            solve_seconds=seconds,
            message="no schedule found within the time limit",
        )
    achieved = evaluate(instance, assignments)
    status = "optimal" if len(proven) == len(parts) else "feasible"
    return Schedule(
        instance.name,
        tuple(assignments),
        solver=solver_name,
        status=status,
        objective=achieved,
        lower_bound=achieved if status == "optimal" else _capped(bound, achieved),
        solve_seconds=seconds,
        preemptions=tuple(preemptions_of(instance, assignments)),
    )


def _no_schedule(
    instance: Instance, solver_name: str, safe_horizon: bool, began: float
) -> Schedule:
    if safe_horizon:
        return Schedule(
            instance.name,
            solver=solver_name,
            status="infeasible",
            solve_seconds=time.monotonic() - began,
            message="the MILP is infeasible: no schedule satisfies every rule",
        )
    return Schedule(
        instance.name,
        solver=solver_name,
        status="unknown",
        lower_bound=lower_bound(instance),
        solve_seconds=time.monotonic() - began,
        message="no schedule ends within the given horizon",
    )


def _round_bound(instance: Instance, part: Objective, bound: float) -> float:
    """Round a bound up for parts whose values are integers (forgiving float noise)."""
    if not math.isfinite(bound):
        return 0.0
    if integral_part(instance, part):
        return float(math.ceil(bound - 1e-6 * max(1.0, abs(bound))))
    return bound


def _as_value(instance: Instance, values: list[float]) -> ObjectiveValue:
    tidy = tuple(int(v) if float(v).is_integer() else v for v in values)
    return tidy if instance.objective.type == "lexicographic" else tidy[0]


def _capped(bound: ObjectiveValue, value: ObjectiveValue) -> ObjectiveValue:
    """A bound never above the achieved value (lexicographically for tuples)."""
    if isinstance(bound, tuple) and isinstance(value, tuple):
        for b, v in zip(bound, value, strict=True):
            if b != v:
                return bound if b < v else value
        return bound
    assert not isinstance(bound, tuple) and not isinstance(value, tuple)
    return min(bound, value)
