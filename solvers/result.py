"""What every solver returns."""

from __future__ import annotations

import math
from dataclasses import dataclass

from xpuplan.models import Schedule
from xpuplan.models.schedule import ObjectiveValue


@dataclass(frozen=True)
class Result:
    """A solve's outcome.

    ``objective`` is recomputed from the schedule by :func:`xpuplan.models.evaluate`, independently
    of the solver; ``lower_bound`` is the best bound proven (or computed cheaply, for heuristics);
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
