"""``solve_cpsat``: the CP-SAT backend behind :func:`xpuplan.solvers.solve` (registered as
``"cpsat"``).

One model (:class:`xpuplan.solvers.cpsat.model.CpsatModel`); a simple objective is one solve, a
lexicographic one a solve per part, each part fixed at its best value before the next one starts.
The result is never worse than the warm start, and an infeasible instance comes back with an
explanation.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from typing import Any

from xpuplan.models import (
    Instance,
    InvalidInput,
    Schedule,
    check_schedule,
    evaluate,
    preemptions_of,
)
from xpuplan.models.objectives import evaluate_part, value_leq, values_close
from xpuplan.models.schedule import ObjectiveValue
from xpuplan.solvers.bounds import part_lower_bound
from xpuplan.solvers.cpsat.callback import ProgressFn
from xpuplan.solvers.cpsat.explain import explain_infeasibility
from xpuplan.solvers.cpsat.model import CpsatModel, SolverSettings
from xpuplan.solvers.heuristics import best_heuristic_schedule, default_names

MAX_DEFAULT_WORKERS = 8
# The heuristic warm start may take this share of the time limit.
WARM_START_SHARE = 0.2


def default_workers() -> int:
    """CP-SAT workers when none are asked for: the machine's cores, at most 8."""
    return max(1, min(os.cpu_count() or 2, MAX_DEFAULT_WORKERS))


def solve_cpsat(
    instance: Instance,
    *,
    time_limit: float | None = None,
    workers: int | None = None,
    seed: int = 0,
    hint: Schedule | None = None,
    log: bool = False,
    callback: ProgressFn | None = None,
    warm_start: bool = True,
    unit_model: str = "auto",
    params: Mapping[str, Any] | None = None,
    explain: bool = True,
    **options: Any,
) -> Schedule:
    """Solve ``instance`` with CP-SAT.

    Parameters
    ----------
    instance
        The instance; every rule is modelled, or :class:`xpuplan.models.Unsupported` names the one
        that cannot be (powers or weights that do not scale to integers exactly).
    time_limit
        Wall seconds for the whole solve (heuristic warm start, every lexicographic stage and
        the explanation of an infeasible instance); None for no limit.
    workers
        CP-SAT's ``num_workers`` (default :func:`default_workers`).
    seed
        CP-SAT's ``random_seed`` (and the heuristics').
    hint
        A valid schedule to start from; without one (and with ``warm_start``) the best list
        scheduling heuristic's schedule is used. The result is never worse than the hint.
    log
        Print CP-SAT's search log.
    callback
        ``callback(objective, bound, seconds)`` as incumbents and bounds improve.
    warm_start
        Run the heuristics for a hint when ``hint`` is None.
    unit_model
        See :class:`xpuplan.solvers.cpsat.model.CpsatModel` (``"auto"`` or ``"per-unit"``).
    params
        Extra CP-SAT parameters by name.
    explain
        Explain an infeasible instance (an extra solve under assumptions).
    **options
        Nothing else is accepted: an unknown option raises :class:`xpuplan.models.InvalidInput`.

    Returns
    -------
    Schedule
        ``optimal`` (objective equals the proven bound), ``feasible``, ``infeasible`` (no
        assignments; ``message`` names the deadlines, power cap, resources or DVFS rule that
        cannot all hold) or ``unknown`` (no schedule found in time; ``lower_bound`` still set).

    Raises
    ------
    InvalidInput
        When ``hint`` is not a valid schedule of ``instance``, or for an unknown option.
    """
    if options:
        name = sorted(options)[0]
        raise InvalidInput("is not an option of the cpsat solver", field=name, value=options[name])
    began = time.perf_counter()
    settings = SolverSettings(workers or default_workers(), seed, log, params)

    def remaining() -> float | None:
        if time_limit is None:
            return None
        return time_limit - (time.perf_counter() - began)

    hint = _checked_hint(instance, hint)
    if hint is None and warm_start:
        hint = _heuristic_hint(instance, seed, time_limit)
    parts = instance.objective.parts
    horizon = hint.makespan if hint is not None and parts[0].type == "makespan" else None
    cpm = CpsatModel(instance, unit_model=unit_model, horizon=horizon)

    current = hint
    fixed: list[int | float] = []
    bounds: list[int | float] = []
    proven = True
    for stage, part in enumerate(parts):
        static = part_lower_bound(instance, part)
        left = remaining()
        if left is not None and left <= 0 and current is not None:
            bounds.append(static)
            proven = False
            fixed.append(evaluate_part(instance, part, current.assignments))
            continue
        share = None if left is None else max(left, 0.01) / (len(parts) - stage)
        result = cpm.solve_stage(
            stage,
            settings,
            time_limit=share if stage < len(parts) - 1 else left,
            hint=current,
            progress=callback,
            fixed=tuple(fixed),
            began=began,
        )
        if result.infeasible:
            if stage > 0:
                raise RuntimeError("internal error: a lexicographic stage became infeasible")
            return _infeasible(instance, settings, remaining() if explain else 0.0, explain)
        bound = static
        if math.isfinite(result.bound):
            bound = max(bound, cpm.terms[stage].bound_to_instance(result.bound))
        if result.assignments is not None:
            found = Schedule(instance.name, tuple(result.assignments), solver="cpsat")
            current = _better(instance, stage, found, current)
        if current is None:  # only at the first stage: later ones start from its schedule
            rest = tuple(part_lower_bound(instance, p) for p in parts[1:])
            return Schedule(
                instance.name,
                solver="cpsat",
                status="unknown",
                lower_bound=(bound, *rest) if rest else bound,
                message=f"no feasible schedule found within the time limit ({time_limit} s)",
            )
        value = evaluate_part(instance, part, current.assignments)
        if not value_leq(bound, value):
            raise RuntimeError(
                f"internal error: the cpsat bound {bound} exceeds the {part.type} {value} of a "
                "valid schedule"
            )
        proven = proven and values_close(bound, value)
        bounds.append(bound)
        fixed.append(value)
        if stage < len(parts) - 1:
            cpm.fix_stage(stage, round(value * cpm.terms[stage].scale))
    if current is None:
        raise RuntimeError("internal error: no schedule after the last stage")
    return _final(instance, current, bounds, proven)


