"""Plan executors: run a static schedule (an Instance + its Schedule) in the simulator.

* ``time-triggered``: each kernel starts at its planned time on its planned unit and mode; a
  kernel whose inputs or unit are late starts as soon as they are ready (kernels whose time has
  come go in planned-time order, so a late kernel can be overtaken on its unit).
* ``self-timed``: each unit keeps its planned order; the next kernel of a unit starts when its
  inputs are ready and the unit is free -- and, with ``hold_to_plan`` (default), not before its
  planned time, so zero noise reproduces the plan even where it idles on purpose (a power cap);
  without it, as soon as possible (finishing earlier, but free to break the plan's caps).

Both switch a unit's DVFS level ahead: when a unit is idle and the next kernel planned on it
runs at another level, they switch the unit then (``switch_ahead``, default on), so that the
switch's time (``SimConfig.dvfs_transition_us``, which the Instance does not model) is spent in
the plan's idle gap rather than added to the kernel; only back-to-back kernels at different
levels (a gap shorter than the switch) still wait for part of it. A real executor knows its next
level as well as this one does.

Both are registered policies with ``uses_plan`` and ``plan_only`` set: they take the plan's jobs
(:class:`xpuplan.runtime.plan_jobs.PlanJobs`, repeated every ``repeat_us`` when the plan covers
one hyperperiod) and run nothing else. Edges between jobs are enforced here (the simulator itself
handles the edges inside a job). ``hybrid`` runs one of them beside an online policy.
"""

from __future__ import annotations

import bisect
import heapq
import math

from xpuplan.models import InvalidInput
from xpuplan.runtime.dispatch import DispatchApi, RunView
from xpuplan.runtime.jobs import ModeRec, Ready
from xpuplan.runtime.plan_jobs import PlanJobs
from xpuplan.runtime.policy import BasePolicy, register


class PlanExecutor(BasePolicy):
    """What both executors share: the planned unit, mode and time of each kernel."""

    uses_plan = True
    plan_only = True

    def __init__(self, plan: PlanJobs | None = None, switch_ahead: bool = True) -> None:
        if plan is None:
            raise InvalidInput(
                "needs a plan (give --plan PLAN, or plan= in the API)", field="plan", value=None
            )
        self.plan = plan
        self.switch_ahead = switch_ahead

    def bind(self, api: DispatchApi) -> None:
        super().bind(api)
        inst, machine = self.plan.plan.instance, api.machine
        by_kernel = self.plan.plan.schedule.by_kernel()
        self._unit = [0] * inst.num_kernels
        self._mode = [0] * inst.num_kernels
        self._level = [0] * inst.num_kernels
        self._start = [0] * inst.num_kernels
        for k_idx, ker in enumerate(inst.kernels):
            asg = by_kernel.get(ker.name)
            if asg is None:
                raise InvalidInput(
                    "the plan's schedule does not place this kernel",
                    field="schedule.assignments",
                    value=ker.name,
                )
            d_idx = machine.spec.device_idx[asg.device]
            if not 0 <= asg.unit < len(machine.dev_units[d_idx]):
                raise InvalidInput(
                    "names a unit the device lacks",
                    field=f"schedule.{ker.name}.unit",
                    value=asg.unit,
                )
            self._unit[k_idx] = machine.dev_units[d_idx][asg.unit]
            self._mode[k_idx] = next(
                m
                for m, mode in enumerate(ker.modes)
                if (mode.device, mode.level) == (asg.device, asg.level)
            )
            self._start[k_idx] = asg.start
            self._level[k_idx] = machine.spec.devices[d_idx].levels.index(asg.level)
        # Each unit's kernels in planned order.
        orders: list[list[tuple[int, int]]] = [[] for _ in range(machine.num_units)]
        for k_idx, unit in enumerate(self._unit):
            orders[unit].append((self._start[k_idx], k_idx))
        self._order = [[k for _, k in sorted(order)] for order in orders]
        job2idx = inst.kernel2job
        self._cross: list[list[tuple[int, float]]] = [[] for _ in inst.kernels]
        for edge, (src, dst) in zip(inst.edges, inst.edge_endpoints, strict=True):
            if job2idx[src] != job2idx[dst]:
                self._cross[dst].append((src, float(edge.cross_device_delay)))
        self._ends: dict[tuple[int, int], tuple[float, int]] = {}
        self._has_cross = any(self._cross)

    def _kernel(self, item: Ready) -> int:
        return self.plan.plan.instance.kernel_idx[item.kernel_name]

    def _rec(self, item: Ready, k_idx: int) -> ModeRec:
        m_idx = self._mode[k_idx]
        return next(rec for rec in item.modes if rec.mode_idx == m_idx)

    def _cross_ready(self, rep: int, k_idx: int, dev: int) -> float | None:
        """When the kernel's inputs from other jobs are on ``dev`` (None: not all produced)."""
        t = 0.0
        for src, delay in self._cross[k_idx]:
            done = self._ends.get((rep, src))
            if done is None:
                return None
            t = max(t, done[0] + (delay if done[1] != dev else 0.0))
        return t

    def _upcoming(self, unit: int) -> tuple[int, int]:
        """``(repetition, position in the unit's order)`` of the next kernel planned on ``unit``
        that has not started."""
        raise NotImplementedError

    def _switch_ahead(self) -> None:
        """Switch every idle unit to the level of the next kernel planned on it."""
        if not self.switch_ahead:
            return
        machine = self.api.machine
        repeats = self.plan.repeat_us is not None
        for unit, order in enumerate(self._order):
            if not order or not machine.is_idle(unit):
                continue
            rep, pos = self._upcoming(unit)
            if rep > 0 and not repeats:
                continue  # the plan has run its last kernel on this unit
            level = self._level[order[pos]]
            if machine.unit_level(unit) != level:
                self.api.switch_level(unit, level)

    def on_end(self, run: RunView) -> None:
        tag = run.job.tag
        if tag is not None and self._has_cross:
            self._ends[(tag[0], self._kernel(run.item))] = (self.api.now, run.dev)

    def pending_units(self) -> set[int]:
        """Units that a planned kernel, ready and due, waits for (online work keeps off them)."""
        raise NotImplementedError

    def planned_intervals(self) -> list[list[tuple[int, int]]]:
        """Per unit, the planned ``(start, end)`` offsets, sorted."""
        out: list[list[tuple[int, int]]] = [[] for _ in range(self.api.machine.num_units)]
        for asg in self.plan.plan.schedule.assignments:
            k_idx = self.plan.plan.instance.kernel_idx[asg.kernel]
            out[self._unit[k_idx]].append((asg.start, asg.end))
        for intervals in out:
            intervals.sort()
        return out


