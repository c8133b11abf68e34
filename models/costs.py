"""Cost annotation of kernel graphs: modes per (device, DVFS level), cross-device delays, resumes.

:func:`annotate` turns a kernel graph (see :mod:`models.kernels` for the schema) into one whose
kernels carry ``modes`` -- a tuple of :class:`models.Mode`, one per (device, level) the kernel can
run at -- and whose edges carry ``cross_device_delay`` and ``resume_cost``, the numbers an
Instance needs.

Where a kernel's duration comes from, first match wins:

1. a measured profile row (:class:`models.profiles.ProfileTable`) for (model, kernel name,
   device, level), then for (model, kernel label, device, level);
2. measured op latencies of a profiled graph (every op carries ``measured_us``): the sum over the
   kernel's ops of the device's entry -- its name, its kind, or ``"accel"`` for any non-CPU
   device -- divided by the level's relative speed :math:`s_\\ell` (the figures are taken at the
   top level);
3. the calibrated roofline of :mod:`models.roofline` with the platform's shared memory bandwidth
   as a cap on the device's own,
   :math:`T = \\max(W / (P_{peak} s_\\ell \\eta_c),\\ Q / (\\min(B_{dev}, B_{mem}) \\eta_b))`
   :math:`+\\ t_{launch}` with :math:`W` the kernel's FLOPs and :math:`Q` its bytes read, written
   and of weights.

The duration is :math:`\\lceil T \\rceil` us, at least 1. Power is the roofline's dynamic power (a
profile row's where it gives one), rounded to 0.001 W. The bandwidth demand is :math:`Q / T` in
GB/s, capped at the platform's memory bandwidth (so a single kernel never exceeds the shared
resource), rounded to 0.001.

A device runs a kernel when it supports every op type of the kernel (``DeviceSpec.unsupported_ops``)
and, for a kernel with measured latencies, when the measurement has an entry for it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from models.errors import InvalidInput
from models.instance import Mode
from models.platform import PRECISIONS, DeviceSpec, DvfsLevel, Platform
from models.profiles import ProfileTable
from models.roofline import roofline_cost

MEM_BW_DEMAND = "mem_bw_gbps"
# The family of op graphs / kernel graphs of a (chunked) LLM prefill.
LLM_PREFILL_FAMILY = "llm-prefill"
# Float noise below this many us does not push a duration or delay to the next integer.
_CEIL_TOLERANCE_US = 1e-6


def measured_key(device: DeviceSpec, measured: Mapping[str, float]) -> str | None:
    """The entry of a ``measured_us`` mapping that holds ``device``'s latency, or None.

    The device's name, then its kind (``"cpu"``, ``"gpu"``...), then ``"accel"`` for any device
    that is not a CPU (profiled graphs measure "the CPU" and "the accelerator").
    """
    for key in (device.name, device.kind):
        if key in measured:
            return key
    if device.kind != "cpu" and "accel" in measured:
        return "accel"
    return None


def supporting_devices(
    platform: Platform, op_types: Iterable[str], measured: Mapping[str, float] | None = None
) -> tuple[DeviceSpec, ...]:
    """Devices of ``platform`` that can run a kernel of these op types (and measurements)."""
    types = frozenset(op_types)
    return tuple(
        dev
        for dev in platform.devices
        if not (types & dev.unsupported_ops)
        and (measured is None or measured_key(dev, measured) is not None)
    )


def select_levels(device: DeviceSpec, levels: str | int) -> tuple[DvfsLevel, ...]:
    """The DVFS levels of ``device`` that get modes.

    ``"all"``: every level; ``"top"``: the top level; an int :math:`k \\ge 1`: :math:`k` levels
    spread evenly over the list, the top one included -- indices
    :math:`\\mathrm{round}(i (L-1)/(k-1))` for :math:`i = 0..k-1` (just the top for :math:`k = 1`).
    """
    all_levels = device.levels
    if levels == "all":
        return all_levels
    if levels == "top":
        return (device.top_level,)
    if not isinstance(levels, int) or isinstance(levels, bool) or levels < 1:
        raise InvalidInput('must be "all", "top" or an integer >= 1', field="levels", value=levels)
    if levels == 1:
        return (device.top_level,)
    last = len(all_levels) - 1
    idcs = sorted({round(i * last / (levels - 1)) for i in range(levels)})
    return tuple(all_levels[i] for i in idcs)


def ceil_us(value: float) -> int:
    """Round a time in us up to an integer, ignoring float noise below a picosecond."""
    return math.ceil(value - _CEIL_TOLERANCE_US)


def annotate(
    kernel_graph: nx.DiGraph,
    platform: Platform,
    *,
    levels: str | int = "all",
    profile: ProfileTable | None = None,
    resume_cost_us: int = 0,
    precision: str | None = None,
) -> nx.DiGraph:
    """A copy of ``kernel_graph`` with modes on its kernels and delays on its edges.

    Parameters
    ----------
    kernel_graph
        A kernel graph (:mod:`models.kernels`).
    platform
        The platform whose devices and levels become the modes.
    levels
        ``"all"``, ``"top"`` or a number of levels per device (see :func:`select_levels`).
    profile
        Measured rows that override the roofline (see the module docstring).
    resume_cost_us
        ``resume_cost`` of the edges of an LLM prefill that cross a chunk or a layer boundary
        (the price of checkpointing the prefill there); other edges get 0. An edge that already
        carries a ``resume_cost`` keeps it.
    precision
        Cost every kernel at this precision instead of its own.

    Returns
    -------
    networkx.DiGraph
        Kernels with ``modes`` (platform device order, then increasing level); edges with
        ``cross_device_delay`` = ``ceil(platform.transfer_delay_us(bytes))`` and ``resume_cost``.

    Raises
    ------
    InvalidInput
        When a kernel runs on no device of the platform (naming it and its op types), or an
        argument is out of range.
    """
    if precision is not None and precision not in PRECISIONS:
        raise InvalidInput(
            f"must be one of {', '.join(PRECISIONS)}", field="precision", value=precision
        )
    if (
        not isinstance(resume_cost_us, int)
        or isinstance(resume_cost_us, bool)
        or resume_cost_us < 0
    ):
        raise InvalidInput("must be an integer >= 0", field="resume_cost_us", value=resume_cost_us)
    device2levels = {dev.name: select_levels(dev, levels) for dev in platform.devices}
    model = str(kernel_graph.graph.get("name", ""))
    out = kernel_graph.copy()
    out.graph["platform"] = platform.name
    for name, data in out.nodes(data=True):
        data["modes"] = _kernel_modes(
            name, data, platform, device2levels, model, profile, precision
        )
    llm_prefill = kernel_graph.graph.get("family") == LLM_PREFILL_FAMILY
    for src, dst, data in out.edges(data=True):
        data["cross_device_delay"] = ceil_us(platform.transfer_delay_us(data.get("bytes", 0.0)))
        if "resume_cost" not in data:
            boundary = llm_prefill and _crosses_boundary(out.nodes[src], out.nodes[dst])
            data["resume_cost"] = resume_cost_us if boundary else 0
    return out


def _crosses_boundary(src: Mapping[str, Any], dst: Mapping[str, Any]) -> bool:
    return src.get("chunk") != dst.get("chunk") or src.get("layer") != dst.get("layer")


def _measured_us(name: str, key: str, value: Any) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0:
        raise InvalidInput(
            "must be a finite number >= 0", field=f"kernels.{name}.measured_us.{key}", value=value
        )
    return float(value)


def _kernel_modes(
    name: str,
    data: Mapping[str, Any],
    platform: Platform,
    device2levels: Mapping[str, tuple[DvfsLevel, ...]],
    model: str,
    profile: ProfileTable | None,
    precision: str | None,
) -> tuple[Mode, ...]:
    op_types = tuple(data["op_types"])
    measured = data.get("measured_us")
    devices = supporting_devices(platform, op_types, measured)
    if not devices:
        raise InvalidInput(
            f"kernel {name!r} ({'+'.join(op_types)}) runs on no device of platform "
            f"{platform.name!r}",
            field=f"kernels.{name}.op_types",
            value=list(op_types),
        )
    flops = float(data["flops"])
    bytes_moved = (
        float(data["bytes_read"]) + float(data["bytes_written"]) + float(data["weight_bytes"])
    )
    prec = precision or data["precision"]
    label = str(data.get("label", ""))
    modes = []
    for dev in devices:
        for level in device2levels[dev.name]:
            cost = roofline_cost(
                dev,
                level,
                flops=flops,
                bytes_moved=bytes_moved,
                precision=prec,
                mem_bw_gbps=platform.mem_bw_gbps,
            )
            time_us, power_w, bandwidth = cost.time_us, cost.power_w, cost.bandwidth_gbps
            row = None
            if profile is not None:
                row = profile.lookup(model, str(name), dev.name, level.name)
                row = row or profile.lookup(model, label, dev.name, level.name)
            if row is not None:
                time_us = row[0]
                power_w = power_w if row[1] is None else row[1]
            elif measured is not None:
                key = measured_key(dev, measured)
                assert key is not None  # supporting_devices kept only devices with an entry
                time_us = _measured_us(name, key, measured[key]) / level.speed
            duration = max(1, ceil_us(time_us))
            if row is not None or measured is not None:
                bandwidth = bytes_moved / (duration * 1e3)
            modes.append(
                Mode(
                    dev.name,
                    level.name,
                    duration,
                    round(power_w, 3),
                    {MEM_BW_DEMAND: round(min(bandwidth, platform.mem_bw_gbps), 3)},
                )
            )
    return tuple(modes)


__all__ = [
    "LLM_PREFILL_FAMILY",
    "MEM_BW_DEMAND",
    "annotate",
    "ceil_us",
    "measured_key",
    "select_levels",
    "supporting_devices",
]
