"""What every exact backend shares: the time budget, the hint check, the warm start and the
lexicographic driver.

An exact backend (CP-SAT, the two MILP formulations) builds one model of an instance and offers,
through :class:`StageSolver`, to minimise one simple objective part under what it has been told so
far, and to keep a part at most some value from then on. :func:`lexicographic` does the rest, the
same way for every backend:

* it minimises the parts of the instance's objective one after the other (a simple objective is
  the one-part case); each stage but the last gets an equal share of the time left
  (``left / stages left``), the last gets all of it, less the most any earlier stage ran past
  its own limit (the solver's start-up: presolve, writing a model file), so that the whole solve
  holds the limit; a stage with no time left is skipped;
* every stage starts from the best schedule known (the hint, the warm start or an earlier stage's
  result), and the result is never worse than it;
* after a stage, the part is kept at most the value of the best schedule, proven or not, and the
  next stage begins; when the time is spent, the remaining parts keep the cheap bounds of
  :func:`xpuplan.solvers.bounds.part_lower_bound`;
* the lower bound of each part is the larger of the backend's proven bound and the cheap one;
  the schedule is ``optimal`` when every part's bound equals its value
  (:func:`xpuplan.models.objectives.values_close`), else ``feasible``; ``unknown`` when no schedule
  was found; an infeasible first stage is the backend's to report (:meth:`StageSolver.no_schedule`).

Hints (one behaviour for every backend, :func:`checked_hint`): a hint without assignments (an
``infeasible`` or ``unknown`` schedule) is no hint and is ignored; a hint with assignments must
pass :func:`xpuplan.models.check_schedule` (its claimed objective, bound and preemptions are not
checked, only its placements), else the solve fails with
:class:`xpuplan.models.InvalidInput` naming the field ``hint`` and the first violation: a bad hint
is bad input, which the project never ignores silently.

Warm start (:func:`warm_start`): without a hint, HEFT, then the whole default heuristic portfolio
when HEFT's time times the portfolio's size fits :data:`WARM_START_SHARE` of the time limit; a
schedule the checker rejects is not used.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from xpuplan.models import (
    Instance,
    InternalError,
    InvalidInput,
    Schedule,
    check_schedule,
    evaluate,
    preemptions_of,
)
from xpuplan.models.objectives import evaluate_part, value_leq, values_close
from xpuplan.models.schedule import Assignment, ObjectiveValue
from xpuplan.solvers.bounds import part_lower_bound
from xpuplan.solvers.heuristics import best_heuristic_schedule, default_names
from xpuplan.solvers.heuristics.portfolio import has_energy_part

# The heuristic warm start may take this share of the time limit.
WARM_START_SHARE = 0.2
# Model building stops when less than this share of the time limit is left: what remains returns
# the start schedule with its cheap bounds.
BUILD_RESERVE = 0.05
# Seconds per kernel the result takes after the last stage (its objective, preemptions and the
# registry's check_schedule): 0.8 s for 10,109 kernels at load 5 on the 2-core machine
# (benchmarks/results/scale.md); the last stage's time is cut by that much.
FINISH_SECONDS_PER_KERNEL = 1e-4


class OutOfTime(Exception):
    """Raised inside model building when the time limit is spent (caught by the backend)."""


@dataclass
class Deadline:
    """A solve's time budget, counted from its creation (model building included).

    ``limit`` is in wall seconds (None: no limit).
    """

    limit: float | None
    began: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        """Seconds since the solve began."""
        return time.perf_counter() - self.began

    def remaining(self) -> float | None:
        """Seconds left (may be negative); None without a limit."""
        if self.limit is None:
            return None
        return self.limit - self.elapsed()

    def expired(self) -> bool:
        """Whether the limit is spent."""
        left = self.remaining()
        return left is not None and left <= 0

    def check(self) -> None:
        """Raise :class:`OutOfTime` when less than :data:`BUILD_RESERVE` of the limit is left
        (called while building a model: what is left returns the start schedule)."""
        left = self.remaining()
        if left is not None and self.limit is not None and left <= BUILD_RESERVE * self.limit:
            raise OutOfTime


def claims_removed(schedule: Schedule) -> Schedule:
    """The assignments alone: a hint's reported objective, bound and preemptions are not checked."""
    return schedule.replace(objective=None, lower_bound=None, status="feasible", preemptions=None)


