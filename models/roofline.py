"""The calibrated roofline: time and power of ``W`` operations moving ``Q`` bytes on a device.

Agent.xpu (arXiv 2506.24045, Sec. "predictive kernel annotation") predicts kernel latency with
``T = max(W / P_eff, Q / B_eff)`` where ``P_eff`` and ``B_eff`` are the peak compute and bandwidth
scaled by measured efficiencies. Here

.. math::

    T_c = \\frac{W}{P_{peak}(prec) \\cdot s_\\ell \\cdot \\eta_c}, \\qquad
    T_m = \\frac{Q}{B_{dev} \\cdot \\eta_b}, \\qquad
    T = \\max(T_c, T_m) + t_{launch}

with :math:`s_\\ell` the DVFS level's relative speed. Memory bandwidth does not scale with the
compute clock (the memory controller has its own clock), so a memory-bound kernel gains little
from a higher level -- the reason DVFS saves energy on memory-bound work.

Dynamic power: a unit running flat out at level :math:`\\ell` draws :math:`p_\\ell`. A kernel
keeps the compute array busy a fraction :math:`u = T_c / \\max(T_c, T_m)` of the time; the rest of
the chip (memory traffic, caches, control) is active throughout, so

.. math::  P = p_\\ell \\cdot (\\alpha + (1 - \\alpha) u), \\qquad \\alpha = 0.8

(:math:`\\alpha` is the share of peak power a fully memory-bound kernel draws: a GEMV-bound LLM
decode on the Core Ultra iGPU draws about 25 W against 31 W for a compute-bound prefill in
Agent.xpu's measurements, 25 / 31 = 0.8).
"""

from __future__ import annotations

from dataclasses import dataclass

from xpuplan.models.errors import InvalidInput
from xpuplan.models.platform import PRECISIONS, DeviceSpec, DvfsLevel

# Share of a level's peak dynamic power drawn by a fully memory-bound kernel (see module doc).
MEMORY_BOUND_POWER_SHARE = 0.8
# Precisions from narrowest to widest: a precision a device lacks runs at the nearest wider one.
WIDTH_ORDER = ("int4", "int8", "fp16", "bf16", "fp32")
assert set(WIDTH_ORDER) == set(PRECISIONS)


@dataclass(frozen=True)
class RooflineCost:
    """Cost of one kernel at one (device, level): times in us, power in W, bandwidth in GB/s."""

    time_us: float
    compute_us: float
    memory_us: float
    power_w: float
    bandwidth_gbps: float

    @property
    def memory_bound(self) -> bool:
        return self.memory_us > self.compute_us


def peak_ops(device: DeviceSpec, precision: str) -> float:
    """Peak operations per second of one unit at ``precision`` (top level).

    A precision the device lacks runs at the nearest wider precision it has (computing wider is
    always possible); if it has none wider, at the nearest narrower one (a quantised deployment).
    """
    if precision not in WIDTH_ORDER:
        raise InvalidInput(
            f"must be one of {', '.join(PRECISIONS)}", field="precision", value=precision
        )
    if precision in device.peak_ops:
        return device.peak_ops[precision]
    pos = WIDTH_ORDER.index(precision)
    for other in WIDTH_ORDER[pos + 1 :]:
        if other in device.peak_ops:
            return device.peak_ops[other]
    for other in reversed(WIDTH_ORDER[:pos]):
        if other in device.peak_ops:
            return device.peak_ops[other]
    raise InvalidInput("lists no peak throughput", field=f"{device.name}.peak_ops", value={})


def roofline_cost(
    device: DeviceSpec,
    level: DvfsLevel,
    *,
    flops: float,
    bytes_moved: float,
    precision: str,
    mem_bw_gbps: float | None = None,
) -> RooflineCost:
    """Time, power and bandwidth demand of a kernel on one unit of ``device`` at ``level``.

    Parameters
    ----------
    flops
        Arithmetic operations (a multiply-accumulate counts 2).
    bytes_moved
        Bytes read and written (weights included).
    precision
        The kernel's precision (see :func:`peak_ops` for the fallback).
    mem_bw_gbps
        The platform's shared memory bandwidth, which caps the device's own.

    Examples
    --------
    >>> from models.platform import DeviceSpec, DvfsLevel
    >>> npu = DeviceSpec("npu", "npu", 1, (DvfsLevel("max", 1000, 1.0, 10.0),), 0.5,
    ...                  {"int8": 10e12}, 100.0, compute_efficiency=0.5, bandwidth_efficiency=0.8)
    >>> cost = roofline_cost(npu, npu.top_level, flops=5e9, bytes_moved=8e6, precision="int8")
    >>> round(cost.compute_us), round(cost.memory_us), round(cost.power_w, 2)
    (1000, 100, 10.0)
    """
    if flops < 0 or bytes_moved < 0:
        raise InvalidInput("must be >= 0", field="flops/bytes_moved", value=(flops, bytes_moved))
    compute_us = (
        flops / (peak_ops(device, precision) * level.speed * device.compute_efficiency) * 1e6
    )
    bandwidth = (
        device.bandwidth_gbps if mem_bw_gbps is None else min(device.bandwidth_gbps, mem_bw_gbps)
    )
    effective_bw = bandwidth * device.bandwidth_efficiency
    memory_us = bytes_moved / (effective_bw * 1e9) * 1e6
    busy = max(compute_us, memory_us)
    utilisation = compute_us / busy if busy > 0 else 1.0
    power = level.power_w * (
        MEMORY_BOUND_POWER_SHARE + (1 - MEMORY_BOUND_POWER_SHARE) * utilisation
    )
    time_us = busy + device.launch_overhead_us
    demand = bytes_moved / (time_us * 1e3) if time_us > 0 else 0.0  # GB/s over the kernel's span
    return RooflineCost(time_us, compute_us, memory_us, power, demand)
