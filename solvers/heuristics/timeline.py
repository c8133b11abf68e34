"""The partial schedule every list scheduler grows: busy intervals per unit, profiles, DVFS locks.

Placing kernel ``k`` in mode ``m`` (device ``d``) on unit ``u`` at the earliest time follows the
Instance's rules exactly:

* data ready: :math:`est = \\max(r_k, \\max_{p \\in pred(k)} end_p + [d_p \\ne d] \\, c_{pk})`;
* the unit is free over ``[t, t + L)``. Each unit keeps its *free* intervals in time order
  (kernels that touch leave none between them). *Insertion*: bisection finds the free interval
  holding ``est`` and a walk goes on to the first one long enough, so the cost grows with the
  number of idle gaps after ``est``, not with the number of kernels on the unit. *Append*: after
  the unit's last kernel;
* dynamic power and every resource fit over the whole ``[t, t + L)``
  (:class:`~xpuplan.solvers.heuristics.profile.StepProfile`);
* ``L = duration + resume``, where resume is the largest ``resume_cost`` of the in-edges that are
  not contiguous at ``t``. An in-edge from ``p`` is contiguous only when ``p`` ran on ``u`` and
  ``t == end_p``; so the search runs once with every resume paid and once more at ``t = end_p`` for
  each such ``p`` (with that edge's cost waived), and the earliest finish wins. Ends are then the
  real rule's, so a placement that happens to be contiguous is shorter.
* ``dvfs: per-device``: the first kernel placed on a device fixes the device's level; later kernels
  may use only that level there. A level is fixed only if every kernel still has a mode it may use
  afterwards (so one early choice cannot strand a kernel whose only modes are at other levels).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

from xpuplan.models import Assignment, Instance, Schedule
from xpuplan.solvers.heuristics.problem import Problem
from xpuplan.solvers.heuristics.profile import StepProfile


@dataclass(frozen=True)
class Placement:
    """Kernel ``kernel`` in global mode ``mode`` on global unit ``unit`` over ``[start, end)``."""

    kernel: int
    mode: int
    unit: int
    start: int
    end: int


# The end of the last free interval of every unit: later than any time a schedule reaches.
_FOREVER = 1 << 62


class Timeline:
    """A partial schedule of a :class:`Problem`, grown one placement at a time."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        num_kernels = problem.num_kernels
        # Per unit, its free intervals [free_starts[i], free_ends[i]) in time order; the last one
        # lasts forever. Busy stretches of touching kernels leave no free interval behind, so the
        # walk to the first gap that fits passes only real gaps.
        self.free_starts: list[list[int]] = [[0] for _ in range(problem.num_units)]
        self.free_ends: list[list[int]] = [[_FOREVER] for _ in range(problem.num_units)]
        self.mode = [-1] * num_kernels
        self.unit = [-1] * num_kernels
        self.start = [0] * num_kernels
        self.end = [0] * num_kernels
        self.device = [-1] * num_kernels
        self.power = None if problem.power_cap is None else StepProfile(problem.power_cap)
        # Only resources some mode uses get a profile; the others can never bind.
        self.resources: list[tuple[int, StepProfile]] = [
            (r_idx, StepProfile(cap))
            for r_idx, cap in enumerate(problem.capacities)
            if any(dem[r_idx] > 0 for dem in problem.mode_demands)
        ]
        self.has_profiles = self.power is not None or bool(self.resources)
        self.level_lock = [-1] * problem.num_devices
        self._safe_levels: dict[tuple[int, int], bool] = {}

    # ------------------------------------------------------------------ modes under DVFS locks
    def allowed_modes(self, k_idx: int) -> list[int]:
        """The modes of ``k_idx`` the per-device DVFS locks (if any) still permit."""
        modes = self.problem.modes_of(k_idx)
        if not self.problem.per_device_dvfs:
            return list(modes)
        mode_device, mode_level, lock = (
            self.problem.mode_device,
            self.problem.mode_level,
            self.level_lock,
        )
        out = []
        for m_idx in modes:
            d_idx = mode_device[m_idx]
            if lock[d_idx] < 0:
                if self._lock_is_safe(d_idx, mode_level[m_idx]):
                    out.append(m_idx)
            elif lock[d_idx] == mode_level[m_idx]:
                out.append(m_idx)
        return out

    def _lock_is_safe(self, d_idx: int, level: int) -> bool:
        """Whether fixing device ``d_idx`` at ``level`` leaves every kernel a usable mode."""
        key = (d_idx, level)
        safe = self._safe_levels.get(key)
        if safe is None:
            prob, lock = self.problem, self.level_lock
            usable = [False] * prob.num_kernels
            for m_idx, k_idx in enumerate(prob.mode_kernel):
                dev, lvl = prob.mode_device[m_idx], prob.mode_level[m_idx]
                ok = lvl == level if dev == d_idx else lock[dev] < 0 or lock[dev] == lvl
                usable[k_idx] = usable[k_idx] or ok
            safe = all(usable)
            self._safe_levels[key] = safe
        return safe

    # ------------------------------------------------------------------ earliest placement
    def data_ready(self, k_idx: int) -> list[int]:
        """Per device, the earliest start the release and the predecessors allow."""
        prob = self.problem
        num_devices = prob.num_devices
        ready = [prob.release[k_idx]] * num_devices
        end, device = self.end, self.device
        for src, delay, _ in prob.preds[k_idx]:
            src_end = end[src]
            src_dev = device[src]
            far = src_end + delay
            for d_idx in range(num_devices):
                value = src_end if d_idx == src_dev else far
                if value > ready[d_idx]:
                    ready[d_idx] = value
        return ready

    def options(
        self,
        k_idx: int,
        modes: list[int],
        *,
        insertion: bool = True,
        ready: list[int] | None = None,
    ) -> list[Placement]:
        """The earliest placement of ``k_idx`` on every unit of every mode in ``modes``."""
        prob = self.problem
        ready = self.data_ready(k_idx) if ready is None else ready
        mode_device, unit_base = prob.mode_device, prob.unit_base
        resumes = self._resume_preds(k_idx)
        out = []
        for m_idx in modes:
            d_idx = mode_device[m_idx]
            for u_idx in range(unit_base[d_idx], unit_base[d_idx + 1]):
                out.append(self._earliest(k_idx, m_idx, u_idx, ready[d_idx], insertion, resumes))
        return out

    def earliest_on(
        self, k_idx: int, m_idx: int, u_idx: int, est: int, *, insertion: bool = True
    ) -> Placement:
        """The earliest placement of ``k_idx`` in mode ``m_idx`` on unit ``u_idx`` from ``est`` on.

        ``est`` must be at least the data-ready time of the mode's device.
        """
        return self._earliest(k_idx, m_idx, u_idx, est, insertion, self._resume_preds(k_idx))

    def _earliest(
        self,
        k_idx: int,
        m_idx: int,
        u_idx: int,
        est: int,
        insertion: bool,
        resumes: list[tuple[int, int]],
    ) -> Placement:
        duration = self.problem.mode_duration[m_idx]
        if not resumes:
            start = self._fit(u_idx, m_idx, est, duration, insertion)
            return Placement(k_idx, m_idx, u_idx, start, start + duration)
        full_resume = max(cost for _, cost in resumes)
        start = self._fit(u_idx, m_idx, est, duration + full_resume, insertion)
        best = Placement(
            k_idx, m_idx, u_idx, start, start + duration + self._resume_at(resumes, u_idx, start)
        )
        for src, _ in resumes:
            # Starting right at a predecessor's end on its unit waives that edge's cost.
            if self.unit[src] != u_idx or self.end[src] != est or best.start == est:
                continue
            waived = max((c for s, c in resumes if s != src), default=0)
            if self._fit(u_idx, m_idx, est, duration + waived, insertion) == est:
                best = Placement(k_idx, m_idx, u_idx, est, est + duration + waived)
        return best

    def earliest_finish(
        self,
        k_idx: int,
        modes: list[int],
        *,
        insertion: bool = True,
        bias: list[float] | None = None,
        by_start: bool = False,
    ) -> Placement | None:
        """The placement of ``k_idx`` in one of ``modes`` that ends first (ties: first listed).

        With ``bias``, the placement minimising ``end + bias[device]`` instead (PEFT's
        look-ahead); with ``by_start``, the one that starts first, ties by end (ETF). This is the
        hot loop of every list scheduler, so the common case (no resume costs, no power cap, no
        resources) avoids building the option list.
        """
        prob = self.problem
        mode_device = prob.mode_device
        if self.has_profiles or (prob.has_resume and prob.preds[k_idx]):
            opts = self.options(k_idx, modes, insertion=insertion)
            if not opts:
                return None
            if by_start:
                return min(opts, key=lambda opt: (opt.start, opt.end))
            if bias is None:
                return min(opts, key=_by_end)
            return min(opts, key=lambda opt: opt.end + bias[mode_device[opt.mode]])
        ready = self.data_ready(k_idx)
        mode_duration, unit_base = prob.mode_duration, prob.unit_base
        free_starts, free_ends = self.free_starts, self.free_ends
        best_key: tuple[float, float] = (math.inf, math.inf)
        best: tuple[int, int, int] | None = None
        for m_idx in modes:
            d_idx = mode_device[m_idx]
            est = ready[d_idx]
            duration = mode_duration[m_idx]
            extra = duration if bias is None else duration + bias[d_idx]
            for u_idx in range(unit_base[d_idx], unit_base[d_idx + 1]):
                starts = free_starts[u_idx]
                if not insertion:
                    start = starts[-1] if starts[-1] > est else est
                else:
                    ends = free_ends[u_idx]
                    idx = bisect_right(ends, est)
                    while True:
                        start = starts[idx] if starts[idx] > est else est
                        if start + duration <= ends[idx]:
                            break
                        idx += 1
                key = (start, start + duration) if by_start else (start + extra, 0)
                if key < best_key:
                    best_key = key
                    best = (m_idx, u_idx, start)
        if best is None:
            return None
        return Placement(k_idx, best[0], best[1], best[2], best[2] + mode_duration[best[0]])

    def _resume_preds(self, k_idx: int) -> list[tuple[int, int]]:
        """``(src, resume_cost)`` of the in-edges of ``k_idx`` that carry a resume cost."""
        return [(src, cost) for src, _, cost in self.problem.preds[k_idx] if cost > 0]

    def _resume_at(self, resumes: list[tuple[int, int]], u_idx: int, start: int) -> int:
        """The real rule: the largest cost among the in-edges not contiguous at ``start``."""
        unit, end = self.unit, self.end
        return max(
            (cost for src, cost in resumes if unit[src] != u_idx or end[src] != start), default=0
        )

    def _fit(self, u_idx: int, m_idx: int, est: int, length: int, insertion: bool) -> int:
        """Earliest ``t >= est`` with the unit free and the profiles fitting in ``[t, t+L)``."""
        starts, ends = self.free_starts[u_idx], self.free_ends[u_idx]
        prob = self.problem
        power = self.power
        amount = prob.mode_power[m_idx]
        demands = prob.mode_demands[m_idx]
        start = est
        while True:
            if not insertion:
                start = max(start, starts[-1])
            else:
                idx = bisect_right(ends, start)
                while max(start, starts[idx]) + length > ends[idx]:
                    idx += 1
                start = max(start, starts[idx])
            later = None
            if power is not None and amount > 0:
                later = power.blocked_until(start, start + length, amount)
            if later is None:
                for r_idx, profile in self.resources:
                    if demands[r_idx] > 0:
                        later = profile.blocked_until(start, start + length, demands[r_idx])
                        if later is not None:
                            break
            if later is None:
                return start
            start = later

    # ------------------------------------------------------------------ committing
    def place(self, placement: Placement) -> None:
        """Commit ``placement``: occupy its unit, add to the profiles, fix the device's level."""
        prob = self.problem
        k_idx, m_idx, u_idx = placement.kernel, placement.mode, placement.unit
        start, end = placement.start, placement.end
        self.mode[k_idx] = m_idx
        self.unit[k_idx] = u_idx
        self.start[k_idx] = start
        self.end[k_idx] = end
        d_idx = prob.mode_device[m_idx]
        self.device[k_idx] = d_idx
        starts, ends = self.free_starts[u_idx], self.free_ends[u_idx]
        idx = bisect_right(starts, start) - 1
        free_end = ends[idx]
        if starts[idx] < start:
            ends[idx] = start
            if end < free_end:
                starts.insert(idx + 1, end)
                ends.insert(idx + 1, free_end)
        elif end < free_end:
            starts[idx] = end
        else:
            del starts[idx]
            del ends[idx]
        if self.power is not None:
            self.power.add(start, end, prob.mode_power[m_idx])
        demands = prob.mode_demands[m_idx]
        for r_idx, profile in self.resources:
            profile.add(start, end, demands[r_idx])
        if prob.per_device_dvfs and self.level_lock[d_idx] < 0:
            self.level_lock[d_idx] = prob.mode_level[m_idx]
            self._safe_levels.clear()

    def to_schedule(self, status: str = "feasible") -> Schedule:
        """The complete schedule as a :class:`xpuplan.models.Schedule` (preemptions listed)."""
        return schedule_from(self.problem, self.mode, self.unit, self.start, self.end, status)


