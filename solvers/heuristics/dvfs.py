"""Post-passes on a finished schedule: DVFS slack reclamation and power-cap repair.

:func:`lower_levels` moves kernels (or, under per-device DVFS, whole devices) to the DVFS level that
spends the least energy while every rule still holds and no time-based part of the objective gets
worse. :func:`repair_power_cap` takes a schedule that overdraws the power cap or a resource (e.g.
from a policy that ignored them) and delays kernels until everything fits.

Both keep the schedule's structure: every kernel stays on its unit, in its unit's order. When
kernels must move in time they are *replayed*: re-placed in the order of their old starts (a kernel
after its predecessors), each on its unit after the kernel placed before it there, at the earliest
instant not before its old start at which its data are ready and power and resources fit over its
whole run, with resume times by the real contiguity rule
(:mod:`xpuplan.solvers.heuristics.timeline`).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Sequence

from xpuplan.models import Instance, InvalidInput, Schedule
from xpuplan.solvers.heuristics.list_scheduler import NoSchedule, commit
from xpuplan.solvers.heuristics.problem import Problem, build_problem
from xpuplan.solvers.heuristics.profile import StepProfile
from xpuplan.solvers.heuristics.timeline import Timeline, failed, schedule_from

# Energies are float sums; a change must save more than this to count.
_ENERGY_EPS = 1e-9


def lower_levels(
    instance: Instance, schedule: Schedule, *, problem: Problem | None = None
) -> Schedule:
    """Cut energy by running kernels with slack at lower DVFS levels.

    Every kernel keeps its device and unit. No job may complete after its *allowance*
    :math:`A_j`, the latest completion that leaves every time-based part of the objective no
    worse: :math:`C_{max}` for ``makespan`` and ``energy`` (whose idle part is
    :math:`P^{idle} C_{max}`); for a job of positive weight also :math:`C_j` under
    ``weighted_completion``, :math:`\\max(C_j, d_j)` under ``weighted_tardiness`` and :math:`d_j`
    for an on-time job under ``late_jobs`` (all in the given schedule); and no kernel may end after
    a hard deadline.

    * ``dvfs: per-kernel``: kernels are visited from the latest start back (ties by kernel
      index). Each takes the level of its device with the least dynamic energy
      :math:`p_{k,m} (d_{k,m} + resume_k)` that fits, and moves as late as it fits (which leaves
      its predecessors more slack): it must end before every successor's current start (minus
      the cross-device delay when the devices differ) and the next start on its unit, within the
      allowance and the deadline, with the power cap and every resource holding over its new run;
      it may not start earlier, nor move at all when it runs right after a predecessor on its
      unit across a resumable edge, and the resumable edges to kernels on its unit stay as
      contiguous as they were, so that no resume changes. When no energy is saved the schedule
      is returned unchanged.
    * ``dvfs: per-device``: devices in index order move to the level of least total energy
      (dynamic plus idle) at which the *replayed* schedule (see the module docstring) keeps every
      allowance and deadline; every kernel of the device changes level, or none does.

    Returns
    -------
    Schedule
        A schedule no worse in any time-based objective part and with no more energy (strictly
        less whenever some kernel or device could move); ``schedule`` itself when it places
        nothing.

    Raises
    ------
    InvalidInput
        When ``schedule`` does not place every kernel of ``instance`` in one of its modes.
    """
    if not schedule.is_solution:
        return schedule
    prob = build_problem(instance) if problem is None else problem
    modes, units, starts = _decisions(prob, schedule)
    by_name = schedule.by_kernel()
    ends = [by_name[ker.name].end for ker in instance.kernels]
    latest = _latest_completions(prob, ends)
    if prob.per_device_dvfs:
        return _lower_devices(prob, modes, units, starts, ends, latest, schedule.status)
    state = _KernelLevels(prob, modes, units, starts, ends, latest)
    for k_idx in sorted(range(prob.num_kernels), key=lambda k: (-starts[k], k)):
        state.relevel(k_idx)
    if _energy(prob, state.mode, state.start, state.end) >= _energy(prob, modes, starts, ends):
        return schedule
    return schedule_from(prob, state.mode, units, state.start, state.end, schedule.status)


def repair_power_cap(
    instance: Instance, schedule: Schedule, *, problem: Problem | None = None
) -> Schedule:
    """Delay kernels until the power cap and every resource hold.

    The schedule is replayed (see the module docstring) with each kernel in its own mode, except
    that a mode whose power alone exceeds the cap is replaced by the mode of the same device with
    the least power (under per-device DVFS the whole device moves to the level whose most
    power-hungry kernel draws least).

    Returns
    -------
    Schedule
        ``feasible`` and valid; or ``unknown`` with a message when the delays push a kernel past a
        hard deadline, or when a device has no level that fits the cap.

    Raises
    ------
    InvalidInput
        When ``schedule`` does not place every kernel of ``instance``.
    """
    prob = build_problem(instance) if problem is None else problem
    modes, units, starts = _decisions(prob, schedule, keep_over_cap=True)
    try:
        _replace_over_cap_modes(prob, modes)
        return _replay(prob, modes, units, starts).to_schedule()
    except NoSchedule as exc:
        return failed(instance, f"power-cap repair: {exc}")


def job_allowance(instance: Instance, j_idx: int, completion: int, makespan: int) -> int:
    """The latest completion of job ``j_idx`` that leaves every time-based objective part no worse.

    ``completion`` is the job's completion :math:`C_j` and ``makespan`` :math:`C_{max}` in the
    current schedule; see :func:`lower_levels`.
    """
    job = instance.jobs[j_idx]
    allowance = makespan
    if job.weight <= 0:
        return allowance
    for part in instance.objective.parts:
        if part.type == "weighted_completion":
            allowance = min(allowance, completion)
        elif part.type == "weighted_tardiness" and job.deadline is not None:
            allowance = min(allowance, max(completion, job.deadline))
        elif part.type == "late_jobs" and job.deadline is not None and completion <= job.deadline:
            allowance = min(allowance, job.deadline)
    return allowance


def _latest_completions(prob: Problem, ends: Sequence[int]) -> list[float]:
    """Per kernel, the least of its job's allowance and its hard deadline."""
    inst = prob.instance
    completions = [0] * inst.num_jobs
    for k_idx, j_idx in enumerate(prob.kernel_job):
        completions[j_idx] = max(completions[j_idx], ends[k_idx])
    makespan = max(ends, default=0)
    allowance = [
        job_allowance(inst, j_idx, completions[j_idx], makespan) for j_idx in range(inst.num_jobs)
    ]
    return [
        min(float(allowance[prob.kernel_job[k_idx]]), prob.hard_deadline[k_idx])
        for k_idx in range(prob.num_kernels)
    ]


