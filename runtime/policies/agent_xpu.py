"""``agent-xpu``: Agent.xpu's online scheduler (arXiv 2506.24045), on kernel DAGs.

Mechanisms, each as the paper describes it:

* **preemption at kernel boundaries**: urgent work (reactive and periodic requests, and
  proactive ones that aged) is considered before any proactive kernel at every decision, so a
  reactive request takes over a unit as soon as the proactive kernel on it ends;
* **elastic mapping**: an urgent kernel (e.g. a prefill chunk with NPU and iGPU modes) goes to
  the unit where it would finish earliest; it starts if that unit is idle, else waits for it;
* **slack-aware backfill**: while urgent work is in flight, a proactive kernel may fill an idle
  unit that no waiting urgent kernel wants, if it ends before the earliest running urgent kernel
  does (so the urgent request's next kernel finds the unit free);
* **bandwidth-aware dispatch**: with memory pressure :math:`P_{mem} = \\sum_k BW_k / BW_{peak}`
  counted with the candidate, proactive work co-runs freely below ``low`` (0.4); between
  ``low`` and ``high`` (0.7) it is paired only when it or everything running is light
  (:math:`BW/BW_{peak} <` ``low``/2, a compute-bound kernel beside memory-bound ones); above
  ``high`` it runs only on an otherwise idle machine (sequential, urgent first);
* **decode batching**: a decode step takes every ready urgent request of the model and, while
  one is present, at most ``proactive_batch`` (3) proactive ones; without urgent requests up to
  ``max_batch`` (32, the paper's decode buffer) proactive ones;
* **aging**: a proactive request waiting ``aging_s`` since its arrival becomes urgent, ahead of
  every other urgent request, so background work cannot starve.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

from xpuplan.runtime.dispatch import DispatchApi
from xpuplan.runtime.jobs import ModeRec, Ready
from xpuplan.runtime.policies.base import earliest_finish
from xpuplan.runtime.policy import BasePolicy, register


@register("agent-xpu")
class AgentXpu(BasePolicy):
    """Agent.xpu: reactive work preempts proactive work at kernel boundaries, elastic NPU/iGPU
    mapping, slack-aware backfill, bandwidth-aware dispatch, decode batching, aging (see the
    module docstring for each rule and its parameters)."""

    def __init__(
        self,
        low: float = 0.4,
        high: float = 0.7,
        proactive_batch: int = 3,
        max_batch: int = 32,
        aging_s: float = 60.0,
    ) -> None:
        self.low, self.high = low, high
        self.proactive_batch, self.max_batch = proactive_batch, max_batch
        self.aging_us = aging_s * 1e6

    def bind(self, api: DispatchApi) -> None:
        super().bind(api)
        self._urgent: list[tuple[Any, int, Ready]] = []
        self._proactive: list[tuple[Any, int, Ready]] = []
        self._num_urgent_jobs = 0

    def _is_urgent(self, item: Ready) -> bool:
        job = item.job
        return job.cls != "proactive" or self.api.now - job.arrival >= self.aging_us

    def on_arrival(self, job: Any) -> None:
        self._num_urgent_jobs += job.cls != "proactive"

    def on_job_done(self, job: Any) -> None:
        self._num_urgent_jobs -= job.cls != "proactive"

    def on_ready(self, item: Ready) -> None:
        job = item.job
        if job.cls != "proactive":
            heapq.heappush(self._urgent, ((-job.priority, job.arrival, job.jid), item.seq, item))
        elif self.api.now - job.arrival >= self.aging_us:
            heapq.heappush(self._urgent, self._aged(item))
        else:
            heapq.heappush(self._proactive, ((job.arrival, job.jid), item.seq, item))

    @staticmethod
    def _aged(item: Ready) -> tuple[Any, int, Ready]:
        """An aged proactive kernel goes before every other urgent one (no starvation)."""
        return (-math.inf, item.job.arrival, item.job.jid), item.seq, item

    def decide(self) -> None:
        api = self.api
        # Aging: proactive heads (oldest first) that waited long enough move to the urgent heap.
        while self._proactive and api.now - self._proactive[0][2].job.arrival >= self.aging_us:
            heapq.heappush(self._urgent, self._aged(heapq.heappop(self._proactive)[2]))
        wanted = self._dispatch_urgent()
        if api.machine.idle_mask:
            self._dispatch_proactive(wanted)

    def _dispatch_urgent(self) -> int:
        """Start urgent kernels on their earliest-finish units; return the units they wait for."""
        api, machine = self.api, self.api.machine
        now, wanted, kept = api.now, 0, []
        while self._urgent and machine.idle_mask:
            entry = heapq.heappop(self._urgent)
            item = entry[2]
            if item.taken:
                continue
            best = earliest_finish(api, item, lambda u: machine.unit_free_at(u, now), wanted)
            if best is not None and machine.is_idle(best.unit):
                api.start(item, best.unit, best.mode, batch=self._batch(item))
                continue
            if best is not None:
                wanted |= 1 << best.unit
            kept.append(entry)
        for entry in kept:
            heapq.heappush(self._urgent, entry)
        return wanted

    def _dispatch_proactive(self, wanted: int) -> None:
        api, machine = self.api, self.api.machine
        slack_end = math.inf
        if self._num_urgent_jobs:
            urgent_ends = (r.expected_end for r in machine.running if r.job.cls != "proactive")
            slack_end = min(urgent_ends, default=math.inf)
        kept = []
        while self._proactive and machine.idle_mask:
            entry = heapq.heappop(self._proactive)
            item = entry[2]
            if item.taken:
                continue
            choice = api.best_idle(item, skip=wanted)
            if choice is None:
                kept.append(entry)
                continue
            unit, mode = choice
            if api.now + mode.duration_us > slack_end or not self._bandwidth_ok(mode):
                kept.append(entry)
                continue
            api.start(item, unit, mode, batch=self._batch(item))
        for entry in kept:
            heapq.heappush(self._proactive, entry)

    def _bandwidth_ok(self, rec: ModeRec) -> bool:
        machine = self.api.machine
        peak = machine.peak_bw_gbps
        if not peak or not machine.num_running:
            return True
        pressure = machine.memory_pressure + rec.bw_gbps / peak
        if pressure < self.low:
            return True
        if pressure <= self.high:
            light = self.low / 2
            return rec.bw_gbps / peak < light or all(
                r.bw_gbps / peak < light for r in machine.running
            )
        return False

    def _batch(self, item: Ready) -> list[Ready]:
        if not item.is_decode:
            return []
        ready = [it for it in self.api.decode_items(item) if not it.job.frozen]
        urgent = [it for it in ready if self._is_urgent(it)]
        proactive = sorted(
            (it for it in ready if not self._is_urgent(it)), key=lambda it: it.job.arrival
        )
        cap = self.proactive_batch if urgent else self.max_batch
        batch = (urgent + proactive[:cap])[: self.max_batch]
        if item not in batch:
            batch = [item, *batch[: self.max_batch - 1]]
        return batch