def checked_hint(instance: Instance, hint: Schedule | None) -> Schedule | None:
    """The hint to start from (see the module docstring for the rule every backend follows).

    Returns None for no hint or a hint without assignments.

    Raises
    ------
    InvalidInput
        When the hint has assignments that :func:`xpuplan.models.check_schedule` rejects.
    """
    if hint is None or not hint.is_solution:
        return None
    violations = check_schedule(instance, claims_removed(hint))
    if violations:
        raise InvalidInput(
            f"is not a valid schedule of the instance: {violations[0]}"
            + (f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""),
            field="hint",
            value=hint.instance,
            show_value=False,
        )
    return hint


def warm_start(instance: Instance, seed: int, time_limit: float | None) -> Schedule | None:
    """The best list-scheduling schedule, within :data:`WARM_START_SHARE` of the time limit.

    HEFT runs first (with ``edf-energy`` when the objective has an energy part: on periodic
    workloads with slack it is the only heuristic near the energy bound, benchmarks/results/
    scale.md); the whole portfolio only when their mean time times the number of heuristics fits
    the share. A schedule the checker rejects (a heuristic bug) is not used.
    """
    first = ["heft"]
    if has_energy_part(instance):
        first.append("edf-energy")
    began = time.perf_counter()
    best = best_heuristic_schedule(instance, seed=seed, names=first)
    elapsed = (time.perf_counter() - began) / len(first)
    names = default_names(instance)
    if time_limit is None or elapsed * len(names) <= WARM_START_SHARE * time_limit:
        best = best_heuristic_schedule(instance, seed=seed, names=names) or best
    if best is None or check_schedule(instance, claims_removed(best)):
        return None
    return best


def start_schedule(
    instance: Instance,
    hint: Schedule | None,
    *,
    seed: int,
    use_heuristics: bool,
    deadline: Deadline,
) -> Schedule | None:
    """The schedule a backend starts from: the checked hint, else the warm start (if asked)."""
    start = checked_hint(instance, hint)
    if start is None and use_heuristics:
        start = warm_start(instance, seed, deadline.limit)
    return start


@dataclass(frozen=True)
class StageOutcome:
    """One stage's result.

    ``status``: ``optimal``, ``feasible``, ``infeasible`` or ``unknown``; ``assignments``: the
    best schedule the backend found (None without one); ``bound``: a proven lower bound of the
    part, in the instance's units, rounded up where the part's values are integers (None when the
    backend proves nothing); ``conclusive``: False when the backend's model may exclude every
    optimal schedule (a MILP over a horizon shorter than the safe one), so that nothing it returns
    is reported as proven, not even by the cheap bounds.
    """

    status: str
    assignments: Sequence[Assignment] | None
    bound: float | None
    conclusive: bool = True


class StageSolver(Protocol):
    """What a backend offers :func:`lexicographic`."""

    def solve_stage(
        self, stage: int, time_limit: float | None, start: Schedule | None
    ) -> StageOutcome:
        """Minimise objective part ``stage`` from ``start`` within ``time_limit`` seconds."""
        ...

    def fix_stage(self, stage: int, value: float) -> None:
        """Keep objective part ``stage`` at most ``value`` (instance units) from now on."""
        ...

    def no_schedule(self, time_left: float | None) -> Schedule:
        """The schedule to return when the first stage is proven infeasible."""
        ...