def _replay(prob: Problem, modes: list[int], units: list[int], starts: list[int]) -> Timeline:
    """Re-place every kernel in its mode and unit (see the module docstring).

    Raises
    ------
    NoSchedule
        When a kernel would end after a hard deadline.
    """
    timeline = Timeline(prob)
    waiting = [len(preds) for preds in prob.preds]
    ready = [(starts[k], k) for k in range(prob.num_kernels) if waiting[k] == 0]
    heapq.heapify(ready)
    while ready:
        _, k_idx = heapq.heappop(ready)
        m_idx, u_idx = modes[k_idx], units[k_idx]
        est = max(timeline.data_ready(k_idx)[prob.mode_device[m_idx]], starts[k_idx])
        placement = timeline.earliest_on(k_idx, m_idx, u_idx, est, insertion=False)
        commit(timeline, k_idx, placement, [m_idx])
        for dst, _ in prob.succs[k_idx]:
            waiting[dst] -= 1
            if waiting[dst] == 0:
                heapq.heappush(ready, (starts[dst], dst))
    return timeline


def _energy(
    prob: Problem, modes: Sequence[int], starts: Sequence[int], ends: Sequence[int]
) -> float:
    """Dynamic energy plus the idle power of every unit over :math:`[0, C_{max}]`."""
    dynamic = math.fsum(
        prob.mode_power[m_idx] * (end - start)
        for m_idx, start, end in zip(modes, starts, ends, strict=True)
    )
    return dynamic + prob.instance.idle_power_w * max(ends, default=0)


