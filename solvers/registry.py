"""The solver registry: every exact solver and heuristic is found by name.

A solver is a function ``(instance, *, time_limit, workers, seed, hint, **options) -> Schedule``;
:func:`solve` times it, recomputes the objective from the schedule and wraps it in a
:class:`Result`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from xpuplan.models import Instance, InvalidInput, Schedule, evaluate
from xpuplan.solvers.result import Result


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
    if time_limit is not None and not time_limit > 0:
        raise InvalidInput("must be > 0", field="time_limit", value=time_limit)
    if workers is not None and workers < 1:
        raise InvalidInput("must be >= 1", field="workers", value=workers)
    began = time.perf_counter()
    schedule = info.fn(
        instance, time_limit=time_limit, workers=workers, seed=seed, hint=hint, **options
    )
    runtime = time.perf_counter() - began
    objective = evaluate(instance, schedule) if schedule.is_solution else None
    schedule = schedule.replace(objective=objective, solve_seconds=round(runtime, 6), solver=solver)
    return Result(schedule, objective, schedule.lower_bound, schedule.status, runtime)