def lexicographic(
    instance: Instance,
    backend: StageSolver,
    *,
    solver: str,
    deadline: Deadline,
    start: Schedule | None,
) -> Schedule:
    """Minimise the instance's objective part after part (see the module docstring)."""
    parts = instance.objective.parts
    current = start
    bounds: list[int | float] = []
    proven = True
    overhead = 0.0  # the most a stage has run past the limit it was given (solver start-up)
    for stage, part in enumerate(parts):
        static = part_lower_bound(instance, part)
        left = deadline.remaining()
        if left is not None:
            left -= overhead
        if left is not None and left <= 0 and current is not None:
            bounds.append(static)
            proven = False
            continue
        share = None if left is None else max(left, 0.01) / (len(parts) - stage)
        given = share if stage < len(parts) - 1 else left
        if given is not None and stage == len(parts) - 1:
            # Leave the time the result needs after the last stage (objective, preemptions,
            # the registry's check) inside the limit.
            given = max(given - FINISH_SECONDS_PER_KERNEL * instance.num_kernels, 0.01)
        began = deadline.elapsed()
        outcome = backend.solve_stage(stage, given, current)
        if given is not None:
            overhead = max(overhead, deadline.elapsed() - began - max(given, 0.01))
        if outcome.status == "infeasible":
            if current is None:
                return backend.no_schedule(deadline.remaining())
            # A later stage under the earlier parts' values cannot be infeasible, up to the
            # solver's float tolerance; keep the schedule we have and prove nothing more.
            bounds.extend(part_lower_bound(instance, p) for p in parts[stage:])
            proven = False
            break
        # Ties go to the backend's bound (the same number, in the backend's own type).
        bound = static if outcome.bound is None else max(outcome.bound, static)
        if outcome.assignments is not None:
            found = Schedule(instance.name, tuple(outcome.assignments), solver=solver)
            current = better(instance, stage, found, current)
        if current is None:  # only at the first stage: later ones start from its schedule
            rest = tuple(part_lower_bound(instance, p) for p in parts[1:])
            return Schedule(
                instance.name,
                solver=solver,
                status="unknown",
                lower_bound=(bound, *rest) if rest else bound,
                message=f"no feasible schedule found within the time limit ({deadline.limit} s)",
            )
        value = evaluate_part(instance, part, current.assignments)
        if not value_leq(bound, value):
            if not values_close(bound, value):
                raise InternalError(
                    f"the {solver} bound {bound} exceeds the {part.type} {value} of a valid "
                    "schedule"
                )
            bound = value  # float noise of the solver's bound
        proven = proven and outcome.conclusive and values_close(bound, value)
        bounds.append(bound)
        if stage < len(parts) - 1:
            backend.fix_stage(stage, value)
    if current is None:
        raise InternalError(f"{solver}: no schedule after the last stage")
    return final_schedule(instance, current, bounds, proven, solver)


def better(instance: Instance, stage: int, found: Schedule, incumbent: Schedule | None) -> Schedule:
    """The better of two schedules on the objective parts from ``stage`` on (``found`` on ties)."""
    if incumbent is None:
        return found
    parts = instance.objective.parts[stage:]
    a = tuple(evaluate_part(instance, p, found.assignments) for p in parts)
    b = tuple(evaluate_part(instance, p, incumbent.assignments) for p in parts)
    return found if value_leq(a, b) else incumbent


def final_schedule(
    instance: Instance,
    schedule: Schedule,
    bounds: list[int | float],
    proven: bool,
    solver: str,
) -> Schedule:
    """The schedule a backend returns, its objective recomputed and its bound attached."""
    lexicographic_objective = instance.objective.type == "lexicographic"
    objective = evaluate(instance, schedule)
    lower: ObjectiveValue = tuple(bounds) if lexicographic_objective else bounds[0]
    return Schedule(
        instance.name,
        schedule.assignments,
        solver=solver,
        status="optimal" if proven else "feasible",
        objective=objective,
        lower_bound=lower,
        preemptions=tuple(preemptions_of(instance, schedule.assignments)),
    )


def unfinished_schedule(instance: Instance, start: Schedule | None, solver: str) -> Schedule:
    """What a backend returns when its time ran out while building the model.

    The start schedule (hint or warm start) when there is one, ``feasible`` with the cheap bounds;
    else ``unknown`` with those bounds.
    """
    bounds = [part_lower_bound(instance, p) for p in instance.objective.parts]
    message = "the time limit ran out while building the model"
    if start is None:
        lexicographic_objective = instance.objective.type == "lexicographic"
        return Schedule(
            instance.name,
            solver=solver,
            status="unknown",
            lower_bound=tuple(bounds) if lexicographic_objective else bounds[0],
            message=message,
        )
    values = [evaluate_part(instance, p, start.assignments) for p in instance.objective.parts]
    proven = all(values_close(b, v) for b, v in zip(bounds, values, strict=True))
    out = final_schedule(instance, start, bounds, proven, solver)
    return out if proven else out.replace(message=message)


def ceil_bound(value: float) -> int:
    """Ceiling that forgives float noise just above an integer (a bound must not overshoot)."""
    return math.ceil(value - 1e-9 * max(1.0, abs(value)))
