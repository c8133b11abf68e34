"""What both MILP formulations derive from an instance and a start schedule, before any model:
variants, horizons, the start schedule's values, and the size of the time-indexed model.

Nothing here creates a PuLP object; it is cheap, so the size of a model can be checked before it is
built.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import replace

import networkx as nx

from xpuplan.models import Instance, Objective
from xpuplan.models.objectives import evaluate_part, job_completions
from xpuplan.models.schedule import Assignment
from xpuplan.solvers.bounds import (
    dynamic_energy_lower_bound,
    heads,
    job_completion_bounds,
    serial_upper_bound,
    tails,
)

# Float slack for power and resource sums, as in models.checker.
EPS = 1e-9


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


def variants(instance: Instance, k_idx: int) -> list[tuple[int | None, int]]:
    """``(contiguous in-edge or None, resume time)`` for every variant of kernel ``k_idx``."""

    def devices(idx: int) -> set[str]:
        return {m.device for m in instance.kernels[idx].modes}

    resumable = [e_idx for e_idx in instance.in_edges[k_idx] if instance.edges[e_idx].resume_cost]
    out: list[tuple[int | None, int]] = [
        (None, max((instance.edges[e].resume_cost for e in resumable), default=0))
    ]
    for e_idx in resumable:
        src = instance.edge_endpoints[e_idx][0]
        if devices(src) & devices(k_idx):
            rest = (instance.edges[f].resume_cost for f in resumable if f != e_idx)
            out.append((e_idx, max(rest, default=0)))
    return out


def mode_variants(instance: Instance, k_idx: int) -> Iterator[tuple[int, int, int | None, int]]:
    """``(mode, device index, variant edge, duration)`` of every choice of kernel ``k_idx``.

    A variant whose edge's source has no mode on the mode's device is left out (it could never be
    contiguous there).
    """
    ker = instance.kernels[k_idx]
    choices = variants(instance, k_idx)
    for m_idx, mode in enumerate(ker.modes):
        d_idx = instance.device_idx[mode.device]
        for variant, resume in choices:
            if variant is not None:
                src = instance.edge_endpoints[variant][0]
                if all(m.device != mode.device for m in instance.kernels[src].modes):
                    continue
            yield m_idx, d_idx, variant, mode.duration + resume


def start_windows(instance: Instance, horizon: int) -> Iterator[tuple[int, int, int]]:
    """``(kernel, earliest start, latest end)`` of every kernel in the time-indexed model: at or
    after the head (releases included), ending by the horizon minus the tail, and by the job's
    deadline when deadlines are hard."""
    head, tail = heads(instance), tails(instance)
    soft = instance.soft_deadlines
    for k_idx in range(instance.num_kernels):
        job = instance.jobs[instance.kernel2job[k_idx]]
        latest_end = horizon - tail[k_idx]
        if not soft and job.deadline is not None:
            latest_end = min(latest_end, job.deadline)
        yield k_idx, head[k_idx], latest_end


def count_time_indexed_starts(instance: Instance, horizon: int) -> tuple[int, int]:
    """How many start variables the time-indexed model of ``instance`` over ``horizon`` has, and
    how many instants they run in all (the nonzeros of its unit rows).

    Counted, not enumerated: one product per (kernel, mode, variant), so it costs nothing next to
    building the model (:class:`xpuplan.solvers.milp.time_indexed.TimeIndexedModel` enumerates the
    same starts).
    """
    total = nonzeros = 0
    for k_idx, first, latest_end in start_windows(instance, horizon):
        for _, d_idx, _, duration in mode_variants(instance, k_idx):
            times = max(0, latest_end - duration + 1 - first) * instance.devices[d_idx].units
            total += times
            nonzeros += times * duration
    return total, nonzeros


def conflict_cliques(instance: Instance, limit: int) -> list[list[tuple[int, int]]]:
    """Sets of ``(kernel, mode)`` pairs of which at most one can run at any instant.

    Two pairs conflict when they are modes of one kernel, or run on a device with a single unit,
    or together draw more than the dynamic power cap or demand more than a resource's capacity.
    Returns the maximal cliques of that conflict graph that span at least two kernels and are
    not just one single-unit device (which the unit rows already cover), at most ``limit``.
    """
    nodes = [
        (k_idx, m_idx)
        for k_idx, ker in enumerate(instance.kernels)
        for m_idx in range(len(ker.modes))
    ]
    cap = instance.dynamic_power_cap_w
    units = {dev.name: dev.units for dev in instance.devices}

    def clash(a: tuple[int, int], b: tuple[int, int]) -> bool:
        if a[0] == b[0]:
            return True
        ma, mb = instance.kernels[a[0]].modes[a[1]], instance.kernels[b[0]].modes[b[1]]
        if ma.device == mb.device and units[ma.device] == 1:
            return True
        if cap is not None and ma.power_w + mb.power_w > cap + EPS * max(1.0, cap):
            return True
        return any(
            ma.demands.get(res.name, 0.0) + mb.demands.get(res.name, 0.0)
            > res.capacity + EPS * max(1.0, res.capacity)
            for res in instance.resources
        )

    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((a, b) for a, b in itertools.combinations(nodes, 2) if clash(a, b))
    out = []
    for clique in nx.find_cliques(graph):
        kernels = {k_idx for k_idx, _ in clique}
        devices = {instance.kernels[k].modes[m].device for k, m in clique}
        one_unit = len(devices) == 1 and units[next(iter(devices))] == 1
        if len(kernels) > 1 and not one_unit:
            out.append(sorted(clique))
            if len(out) == limit:
                break
    return out