def _checked_hint(instance: Instance, hint: Schedule | None) -> Schedule | None:
    """The user's hint if it places every kernel validly; None when it claims no solution."""
    if hint is None or not hint.is_solution:
        return None
    violations = check_schedule(instance, _claims_removed(hint))
    if violations:
        raise InvalidInput(
            f"is not a valid schedule of the instance: {violations[0]}"
            + (f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""),
            field="hint",
            value=hint.instance,
            show_value=False,
        )
    return hint


def _claims_removed(schedule: Schedule) -> Schedule:
    """The assignments alone: a hint's reported objective, bound and preemptions are not checked."""
    return schedule.replace(objective=None, lower_bound=None, status="feasible", preemptions=None)


def _heuristic_hint(instance: Instance, seed: int, time_limit: float | None) -> Schedule | None:
    """The best list-scheduling schedule, within :data:`WARM_START_SHARE` of the time limit.

    HEFT runs first; the whole portfolio only when HEFT's time times the number of heuristics
    fits the share. A schedule the checker rejects (a heuristic bug) is not used.
    """
    began = time.perf_counter()
    best = best_heuristic_schedule(instance, seed=seed, names=["heft"])
    elapsed = time.perf_counter() - began
    names = default_names(instance)
    if time_limit is None or elapsed * len(names) <= WARM_START_SHARE * time_limit:
        best = best_heuristic_schedule(instance, seed=seed, names=names) or best
    if best is None or check_schedule(instance, _claims_removed(best)):
        return None
    return best


def _better(
    instance: Instance, stage: int, found: Schedule, incumbent: Schedule | None
) -> Schedule:
    """The better of two schedules on the objective parts from ``stage`` on (``found`` on ties)."""
    if incumbent is None:
        return found
    parts = instance.objective.parts[stage:]
    a = tuple(evaluate_part(instance, p, found.assignments) for p in parts)
    b = tuple(evaluate_part(instance, p, incumbent.assignments) for p in parts)
    return found if value_leq(a, b) else incumbent


def _final(
    instance: Instance,
    schedule: Schedule,
    bounds: list[int | float],
    proven: bool,
) -> Schedule:
    lexicographic = instance.objective.type == "lexicographic"
    objective = evaluate(instance, schedule)
    lower: ObjectiveValue = tuple(bounds) if lexicographic else bounds[0]
    return Schedule(
        instance.name,
        schedule.assignments,
        solver="cpsat",
        status="optimal" if proven else "feasible",
        objective=objective,
        lower_bound=lower,
        preemptions=tuple(preemptions_of(instance, schedule.assignments)),
    )


def _infeasible(
    instance: Instance, settings: SolverSettings, time_left: float | None, explain: bool
) -> Schedule:
    if explain:
        budget = None if time_left is None else max(time_left, 1.0)
        message = explain_infeasibility(instance, settings, time_limit=budget)
    else:
        message = "infeasible (proven by cpsat)"
    return Schedule(instance.name, solver="cpsat", status="infeasible", message=message)
