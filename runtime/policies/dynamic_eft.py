"""``dynamic-eft`` (RTGen-style): earliest finish time over backends, re-decided each time."""

from __future__ import annotations

import heapq
from typing import Any

from xpuplan.runtime.dispatch import DispatchApi
from xpuplan.runtime.jobs import Ready
from xpuplan.runtime.policies.base import deadline_key, earliest_finish
from xpuplan.runtime.policy import BasePolicy, register


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

    def bind(self, api: DispatchApi) -> None:
        super().bind(api)
        self._heap: list[tuple[Any, int, Ready]] = []

    def on_ready(self, item: Ready) -> None:
        heapq.heappush(self._heap, (deadline_key(item), item.seq, item))

    def decide(self) -> None:
        api, machine, heap = self.api, self.api.machine, self._heap
        now = api.now
        free = [machine.unit_free_at(u, now) for u in range(machine.num_units)]
        reserved = [False] * machine.num_units
        kept: list[tuple[Any, int, Ready]] = []
        while heap and machine.idle_mask and len(kept) < self.window:
            entry = heapq.heappop(heap)
            item = entry[2]
            if item.taken:
                continue
            best = earliest_finish(api, item, free.__getitem__)
            assert best is not None
            finish, unit, rec = best
            if machine.is_idle(unit) and not reserved[unit]:
                api.start(item, unit, rec)
            else:
                reserved[unit] = True
                kept.append(entry)
            free[unit] = finish
        for entry in kept:
            heapq.heappush(heap, entry)
