"""One-line and JSON summaries of a solve, shared by ``solve``, ``plan`` and ``compare``."""

from __future__ import annotations

from typing import Any

from xpuplan.models import Instance
from xpuplan.models.objectives import late_job_indices
from xpuplan.solvers import Result


def _fmt(value: object) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def solve_summary(instance: Instance, result: Result) -> dict[str, Any]:
    """Status, objective, bound, gap, seconds and late jobs of a solve, plus a one-line text."""
    gap = result.gap
    late = (
        len(late_job_indices(instance, result.schedule.assignments))
        if result.schedule.is_solution
        else None
    )
    line = (
        f"{result.status}: objective {_fmt(result.objective)}, bound {_fmt(result.lower_bound)}, "
        f"gap {'-' if gap is None else f'{100 * gap:.2f}%'}, {result.runtime:.2f} s"
    )
    if late:
        line += f", {late} late job(s)"
    return {
        "instance": instance.name,
        "solver": result.schedule.solver,
        "status": result.status,
        "objective": list(result.objective)
        if isinstance(result.objective, tuple)
        else result.objective,
        "lower_bound": list(result.lower_bound)
        if isinstance(result.lower_bound, tuple)
        else result.lower_bound,
        "gap": gap,
        "seconds": round(result.runtime, 3),
        "late_jobs": late,
        "line": line,
    }
