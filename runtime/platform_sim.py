"""The platform in simulation: units, latency noise, bandwidth contention, DVFS, power, governor.

:class:`MachineSpec` is what the simulator needs to know about a platform (devices, units, DVFS
levels, idle power, power budget, memory bandwidth), built from a
:class:`xpuplan.models.platform.Platform` or from an :class:`xpuplan.models.Instance`.
:class:`PlatformSim` is one run's mutable machine state.

Latency noise
    A kernel's solo duration is its mode's duration times a lognormal factor with mean 1 and
    coefficient of variation :math:`c`: :math:`\\sigma^2 = \\ln(1 + c^2)`,
    :math:`\\mu = -\\sigma^2 / 2`. With :math:`c = 0` it is exact.
Memory-bandwidth contention (progress based)
    Each running kernel :math:`k` needs bandwidth :math:`b_k` (its mode's ``mem_bw_gbps``, bytes
    over solo duration). When :math:`\\sum_k b_k` exceeds the shared capacity :math:`B`, the
    capacity is split max-min fairly (kernels needing less than an equal share get what they
    need, the rest share what is left) and a kernel granted :math:`a_k < b_k` progresses at rate
    :math:`a_k / b_k`. Rates are recomputed whenever the set of running kernels changes, and the
    remaining work of each kernel carries over. Memory-bound kernels (large :math:`b_k`) slow
    down; compute-bound ones (small :math:`b_k`) keep their speed.
Calibration of :math:`B`
    Agent.xpu (arXiv 2506.24045) measured concurrent NPU + iGPU memory-bound kernels slowing by up
    to 1.59x. :func:`contention_capacity_gbps` picks :math:`B` so that two fully memory-bound
    kernels on the NPU and the GPU (else the two most bandwidth-hungry devices) slow by exactly
    that factor (the slower of the two). A kernel running alone never slows (it streams at its
    own solo bandwidth, which is what its duration already assumes).
DVFS
    Each unit runs at one level; a kernel at another level first waits ``dvfs_transition_us``
    for the switch (an assumption of the configuration, not a measured figure). A policy that
    knows a unit's next level may switch an idle unit ahead of the work
    (``DispatchApi.switch_level``): the switch then takes the same time from that moment, and
    a kernel at the new level starts no earlier than its end.
Power
    :math:`P(t) = \\sum_{units} p^{idle} + \\sum_{running} p_k` is piecewise constant; each
    constant stretch is integrated exactly into energy when it ends, i.e. when a kernel drawing
    power starts, ends, is suspended or resumed or changes level (a kernel drawing no power
    changes nothing, so its start and end integrate nothing). Its peak, the time with
    :math:`P(t) > ` budget, and the longest such stretch (one excursion) are recorded.
Governor
    Samples power every ``governor_period_us`` (only while something is over budget or
    throttled, which gives the same samples as sampling always). Over budget: it lowers level
    caps one level at a time, the device drawing the most dynamic power first, until the running
    kernels at their capped levels fit the budget (:meth:`PlatformSim.capped_draw`) -- running
    kernels switch to their mode at the capped level at once (remaining work scaled by the
    modes' duration ratio) and new kernels run at most at that level; when they cannot fit (every
    device drawing power is at its lowest level) it holds dispatch. So after every sample power
    is within the budget unless the running kernels' lowest levels exceed it; between samples,
    work started since the last one can exceed it (the governor is reactive, like a firmware
    power limit), which a run reports as its peak, time and longest stretch over budget. Below
    :data:`GOVERNOR_RELEASE` x budget it releases the hold at once, and raises one cap by one
    level after :data:`GOVERNOR_RAISE_AFTER` such samples in a row.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from xpuplan.models import MEM_BW, Instance, InvalidInput
from xpuplan.models.margin import lognormal_params
from xpuplan.models.platform import Platform

# Agent.xpu (arXiv 2506.24045): concurrent NPU + iGPU memory-bound GEMVs slow down by up to 1.59x.
AGENT_XPU_PAIR_SLOWDOWN = 1.59
# Float slack on power sums (watts) and on rates.
_EPS = 1e-9
_NOISE_BLOCK = 4096
# The governor releases its hold and raises caps once power is below this share of the budget
# (hysteresis, so that it does not oscillate around the budget).
GOVERNOR_RELEASE = 0.9
# ... and only after this many consecutive samples below it, so that a cap raised too early does
# not push the next kernels straight over the budget again (an oscillation every two samples).
GOVERNOR_RAISE_AFTER = 10

# Run states.
WAITING, RUNNING, DONE = 0, 1, 2
# The ``due`` of a run without a pending end event.
_NO_END = math.inf


@dataclass(frozen=True)
class DeviceInfo:
    """A device as the simulator sees it; ``levels`` from slowest to fastest."""

    name: str
    kind: str | None
    units: int
    idle_power_w: float
    levels: tuple[str, ...]


@dataclass(frozen=True)
class MachineSpec:
    """The simulated platform.

    Parameters
    ----------
    devices
        The devices, each with its units and DVFS levels.
    power_budget_w
        The budget the governor enforces (None: no budget).
    peak_bw_gbps
        The shared memory's peak bandwidth (the denominator of memory pressure).
    contention_bw_gbps
        The capacity :math:`B` shared by running kernels (None: no contention).
    """

    name: str
    devices: tuple[DeviceInfo, ...]
    power_budget_w: float | None = None
    peak_bw_gbps: float | None = None
    contention_bw_gbps: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "devices", tuple(self.devices))
        if self.power_budget_w is not None and self.power_budget_w < self.idle_power_w - _EPS:
            raise InvalidInput(
                f"is below the idle power of the devices ({self.idle_power_w:g} W)",
                field="power_budget_w",
                value=self.power_budget_w,
            )

    @property
    def idle_power_w(self) -> float:
        return sum(dev.units * dev.idle_power_w for dev in self.devices)

    @cached_property
    def device_idx(self) -> dict[str, int]:
        return {dev.name: d_idx for d_idx, dev in enumerate(self.devices)}

    @classmethod
    def from_platform(
        cls,
        platform: Platform,
        *,
        power_budget_w: float | None = None,
        pair_slowdown: float = AGENT_XPU_PAIR_SLOWDOWN,
        contention: bool = True,
    ) -> MachineSpec:
        """The machine of a platform; the budget defaults to the platform's."""
        devices = tuple(
            DeviceInfo(d.name, d.kind, d.units, d.idle_power_w, tuple(lv.name for lv in d.levels))
            for d in platform.devices
        )
        budget = platform.power_budget_w if power_budget_w is None else power_budget_w
        capacity = contention_capacity_gbps(platform, pair_slowdown) if contention else None
        name = platform.name + (f"[{platform.power_mode}]" if platform.power_mode else "")
        return cls(name, devices, budget, platform.mem_bw_gbps, capacity)

    @classmethod
    def from_instance(
        cls, instance: Instance, *, contention_bw_gbps: float | None = None
    ) -> MachineSpec:
        """The machine an instance describes.

        Levels of a device are ordered by the mean duration of the modes that use them (slowest
        first), since an instance names levels without frequencies. The power budget is the
        instance's cap; the bandwidth is its ``mem_bw_gbps`` resource when it has one.
        """
        durations: dict[tuple[str, str], list[int]] = {}
        for ker in instance.kernels:
            for mode in ker.modes:
                durations.setdefault((mode.device, mode.level), []).append(mode.duration)
        devices = []
        for dev in instance.devices:
            levels = instance.levels_by_device[dev.name]
            ordered = sorted(levels, key=lambda lv: -np.mean(durations[(dev.name, lv)]))
            devices.append(
                DeviceInfo(
                    dev.name, dev.kind, dev.units, dev.idle_power_w, tuple(ordered) or ("default",)
                )
            )
        bandwidth = next((r.capacity for r in instance.resources if r.name == MEM_BW), None)
        capacity = contention_bw_gbps if contention_bw_gbps is not None else bandwidth
        return cls(instance.name, tuple(devices), instance.power_cap_w, bandwidth, capacity)


