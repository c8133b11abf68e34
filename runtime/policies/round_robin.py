"""``round-robin``: tasks take turns."""

from __future__ import annotations

from collections import deque

from xpuplan.runtime.dispatch import DispatchApi
from xpuplan.runtime.jobs import Ready
from xpuplan.runtime.policy import BasePolicy, register


@register("round-robin")
class RoundRobin(BasePolicy):
    """Tasks take turns at each dispatch: the next task in the cycle starts its oldest ready
    kernel that some idle unit runs (on the fastest such unit); a task with nothing placeable
    passes its turn."""

    def bind(self, api: DispatchApi) -> None:
        super().bind(api)
        self._queues: list[deque[Ready]] = [deque() for _ in api.tasks]
        self._turn = 0

    def on_ready(self, item: Ready) -> None:
        self._queues[item.job.task_idx].append(item)

    def decide(self) -> None:
        api, queues = self.api, self._queues
        passes = 0
        while api.machine.idle_mask and passes < len(queues):
            queue = queues[self._turn]
            self._turn = (self._turn + 1) % len(queues)
            passes += 1
            while queue and queue[0].taken:
                queue.popleft()
            for item in queue:
                choice = None if item.job.frozen else api.best_idle(item)
                if choice is not None:
                    queue.remove(item)
                    api.start(item, *choice)
                    passes = 0
                    break
