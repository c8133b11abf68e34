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

from xpuplan.runtime.jobs import Job, ModeRec, Ready
from xpuplan.runtime.policy import BasePolicy, register
from xpuplan.runtime.simulator import Simulator


@register("twill")
class Twill(BasePolicy):
    """Twill: affinity-aware mapping to clusters by the op-support matrix, migration to the
    preferred cluster, priority-aware freezing under the power budget, DVFS (see the module
    docstring for each rule and its parameters)."""

    def __init__(self, spread: float = 1.5, headroom: float = 0.9) -> None:
        self.spread = spread
        self.headroom = headroom

    def bind(self, sim: Simulator) -> None:
        super().bind(sim)
        self._heap: list[tuple[Any, int, Ready]] = []
        self._frozen: list[Job] = []
        self._rank_cache: dict[int, list[int]] = {}

    def on_ready(self, item: Ready) -> None:
        job = item.job
        heapq.heappush(self._heap, ((-job.priority, job.arrival, job.jid), item.seq, item))

    def on_job_done(self, job: Job) -> None:
        if job in self._frozen:
            self._frozen.remove(job)

    def _ranked(self, item: Ready) -> list[int]:
        """Clusters that run the item's whole stage, fastest first (else by the item's modes)."""
        bt = item.job.bt
        if item.is_decode or bt is None or not bt.full_mask:
            fastest: dict[int, float] = {}
            for rec in item.modes:  # fastest first, so the first seen per device is its best
                fastest.setdefault(rec[1], rec[0])
            return sorted(fastest, key=fastest.__getitem__)
        ranked = self._rank_cache.get(id(bt))
        if ranked is None:
            totals = {d: t for d, t in enumerate(bt.dev_total) if t is not None}
            ranked = sorted(totals, key=totals.__getitem__)
            self._rank_cache[id(bt)] = ranked
        return ranked

    def decide(self) -> None:
        sim = self.sim
        self._unfreeze()
        kept = []
        while self._heap and sim.machine.idle_mask:
            entry = heapq.heappop(self._heap)
            item = entry[2]
            if item.taken:
                continue
            choice = None if item.job.frozen else self._place(item)
            rec = None if choice is None else self._fit_power(item, choice[1])
            if choice is None or rec is None:
                kept.append(entry)
                continue
            sim.start(item, choice[0], rec)
        for entry in kept:
            heapq.heappush(self._heap, entry)

    def _unfreeze(self) -> None:
        """Resume frozen inferences, highest priority first, while their power fits the headroom.

        When nothing else runs, the first frozen one resumes anyway, at the fastest level that
        fits the budget (else its lowest-power level): the budget can get no better, and a
        frozen inference must not hold its cluster forever.
        """
        sim, machine = self.sim, self.sim.machine
        budget = machine.budget_w
        for job in sorted(self._frozen, key=lambda j: (-j.priority, j.arrival, j.jid)):
            need = sum(r.power for r in job.runs)
            alone = all(r.suspended for r in machine.running)
            if budget is not None and machine.power_w + need > self.headroom * budget:
                if not alone:
                    continue
                for run in job.runs:
                    on_device = [r for r in run.modes if r[1] == run.dev]
                    fitting = [r for r in on_device if machine.power_w + r[3] <= budget]
                    sim.retarget(
                        run, min(fitting) if fitting else min(on_device, key=lambda r: r[3])
                    )
            self._frozen.remove(job)
            sim.unfreeze(job)

    def _place(self, item: Ready) -> tuple[int, ModeRec] | None:
        sim = self.sim
        ranked = self._ranked(item)
        best = sim.mode_on(item, ranked[0])
        for dev in ranked:
            rec = sim.mode_on(item, dev)
            if rec is None or (best is not None and rec[0] > self.spread * best[0]):
                continue
            if sim.machine.idle[dev]:
                return sim.machine.idle[dev][0], rec
        return None

    def _fit_power(self, item: Ready, rec: ModeRec) -> ModeRec | None:
        """The mode to start in under the budget (a lower level, or after freezing); None: wait."""
        machine = self.sim.machine
        budget = machine.budget_w
        if budget is None or machine.power_w + rec[3] <= budget:
            return rec
        fitting = [
            r
            for r in item.modes
            if r[1] == rec[1] and r[2] <= machine.cap[r[1]] and machine.power_w + r[3] <= budget
        ]
        if fitting:
            return min(fitting)  # the fastest level that fits
        victims = sorted(
            {
                r.job
                for r in machine.running
                if not r.suspended and r.batch is None and r.job.priority < item.job.priority
            },
            key=lambda j: (j.priority, -j.arrival, -j.jid),
        )
        freed, chosen = 0.0, []
        for job in victims:
            if machine.power_w - freed + rec[3] <= budget:
                break
            freed += sum(r.power for r in job.runs if not r.suspended)
            chosen.append(job)
        if machine.power_w - freed + rec[3] > budget:
            if all(r.suspended for r in machine.running) and not self._frozen:
                # Nothing runs and still no level fits: the lowest-power level is the best
                # the budget can get (waiting would wait forever).
                return min((r for r in item.modes if r[1] == rec[1]), key=lambda r: r[3])
            return None
        for job in chosen:
            self.sim.freeze(job)
            self._frozen.append(job)
        return rec
