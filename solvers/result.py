"""What every solver returns."""

from __future__ import annotations

from dataclasses import dataclass

from models import Schedule
from models.schedule import ObjectiveValue


@dataclass(frozen=True)
class Result:
    """A solve's outcome.

    ``objective`` is recomputed from the schedule by :func:`models.evaluate`, independently of the
    solver; ``lower_bound`` is the best bound proven (or computed cheaply, for heuristics);
    ``status`` is ``optimal``, ``feasible``, ``infeasible`` or ``unknown``; ``runtime`` is wall
    seconds.
    """

    schedule: Schedule
    objective: ObjectiveValue | None
    lower_bound: ObjectiveValue | None
    status: str
    runtime: float

    @property
    def gap(self) -> float | None:
        """Relative gap ``(objective - bound) / objective`` of the first objective part."""
        if self.objective is None or self.lower_bound is None:
            return None
        obj = self.objective[0] if isinstance(self.objective, tuple) else self.objective
        bound = self.lower_bound[0] if isinstance(self.lower_bound, tuple) else self.lower_bound
        if obj == 0:
            return 0.0
        return max(0.0, (obj - bound) / abs(obj))
