"""The heuristics by name, and the best of them for an instance (the exact solvers' warm start)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xpuplan.models import Instance, InvalidInput, Schedule, evaluate
from xpuplan.models.objectives import value_leq
from xpuplan.solvers.heuristics.cpop import cpop
from xpuplan.solvers.heuristics.deadline import edf, least_laxity
from xpuplan.solvers.heuristics.dvfs import lower_levels
from xpuplan.solvers.heuristics.energy import edf_energy
from xpuplan.solvers.heuristics.etf import etf
from xpuplan.solvers.heuristics.heft import heft
from xpuplan.solvers.heuristics.mct_met_olb import mct, met, olb
from xpuplan.solvers.heuristics.minmin_maxmin import max_min, min_min
from xpuplan.solvers.heuristics.peft import peft
from xpuplan.solvers.heuristics.problem import Problem, build_problem

# The heuristics that compare every ready kernel at every step cost O(n * ready) rather than about
# O(n log n); by default the portfolio leaves them out above this many kernels.
SELECTION_LIMIT = 500


@dataclass(frozen=True)
class Heuristic:
    """A list scheduler: ``fn(instance, problem=...) -> Schedule``.

    ``selection`` marks the heuristics that compare all ready kernels at every step.
    """

    name: str
    fn: Callable[..., Schedule]
    description: str
    selection: bool = False


HEURISTICS: tuple[Heuristic, ...] = (
    Heuristic("heft", heft, "HEFT, insertion-based (Topcuoglu, Hariri, Wu 2002)"),
    Heuristic("cpop", cpop, "CPOP, critical path on a processor (Topcuoglu, Hariri, Wu 2002)"),
    Heuristic("peft", peft, "PEFT, optimistic cost table (Arabnejad, Barbosa 2014)"),
    Heuristic("etf", etf, "ETF, earliest task first (Hwang, Chow, Anger, Lee 1989)", True),
    Heuristic(
        "mct", mct, "MCT, minimum completion time (Maheswaran et al. 1999; Braun et al. 2001)"
    ),
    Heuristic(
        "met", met, "MET, minimum execution time (Maheswaran et al. 1999; Braun et al. 2001)"
    ),
    Heuristic("olb", olb, "OLB, opportunistic load balancing (Braun et al. 2001)"),
    Heuristic("min-min", min_min, "Min-Min (Ibarra, Kim 1977; Braun et al. 2001)", True),
    Heuristic("max-min", max_min, "Max-Min (Ibarra, Kim 1977; Braun et al. 2001)", True),
    Heuristic(
        "edf", edf, "earliest deadline first list scheduling (Liu, Layland 1973; Chetto 1990)"
    ),
    Heuristic(
        "llf", least_laxity, "least laxity first list scheduling (Mok 1983; Chetto 1990)", True
    ),
    Heuristic(
        "edf-energy",
        edf_energy,
        "EDF order, each kernel in its least-energy mode that keeps the deadlines",
    ),
)
_BY_NAME = {heur.name: heur for heur in HEURISTICS}
DVFS_SUFFIX = "+dvfs"


def heuristic_names() -> list[str]:
    """Every heuristic name: the list schedulers, then each with the DVFS post-pass."""
    return [heur.name for heur in HEURISTICS] + [heur.name + DVFS_SUFFIX for heur in HEURISTICS]


def run_heuristic(instance: Instance, name: str, *, problem: Problem | None = None) -> Schedule:
    """Run the heuristic ``name`` (``"heft"``, ``"heft+dvfs"``, ...) on ``instance``.

    Raises
    ------
    InvalidInput
        For an unknown name.
    """
    base = name.removesuffix(DVFS_SUFFIX)
    heur = _BY_NAME.get(base)
    if heur is None:
        raise InvalidInput(
            f"is not a heuristic (known: {', '.join(heuristic_names())})",
            field="heuristic",
            value=name,
        )
    prob = build_problem(instance) if problem is None else problem
    schedule = heur.fn(instance, problem=prob)
    return schedule if base == name else lower_levels(instance, schedule, problem=prob)


def default_names(instance: Instance) -> list[str]:
    """The heuristics :func:`best_heuristic_schedule` runs when none are named.

    Every list scheduler, except the ready-set selection ones above :data:`SELECTION_LIMIT`
    kernels; with the DVFS post-pass too when the objective has an energy part.
    """
    names = [
        heur.name
        for heur in HEURISTICS
        if not heur.selection or instance.num_kernels <= SELECTION_LIMIT
    ]
    if has_energy_part(instance):
        names += [name + DVFS_SUFFIX for name in names]
    return names


def has_energy_part(instance: Instance) -> bool:
    """Whether the instance's objective (or one of its lexicographic parts) is energy."""
    return any(part.type == "energy" for part in instance.objective.parts)


def best_heuristic_schedule(
    instance: Instance, *, seed: int = 0, names: Sequence[str] | None = None
) -> Schedule | None:
    """The best schedule over a set of heuristics, by the instance's objective.

    Parameters
    ----------
    instance
        The instance to schedule.
    seed
        Accepted for the solver interface; every heuristic here is deterministic, so the result
        does not depend on it.
    names
        Heuristic names (see :func:`heuristic_names`); default :func:`default_names`.

    Returns
    -------
    Schedule | None
        The ``feasible`` schedule with the smallest objective (lexicographic objectives compared
        part by part; ties go to the earlier name), with its objective filled in; None when no
        heuristic finds a schedule that keeps the hard deadlines.
    """
    del seed
    prob = build_problem(instance)
    best: Schedule | None = None
    best_value = None
    base_schedules: dict[str, Schedule] = {}
    for name in default_names(instance) if names is None else names:
        base = name.removesuffix(DVFS_SUFFIX)
        if base not in base_schedules:
            base_schedules[base] = run_heuristic(instance, base, problem=prob)
        schedule = base_schedules[base]
        if name != base:
            schedule = lower_levels(instance, schedule, problem=prob)
        if not schedule.is_solution:
            continue
        value = evaluate(instance, schedule)
        if best_value is None or not value_leq(best_value, value):
            best, best_value = schedule.replace(solver=name, objective=value), value
    return best
