"""``solve_cpsat``: the CP-SAT backend behind :func:`xpuplan.solvers.solve` (registered as
``"cpsat"``).

One model (:class:`xpuplan.solvers.cpsat.model.CpsatModel`) driven stage by stage by the
lexicographic driver every exact backend shares (:func:`xpuplan.solvers.exact.lexicographic`),
which also checks the hint and runs the warm start. The result is never worse than the warm
start, and an infeasible instance comes back with an explanation.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from ortools.sat.python.cp_model import OPTIMAL

from xpuplan.models import Instance, InvalidInput, Schedule
from xpuplan.models.objectives import evaluate_part, values_close
from xpuplan.solvers.bounds import part_lower_bound
from xpuplan.solvers.cpsat.callback import ProgressFn
from xpuplan.solvers.cpsat.explain import explain_infeasibility
from xpuplan.solvers.cpsat.model import CpsatModel, SolverSettings
from xpuplan.solvers.exact import (
    Deadline,
    OutOfTime,
    StageOutcome,
    lexicographic,
    start_schedule,
    unfinished_schedule,
)

MAX_DEFAULT_WORKERS = 8


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
    lean: bool = False,
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
        A valid schedule to start from (checked by :func:`xpuplan.solvers.exact.checked_hint`);
        without one (and with ``warm_start``) the best list scheduling heuristic's schedule is
        used. The result is never worse than the hint.
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
    lean
        Build the model without its bound-only parts (see
        :class:`xpuplan.solvers.cpsat.model.CpsatModel`): quicker to build, weaker bounds.
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
    deadline = Deadline(time_limit)
    settings = SolverSettings(workers or default_workers(), seed, log, params)
    start = start_schedule(instance, hint, seed=seed, use_heuristics=warm_start, deadline=deadline)
    parts = instance.objective.parts
    horizon = start.makespan if start is not None and parts[0].type == "makespan" else None
    try:
        cpm = CpsatModel(
            instance, unit_model=unit_model, horizon=horizon, deadline=deadline, lean=lean
        )
    except OutOfTime:
        return unfinished_schedule(instance, start, "cpsat")
    stages = CpsatStages(cpm, settings, callback, deadline, explain)
    return lexicographic(instance, stages, solver="cpsat", deadline=deadline, start=start)


def settled_stage(instance: Instance, stage: int, start: Schedule | None) -> StageOutcome | None:
    """The stage's outcome without a solve when ``start`` already meets the part's cheap bound
    (:func:`xpuplan.solvers.bounds.part_lower_bound`), else None.

    On the video-call instances the first part, ``late_jobs``, is 0 in the warm start and its
    bound is 0; solving it anyway spent half of the time limit (30 s of 60 at 2,020 kernels) before
    the energy stage began (benchmarks/results/scale.md).
    """
    if start is None or not start.is_solution:
        return None
    part = instance.objective.parts[stage]
    bound = part_lower_bound(instance, part)
    value = evaluate_part(instance, part, start.assignments)
    if not values_close(bound, value):
        return None
    return StageOutcome("optimal", start.assignments, bound)


class CpsatStages:
    """The CP-SAT model as a :class:`xpuplan.solvers.exact.StageSolver`."""

    def __init__(
        self,
        cpm: CpsatModel,
        settings: SolverSettings,
        callback: ProgressFn | None,
        deadline: Deadline,
        explain: bool,
    ) -> None:
        self.cpm = cpm
        self.settings = settings
        self.callback = callback
        self.deadline = deadline
        self.explain = explain
        self.fixed: list[int | float] = []

    def solve_stage(
        self, stage: int, time_limit: float | None, start: Schedule | None
    ) -> StageOutcome:
        settled = settled_stage(self.cpm.instance, stage, start)
        if settled is not None:
            return settled
        result = self.cpm.solve_stage(
            stage,
            self.settings,
            time_limit=time_limit,
            hint=start,
            progress=self.callback,
            fixed=tuple(self.fixed),
            began=self.deadline.began,
        )
        if result.infeasible:
            return StageOutcome("infeasible", None, None)
        bound = None
        if math.isfinite(result.bound):
            bound = self.cpm.terms[stage].bound_to_instance(result.bound)
        status = "optimal" if result.status == OPTIMAL else "feasible"
        if result.assignments is None:
            status = "unknown"
        return StageOutcome(status, result.assignments, bound)

    def fix_stage(self, stage: int, value: float) -> None:
        self.fixed.append(value)
        self.cpm.fix_stage(stage, round(value * self.cpm.terms[stage].scale))

    def no_schedule(self, time_left: float | None) -> Schedule:
        instance = self.cpm.instance
        if self.explain:
            budget = None if time_left is None else max(time_left, 1.0)
            message = explain_infeasibility(instance, self.settings, time_limit=budget)
        else:
            message = "infeasible (proven by cpsat)"
        return Schedule(instance.name, solver="cpsat", status="infeasible", message=message)