def _lower_devices(
    prob: Problem,
    modes: list[int],
    units: list[int],
    starts: list[int],
    ends: list[int],
    latest: list[float],
    status: str,
) -> Schedule:
    """The per-device pass of :func:`lower_levels`."""
    energy = _energy(prob, modes, starts, ends)
    for d_idx in range(prob.num_devices):
        members = [k for k in range(prob.num_kernels) if prob.mode_device[modes[k]] == d_idx]
        best: tuple[float, Timeline] | None = None
        for level in range(prob.num_levels[d_idx]):
            chosen = [_mode_at(prob, k_idx, d_idx, level) for k_idx in members]
            if not members or any(m < 0 for m in chosen) or chosen[0] == modes[members[0]]:
                continue
            trial = list(modes)
            for k_idx, m_idx in zip(members, chosen, strict=True):
                trial[k_idx] = m_idx
            try:
                timeline = _replay(prob, trial, units, starts)
            except NoSchedule:
                continue
            if any(end > limit for end, limit in zip(timeline.end, latest, strict=True)):
                continue
            trial_energy = _energy(prob, timeline.mode, timeline.start, timeline.end)
            if trial_energy < (energy if best is None else best[0]) - _ENERGY_EPS:
                best = (trial_energy, timeline)
        if best is not None:
            energy, timeline = best
            modes, units = list(timeline.mode), list(timeline.unit)
            starts, ends = list(timeline.start), list(timeline.end)
    return schedule_from(prob, modes, units, starts, ends, status)


def _decisions(
    prob: Problem, schedule: Schedule, *, keep_over_cap: bool = False
) -> tuple[list[int], list[int], list[int]]:
    """Per kernel: the global mode, global unit and start of its assignment in ``schedule``.

    With ``keep_over_cap``, a mode left out of ``prob`` (over the power cap) is encoded
    ``-1 - device``; otherwise it is bad input.
    """
    inst = prob.instance
    by_name = schedule.by_kernel()
    modes, units, starts = [], [], []
    for k_idx, ker in enumerate(inst.kernels):
        asg = by_name.get(ker.name)
        if asg is None:
            raise InvalidInput("does not place every kernel", field="assignments", value=ker.name)
        pos = ker.mode_index(asg.device, asg.level)
        m_idx = next((m for m in prob.modes_of(k_idx) if prob.mode_pos[m] == pos), -1)
        if pos is None or (m_idx < 0 and not keep_over_cap):
            raise InvalidInput(
                f"kernel {ker.name!r} has no usable mode on {asg.device!r} at level {asg.level!r}",
                field="assignments",
                value=ker.name,
            )
        modes.append(m_idx if m_idx >= 0 else -1 - inst.device_idx[asg.device])
        units.append(prob.unit_base[inst.device_idx[asg.device]] + asg.unit)
        starts.append(asg.start)
    return modes, units, starts


def _replace_over_cap_modes(prob: Problem, modes: list[int]) -> None:
    """Give every kernel whose mode was over the cap (encoded ``-1 - device``) a kept mode."""
    stranded = [k_idx for k_idx, m_idx in enumerate(modes) if m_idx < 0]
    if not prob.per_device_dvfs:
        for k_idx in stranded:
            d_idx = -1 - modes[k_idx]
            options = [m for m in prob.modes_of(k_idx) if prob.mode_device[m] == d_idx]
            if not options:
                name = prob.instance.kernels[k_idx].name
                raise NoSchedule(f"kernel {name!r} has no mode on its device under the power cap")
            modes[k_idx] = min(options, key=lambda m: (prob.mode_power[m], m))
        return
    for d_idx in sorted({-1 - modes[k_idx] for k_idx in stranded}):
        members = [
            k
            for k, m in enumerate(modes)
            if (m < 0 and -1 - m == d_idx) or (m >= 0 and prob.mode_device[m] == d_idx)
        ]
        best: tuple[float, int] | None = None
        for level in range(prob.num_levels[d_idx]):
            chosen = [_mode_at(prob, k_idx, d_idx, level) for k_idx in members]
            if any(m < 0 for m in chosen):
                continue
            peak = max(prob.mode_power[m] for m in chosen)
            if best is None or peak < best[0]:
                best = (peak, level)
        if best is None:
            name = prob.instance.devices[d_idx].name
            raise NoSchedule(f"device {name!r} has no level at which all its kernels fit the cap")
        for k_idx in members:
            modes[k_idx] = _mode_at(prob, k_idx, d_idx, best[1])


def _mode_at(prob: Problem, k_idx: int, d_idx: int, level: int) -> int:
    """The kept mode of ``k_idx`` at ``(d_idx, level)``, or -1."""
    for m_idx in prob.modes_of(k_idx):
        if prob.mode_device[m_idx] == d_idx and prob.mode_level[m_idx] == level:
            return m_idx
    return -1