def contention_capacity_gbps(
    platform: Platform, pair_slowdown: float = AGENT_XPU_PAIR_SLOWDOWN
) -> float:
    """The shared capacity :math:`B` that gives the measured pair slowdown (module docstring).

    The pair is the platform's NPU and GPU when it has both (Agent.xpu's measurement), else its
    two most bandwidth-hungry devices. With their solo memory-bound demands
    :math:`b_s \\le b_b` (each :math:`\\min(B_{dev}, B_{mem}) \\eta_b`, the roofline's effective
    bandwidth) and max-min sharing, the slower kernel slows by :math:`b_b / (B - b_s)` when
    :math:`b_s \\le B/2`, else by :math:`2 b_b / B`; solving for a slowdown of
    ``pair_slowdown`` gives :math:`B`.

    Examples
    --------
    An NPU and a GPU that each stream 62.72 GB/s alone share 78.9 GB/s: each slows 1.59x.

    >>> from models.platform import DeviceSpec, DvfsLevel, Platform
    >>> dev = lambda n, k: DeviceSpec(n, k, 1, (DvfsLevel("max", 1000, 1.0, 10.0),), 0.5,
    ...                               {"fp16": 1e12}, 89.6, bandwidth_efficiency=0.7)
    >>> round(contention_capacity_gbps(Platform("p", (dev("a", "npu"), dev("b", "gpu")), 89.6)), 2)
    78.89
    """
    solo = {
        dev.name: min(dev.bandwidth_gbps, platform.mem_bw_gbps) * dev.bandwidth_efficiency
        for dev in platform.devices
    }
    kinds = {dev.kind: dev.name for dev in platform.devices}
    if "npu" in kinds and "gpu" in kinds:
        pair = sorted((solo[kinds["npu"]], solo[kinds["gpu"]]))
    else:
        pair = sorted(solo.values())[-2:]
    if len(pair) == 1:
        return pair[0]
    small, big = pair
    if small <= big / pair_slowdown:
        return small + big / pair_slowdown
    return 2 * big / pair_slowdown


