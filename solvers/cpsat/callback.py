"""Progress reporting: incumbents and bounds, in the instance's units, as CP-SAT improves them."""

from __future__ import annotations

import time
from collections.abc import Callable

from ortools.sat.python.cp_model import CpSolver, CpSolverSolutionCallback

from xpuplan.models.schedule import ObjectiveValue
from xpuplan.solvers.cpsat.objective import ObjectiveTerm

ProgressFn = Callable[[ObjectiveValue | None, ObjectiveValue | None, float], None]
"""``callback(objective, bound, seconds)``: the best objective and bound so far (tuples for a
lexicographic objective, with the earlier parts at their fixed values), and the seconds since the
solve began."""


class Progress(CpSolverSolutionCallback):
    """Forwards CP-SAT's new solutions and best-bound improvements of one stage to ``report``.

    Parameters
    ----------
    report
        The user's callback.
    term
        The stage's objective (to convert values to instance units).
    fixed
        The values of the earlier parts of a lexicographic objective (empty otherwise).
    lexicographic
        Report tuples rather than numbers.
    began
        ``time.perf_counter()`` when the whole solve began.
    """

    def __init__(
        self,
        report: ProgressFn,
        term: ObjectiveTerm,
        fixed: tuple[int | float, ...],
        *,
        lexicographic: bool,
        began: float,
    ) -> None:
        super().__init__()
        self._report = report
        self._term = term
        self._fixed = fixed
        self._lexicographic = lexicographic
        self._began = began
        self._objective: int | float | None = None
        self._bound: int | float | None = None

    def attach(self, solver: CpSolver) -> None:
        """Also report bound improvements, which come without a new solution."""
        solver.best_bound_callback = self._on_bound

    def on_solution_callback(self) -> None:
        self._objective = self._term.to_instance(round(self.objective_value))
        self._bound = self._term.bound_to_instance(self.best_objective_bound)
        self._emit()

    def _on_bound(self, bound: float) -> None:
        self._bound = self._term.bound_to_instance(bound)
        self._emit()

    def _emit(self) -> None:
        self._report(
            self._value(self._objective),
            self._value(self._bound),
            time.perf_counter() - self._began,
        )

    def _value(self, value: int | float | None) -> ObjectiveValue | None:
        if value is None or not self._lexicographic:
            return value
        return (*self._fixed, value)
