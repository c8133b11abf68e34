"""The solver registry: every exact solver and heuristic is found by name.

A solver is a function ``(instance, *, time_limit, workers, seed, hint, **options) -> Schedule``;
:func:`solve` checks the arguments every solver shares (time limit, workers, a seed CP-SAT can
hold, times no solver overflows on), times the solver, recomputes the objective from the
schedule, puts the schedule through :func:`xpuplan.models.check_schedule` (a rejected schedule is
a bug: :class:`xpuplan.models.InternalError`) and wraps it in a :class:`Result`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from xpuplan.models import (
    Instance,
    InternalError,
    InvalidInput,
    Schedule,
    Unsupported,
    check_schedule,
    evaluate,
)
from xpuplan.solvers.bounds import serial_upper_bound
from xpuplan.solvers.result import Result

# Seeds go to CP-SAT's ``random_seed``, HiGHS's ``random_seed`` and CBC's ``randomCbcSeed``, all
# 32-bit signed integers; negative seeds mean nothing to any of them.
MAX_SEED = 2**31 - 1
# Every time of a schedule (in us) stays below this: 2^40 us is 12.7 days. CP-SAT's integers are
# 64-bit and its objectives multiply times by scaled weights and powers (see
# xpuplan.solvers.cpsat.data.MAX_HORIZON); the heuristics' timelines and the time-indexed MILP
# index arrays by time.
MAX_TIME = 2**40


class SolverFn(Protocol):
    def __call__(
        self,
        instance: Instance,
        *,
        time_limit: float | None,
        workers: int | None,
        seed: int,
        hint: Schedule | None,
        **options: Any,
    ) -> Schedule: ...


@dataclass(frozen=True)
class SolverInfo:
    """A registered solver: ``kind`` is ``"exact"`` (proves bounds) or ``"heuristic"``."""

    name: str
    kind: str
    description: str
    fn: SolverFn


_SOLVERS: dict[str, SolverInfo] = {}


def register(name: str, *, kind: str, description: str) -> Callable[[SolverFn], SolverFn]:
    """Decorator: make ``fn`` available to :func:`solve` as ``name``."""

    def wrap(fn: SolverFn) -> SolverFn:
        if name in _SOLVERS:
            raise ValueError(f"solver {name!r} is registered twice")
        _SOLVERS[name] = SolverInfo(name, kind, description, fn)
        return fn

    return wrap


def solver_names(kind: str | None = None) -> list[str]:
    """Registered solver names (of one kind, if given), in registration order.

    Parameters
    ----------
    kind
        ``"exact"``, ``"heuristic"`` or ``"referee"``; None: every solver.

    Returns
    -------
    list[str]
        Each accepted by :func:`solve`.

    Examples
    --------
    >>> {"cpsat", "milp", "heft"} <= set(solver_names())
    True
    >>> "heft" in solver_names("heuristic") and "cpsat" not in solver_names("heuristic")
    True
    """
    return [info.name for info in _SOLVERS.values() if kind is None or info.kind == kind]


def solver_info(name: str) -> SolverInfo:
    """The registered solver ``name``; an unknown name raises :class:`InvalidInput`."""
    info = _SOLVERS.get(name)
    if info is None:
        raise InvalidInput(
            f"is not a known solver (known: {', '.join(_SOLVERS)})", field="solver", value=name
        )
    return info


def solve(
    instance: Instance,
    solver: str = "cpsat",
    *,
    time_limit: float | None = None,
    workers: int | None = None,
    seed: int = 0,
    hint: Schedule | None = None,
    **options: Any,
) -> Result:
    """Solve ``instance`` with the registered solver ``solver``.

    Parameters
    ----------
    instance
        The problem.
    solver
        A name of :func:`solver_names`: an exact solver (``cpsat``, ``milp-ti``, ``milp``), the
        ``brute-force`` referee, or a heuristic (``heft``, ``cpop``, ... and their ``+dvfs``
        variants).
    time_limit, workers, seed
        Wall-clock limit in seconds and threads of an exact solver (heuristics ignore them), and
        its random seed.
    hint
        A schedule to start from (a warm start) where the solver takes one.
    **options
        Solver-specific options (e.g. ``backend="highs"`` for ``milp-ti``).

    Returns
    -------
    Result
        ``status``, ``objective`` (recomputed from the schedule, never the solver's word),
        ``lower_bound``, ``schedule``, ``runtime`` and ``gap``.

    Raises
    ------
    InvalidInput
        On an unknown solver or a bad limit.
    Unsupported
        When the solver cannot model a rule the instance uses.

    Examples
    --------
    >>> from models import Instance, Device, Job, Kernel, Mode, check_schedule
    >>> inst = Instance("tiny", devices=(Device("cpu"),), jobs=(Job("j"),),
    ...                 kernels=(Kernel("k", "j", (Mode("cpu", "max", 5),)),))
    >>> res = solve(inst, "cpsat", time_limit=5)
    >>> res.status, res.objective, check_schedule(inst, res.schedule)
    ('optimal', 5, [])
    """
    info = solver_info(solver)
    check_arguments(time_limit=time_limit, workers=workers, seed=seed)
    check_times(instance)
    began = time.perf_counter()
    schedule = info.fn(
        instance, time_limit=time_limit, workers=workers, seed=seed, hint=hint, **options
    )
    runtime = time.perf_counter() - began
    objective = evaluate(instance, schedule) if schedule.is_solution else None
    schedule = schedule.replace(objective=objective, solve_seconds=round(runtime, 6), solver=solver)
    if schedule.is_solution:
        violations = check_schedule(instance, schedule)
        if violations:
            rules = ", ".join(sorted({v.rule for v in violations}))
            raise InternalError(
                f"solver {solver!r} returned a schedule of {instance.name!r} that breaks the "
                f"instance's rules ({len(violations)} violation(s) of {rules}), first: "
                f"{violations[0]}"
            )
    return Result(schedule, runtime)


def check_arguments(*, time_limit: float | None, workers: int | None, seed: int) -> None:
    """Refuse a time limit, worker count or seed no solver can take (:class:`InvalidInput`)."""
    if time_limit is not None and not (time_limit > 0 and math.isfinite(time_limit)):
        raise InvalidInput(
            "must be a finite number of seconds > 0", field="time_limit", value=time_limit
        )
    if workers is not None and (
        not isinstance(workers, int) or isinstance(workers, bool) or workers < 1
    ):
        raise InvalidInput("must be an integer >= 1", field="workers", value=workers)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise InvalidInput(
            f"must be an integer from 0 to {MAX_SEED} (solvers take 32-bit seeds)",
            field="seed",
            value=seed,
        )


def check_times(instance: Instance) -> None:
    """Refuse (:class:`Unsupported`) an instance whose schedules could reach :data:`MAX_TIME`.

    The bound is :func:`xpuplan.solvers.bounds.serial_upper_bound` (some optimal schedule ends by
    it), checked with the deadlines; computed with Python integers, so it cannot overflow.
    """
    horizon = serial_upper_bound(instance)
    deadlines = [job.deadline for job in instance.jobs if job.deadline is not None]
    largest = max([horizon, *deadlines])
    if largest >= MAX_TIME:
        raise Unsupported(
            f"instance {instance.name!r} has times up to {largest} us (the sum of its longest "
            f"durations, delays and latest release, or a deadline), at or above 2^40 us "
            "(12.7 days), more than the solvers can hold; use smaller durations or fewer kernels"
        )
