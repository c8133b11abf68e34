"""Objective values computed from a schedule, independently of whichever solver produced it.

See :class:`xpuplan.models.instance.Objective` for the formulas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from xpuplan.models.instance import Instance, Objective
from xpuplan.models.schedule import Assignment, ObjectiveValue, Schedule


def job_completions(instance: Instance, assignments: Sequence[Assignment]) -> list[int]:
    """Completion time :math:`C_j` of every job (0 for a job none of whose kernels is placed)."""
    kernel_idx = instance.kernel_idx
    kernel2job = instance.kernel2job
    out = [0] * instance.num_jobs
    for asg in assignments:
        k_idx = kernel_idx.get(asg.kernel)
        if k_idx is not None:
            j_idx = kernel2job[k_idx]
            out[j_idx] = max(out[j_idx], asg.end)
    return out


def late_job_indices(instance: Instance, assignments: Sequence[Assignment]) -> list[int]:
    """Indices of the jobs that finish after their deadline."""
    completions = job_completions(instance, assignments)
    return [
        j_idx
        for j_idx, job in enumerate(instance.jobs)
        if job.deadline is not None and completions[j_idx] > job.deadline
    ]


def dynamic_energy(instance: Instance, assignments: Sequence[Assignment]) -> float:
    """:math:`\\sum_k p_k (end_k - start_k)`: kernels' dynamic energy, resume time included."""
    power = _mode_power(instance)
    return math.fsum(
        power.get((asg.kernel, asg.device, asg.level), 0.0) * (asg.end - asg.start)
        for asg in assignments
    )


def evaluate_part(instance: Instance, part: Objective, assignments: Sequence[Assignment]) -> float:
    """The value of one simple objective."""
    makespan = max((asg.end for asg in assignments), default=0)
    if part.type == "makespan":
        return makespan
    if part.type == "energy":
        return dynamic_energy(instance, assignments) + instance.idle_power_w * makespan
    completions = job_completions(instance, assignments)
    if part.type == "weighted_completion":
        return _sum_weighted(
            (job.weight, completions[j_idx]) for j_idx, job in enumerate(instance.jobs)
        )
    if part.type == "weighted_tardiness":
        return _sum_weighted(
            (job.weight, max(0, completions[j_idx] - job.deadline))
            for j_idx, job in enumerate(instance.jobs)
            if job.deadline is not None
        )
    if part.type == "late_jobs":
        return _sum_weighted(
            (job.weight, 1)
            for j_idx, job in enumerate(instance.jobs)
            if job.deadline is not None and completions[j_idx] > job.deadline
        )
    raise ValueError(f"not a simple objective: {part.type}")


def evaluate(instance: Instance, schedule: Schedule | Sequence[Assignment]) -> ObjectiveValue:
    """The instance's objective for a schedule: a number, or a tuple for a lexicographic one."""
    assignments = schedule.assignments if isinstance(schedule, Schedule) else schedule
    values = tuple(evaluate_part(instance, part, assignments) for part in instance.objective.parts)
    return values if instance.objective.type == "lexicographic" else values[0]


def values_close(a: ObjectiveValue | None, b: ObjectiveValue | None, rel: float = 1e-6) -> bool:
    """Equality of objective values up to float rounding (energies are sums of floats)."""
    if a is None or b is None:
        return a is b
    xs = a if isinstance(a, tuple) else (a,)
    ys = b if isinstance(b, tuple) else (b,)
    return len(xs) == len(ys) and all(
        math.isclose(x, y, rel_tol=rel, abs_tol=1e-6) for x, y in zip(xs, ys, strict=True)
    )


def value_leq(a: ObjectiveValue, b: ObjectiveValue, rel: float = 1e-6) -> bool:
    """``a <= b`` up to rounding, lexicographically for tuples."""
    xs = a if isinstance(a, tuple) else (a,)
    ys = b if isinstance(b, tuple) else (b,)
    for x, y in zip(xs, ys, strict=False):
        if math.isclose(x, y, rel_tol=rel, abs_tol=1e-6):
            continue
        return x < y
    return True


def _sum_weighted(pairs: object) -> float:
    total = math.fsum(w * v for w, v in pairs)  # type: ignore[attr-defined]
    return int(total) if total.is_integer() else total


def _mode_power(instance: Instance) -> dict[tuple[str, str, str], float]:
    return {
        (ker.name, mode.device, mode.level): mode.power_w
        for ker in instance.kernels
        for mode in ker.modes
    }