class _KernelLevels:
    """The per-kernel pass of :func:`lower_levels`: kernels visited latest first, each re-levelled
    and pushed as late as its successors, its unit and its allowance let it."""

    def __init__(
        self,
        prob: Problem,
        modes: list[int],
        units: list[int],
        starts: list[int],
        ends: list[int],
        latest: list[float],
    ) -> None:
        self.prob = prob
        self.mode, self.start, self.end = list(modes), list(starts), list(ends)
        self.latest = latest
        self.resume = [
            ends[k] - starts[k] - prob.mode_duration[modes[k]] for k in range(prob.num_kernels)
        ]
        self.device = [prob.unit_device[u] for u in units]
        self.next_on_unit = [-1] * prob.num_kernels
        per_unit: dict[int, list[int]] = {}
        for k_idx in sorted(range(prob.num_kernels), key=lambda k: (starts[k], k)):
            per_unit.setdefault(units[k_idx], []).append(k_idx)
        for members in per_unit.values():
            for before, after in itertools.pairwise(members):
                self.next_on_unit[before] = after
        # Resumable edges between kernels on one unit: the end of the source must stay equal to
        # (or different from) the start of the target, so that no resume changes. A kernel whose
        # such in-edge is contiguous keeps its start.
        self.resumable_out: list[list[int]] = [[] for _ in range(prob.num_kernels)]
        self.pinned = [False] * prob.num_kernels
        for dst, preds in enumerate(prob.preds):
            for src, _, cost in preds:
                if cost > 0 and units[src] == units[dst]:
                    self.resumable_out[src].append(dst)
                    self.pinned[dst] = self.pinned[dst] or ends[src] == starts[dst]
        self.profiles: list[tuple[StepProfile, Sequence[float]]] = []
        if prob.power_cap is not None:
            self.profiles.append((StepProfile(prob.power_cap), prob.mode_power))
        for r_idx, cap in enumerate(prob.capacities):
            demand = [dem[r_idx] for dem in prob.mode_demands]
            if any(demand):
                self.profiles.append((StepProfile(cap), demand))
        for k_idx in range(prob.num_kernels):
            self._add(k_idx, 1.0)

    def _add(self, k_idx: int, sign: float) -> None:
        m_idx = self.mode[k_idx]
        for profile, amount in self.profiles:
            profile.add(self.start[k_idx], self.end[k_idx], sign * amount[m_idx])

    def _latest_end(self, k_idx: int) -> float:
        """The latest end the (current) successors, the next kernel on the unit and the
        allowance leave ``k_idx``."""
        latest = self.latest[k_idx]
        device, start = self.device, self.start
        for dst, delay in self.prob.succs[k_idx]:
            latest = min(latest, start[dst] - (0 if device[dst] == device[k_idx] else delay))
        nxt = self.next_on_unit[k_idx]
        return latest if nxt < 0 else min(latest, start[nxt])

    def _fits(self, k_idx: int, m_idx: int, start: int, end: int) -> bool:
        old = self.end[k_idx]
        for dst in self.resumable_out[k_idx]:
            if (end == self.start[dst]) != (old == self.start[dst]):
                return False
        return all(
            amount[m_idx] <= 0 or profile.blocked_until(start, end, amount[m_idx]) is None
            for profile, amount in self.profiles
        )

    def relevel(self, k_idx: int) -> None:
        """Give ``k_idx`` the least-energy level of its device that fits, as late as it fits.

        Candidates are tried by increasing dynamic energy (only levels that save energy, then
        the current one), each ending at the latest allowed instant, else at its current start.
        """
        prob = self.prob
        current = self.mode[k_idx]
        span = self.resume[k_idx]

        def energy(m_idx: int) -> float:
            return prob.mode_power[m_idx] * (prob.mode_duration[m_idx] + span)

        budget = energy(current) - _ENERGY_EPS
        cheaper = sorted(
            (energy(m_idx), m_idx)
            for m_idx in prob.modes_of(k_idx)
            if prob.mode_device[m_idx] == self.device[k_idx] and energy(m_idx) < budget
        )
        latest_end = self._latest_end(k_idx)
        start = self.start[k_idx]
        self._add(k_idx, -1.0)
        for m_idx in [m for _, m in cheaper] + [current]:
            length = prob.mode_duration[m_idx] + span
            if start + length > latest_end:
                continue
            shifted = int(latest_end) - length
            tries = [start] if self.pinned[k_idx] or shifted <= start else [shifted, start]
            fit = next((s for s in tries if self._fits(k_idx, m_idx, s, s + length)), None)
            if fit is not None:
                self.mode[k_idx], self.start[k_idx], self.end[k_idx] = m_idx, fit, fit + length
                break
        self._add(k_idx, 1.0)
