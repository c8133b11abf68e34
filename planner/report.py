"""One-line and JSON summaries of a solve, shared by ``solve``, ``plan`` and ``compare``.

Objective values are in the instance's units (``time_unit`` for times, watts x ``time_unit`` for
energy, a weighted count for late jobs); the text says them in the units a person reads:
``0 late jobs, energy 2.582 J (bound 2.571 J), gap 0.41 %``.
"""

from __future__ import annotations

from typing import Any

from xpuplan.models import Instance
from xpuplan.models.objectives import late_job_indices
from xpuplan.models.schedule import ObjectiveValue
from xpuplan.solvers import Result

# Seconds per time unit, for the instance's time units that are real times.
_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def _fmt(value: object) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def objective_units(instance: Instance) -> list[str]:
    """The unit of each part of the instance's objective, as JSON reports it."""
    unit = instance.time_unit
    out = []
    for part in instance.objective.parts:
        if part.type == "energy":
            out.append(f"W*{unit}")
        elif part.type == "late_jobs":
            out.append("jobs (weighted)")
        elif part.type == "weighted_completion" or part.type == "weighted_tardiness":
            out.append(f"{unit} (weighted)")
        else:
            out.append(unit)
    return out


def _number(value: float) -> str:
    """Four significant figures, without an exponent below a million."""
    if value != value:
        return "nan"
    if abs(value) >= 1e6:
        return f"{value:.4g}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}" if value else "0"


def _time(value: float, unit: str) -> str:
    if unit not in _SECONDS:
        return f"{_number(value)} time units"
    seconds = value * _SECONDS[unit]
    if seconds >= 10 or seconds == 0:
        return f"{_number(seconds)} s"
    if seconds >= 1e-3:
        return f"{_number(seconds * 1e3)} ms"
    return f"{_number(seconds * 1e6)} us"


def _energy(value: float, unit: str) -> str:
    if unit not in _SECONDS:
        return f"{_number(value)} W x time unit"
    joules = value * _SECONDS[unit]
    if joules and joules < 1e-3:
        return f"{_number(joules * 1e6)} uJ"
    if joules and joules < 1:
        return f"{_number(joules * 1e3)} mJ"
    return f"{_number(joules)} J"


def _quantity(instance: Instance, part: str, value: float) -> str:
    """The number of one objective part with its unit, e.g. ``2.582 J``."""
    unit = instance.time_unit
    if part == "energy":
        return _energy(value, unit)
    if part in ("makespan", "weighted_tardiness", "weighted_completion"):
        return _time(value, unit)
    return _number(value)


def quantities_text(instance: Instance, value: ObjectiveValue | None) -> str:
    """The value of each objective part with its unit, for tables: ``0, 2.624 J``."""
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    values = value if isinstance(value, tuple) else (value,)
    parts = [part.type for part in instance.objective.parts]
    return ", ".join(
        _quantity(instance, part, val) for part, val in zip(parts, values, strict=False)
    )


def part_text(instance: Instance, part: str, value: float) -> str:
    """One objective part in a person's units, e.g. ``energy 2.582 J`` or ``0 late jobs``."""
    if part == "late_jobs":
        unweighted = all(job.weight == 1 for job in instance.jobs)
        if value == 0 or (unweighted and float(value).is_integer()):
            count = int(value)
            return f"{count} late job{'' if count == 1 else 's'}"
        return f"weighted late jobs {_number(value)}"
    return f"{part.replace('_', ' ')} {_quantity(instance, part, value)}"


def objective_text(
    instance: Instance,
    value: ObjectiveValue | None,
    bound: ObjectiveValue | None,
    gap: float | None,
) -> str:
    """``0 late jobs, energy 2.582 J (bound 2.571 J), gap 0.41 %`` (bounds shown where they
    differ from the value)."""
    parts = [part.type for part in instance.objective.parts]
    if value is None:
        text = "no schedule"
        if bound is not None:
            lows = bound if isinstance(bound, tuple) else (bound,)
            shown = ", ".join(part_text(instance, p, b) for p, b in zip(parts, lows, strict=False))
            text += f" (bound {shown})"
        return text
    values = value if isinstance(value, tuple) else (value,)
    bounds: tuple[float | None, ...]
    if bound is None:
        bounds = (None,) * len(values)
    else:
        bounds = bound if isinstance(bound, tuple) else (bound,)
    pieces = []
    for p_idx, (part, val) in enumerate(zip(parts, values, strict=False)):
        piece = part_text(instance, part, val)
        low = bounds[p_idx] if p_idx < len(bounds) else None
        if low is not None and low != val:
            piece += f" (bound {_quantity(instance, part, low)})"
        pieces.append(piece)
    text = ", ".join(pieces)
    if gap is not None:
        text += f", gap {100 * gap:.2f} %"
    return text


def _json_value(value: ObjectiveValue | None) -> Any:
    return list(value) if isinstance(value, tuple) else value


def solve_summary(instance: Instance, result: Result, *, timings: bool = True) -> dict[str, Any]:
    """Status, objective (raw, with its units and as text), bound, gap, seconds (left out
    without ``timings``) and late jobs of a solve, plus a one-line text."""
    gap = result.gap
    late = (
        len(late_job_indices(instance, result.schedule.assignments))
        if result.schedule.is_solution
        else None
    )
    text = objective_text(instance, result.objective, result.lower_bound, gap)
    line = f"{result.status}: {text}"
    if timings:
        line += f", {result.runtime:.2f} s"
    if late and "late_jobs" not in [p.type for p in instance.objective.parts]:
        line += f", {late} late job(s)"
    out: dict[str, Any] = {
        "instance": instance.name,
        "solver": result.schedule.solver,
        "status": result.status,
        "objective": _json_value(result.objective),
        "lower_bound": _json_value(result.lower_bound),
        "objective_parts": [part.type for part in instance.objective.parts],
        "objective_units": objective_units(instance),
        "objective_text": text,
        "gap": gap,
    }
    if timings:
        out["seconds"] = round(result.runtime, 3)
    out["late_jobs"] = late
    out["line"] = line
    return out
