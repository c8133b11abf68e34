"""What every solver returns."""

from __future__ import annotations

import math
from dataclasses import dataclass

from xpuplan.models import Schedule
from xpuplan.models.schedule import ObjectiveValue


@dataclass(frozen=True)
class Result:
    """A solve's outcome: the schedule and the wall time of the whole solve.

    Everything else lives in the schedule (``status``, ``objective``, ``lower_bound``, ``message``,
    ``solve_seconds``); the properties below only read it. ``schedule.objective`` is recomputed by
    :func:`xpuplan.models.evaluate`, independently of the solver; ``schedule.lower_bound`` is the
    best bound proven (or computed cheaply, for heuristics); ``runtime`` is the unrounded wall
    time (``schedule.solve_seconds`` is the same, rounded to microseconds).
    """

    schedule: Schedule
    runtime: float

    @property
    def status(self) -> str:
        """``optimal``, ``feasible``, ``infeasible`` or ``unknown`` (the schedule's)."""
        return self.schedule.status

    @property
    def objective(self) -> ObjectiveValue | None:
        """The schedule's objective (None without assignments)."""
        return self.schedule.objective

    @property
    def lower_bound(self) -> ObjectiveValue | None:
        """The schedule's lower bound."""
        return self.schedule.lower_bound

    @property
    def gap(self) -> float | None:
        """Relative gap ``(objective - bound) / |objective|``.

        For a lexicographic objective, the gap of the first part where objective and bound differ
        (0 when they agree on every part).
        """
        if self.objective is None or self.lower_bound is None:
            return None
        objs = self.objective if isinstance(self.objective, tuple) else (self.objective,)
        bounds = self.lower_bound if isinstance(self.lower_bound, tuple) else (self.lower_bound,)
        for obj, bound in zip(objs, bounds, strict=False):
            if math.isclose(obj, bound, rel_tol=1e-9, abs_tol=1e-9):
                continue
            return max(0.0, (obj - bound) / abs(obj)) if obj != 0 else 0.0
        return 0.0
