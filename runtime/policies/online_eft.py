"""``online-eft``: earliest finish time over devices, committed on readiness (online HEFT)."""

from __future__ import annotations

from collections import deque

from xpuplan.runtime.dispatch import DispatchApi, RunView
from xpuplan.runtime.jobs import ModeRec, Ready
from xpuplan.runtime.policies.base import earliest_finish
from xpuplan.runtime.policy import BasePolicy, register


@register("online-eft")
class OnlineEft(BasePolicy):
    """When a kernel becomes ready it is committed to the unit where it would finish earliest,
    :math:`\\min_u \\max(a_u, t, r_{k,d(u)}) + p_{k,d(u)}`, with :math:`a_u` the time unit
    :math:`u` is free of the work committed to it so far and :math:`r` the data-ready time; each
    unit runs its committed kernels in order. HEFT's insertion step, online."""

    def bind(self, api: DispatchApi) -> None:
        super().bind(api)
        self._queues: list[deque[tuple[Ready, ModeRec]]] = [
            deque() for _ in range(api.machine.num_units)
        ]
        self._avail = [0.0] * api.machine.num_units

    def on_ready(self, item: Ready) -> None:
        now, avail = self.api.now, self._avail
        best = earliest_finish(self.api, item, lambda u: max(avail[u], now))
        assert best is not None, "a ready item always has a mode"
        finish, unit, rec = best
        avail[unit] = finish
        self._queues[unit].append((item, rec))

    def on_end(self, run: RunView) -> None:
        if not self._queues[run.unit]:
            self._avail[run.unit] = self.api.now

    def decide(self) -> None:
        api = self.api
        for unit, queue in enumerate(self._queues):
            if queue and api.machine.is_idle(unit):
                item, rec = queue.popleft()
                api.start(item, unit, rec)
