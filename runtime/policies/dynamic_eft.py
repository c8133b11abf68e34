"""``dynamic-eft`` (RTGen-style): earliest finish time over backends, re-decided each time."""

from __future__ import annotations

import heapq
from typing import Any

from xpuplan.runtime.jobs import Ready
from xpuplan.runtime.policies.base import deadline_key, earliest_finish
from xpuplan.runtime.policy import BasePolicy, register
from xpuplan.runtime.simulator import Simulator


@register("dynamic-eft")
class DynamicEft(BasePolicy):
    """At each decision, ready kernels in deadline order pick the unit where they would finish
    earliest given what runs now; a kernel whose best unit is idle starts there, otherwise it
    reserves that unit (for this decision) and waits, rather than take a slower idle one.

    Parameters
    ----------
    window
        How many ready kernels one decision examines (the lookahead of the dispatcher).
    """

    def __init__(self, window: int = 32) -> None:
        self.window = window

    def bind(self, sim: Simulator) -> None:
        super().bind(sim)
        self._heap: list[tuple[Any, int, Ready]] = []

    def on_ready(self, item: Ready) -> None:
        heapq.heappush(self._heap, (deadline_key(item), item.seq, item))

    def decide(self) -> None:
        sim, machine, heap = self.sim, self.sim.machine, self._heap
        now = sim.now
        free = [machine.unit_free_at(u, now) for u in range(machine.num_units)]
        reserved = [False] * machine.num_units
        kept: list[tuple[Any, int, Ready]] = []
        while heap and machine.idle_mask and len(kept) < self.window:
            entry = heapq.heappop(heap)
            item = entry[2]
            if item.taken:
                continue
            best = earliest_finish(sim, item, free.__getitem__)
            assert best is not None
            finish, unit, rec = best
            if machine.unit_run[unit] is None and not reserved[unit]:
                sim.start(item, unit, rec)
            else:
                reserved[unit] = True
                kept.append(entry)
            free[unit] = finish
        for entry in kept:
            heapq.heappush(heap, entry)
