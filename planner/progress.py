"""A live progress line for long solves on a terminal.

After one second a line on stderr shows the elapsed time and, for solvers that report progress
(CP-SAT's ``callback``), the best objective, its bound and the gap in the instance's units; it is
rewritten in place four times a second and erased when the solve ends. Nothing is shown with
``--json`` or when stdout is not a terminal
(:func:`xpuplan.planner.commands.common.on_terminal`).
"""

from __future__ import annotations

import inspect
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from xpuplan.models import Instance
from xpuplan.models.schedule import ObjectiveValue
from xpuplan.planner.compare import gap_to
from xpuplan.planner.report import objective_text
from xpuplan.solvers import solver_info

#: Seconds before the line appears (a quick solve shows nothing).
DELAY_S = 1.0
#: Seconds between redraws.
PERIOD_S = 0.25


class ProgressLine:
    """The line's state, fed by the solver's callback (from its own threads) and the ticker."""

    def __init__(
        self, instance: Instance, time_limit: float | None, stream: TextIO | None = None
    ) -> None:
        self.instance = instance
        self.time_limit = time_limit
        self.stream = stream or sys.stderr
        self.began = time.perf_counter()
        self.objective: ObjectiveValue | None = None
        self.bound: ObjectiveValue | None = None
        self._lock = threading.Lock()
        self._shown = False

    def update(
        self, objective: ObjectiveValue | None, bound: ObjectiveValue | None, seconds: float
    ) -> None:
        """The solver's callback: ``callback(objective, bound, seconds)``."""
        with self._lock:
            if objective is not None:
                self.objective = objective
            if bound is not None:
                self.bound = bound

    def text(self) -> str:
        """The line as it is now."""
        elapsed = time.perf_counter() - self.began
        limit = "" if self.time_limit is None else f" of {self.time_limit:g} s"
        with self._lock:
            objective, bound = self.objective, self.bound
        if objective is None and bound is None:
            detail = "searching"
        else:
            gap = None if objective is None or bound is None else gap_to(objective, bound)
            detail = "best " + objective_text(self.instance, objective, bound, gap)
        return f"solving: {elapsed:.1f} s{limit}, {detail}"

    def draw(self) -> None:
        self.stream.write("\r" + self.text()[:160] + "\x1b[K")
        self.stream.flush()
        self._shown = True

    def erase(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def accepts_callback(solver: str) -> bool:
    """Whether the registered solver takes a progress ``callback`` option."""
    params = inspect.signature(solver_info(solver).fn).parameters
    return "callback" in params


@contextmanager
def solve_progress(
    instance: Instance, solver: str, time_limit: float | None, enabled: bool
) -> Iterator[dict[str, Any]]:
    """Options to pass to :func:`xpuplan.solvers.solve` (the callback, when the solver takes
    one), with the live line drawn while the block runs (when ``enabled``)."""
    if not enabled:
        yield {}
        return
    line = ProgressLine(instance, time_limit)
    stop = threading.Event()

    def tick() -> None:
        if stop.wait(DELAY_S):
            return
        while not stop.is_set():
            line.draw()
            stop.wait(PERIOD_S)

    ticker = threading.Thread(target=tick, name="xpuplan-progress", daemon=True)
    ticker.start()
    try:
        yield {"callback": line.update} if accepts_callback(solver) else {}
    finally:
        stop.set()
        ticker.join()
        line.erase()
