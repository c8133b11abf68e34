"""From CP-SAT's values to assignments: modes, units (assigned here on pooled devices), times."""

from __future__ import annotations

import heapq
from collections.abc import Callable

from ortools.sat.python.cp_model import IntVar

from xpuplan.models import Assignment
from xpuplan.models.schedule import decoded_assignments
from xpuplan.solvers.cpsat.data import ModelData
from xpuplan.solvers.cpsat.variables import Variables

ValueFn = Callable[[IntVar], int]


def assignments_from_values(
    data: ModelData, variables: Variables, value: ValueFn
) -> list[Assignment]:
    """The assignments of a CP-SAT solution read through ``value`` (a solver's or a callback's).

    Ends are recomputed (:func:`xpuplan.models.schedule.decoded_assignments`) from the contiguity
    the placement implies, and must equal the model's ends: a mismatch is a bug in the model and
    raises.

    Raises
    ------
    RuntimeError
        When the model's ends disagree with the instance's timing rules, or a pooled device has
        no free unit (both would be bugs).
    """
    inst = data.instance
    modes, units, starts = [], [], []
    for kv in variables.kernel_vars:
        mode = next(m_idx for m_idx, lit in enumerate(kv.mode_vars) if value(lit))
        modes.append(mode)
        starts.append(value(kv.start_var))
        units.append(0)
    for k_idx, kv in enumerate(variables.kernel_vars):
        for (_, unit), lit in kv.device_unit_vars.items():
            if value(lit):
                units[k_idx] = unit
    _assign_pooled_units(data, modes, starts, units, variables, value)
    ends = [value(kv.end_var) for kv in variables.kernel_vars]
    return decoded_assignments(inst, modes, units, starts, ends, f"the cpsat model of {inst.name}")


def _assign_pooled_units(
    data: ModelData,
    modes: list[int],
    starts: list[int],
    units: list[int],
    variables: Variables,
    value: ValueFn,
) -> None:
    """Give kernels on pooled devices a unit each (interval colouring in start order).

    The device's cumulative guarantees a free unit at every start. A kernel takes the unit of a
    predecessor of its own job that ends exactly at its start when that unit is free, so the
    schedule shows no needless preemption.
    """
    inst = data.instance
    device_idx = inst.device_idx
    ends = [value(kv.end_var) for kv in variables.kernel_vars]
    per_device: dict[int, list[int]] = {}
    for k_idx, m_idx in enumerate(modes):
        d_idx = device_idx[inst.kernels[k_idx].modes[m_idx].device]
        if inst.devices[d_idx].units > 1 and not data.per_unit[d_idx]:
            per_device.setdefault(d_idx, []).append(k_idx)
    for d_idx, members in per_device.items():
        free = list(range(inst.devices[d_idx].units))
        busy: list[tuple[int, int]] = []
        for k_idx in sorted(members, key=lambda k: (starts[k], ends[k], k)):
            while busy and busy[0][0] <= starts[k_idx]:
                heapq.heappush(free, heapq.heappop(busy)[1])
            if not free:
                raise RuntimeError(
                    f"internal error in the cpsat model: no free unit of "
                    f"{inst.devices[d_idx].name!r} at {starts[k_idx]}"
                )
            unit = _preferred_unit(data, k_idx, d_idx, starts, ends, units, modes, free)
            free.remove(unit)
            heapq.heapify(free)
            units[k_idx] = unit
            heapq.heappush(busy, (ends[k_idx], unit))


def _preferred_unit(
    data: ModelData,
    k_idx: int,
    d_idx: int,
    starts: list[int],
    ends: list[int],
    units: list[int],
    modes: list[int],
    free: list[int],
) -> int:
    inst = data.instance
    for e_idx in inst.in_edges[k_idx]:
        src = inst.edge_endpoints[e_idx][0]
        src_device = inst.device_idx[inst.kernels[src].modes[modes[src]].device]
        same_job = inst.kernel2job[src] == inst.kernel2job[k_idx]
        if same_job and src_device == d_idx and ends[src] == starts[k_idx] and units[src] in free:
            return units[src]
    return free[0]
