"""The discrete-event core: a heap of ``(time, priority, seq, handler, payload)``.

Everything a run owns lives on its :class:`Engine`: the heap, the sequence counter that breaks
ties between events scheduled for the same time and priority (in the order they were scheduled),
and the run's random generator. There is no class-level or module-level state, so two engines in
one process never interfere.

An event's handler is called with its payload and returns the follow-up events it causes, as
``(time, priority, handler, payload)`` tuples (or ``None``). Lower priorities run first among
events at the same time, which is how the simulator makes every completion at an instant visible
before any dispatch decision at that instant.

Examples
--------
>>> log = []
>>> def tick(n):
...     log.append((engine.now, n))
...     return [(engine.now + 10, 0, tick, n + 1)] if n < 2 else None
>>> engine = Engine(seed=1)
>>> engine.schedule(0, 0, tick, 0)
>>> engine.run()
20
>>> log
[(0, 0), (10, 1), (20, 2)]
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

#: ``(time, priority, handler, payload)``: what a handler returns for each follow-up event.
Event = tuple[float, int, "Handler", Any]
Handler = Callable[[Any], "Iterable[Event] | None"]


class Engine:
    """One simulation's clock, event heap, sequence counter and random generator.

    Parameters
    ----------
    seed
        Seed of :attr:`rng` (a :class:`numpy.random.Generator`); the same seed gives the same
        draws in the same order.
    """

    def __init__(self, seed: int | None = 0) -> None:
        self.now: float = 0
        self.rng = np.random.default_rng(seed)
        self.num_events = 0
        self._heap: list[tuple[float, int, int, Handler, Any]] = []
        self._seq = itertools.count()

    def schedule(self, time: float, priority: int, handler: Handler, payload: Any = None) -> None:
        """Add one event; ``time`` may not lie in the past."""
        if time < self.now:
            raise ValueError(f"event at {time} is before the current time {self.now}")
        heapq.heappush(self._heap, (time, priority, next(self._seq), handler, payload))

    @property
    def next_time(self) -> float:
        """Time of the earliest pending event (``inf`` when none is pending)."""
        return self._heap[0][0] if self._heap else math.inf

    def __len__(self) -> int:
        return len(self._heap)

    def run(self, until: float = math.inf) -> float:
        """Process events in ``(time, priority, seq)`` order up to and including ``until``.

        Returns the time of the last event processed (the clock stays there; events after
        ``until`` stay pending, so ``run`` may be called again to continue).
        """
        heap = self._heap
        pop, push, seq = heapq.heappop, heapq.heappush, self._seq
        count = 0
        try:
            while heap:
                event = pop(heap)
                time = event[0]
                if time > until:
                    push(heap, event)  # put back: it stays pending for a later run
                    break
                self.now = time
                count += 1
                follow = event[3](event[4])
                if follow:
                    for at, priority, handler, payload in follow:
                        if at < time:
                            raise ValueError(f"follow-up event at {at} is before {time}")
                        push(heap, (at, priority, next(seq), handler, payload))
        finally:
            self.num_events += count
        return self.now