class Run:
    """One kernel execution (or one batched decode step) on one unit."""

    __slots__ = (
        "base",
        "batch",
        "bw",
        "dev",
        "due",
        "item",
        "job",
        "k",
        "level",
        "modes",
        "power",
        "rate",
        "start",
        "state",
        "suspended",
        "t_last",
        "unit",
        "work",
    )

    def __init__(
        self,
        job: Any,
        k: int,
        item: Any,
        modes: tuple[Any, ...],
        unit: int,
        dev: int,
        level: int,
        base: float,
        work: float,
        power: float,
        bw: float,
        start: float,
    ) -> None:
        self.job = job
        self.k = k
        self.item = item
        self.batch: list[Any] | None = None
        self.modes = modes  # the modes it could run in (for a level change)
        self.unit = unit
        self.dev = dev
        self.level = level
        self.base = base  # the duration of the mode it runs in (no noise, no resume)
        self.work = work  # remaining solo time, us
        self.power = power
        self.bw = bw
        self.rate = 1.0
        self.start = start
        self.t_last = start
        self.due = _NO_END  # the time of the pending end event (inf while suspended)
        self.state = WAITING
        self.suspended = False

    @property
    def expected_end(self) -> float:
        """When the run ends if nothing changes (inf while suspended)."""
        if self.state == WAITING:
            return self.start + self.work
        if self.suspended or self.rate <= 0:
            return math.inf
        return self.t_last + self.work / self.rate


