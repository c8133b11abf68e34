"""MILP backends through PuLP, registered as two solvers.

* ``"milp-ti"``: the time-indexed model (:mod:`xpuplan.solvers.milp.time_indexed`), exact for every
  rule of an Instance (power cap and resources included) on the integer grid; its size grows with
  the horizon, so it refuses models above ``max_variables`` start variables.
* ``"milp"``: the disjunctive big-M model (:mod:`xpuplan.solvers.milp.disjunctive`), whose size does
  not depend on the horizon; it refuses instances with a power cap or resource demands.

Both take ``backend="cbc"`` (the CBC bundled with PuLP, the default), ``"highs"`` (HiGHS through
highspy), or ``"gurobi"`` / ``"cplex"`` when PuLP finds them licensed. They start from the hint,
or else from the best list-scheduling heuristic's schedule, once the checker accepts it: a MIP
start, and a tighter safe horizon (:func:`~xpuplan.solvers.milp.common.objective_horizon`). They
exist to cross-check CP-SAT and for users with a commercial MILP solver; see
:mod:`xpuplan.solvers.milp.common` for the status and bound rules.

Examples
--------
>>> from models import Instance, Device, Job, Kernel, Mode
>>> from solvers import solve
>>> inst = Instance("pair", devices=(Device("cpu"), Device("npu")), jobs=(Job("j"),),
...                 kernels=(Kernel("a", "j", (Mode("cpu", "-", 4), Mode("npu", "-", 2))),
...                          Kernel("b", "j", (Mode("cpu", "-", 3), Mode("npu", "-", 3)))))
>>> res = solve(inst, "milp-ti", backend="highs")
>>> res.status, res.objective
('optimal', 3)
"""

from __future__ import annotations

from typing import Any

from xpuplan.models import Instance, InvalidInput, Schedule, Unsupported, check_schedule
from xpuplan.models.schedule import Assignment
from xpuplan.solvers.bounds import serial_upper_bound
from xpuplan.solvers.heuristics import best_heuristic_schedule
from xpuplan.solvers.milp.common import (
    BACKENDS,
    MilpSettings,
    canonical_units,
    check_backend,
    objective_horizon,
    optimise,
)
from xpuplan.solvers.milp.disjunctive import DisjunctiveModel, refusal
from xpuplan.solvers.milp.time_indexed import MAX_VARIABLES, TimeIndexedModel
from xpuplan.solvers.registry import register

__all__ = ["BACKENDS", "MAX_VARIABLES", "solve_disjunctive", "solve_time_indexed"]


def _settings(
    backend: str,
    time_limit: float | None,
    workers: int | None,
    seed: int,
    presolve: bool | None,
    options: dict[str, Any],
) -> MilpSettings:
    if options:
        name = next(iter(options))
        raise InvalidInput("is not an option of the MILP solvers", field=name, value=options[name])
    settings = MilpSettings(backend, time_limit, workers, seed, presolve)
    check_backend(settings)
    return settings


def _start(
    instance: Instance, hint: Schedule | None, seed: int, warm_start: bool
) -> list[Assignment] | None:
    """The schedule to start from: ``hint``, else the best list-scheduling heuristic's.

    Either is used only after :func:`xpuplan.models.check_schedule` accepts it; its units are
    renumbered as the time-indexed symmetry rows want
    (:func:`~xpuplan.solvers.milp.common.canonical_units`).
    """
    if hint is not None:
        violations = check_schedule(instance, hint) if hint.is_solution else ["no assignments"]
        if violations:
            raise InvalidInput(
                f"is not a valid schedule of this instance: {violations[0]}",
                field="hint",
                value=hint.solver,
            )
        chosen: Schedule | None = hint
    elif warm_start:
        chosen = best_heuristic_schedule(instance, seed=seed)
        if chosen is not None and check_schedule(instance, chosen):
            chosen = None
    else:
        chosen = None
    if chosen is None:
        return None
    ordered = sorted(chosen.assignments, key=lambda asg: instance.kernel_idx[asg.kernel])
    return canonical_units(instance, ordered)


def _horizon(
    instance: Instance, horizon: int | None, start: list[Assignment] | None
) -> tuple[int, bool]:
    """The model horizon and whether it is safe (every optimal schedule ends by it).

    The safe one is :func:`~xpuplan.solvers.milp.common.objective_horizon` of the start, or
    :func:`xpuplan.solvers.bounds.serial_upper_bound` without one.
    """
    safe = serial_upper_bound(instance) if start is None else objective_horizon(instance, start)
    if horizon is None:
        return safe, True
    if not isinstance(horizon, int) or isinstance(horizon, bool) or horizon < 1:
        raise InvalidInput("must be an integer >= 1", field="horizon", value=horizon)
    return horizon, horizon >= safe


@register(
    "milp-ti",
    kind="exact",
    description="time-indexed MILP (PuLP with CBC or HiGHS): every rule, small horizons",
)
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
        ``max_variables`` start variables.
    time_limit, workers, seed
        Passed to the backend (all stages of a lexicographic objective share the time limit).
    hint
        A valid schedule to start from (``InvalidInput`` if the checker rejects it).
    backend
        ``"cbc"``, ``"highs"``, ``"gurobi"`` or ``"cplex"``.
    max_variables
        The size above which the model is refused.
    horizon
        The latest end the model allows. The default is the safe horizon: every optimal schedule
        ends by it (:func:`~xpuplan.solvers.milp.common.objective_horizon` of the start schedule,
        else
        :func:`xpuplan.solvers.bounds.serial_upper_bound`). A smaller one makes a smaller model
        whose answers are never reported as proven.
    warm_start
        Without a hint, start from the best list-scheduling heuristic's schedule
        (:func:`xpuplan.solvers.heuristics.best_heuristic_schedule`), which also tightens the
        horizon.
    presolve
        The backend's MIP presolve on or off; default by model size (see
        :data:`~xpuplan.solvers.milp.common.PRESOLVE_MIN_VARIABLES`).
    """
    settings = _settings(backend, time_limit, workers, seed, presolve, options)
    start = _start(instance, hint, seed, warm_start)
    model_horizon, safe = _horizon(instance, horizon, start)
    form = TimeIndexedModel(instance, horizon=model_horizon, max_variables=max_variables)
    return optimise(instance, form, settings, solver_name="milp-ti", safe_horizon=safe, start=start)


@register(
    "milp",
    kind="exact",
    description="disjunctive big-M MILP (PuLP with CBC or HiGHS): no power cap or resources",
)
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
    settings = _settings(backend, time_limit, workers, seed, presolve, options)
    if (reason := refusal(instance)) is not None:
        raise Unsupported(reason)
    start = _start(instance, hint, seed, warm_start)
    model_horizon, safe = _horizon(instance, horizon, start)
    form = DisjunctiveModel(instance, horizon=model_horizon)
    return optimise(instance, form, settings, solver_name="milp", safe_horizon=safe, start=start)