@register("time-triggered")
class TimeTriggered(PlanExecutor):
    """Start each kernel at its planned offset (see the module docstring)."""

    def bind(self, api: DispatchApi) -> None:
        super().bind(api)
        self._due: list[tuple[float, int, Ready, int]] = []
        # Per unit, the next kernel not started as (repetition, position); the kernels started
        # ahead of it (a late kernel can be overtaken on its unit).
        self._next = [(0, 0)] * api.machine.num_units
        self._started: set[tuple[int, int]] = set()

    def on_ready(self, item: Ready) -> None:
        offset = item.job.tag[1]
        k_idx = self._kernel(item)
        planned = self._start[k_idx] + offset
        heapq.heappush(self._due, (planned, item.seq, item, k_idx))
        if planned > self.api.now:
            self.api.wake_at(planned)

    def decide(self) -> None:
        api = self.api
        machine = api.machine
        kept = []
        while self._due and self._due[0][0] <= api.now:
            entry = heapq.heappop(self._due)
            _, _, item, k_idx = entry
            unit = self._unit[k_idx]
            cross = self._cross_ready(item.job.tag[0], k_idx, machine.unit_dev[unit])
            if not machine.is_idle(unit) or cross is None:
                kept.append(entry)
                continue
            api.start(item, unit, self._rec(item, k_idx), not_before=cross)
            if self.switch_ahead:
                self._started.add((item.job.tag[0], k_idx))
        for entry in kept:
            heapq.heappush(self._due, entry)
        self._switch_ahead()

    def _upcoming(self, unit: int) -> tuple[int, int]:
        order, started = self._order[unit], self._started
        rep, pos = self._next[unit]
        while (rep, order[pos]) in started:
            started.discard((rep, order[pos]))
            rep, pos = (rep, pos + 1) if pos + 1 < len(order) else (rep + 1, 0)
        self._next[unit] = (rep, pos)
        return rep, pos

    def pending_units(self) -> set[int]:
        """Units a due kernel waits for."""
        return {self._unit[entry[3]] for entry in self._due if entry[0] <= self.api.now}


@register("self-timed")
class SelfTimed(PlanExecutor):
    """Keep each unit's planned order; start when ready (see the module docstring)."""

    def __init__(
        self, plan: PlanJobs | None = None, hold_to_plan: bool = True, switch_ahead: bool = True
    ) -> None:
        super().__init__(plan, switch_ahead)
        self.hold_to_plan = hold_to_plan

    def bind(self, api: DispatchApi) -> None:
        super().bind(api)
        self._pos = [(0, 0)] * api.machine.num_units  # (repetition, index in the unit's order)
        self._ready: dict[tuple[int, int], Ready] = {}

    def on_ready(self, item: Ready) -> None:
        self._ready[(item.job.tag[0], self._kernel(item))] = item

    def decide(self) -> None:
        api = self.api
        machine = api.machine
        for unit, order in enumerate(self._order):
            if not order or not machine.is_idle(unit):
                continue
            rep, pos = self._pos[unit]
            item = self._ready.get((rep, order[pos]))
            if item is None:
                continue
            k_idx = order[pos]
            cross = self._cross_ready(rep, k_idx, machine.unit_dev[unit])
            if cross is None:
                continue
            offset = item.job.tag[1]
            not_before = max(cross, self._start[k_idx] + offset) if self.hold_to_plan else cross
            del self._ready[(rep, k_idx)]
            self._pos[unit] = (rep, pos + 1) if pos + 1 < len(order) else (rep + 1, 0)
            api.start(item, unit, self._rec(item, k_idx), not_before=not_before)
        self._switch_ahead()

    def _upcoming(self, unit: int) -> tuple[int, int]:
        return self._pos[unit]  # each unit keeps its planned order

    def pending_units(self) -> set[int]:
        """Units whose next planned kernel is ready and waits for them."""
        return {
            unit
            for unit, order in enumerate(self._order)
            if order and (self._pos[unit][0], order[self._pos[unit][1]]) in self._ready
        }


def unit_window(intervals: list[tuple[int, int]], now: float, repeat_us: int | None) -> float:
    """Time from ``now`` to the next planned interval of a unit (0 inside one; inf if none)."""
    if not intervals:
        return math.inf
    t = now if repeat_us is None else now % repeat_us
    pos = bisect.bisect_right(intervals, (t, math.inf))
    if pos > 0 and intervals[pos - 1][1] > t:
        return 0.0
    if pos < len(intervals):
        return intervals[pos][0] - t
    if repeat_us is None:
        return math.inf
    return intervals[0][0] + repeat_us - t
