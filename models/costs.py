"""Cost annotation of kernel graphs: modes per (device, DVFS level), cross-device delays, resumes.

:func:`annotate` turns a kernel graph (see :mod:`xpuplan.models.kernels` for the schema) into one
whose kernels carry ``modes`` -- a tuple of :class:`xpuplan.models.Mode`, one per (device, level)
the kernel can run at -- and whose edges carry ``cross_device_delay`` and ``resume_cost``, the
numbers an Instance needs.

Where a kernel's duration at a (device, level) comes from:

1. a measured profile row (:class:`xpuplan.models.profiles.ProfileTable`) for (model, kernel name,
   device, level), then for (model, kernel label, device, level);
2. else, when the device has rows at other levels, the base model of 3 or 4 calibrated by them
   (:func:`calibrate`): :math:`T_\\ell = B_\\ell \\, T_m / B_m` with :math:`m` the nearest
   profiled level above :math:`\\ell` (else below), and never more than the row of the nearest
   profiled level below :math:`\\ell`. So a measurement moves every level of its device, and a
   higher level is never slower than a lower one as long as the rows themselves are not (a row
   slower than the roofline makes the unmeasured levels below it slower still);
3. measured op latencies of a profiled graph (every op carries ``measured_us``): the sum over the
   kernel's ops of the device's entry -- its name, its kind, or ``"accel"`` for any non-CPU
   device -- divided by :math:`s_\\ell c`, the level's relative speed times the share of the
   device's compute that the platform's power mode leaves on (``PowerMode.compute_scale``, 1
   without one). An assumption, as the roofline has no such figures to check it by: the latencies
   were measured on the whole device at its top level, and all of a latency scales with the
   compute rate;
4. the calibrated roofline of :mod:`xpuplan.models.roofline` with the platform's shared memory
   bandwidth as a cap on the device's own,
   :math:`T = \\max(W / (P_{peak} s_\\ell \\eta_c),\\ Q / (\\min(B_{dev}, B_{mem}) \\eta_b))`
   :math:`+\\ t_{launch}` with :math:`W` the kernel's FLOPs and :math:`Q` its bytes read, written
   and of weights.

Rows match only the levels the platform (in its power mode) has. The duration is
:math:`\\lceil T \\rceil` us, at least 1. Power is the roofline's dynamic power (a profile row's
where it gives one), rounded to 0.001 W. The bandwidth demand is :math:`Q / T` in GB/s (with the
rounded duration where a measurement set :math:`T`), capped at the platform's memory bandwidth (so
a single kernel never exceeds the shared resource), rounded to 0.001.

A device runs a kernel when it supports every op type of the kernel (``DeviceSpec.unsupported_ops``)
and, for a kernel with measured latencies, when the measurement has an entry for it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import networkx as nx

from xpuplan.models.errors import InvalidInput
from xpuplan.models.fields import MAX_TIME, require_int
from xpuplan.models.instance import MEM_BW, Mode
from xpuplan.models.platform import PRECISIONS, DeviceSpec, DvfsLevel, Platform
from xpuplan.models.profiles import ProfileTable
from xpuplan.models.roofline import roofline_cost

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


def compute_share(platform: Platform, device: str) -> float:
    """The share of ``device``'s compute that the platform's applied power mode leaves on.

    ``PowerMode.compute_scale`` of :attr:`Platform.power_mode` (e.g. 0.5 on the Orin's GPU in
    the 10W and 15W modes, which gate 2 of its 4 TPCs); 1 when no mode is applied or it gates
    nothing on the device.
    """
    for mode in platform.power_modes:
        if mode.name == platform.power_mode:
            return float(mode.compute_scale.get(device, 1.0))
    return 1.0


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
        A kernel graph (:mod:`xpuplan.models.kernels`).
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
    require_int(resume_cost_us, "resume_cost_us", 0)
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
        delay_us = platform.transfer_delay_us(data.get("bytes", 0.0))
        if not delay_us <= MAX_TIME:  # also catches inf and nan
            raise InvalidInput(
                f"gives a transfer between devices a delay of {delay_us:.3g} us, more than the "
                "2^40 us an instance holds: check transfer_gbps and sync_overhead_us",
                field="transfer_gbps",
                value=platform.transfer_gbps,
            )
        data["cross_device_delay"] = ceil_us(delay_us)
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


def calibrate(base_us: Sequence[float], measured_us: Sequence[float | None]) -> list[float]:
    """Times per level (lowest first): the measurements, and the base model scaled to them.

    A level :math:`\\ell` with a measurement keeps it. Any other takes
    :math:`T_\\ell = B_\\ell \\, T_m / B_m` (:math:`T_\\ell = T_m` when :math:`B_m = 0`), with
    :math:`m` the nearest measured level above :math:`\\ell`, else the nearest below, capped at
    the measurement of the nearest measured level below :math:`\\ell` when there is one above
    too. Without any measurement the base times are returned. When ``base_us`` does not rise with
    the level and the measurements do not either, neither does the result.

    Examples
    --------
    >>> calibrate([40.0, 20.0, 10.0], [None, None, 30.0])
    [120.0, 60.0, 30.0]
    >>> calibrate([40.0, 20.0, 10.0], [50.0, None, 30.0])
    [50.0, 50.0, 30.0]
    """
    if len(base_us) != len(measured_us):
        raise ValueError("base_us and measured_us must have one entry per level")
    idx2measured = {idx: value for idx, value in enumerate(measured_us) if value is not None}
    times = []
    for idx, base in enumerate(base_us):
        if idx in idx2measured or not idx2measured:
            times.append(idx2measured.get(idx, base))
            continue
        above = [m_idx for m_idx in idx2measured if m_idx > idx]
        below = [m_idx for m_idx in idx2measured if m_idx < idx]
        ref = above[0] if above else below[-1]
        ref_us = idx2measured[ref]
        scaled = ref_us * base / base_us[ref] if base_us[ref] > 0 else ref_us
        times.append(min(scaled, idx2measured[below[-1]]) if above and below else scaled)
    return times


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
    modes: list[Mode] = []
    for dev in devices:
        rows = [
            None if profile is None else _profile_row(profile, model, str(name), label, dev, level)
            for level in dev.levels
        ]
        if measured is None:
            measured_us = None
        else:
            key = measured_key(dev, measured)
            assert key is not None  # supporting_devices kept only devices with an entry
            measured_us = _measured_us(name, key, measured[key])
        modes.extend(
            _device_modes(
                dev, device2levels[dev.name], platform, flops, bytes_moved, prec, measured_us, rows
            )
        )
    return tuple(modes)


def _device_modes(
    dev: DeviceSpec,
    selected: Iterable[DvfsLevel],
    platform: Platform,
    flops: float,
    bytes_moved: float,
    precision: str,
    measured_us: float | None,
    rows: Sequence[tuple[float, float | None] | None],
) -> list[Mode]:
    """The modes of a kernel on ``dev`` at the ``selected`` levels (see the module docstring).

    ``measured_us`` is the kernel's measured latency on the device (None: the roofline is the
    base model), ``rows`` the profile row at each of the device's levels (or None).
    """
    # Every level of the device is costed, so that a row at a level without a mode (levels
    # other than "all") still calibrates the levels that have one.
    costs = [
        roofline_cost(
            dev,
            level,
            flops=flops,
            bytes_moved=bytes_moved,
            precision=precision,
            mem_bw_gbps=platform.mem_bw_gbps,
        )
        for level in dev.levels
    ]
    if measured_us is None:
        base = [cost.time_us for cost in costs]
    else:
        share = compute_share(platform, dev.name)
        base = [measured_us / (level.speed * share) for level in dev.levels]
    times = calibrate(base, [None if row is None else row[0] for row in rows])
    from_measurement = measured_us is not None or any(row is not None for row in rows)
    wanted = set(selected)
    modes = []
    for level, cost, row, time_us in zip(dev.levels, costs, rows, times, strict=True):
        if level not in wanted:
            continue
        if not time_us <= MAX_TIME:  # also catches inf and nan
            raise InvalidInput(
                f"gives a kernel a duration of {time_us:.3g} us at level {level.name!r}, more "
                "than the 2^40 us an instance holds: check the device's peak_ops, "
                "bandwidth_gbps, efficiencies, levels and launch_overhead_us, and the platform's "
                "mem_bw_gbps",
                field=f"devices.{dev.name}",
                value=time_us,
                show_value=False,
            )
        duration = max(1, ceil_us(time_us))
        power_w = cost.power_w if row is None or row[1] is None else row[1]
        bandwidth = bytes_moved / (duration * 1e3) if from_measurement else cost.bandwidth_gbps
        demands = {MEM_BW: round(min(bandwidth, platform.mem_bw_gbps), 3)}
        modes.append(Mode(dev.name, level.name, duration, round(power_w, 3), demands))
    return modes


def _profile_row(
    profile: ProfileTable, model: str, name: str, label: str, dev: DeviceSpec, level: DvfsLevel
) -> tuple[float, float | None] | None:
    """The row for the kernel by name, else by label, at (device, level), or None."""
    row = profile.lookup(model, name, dev.name, level.name)
    return row if row is not None else profile.lookup(model, label, dev.name, level.name)


__all__ = [
    "LLM_PREFILL_FAMILY",
    "annotate",
    "calibrate",
    "ceil_us",
    "compute_share",
    "measured_key",
    "select_levels",
    "supporting_devices",
]