def schedule_from(
    prob: Problem,
    modes: list[int],
    units: list[int],
    starts: list[int],
    ends: list[int],
    status: str = "feasible",
) -> Schedule:
    """A :class:`xpuplan.models.Schedule` from per-kernel global modes, global units, starts and
    ends."""
    inst = prob.instance
    devices = inst.devices
    unit_base, mode_device, mode_pos = prob.unit_base, prob.mode_device, prob.mode_pos
    assignments = []
    for k_idx, ker in enumerate(inst.kernels):
        m_idx = modes[k_idx]
        d_idx = mode_device[m_idx]
        assignments.append(
            Assignment(
                ker.name,
                devices[d_idx].name,
                units[k_idx] - unit_base[d_idx],
                ker.modes[mode_pos[m_idx]].level,
                starts[k_idx],
                ends[k_idx],
            )
        )
    kernel_job = prob.kernel_job
    names = [ker.name for ker in inst.kernels]
    preemptions = tuple(
        (names[src], names[dst])
        for src, dst in inst.edge_endpoints
        if kernel_job[src] == kernel_job[dst]
        and not (units[src] == units[dst] and starts[dst] == ends[src])
    )
    return Schedule(inst.name, tuple(assignments), status=status, preemptions=preemptions)


def _by_end(placement: Placement) -> int:
    return placement.end


def failed(instance: Instance, message: str) -> Schedule:
    """A heuristic's answer when it finds no schedule: status unknown, a reason, no assignments."""
    return Schedule(instance.name, (), status="unknown", message=message)
