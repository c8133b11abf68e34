"""``twill``: Twill's scheduler for compound AI under a power budget (arXiv 2507.00491).

* **affinity-aware mapping**: each model stage ranks the clusters (devices) that run *all* of
  its kernels by the stage's total time there -- the op-support matrix decides, so a model with
  one op the DLA lacks never goes to the DLA -- and each kernel takes the best-ranked idle
  cluster whose time is within ``spread`` of the best cluster's, else waits for one;
* **migration**: the ranking is applied at every kernel boundary, so a job that started on a
  lesser cluster moves to its preferred one as soon as that frees;
* **priority-aware freezing**: before a kernel starts, the predicted power
  (current + the kernel's) is checked against the budget; if it would exceed it, the kernel
  first tries lower DVFS levels of the same cluster (**DVFS**), then running inferences of lower
  priority are frozen, lowest priority (then latest arrival) first, until it fits; if freezing
  every lower-priority one would not suffice, the kernel waits and nobody is frozen;
* **unfreezing**: at each decision, frozen inferences, highest priority first, resume when
  their power fits within ``headroom`` x budget.
"""

from __future__ import annotations

import heapq
from typing import Any

from xpuplan.runtime.dispatch import DispatchApi
from xpuplan.runtime.jobs import Job, ModeRec, Ready
from xpuplan.runtime.policy import BasePolicy, register


@register("twill")
class Twill(BasePolicy):
    """Twill: affinity-aware mapping to clusters by the op-support matrix, migration to the
    preferred cluster, priority-aware freezing under the power budget, DVFS (see the module
    docstring for each rule and its parameters)."""

    def __init__(self, spread: float = 1.5, headroom: float = 0.9, freeze: bool = True) -> None:
        self.spread = spread
        self.headroom = headroom
        #: Freeze lower-priority inferences to make room under the budget; without it a kernel
        #: that fits at no level waits for running work to end (what an Instance can express).
        self.freeze = freeze

    def bind(self, api: DispatchApi) -> None:
        super().bind(api)
        self._heap: list[tuple[Any, int, Ready]] = []
        self._frozen: list[Job] = []
        self._rank_cache: dict[tuple[float | None, ...], list[int]] = {}

    def on_ready(self, item: Ready) -> None:
        job = item.job
        heapq.heappush(self._heap, ((-job.priority, job.arrival, job.jid), item.seq, item))

    def on_job_done(self, job: Job) -> None:
        if job in self._frozen:
            self._frozen.remove(job)

    def _ranked(self, item: Ready) -> list[int]:
        """Clusters that run the item's whole stage, fastest first (else by the item's modes)."""
        stage_totals = item.stage_totals
        if stage_totals is None or not item.stage_mask:
            fastest: dict[int, float] = {}
            for rec in item.modes:  # fastest first, so the first seen per device is its best
                fastest.setdefault(rec.dev, rec.duration_us)
            return sorted(fastest, key=fastest.__getitem__)
        ranked = self._rank_cache.get(stage_totals)
        if ranked is None:
            totals = {d: t for d, t in enumerate(stage_totals) if t is not None}
            ranked = sorted(totals, key=totals.__getitem__)
            self._rank_cache[stage_totals] = ranked
        return ranked

    def decide(self) -> None:
        api = self.api
        self._unfreeze()
        kept = []
        while self._heap and api.machine.idle_mask:
            entry = heapq.heappop(self._heap)
            item = entry[2]
            if item.taken:
                continue
            choice = None if item.job.frozen else self._place(item)
            rec = None if choice is None else self._fit_power(item, choice[1])
            if choice is None or rec is None:
                kept.append(entry)
                continue
            api.start(item, choice[0], rec)
        for entry in kept:
            heapq.heappush(self._heap, entry)

    def _unfreeze(self) -> None:
        """Resume frozen inferences, highest priority first, while their power fits the headroom.

        When nothing else runs, the first frozen one resumes anyway, at the fastest level that
        fits the budget (else its lowest-power level): the budget can get no better, and a
        frozen inference must not hold its cluster forever.
        """
        api, machine = self.api, self.api.machine
        budget = machine.budget_w
        for job in sorted(self._frozen, key=lambda j: (-j.priority, j.arrival, j.jid)):
            runs = machine.runs_of(job)
            need = sum(r.power_w for r in runs)
            alone = all(r.suspended for r in machine.running)
            if budget is not None and machine.power_w + need > self.headroom * budget:
                if not alone:
                    continue
                for run in runs:
                    on_device = [r for r in run.modes if r.dev == run.dev]
                    fitting = [r for r in on_device if machine.power_w + r.power_w <= budget]
                    api.retarget(
                        run, min(fitting) if fitting else min(on_device, key=lambda r: r.power_w)
                    )
            self._frozen.remove(job)
            api.unfreeze(job)

    def _place(self, item: Ready) -> tuple[int, ModeRec] | None:
        api = self.api
        ranked = self._ranked(item)
        best = api.mode_on(item, ranked[0])
        for dev in ranked:
            rec = api.mode_on(item, dev)
            if rec is None or (
                best is not None and rec.duration_us > self.spread * best.duration_us
            ):
                continue
            unit = api.machine.first_idle(dev)
            if unit is not None:
                return unit, rec
        return None

    def _fit_power(self, item: Ready, rec: ModeRec) -> ModeRec | None:
        """The mode to start in under the budget (a lower level, or after freezing); None: wait."""
        machine = self.api.machine
        budget = machine.budget_w
        if budget is None or machine.power_w + rec.power_w <= budget:
            return rec
        fitting = [
            r
            for r in item.modes
            if r.dev == rec.dev
            and r.level <= machine.level_cap(r.dev)
            and machine.power_w + r.power_w <= budget
        ]
        if fitting:
            return min(fitting)  # the fastest level that fits
        victims = (
            sorted(
                {
                    r.job
                    for r in machine.running
                    if not r.suspended and not r.is_batch and r.job.priority < item.job.priority
                },
                key=lambda j: (j.priority, -j.arrival, -j.jid),
            )
            if self.freeze
            else []
        )
        freed, chosen = 0.0, []
        for job in victims:
            if machine.power_w - freed + rec.power_w <= budget:
                break
            freed += sum(r.power_w for r in machine.runs_of(job) if not r.suspended)
            chosen.append(job)
        if machine.power_w - freed + rec.power_w > budget:
            if all(r.suspended for r in machine.running) and not self._frozen:
                # Nothing runs and still no level fits: the lowest-power level is the best
                # the budget can get (waiting would wait forever).
                return min((r for r in item.modes if r.dev == rec.dev), key=lambda r: r.power_w)
            return None
        for job in chosen:
            self.api.freeze(job)
            self._frozen.append(job)
        return rec
