"""Flat arrays of an Instance, built once and shared by every list scheduler.

The heuristics walk the kernel graph thousands of times; doing so through the Instance's
dataclasses and name lookups would dominate their running time. :func:`build_problem` turns an
Instance into plain Python lists (fast to index one element at a time in the schedulers' inner
loops) and a few numpy arrays (for the vectorised rank computations).

Units are numbered globally: device ``d`` owns units ``unit_base[d] .. unit_base[d] + units - 1``.
Modes are numbered globally too: kernel ``k`` owns modes ``mode_ptr[k] .. mode_ptr[k + 1] - 1``.
A mode whose dynamic power alone exceeds the power cap can never run and is left out; the position
of every kept mode in its kernel's ``modes`` tuple is ``mode_pos``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from xpuplan.models import Instance
from xpuplan.models.bulk import gc_paused

# Relative slack when comparing float sums of power or demands with a cap (the checker allows
# 1e-9; staying ten times tighter keeps every accepted profile valid after rounding).
PROFILE_TOL = 1e-10


def cap_tolerance(cap: float) -> float:
    """The absolute slack allowed above ``cap`` when summing floats."""
    return PROFILE_TOL * max(1.0, abs(cap))


@dataclass(frozen=True)
class Problem:
    """An Instance as flat arrays (see the module docstring for the numbering).

    Attributes
    ----------
    preds
        Per kernel, its in-edges as ``(src, cross_device_delay, resume_cost)``.
    succs
        Per kernel, its out-edges as ``(dst, cross_device_delay)``.
    hard_deadline
        Per kernel, its job's deadline when deadlines are hard, else ``inf``.
    job_deadline
        Per kernel, its job's deadline (hard or soft), ``inf`` when it has none.
    power_cap
        What running kernels may draw together (cap minus idle power), or None.
    """

    instance: Instance
    num_kernels: int
    num_devices: int
    num_units: int
    unit_base: list[int]
    unit_device: list[int]
    num_levels: list[int]
    mode_ptr: list[int]
    mode_kernel: list[int]
    mode_pos: list[int]
    mode_device: list[int]
    mode_level: list[int]
    mode_duration: list[int]
    mode_power: list[float]
    mode_demands: list[tuple[float, ...]]
    preds: list[list[tuple[int, int, int]]]
    succs: list[list[tuple[int, int]]]
    release: list[int]
    hard_deadline: list[float]
    job_deadline: list[float]
    kernel_job: list[int]
    topological_order: list[int]
    power_cap: float | None
    capacities: tuple[float, ...]
    per_device_dvfs: bool
    has_resume: bool

    def modes_of(self, k_idx: int) -> range:
        """Global indices of the (kept) modes of kernel ``k_idx``."""
        return range(self.mode_ptr[k_idx], self.mode_ptr[k_idx + 1])

    def device_durations(self) -> np.ndarray:
        """``W[k, d]``: the shortest duration of kernel ``k`` on device ``d`` (``inf`` if none).

        The shortest duration is the one at the device's fastest level, which is what an
        earliest-finish-time rule picks when nothing else binds.
        """
        table = np.full((self.num_kernels, self.num_devices), np.inf)
        np.minimum.at(
            table,
            (np.asarray(self.mode_kernel), np.asarray(self.mode_device)),
            np.asarray(self.mode_duration, dtype=float),
        )
        return table

    def unit_counts(self) -> np.ndarray:
        """Number of units of every device."""
        return np.diff(np.asarray(self.unit_base))

    def mean_durations(self, table: np.ndarray | None = None) -> np.ndarray:
        """:math:`\\bar w_k`: the mean of ``W[k, d]`` over the processors (units) ``k`` can use.

        HEFT and its relatives average a task's cost over the processors; here a processor is a
        unit, so a device with two units counts twice, and each device contributes the duration
        at its fastest level.
        """
        table = self.device_durations() if table is None else table
        weights = np.where(np.isfinite(table), self.unit_counts()[None, :], 0)
        total = np.where(np.isfinite(table), table, 0.0) * weights
        return np.asarray(total.sum(axis=1) / weights.sum(axis=1))


def build_problem(instance: Instance) -> Problem:
    """The flat arrays of ``instance``; see :class:`Problem`."""
    # Several flat arrays over every mode and edge, all acyclic: see xpuplan.models.bulk.
    with gc_paused():
        return _build_problem(instance)


def _build_problem(instance: Instance) -> Problem:
    devices = instance.devices
    device_idx = instance.device_idx
    unit_base = [0]
    for dev in devices:
        unit_base.append(unit_base[-1] + dev.units)
    unit_device = [d for d, dev in enumerate(devices) for _ in range(dev.units)]
    power_cap = instance.dynamic_power_cap_w
    resource_names = [res.name for res in instance.resources]
    no_demands: tuple[float, ...] = (0.0,) * len(resource_names)

    # (device name, level name) -> (device index, level index); levels numbered per device in
    # first-seen order, as in Instance.levels_by_device.
    slot: dict[tuple[str, str], tuple[int, int]] = {}
    num_levels = [0] * len(devices)
    mode_ptr = [0]
    mode_kernel: list[int] = []
    mode_pos: list[int] = []
    mode_device: list[int] = []
    mode_level: list[int] = []
    mode_duration: list[int] = []
    mode_power: list[float] = []
    mode_demands: list[tuple[float, ...]] = []
    cap_limit = math.inf if power_cap is None else power_cap + cap_tolerance(power_cap)
    # One pass with appends: measured faster than a comprehension per array on 20,000 modes.
    for k_idx, ker in enumerate(instance.kernels):
        for pos, mode in enumerate(ker.modes):
            key = (mode.device, mode.level)
            where = slot.get(key)
            if where is None:
                d_idx = device_idx[mode.device]
                where = slot[key] = (d_idx, num_levels[d_idx])
                num_levels[d_idx] += 1
            if mode.power_w > cap_limit:
                continue
            mode_kernel.append(k_idx)
            mode_pos.append(pos)
            mode_device.append(where[0])
            mode_level.append(where[1])
            mode_duration.append(mode.duration)
            mode_power.append(mode.power_w)
            demands = mode.demands
            mode_demands.append(
                tuple(demands.get(name, 0.0) for name in resource_names) if demands else no_demands
            )
        mode_ptr.append(len(mode_kernel))

    num_kernels = instance.num_kernels
    preds: list[list[tuple[int, int, int]]] = [[] for _ in range(num_kernels)]
    succs: list[list[tuple[int, int]]] = [[] for _ in range(num_kernels)]
    has_resume = False
    for edge, (src, dst) in zip(instance.edges, instance.edge_endpoints, strict=True):
        preds[dst].append((src, edge.cross_device_delay, edge.resume_cost))
        succs[src].append((dst, edge.cross_device_delay))
        has_resume = has_resume or edge.resume_cost > 0

    hard = not instance.soft_deadlines
    job_deadline = [
        math.inf if job.deadline is None else float(job.deadline) for job in instance.jobs
    ]
    kernel_job = instance.kernel2job
    return Problem(
        instance=instance,
        num_kernels=num_kernels,
        num_devices=len(devices),
        num_units=unit_base[-1],
        unit_base=unit_base,
        unit_device=unit_device,
        num_levels=num_levels,
        mode_ptr=mode_ptr,
        mode_kernel=mode_kernel,
        mode_pos=mode_pos,
        mode_device=mode_device,
        mode_level=mode_level,
        mode_duration=mode_duration,
        mode_power=mode_power,
        mode_demands=mode_demands,
        preds=preds,
        succs=succs,
        release=[instance.jobs[j].release for j in kernel_job],
        hard_deadline=[job_deadline[j] if hard else math.inf for j in kernel_job],
        job_deadline=[job_deadline[j] for j in kernel_job],
        kernel_job=kernel_job,
        topological_order=instance.topological_order,
        power_cap=power_cap,
        capacities=tuple(res.capacity for res in instance.resources),
        per_device_dvfs=instance.dvfs == "per-device",
        has_resume=has_resume,
    )
