"""How far is each solver, heuristic or online policy from the optimum? One instance, one table.

Every solver runs on the same instance through :func:`xpuplan.solvers.solve`, and every online
policy on the same instance's jobs through :func:`xpuplan.planner.online.run_on_instance` (the
clairvoyant comparison: the policy does not see the future, the solvers do); every schedule goes
through
:func:`xpuplan.models.check_schedule`; and every objective is measured against the *best lower bound
known* for the instance: the largest of the cheap bound of :mod:`xpuplan.solvers.bounds` and the
bounds the solvers proved (a lexicographic bound is compared as a tuple, most important part first).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from xpuplan.models import Instance, InvalidInput, check_schedule
from xpuplan.models.objectives import values_close
from xpuplan.models.schedule import ObjectiveValue
from xpuplan.solvers import Result, solve, solver_info, solver_names
from xpuplan.solvers.bounds import lower_bound
from xpuplan.solvers.heuristics import default_names

if TYPE_CHECKING:
    from xpuplan.planner.online import OnlineRun

COLUMNS = (
    "solver",
    "kind",
    "status",
    "objective",
    "lower_bound",
    "best_bound",
    "gap",
    "seconds",
    "valid",
    "message",
    "rank",
)


def default_solvers(instance: Instance) -> list[str]:
    """The heuristics :func:`xpuplan.solvers.heuristics.default_names` runs, then CP-SAT if
    registered."""
    return [*default_names(instance), *(["cpsat"] if "cpsat" in solver_names() else [])]


def compare(
    instance: Instance,
    solvers: Sequence[str] | None = None,
    *,
    time_limit: float | None = 10.0,
    workers: int | None = None,
    seed: int = 0,
    policies: Sequence[str] = (),
    policy_options: Mapping[str, Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """Run ``solvers`` and ``policies`` on ``instance``; tabulate each one's distance to the best
    known bound.

    Parameters
    ----------
    instance
        The instance every solver gets.
    solvers
        Registered solver names; default :func:`default_solvers`.
    time_limit, workers, seed
        Passed to every solver (heuristics ignore the limits).
    policies
        Online policies (:func:`xpuplan.planner.online.online_policy_names`) run on the instance's
        jobs, each arriving at its release; their rows have ``kind`` ``policy``, and ``message``
        says what the run turned off because the Instance cannot express it (decode batching,
        freezing) and, for a schedule that breaks a rule of the instance, its violations (such a
        row gets no gap and no rank).
    policy_options
        Options per policy name.

    Returns
    -------
    pandas.DataFrame
        One row per solver, in the order given, with the columns of :data:`COLUMNS`: its
        ``status``, ``objective`` (None without a schedule), its own ``lower_bound``, the
        ``best_bound`` known for the instance (the same in every row), the ``gap``
        :math:`(f - LB) / |f|` of the first objective part where the objective and the best bound
        differ (0 when they agree in every part, None without a schedule), wall ``seconds``, and
        ``valid``: whether :func:`xpuplan.models.check_schedule` accepts the schedule, and
        ``rank``: 1 for the best valid objective (ties share a rank), None for rows without a
        valid schedule. A schedule a solver returns that the checker rejects is a solver bug: its
        row says so in ``message`` and its bound is not used.

    Raises
    ------
    InvalidInput
        When a solver name is unknown or the list is empty.

    Examples
    --------
    >>> from xpuplan.models.generate import layered_dag_instance
    >>> inst = layered_dag_instance(seed=0, num_kernels=8, num_devices=2)
    >>> frame = compare(inst, ["heft", "cpop", "cpsat"], time_limit=5, workers=1)
    >>> list(frame["solver"]), bool(frame["valid"].all())
    (['heft', 'cpop', 'cpsat'], True)
    >>> frame.loc[frame["solver"] == "cpsat", "gap"].item()
    0.0
    """
    from xpuplan.planner.online import online_policy_names, run_on_instance

    names = default_solvers(instance) if solvers is None else list(solvers)
    if not names and not policies:
        raise InvalidInput("must name at least one solver", field="solvers", value=[])
    for name in policies:
        if name not in online_policy_names():
            raise InvalidInput(
                f"is not an online policy (known: {', '.join(online_policy_names())}, or all)",
                field="policies",
                value=name,
            )
    kinds = [solver_info(name).kind for name in names]  # unknown names fail before any solve
    rows: list[dict[str, Any]] = []
    # The LP bound costs a few LPs once per comparison; heuristics report only the cheap bounds.
    bounds: list[ObjectiveValue] = [lower_bound(instance, lp=True)]
    for name, kind in zip(names, kinds, strict=True):
        result = solve(instance, name, time_limit=time_limit, workers=workers, seed=seed)
        violations = check_schedule(instance, result.schedule)
        if not violations and result.lower_bound is not None:
            bounds.append(result.lower_bound)
        rows.append(_row(name, kind, result, violations))
    for name in policies:
        run = run_on_instance(instance, name, (policy_options or {}).get(name))
        rows.append(_policy_row(name, run))
    best = max(bounds, key=_as_tuple)
    for row in rows:
        row["best_bound"] = best
        row["gap"] = gap_to(row["objective"], best) if row["valid"] else None
    ranked = sorted(
        {_as_tuple(r["objective"]) for r in rows if r["valid"] and r["objective"] is not None}
    )
    for row in rows:
        row["rank"] = (
            ranked.index(_as_tuple(row["objective"])) + 1
            if row["valid"] and row["objective"] is not None
            else None
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def gap_to(objective: ObjectiveValue | None, bound: ObjectiveValue) -> float | None:
    """:math:`(f - LB) / |f|` at the first part where ``objective`` and ``bound`` differ.

    0 when every part agrees (up to rounding) or the objective is 0; None without an objective.
    """
    if objective is None:
        return None
    for value, low in zip(_as_tuple(objective), _as_tuple(bound), strict=False):
        if values_close(value, low):
            continue
        return 0.0 if value == 0 else max(0.0, (value - low) / abs(value))
    return 0.0


def plot_gaps(frame: pd.DataFrame, path: str | os.PathLike[str], title: str = "") -> None:
    """A bar chart of every solver's gap to the best known bound (in percent)."""
    # matplotlib is slow to import and needed only here; the command line stays quick without it.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gaps = [math.nan if gap is None else 100.0 * gap for gap in frame["gap"]]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(frame) + 2.0), 4.0))
    colours = ["tab:green" if g == 0 else "tab:blue" for g in gaps]
    ax.bar(list(frame["solver"]), [0.0 if math.isnan(g) else g for g in gaps], color=colours)
    for x_idx, gap in enumerate(gaps):
        label = "none" if math.isnan(gap) else f"{gap:.1f}%"
        ax.annotate(
            label, (x_idx, 0.0 if math.isnan(gap) else gap), ha="center", va="bottom", fontsize=8
        )
    ax.set_ylabel("gap to the best known lower bound (%)")
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=60)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _row(name: str, kind: str, result: Result, violations: list[Any]) -> dict[str, Any]:
    message = result.schedule.message
    if violations:
        message = f"INVALID schedule ({len(violations)} violations), first: {violations[0]}"
    return {
        "solver": name,
        "kind": kind,
        "status": result.status,
        "objective": result.objective,
        "lower_bound": result.lower_bound,
        "seconds": round(result.runtime, 3),
        "valid": not violations,
        "message": message,
    }


def _policy_row(name: str, run: OnlineRun) -> dict[str, Any]:
    notes = list(run.notes)
    if run.violations:
        rules = sorted({v.rule for v in run.violations})
        notes.insert(
            0,
            f"breaks the Instance's rules ({len(run.violations)} violations: {', '.join(rules)}), "
            f"first: {run.violations[0]}",
        )
    return {
        "solver": name,
        "kind": "policy",
        "status": run.schedule.status,
        "objective": run.schedule.objective,
        "lower_bound": None,
        "seconds": round(run.seconds, 3),
        "valid": run.valid and run.schedule.objective is not None,
        "message": "; ".join(notes) or None,
    }


def _as_tuple(value: ObjectiveValue) -> tuple[float, ...]:
    return value if isinstance(value, tuple) else (value,)
