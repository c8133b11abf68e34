"""Why an instance is infeasible, in terms a user can act on.

Run only after the main model was proven infeasible. Every rule a user can relax gets an
assumption literal: each job's hard deadline, the power cap, each resource's capacity and the
per-device DVFS rule. CP-SAT, solving under all assumptions, returns a subset of them that is
already infeasible (``sufficient_assumptions_for_infeasibility``); deleting members one at a time
while the rest stays infeasible shrinks it to a minimal set when time allows. Every other rule
(releases, precedences, durations, units) is fixed data, and on its own is always feasible.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ortools.sat.python.cp_model import FEASIBLE, INFEASIBLE, OPTIMAL, CpSolverStatus, IntVar

from xpuplan.models import Instance
from xpuplan.solvers.cpsat.interrupt import solve_interruptibly
from xpuplan.solvers.cpsat.model import LARGE_MODEL_INTERVALS, CpsatModel, SolverSettings


@dataclass(frozen=True, eq=False)
class _Assumption:
    """A relaxable rule and its literal (compared by identity)."""

    kind: str
    label: str
    lit: IntVar


def explain_infeasibility(
    instance: Instance, settings: SolverSettings, *, time_limit: float | None
) -> str:
    """A one-paragraph explanation of why ``instance`` has no feasible schedule.

    Parameters
    ----------
    instance
        An instance the main model proved infeasible.
    settings
        CP-SAT settings (workers, seed).
    time_limit
        Seconds for the whole explanation (None: no limit).

    Returns
    -------
    str
        Names the jobs whose deadlines, and the power cap, resources or DVFS rule, that cannot
        all hold together; says when the set was proven minimal.
    """
    began = time.perf_counter()
    cpm = CpsatModel(instance, explain=True)
    assumptions = _assumptions(instance, cpm)

    def remaining() -> float | None:
        return None if time_limit is None else max(0.05, time_limit - (time.perf_counter() - began))

    status, core = _solve(cpm, assumptions, settings, remaining())
    if status in (OPTIMAL, FEASIBLE):
        return "infeasible (proven by the main model; its explanation model found no conflict)"
    if status != INFEASIBLE:
        return "infeasible; no explanation was found within the time limit"
    if not core:
        return (
            "infeasible whatever the deadlines, the power cap, the resource capacities and the "
            "DVFS rule: releases and precedences alone cannot be met"
        )
    minimal = True
    idx = 0
    while idx < len(core):
        if time_limit is not None and time.perf_counter() - began >= time_limit:
            minimal = False
            break
        trial = core[:idx] + core[idx + 1 :]
        status, smaller = _solve(cpm, trial, settings, remaining())
        if status == INFEASIBLE:
            core = [a for a in trial if a in smaller] if smaller else trial
            continue
        if status not in (OPTIMAL, FEASIBLE):
            minimal = False
        idx += 1
    return _message(core, minimal)


def _assumptions(instance: Instance, cpm: CpsatModel) -> list[_Assumption]:
    v = cpm.variables
    out = [
        _Assumption(
            "deadline", f"{instance.jobs[j_idx].name!r} (by {instance.jobs[j_idx].deadline})", lit
        )
        for j_idx, lit in v.deadline_vars.items()
    ]
    if v.power_cap_var is not None:
        out.append(
            _Assumption("power", f"the power cap of {instance.power_cap_w:g} W", v.power_cap_var)
        )
    for r_idx, lit in v.resource_vars.items():
        res = instance.resources[r_idx]
        out.append(_Assumption("resource", f"the capacity {res.capacity:g} of {res.name!r}", lit))
    if v.dvfs_var is not None:
        out.append(_Assumption("dvfs", "one DVFS level per device (dvfs: per-device)", v.dvfs_var))
    return out


def _solve(
    cpm: CpsatModel,
    assumptions: list[_Assumption],
    settings: SolverSettings,
    time_limit: float | None,
) -> tuple[CpSolverStatus, list[_Assumption]]:
    """Solve under ``assumptions``; on infeasibility also return the subset CP-SAT blames."""
    cpm.model.clear_assumptions()
    cpm.model.add_assumptions([a.lit for a in assumptions])
    solver = settings.solver(time_limit, large=cpm.num_intervals > LARGE_MODEL_INTERVALS)
    status = solve_interruptibly(solver, cpm.model, None)
    if status != INFEASIBLE:
        return status, []
    blamed = set(solver.sufficient_assumptions_for_infeasibility())
    return status, [a for a in assumptions if a.lit.index in blamed]


def _message(core: list[_Assumption], minimal: bool) -> str:
    phrases = []
    deadlines = [a.label for a in core if a.kind == "deadline"]
    if deadlines:
        noun = "the deadline of job" if len(deadlines) == 1 else "the deadlines of jobs"
        phrases.append(f"{noun} {_join(deadlines)}")
    phrases += [a.label for a in core if a.kind != "deadline"]
    text = f"infeasible: {_join(phrases)} cannot all hold together"
    if len(phrases) == 1 and len(core) == 1:
        text = f"infeasible: {phrases[0]} cannot be met"
    if minimal and len(core) > 1:
        text += "; relaxing any one of them (e.g. a later deadline) makes the instance feasible"
    elif minimal:
        text += "; relaxing it makes the instance feasible"
    return text


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