class PlatformSim:
    """One run's machine state: which unit runs what, at what rate, drawing what power.

    ``on_end`` is the handler of a kernel's end event; its payload is the run, and an event whose
    time is not ``run.due`` is one that a rate change superseded.
    """

    def __init__(
        self,
        spec: MachineSpec,
        rng: np.random.Generator,
        on_end: Callable[[Any], Any],
        *,
        noise_cv: float = 0.0,
        dvfs_transition_us: float = 0.0,
        end_priority: int = 0,
    ) -> None:
        if noise_cv < 0 or not math.isfinite(noise_cv):
            raise InvalidInput("must be a finite number >= 0", field="noise_cv", value=noise_cv)
        self.spec = spec
        self.num_devices = len(spec.devices)
        self.unit_dev: list[int] = []
        self.dev_units: list[list[int]] = []
        for d_idx, dev in enumerate(spec.devices):
            self.dev_units.append(list(range(len(self.unit_dev), len(self.unit_dev) + dev.units)))
            self.unit_dev.extend([d_idx] * dev.units)
        self.num_units = len(self.unit_dev)
        self.unit_name = [
            f"{spec.devices[d].name}/{u - self.dev_units[d][0]}"
            for u, d in enumerate(self.unit_dev)
        ]
        self.idle: list[list[int]] = [list(units) for units in self.dev_units]
        self.idle_mask = (1 << self.num_devices) - 1
        self.unit_run: list[Run | None] = [None] * self.num_units
        self.unit_level = [len(spec.devices[d].levels) - 1 for d in self.unit_dev]
        # When each unit's last level switch ahead of work (Simulator.switch_level) completes.
        self.level_ready = [0.0] * len(self.unit_dev)
        self.cap = [len(dev.levels) - 1 for dev in spec.devices]
        self.hold = False
        self._calm = 0  # consecutive governor samples below the release threshold
        # True while the governor holds dispatch or caps some device below its top level.
        self.throttled = False
        self.running: list[Run] = []
        self.idle_w = spec.idle_power_w
        self.power_w = self.idle_w
        self.peak_power_w = self.idle_w
        self.energy_j = 0.0
        self.over_budget_us = 0.0
        # The longest stretch of time with P(t) above the budget, and the current one's length.
        self.longest_over_budget_us = 0.0
        self._over_run = 0.0
        self.busy_us = [0.0] * self.num_devices
        self.total_bw = 0.0
        self._streams = 0  # running, not suspended kernels with a bandwidth demand
        self.budget_w = spec.power_budget_w
        self.noise_cv = noise_cv
        self.dvfs_transition_us = dvfs_transition_us
        self._capacity = spec.contention_bw_gbps
        self._capacity_tol = math.inf if self._capacity is None else self._capacity * (1 + _EPS)
        self._over_budget_above = math.inf if self.budget_w is None else self.budget_w + _EPS
        self._slowed = False
        self._t = 0.0
        self._rng = rng
        self._noise: list[float] = []
        self._on_end = on_end
        self._end_priority = end_priority
        self._mu, self._sigma = lognormal_params(noise_cv)

    # ------------------------------------------------------------------ queries
    @property
    def memory_pressure(self) -> float:
        """:math:`P_{mem} = \\sum_k b_k / B_{peak}` over running kernels (0 without a peak)."""
        peak = self.spec.peak_bw_gbps
        return self.total_bw / peak if peak else 0.0

    def unit_free_at(self, unit: int, now: float) -> float:
        """When ``unit`` is expected to be free (``now`` when it is idle)."""
        run = self.unit_run[unit]
        return now if run is None else max(now, run.expected_end)

    def noise(self) -> float:
        """The next lognormal latency factor (1.0 without noise); drawn in blocks for speed."""
        if self.noise_cv == 0:
            return 1.0
        if not self._noise:
            self._noise = self._rng.lognormal(self._mu, self._sigma, _NOISE_BLOCK).tolist()
            self._noise.reverse()
        return self._noise.pop()

    # ------------------------------------------------------------------ units
    def reserve(self, run: Run) -> None:
        """Mark ``run.unit`` busy with ``run`` (from dispatch, through any wait, to its end)."""
        unit = run.unit
        self.unit_run[unit] = run
        idle = self.idle[run.dev]
        idle.remove(unit)
        if not idle:
            self.idle_mask &= ~(1 << run.dev)

    # ------------------------------------------------------------------ power
    def account(self, now: float) -> None:
        """Integrate power over ``[last change, now]`` into energy and time over budget (in total
        and as the current excursion above it)."""
        dt = now - self._t
        if dt > 0:
            self.energy_j += self.power_w * dt * 1e-6
            if self.power_w > self._over_budget_above:
                self._over(dt)
            else:
                self._over_run = 0.0
            self._t = now

    def _over(self, dt: float) -> None:
        """Count ``dt`` us spent above the budget, extending the current excursion."""
        self.over_budget_us += dt
        stretch = self._over_run = self._over_run + dt
        if stretch > self.longest_over_budget_us:
            self.longest_over_budget_us = stretch

    def _add_power(self, delta: float) -> None:
        self.power_w += delta
        if self.power_w > self.peak_power_w:
            self.peak_power_w = self.power_w

    @property
    def over_budget(self) -> bool:
        return self.budget_w is not None and self.power_w > self.budget_w + _EPS

    # ------------------------------------------------------------------ runs
    def begin(self, run: Run, now: float, out: list[Any]) -> None:
        """``run`` starts executing at ``now`` (suspended if ``run.suspended``)."""
        # The hot path: power accounting and the common no-contention case are written inline.
        run.state = RUNNING
        run.start = run.t_last = now
        self.running.append(run)
        if run.suspended:
            run.rate = 0.0
            return
        if run.power:
            # Power changes: integrate the constant stretch that ends here (a kernel drawing
            # no power leaves P(t) as it is, so the stretch simply goes on).
            dt = now - self._t
            if dt > 0:
                self.energy_j += self.power_w * dt * 1e-6
                if self.power_w > self._over_budget_above:
                    self._over(dt)
                else:
                    self._over_run = 0.0
                self._t = now
            power = self.power_w = self.power_w + run.power
            if power > self.peak_power_w:
                self.peak_power_w = power
        if run.bw > 0:
            self.total_bw += run.bw
            self._streams += 1
            if self._capacity is not None and (
                self._slowed or (self._streams > 1 and self.total_bw > self._capacity_tol)
            ):
                self._rerate(now, out, new=run)
                return
        run.rate = 1.0
        run.due = due = now + run.work
        out.append((due, self._end_priority, self._on_end, run))

    def finish(self, run: Run, now: float, out: list[Any]) -> None:
        """``run`` ends at ``now``: its unit becomes idle, the others' rates are recomputed."""
        run.state = DONE
        self.running.remove(run)
        unit, dev = run.unit, run.dev
        self.busy_us[dev] += now - run.start
        self.unit_run[unit] = None
        idle = self.idle[dev]
        if idle:
            bisect.insort(idle, unit)
        else:
            idle.append(unit)
            self.idle_mask |= 1 << dev
        if not run.suspended:
            if run.power:
                dt = now - self._t
                if dt > 0:
                    self.energy_j += self.power_w * dt * 1e-6
                    if self.power_w > self._over_budget_above:
                        self._over(dt)
                    else:
                        self._over_run = 0.0
                    self._t = now
                self.power_w -= run.power
            if run.bw > 0:
                self.total_bw -= run.bw
                self._streams -= 1
        if self._slowed:
            self._rerate(now, out)

    def suspend(self, run: Run, now: float, out: list[Any]) -> None:
        """Stop ``run``'s progress and dynamic power (its unit stays held)."""
        if run.suspended:
            return
        run.suspended = True
        if run.state != RUNNING:
            return
        self.account(now)
        run.work = max(run.work - (now - run.t_last) * run.rate, 0.0)
        run.t_last = now
        run.rate = 0.0
        run.due = math.inf
        self._add_power(-run.power)
        if run.bw > 0:
            self.total_bw -= run.bw
            self._streams -= 1
        if self._slowed:
            self._rerate(now, out)

    def resume(self, run: Run, now: float, out: list[Any]) -> None:
        """Let a suspended run progress again."""
        if not run.suspended:
            return
        run.suspended = False
        if run.state != RUNNING:
            return
        self.account(now)
        run.t_last = now
        self._add_power(run.power)
        if run.bw > 0:
            self.total_bw += run.bw
            self._streams += 1
        self._rerate(now, out, new=run)

    def _rerate(self, now: float, out: list[Any], new: Run | None = None) -> None:
        """Recompute progress rates (max-min fair bandwidth shares) and reschedule ends."""
        capacity = self._capacity
        was_slowed = self._slowed
        if capacity is None or self._streams <= 1 or self.total_bw <= self._capacity_tol:
            self._slowed = False
            if not was_slowed:
                # Nobody was slowed and nobody is: only the new run needs its end scheduled.
                if new is not None:
                    new.rate = 1.0
                    new.due = due = now + new.work
                    out.append((due, self._end_priority, self._on_end, new))
                return
        else:
            self._slowed = True
        active = [r for r in self.running if not r.suspended]
        rates = (
            _max_min_rates([r.bw for r in active], capacity)
            if self._slowed and capacity is not None
            else [1.0] * len(active)
        )
        for r_idx, run in enumerate(active):
            rate = rates[r_idx]
            if run is new:
                run.rate = rate
            elif abs(rate - run.rate) > _EPS:
                run.work = max(run.work - (now - run.t_last) * run.rate, 0.0)
                run.t_last = now
                run.rate = rate
            else:
                continue
            run.due = due = run.t_last + run.work / rate
            out.append((due, self._end_priority, self._on_end, run))

    # ------------------------------------------------------------------ governor
    def governor_step(self) -> tuple[bool, list[int]]:
        """One sample of the governor.

        Returns whether it changed a cap or the hold, and the devices whose caps it lowered: the
        simulator then moves those devices' running kernels to their capped levels.
        """
        changed, lowered = self._governor_act()
        self.throttled = self.hold or any(
            self.cap[d] < len(dev.levels) - 1 for d, dev in enumerate(self.spec.devices)
        )
        return changed, lowered

    def capped_draw(self) -> list[float]:
        """Dynamic power per device of the running kernels once each runs at its fastest mode
        within its device's current cap (its present power when it has no such mode)."""
        draw = [0.0] * self.num_devices
        cap = self.cap
        for run in self.running:
            if run.suspended:
                continue
            dev, power = run.dev, run.power
            if run.level > cap[dev]:
                rec = next((r for r in run.modes if r.dev == dev and r.level <= cap[dev]), None)
                if rec is not None:
                    power = rec.power_w
            draw[dev] += power
        return draw

    def _governor_act(self) -> tuple[bool, list[int]]:
        budget = self.budget_w
        if budget is None:
            return False, []
        if self.power_w > budget + _EPS:
            # Lower caps, the device drawing the most first, one level at a time, until the
            # running kernels at their capped levels fit the budget; hold dispatch if they
            # cannot (every device that draws power is at its lowest level).
            self._calm = 0
            lowered: list[int] = []
            draw = self.capped_draw()
            while self.idle_w + sum(draw) > budget + _EPS:
                candidates = [d for d in range(self.num_devices) if self.cap[d] > 0 and draw[d] > 0]
                if not candidates:
                    break
                victim = max(candidates, key=lambda d: (draw[d], -d))
                self.cap[victim] -= 1
                if victim not in lowered:
                    lowered.append(victim)
                draw = self.capped_draw()
            if self.idle_w + sum(draw) > budget + _EPS and not self.hold:
                self.hold = True
                return True, lowered
            return bool(lowered), lowered
        if self.power_w >= budget * GOVERNOR_RELEASE:
            self._calm = 0
            return False, []
        self._calm += 1
        if self.hold:
            self.hold = False
            return True, []
        if self._calm >= GOVERNOR_RAISE_AFTER:
            self._calm = 0
            capped = [
                d for d, dev in enumerate(self.spec.devices) if self.cap[d] < len(dev.levels) - 1
            ]
            if capped:
                self.cap[min(capped, key=lambda d: (self.cap[d], d))] += 1
                return True, []
        return False, []

    def retarget(
        self,
        run: Run,
        now: float,
        out: list[Any],
        work_scale: float,
        level: int,
        power: float,
        bw: float,
    ) -> None:
        """Switch a running kernel to another DVFS level mid-run.

        Its remaining work scales by ``work_scale`` (the ratio of the two modes' durations), and
        its power and bandwidth demand become the new mode's.
        """
        self.account(now)
        run.work = max(run.work - (now - run.t_last) * run.rate, 0.0) * work_scale
        run.t_last = now
        run.level = level
        self.unit_level[run.unit] = level
        if not run.suspended:
            self._add_power(power - run.power)
            self.total_bw += bw - run.bw
            self._streams += (bw > 0) - (run.bw > 0)
        run.power, run.bw = power, bw
        if run.suspended:
            return
        run.rate = 0.0  # forces _rerate to reschedule this run's end
        self._rerate(now, out, new=run)


def _max_min_rates(demands: Sequence[float], capacity: float) -> list[float]:
    """Progress rates :math:`a_k / b_k` of max-min fair shares :math:`a_k` of ``capacity``.

    >>> _max_min_rates([10.0, 60.0, 60.0], 70.0)
    [1.0, 0.5, 0.5]
    """
    order = sorted(range(len(demands)), key=demands.__getitem__)
    rates = [1.0] * len(demands)
    left, count = capacity, len(demands)
    for pos, idx in enumerate(order):
        share = left / (count - pos)
        demand = demands[idx]
        if demand <= share:
            left -= demand
        else:
            for rest in order[pos:]:
                rates[rest] = share / demands[rest]
            break
    return rates
