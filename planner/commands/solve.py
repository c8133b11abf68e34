"""``xpuplan solve INSTANCE``: solve an instance file with a registered solver.

Writes an ``xpuplan.schedule/1`` file whatever the outcome (an infeasible instance's schedule has
no assignments and says why in ``message``) and exits 0 when the solve ran. A schedule the
independent checker rejects is never written: that is a solver bug,
:class:`xpuplan.models.InternalError` (exit 3, see :mod:`xpuplan.planner.cli`).
"""

from __future__ import annotations

import argparse
from typing import Any

from xpuplan.models import Instance, Objective, load_instance
from xpuplan.models.jsonio import check_output_paths, schedule_to_json, write_json
from xpuplan.models.schedule import ObjectiveValue
from xpuplan.planner.commands.common import (
    add_no_timings,
    on_terminal,
    print_json,
    time_limit_arg,
)
from xpuplan.planner.limits import count_arg, seed_arg
from xpuplan.planner.progress import solve_progress
from xpuplan.planner.report import objective_text, objective_units
from xpuplan.solvers import Result, solve, solver_info

NAME = "solve"
HELP = "solve an instance file (optimal, or the best schedule found with a proven bound)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("instance", help="an xpuplan.instance/1 file")
    parser.add_argument("--solver", default="cpsat", help="a registered solver (default cpsat)")
    parser.add_argument(
        "--time-limit", type=time_limit_arg(), metavar="S", help="wall seconds (default: none)"
    )
    parser.add_argument("--workers", type=count_arg(1, 1024), metavar="N", help="solver threads")
    parser.add_argument("--seed", type=seed_arg, default=0, help="solver seed (default 0)")
    parser.add_argument(
        "--objective", help="override the instance's objective (e.g. makespan, late_jobs,energy)"
    )
    parser.add_argument("-o", "--output", metavar="SCHEDULE", help="the schedule file to write")
    parser.add_argument(
        "--json", action="store_true", help="print the summary as one JSON document"
    )
    add_no_timings(parser)


def run(args: argparse.Namespace) -> int:
    solver_info(args.solver)  # an unknown name fails before the instance is read
    check_output_paths([("-o", args.output)])  # an unwritable output fails before the solve
    instance = load_instance(args.instance)
    if args.objective is not None:
        instance = instance.with_objective(Objective.parse(args.objective))
    with solve_progress(instance, args.solver, args.time_limit, on_terminal(args)) as extra:
        result = solve(
            instance,
            args.solver,
            time_limit=args.time_limit,
            workers=args.workers,
            seed=args.seed,
            **extra,
        )
    timings = not args.no_timings
    if args.output:
        doc = schedule_to_json(result.schedule)
        if not timings:
            doc.pop("solve_seconds", None)
        write_json(args.output, doc)
    summary = _summary(instance, result, args.solver, args.output, timings)
    if args.json:
        print_json(summary)
    else:
        print(_line(summary))
    return 0


def _summary(
    instance: Instance, result: Result, solver: str, output: str | None, timings: bool = True
) -> dict[str, Any]:
    out = {
        "instance": result.schedule.instance,
        "solver": solver,
        "status": result.status,
        "objective": _json_value(result.objective),
        "lower_bound": _json_value(result.lower_bound),
        "objective_parts": [part.type for part in instance.objective.parts],
        "objective_units": objective_units(instance),
        "objective_text": objective_text(instance, result.objective, result.lower_bound, None),
        "gap": result.gap,
        "seconds": round(result.runtime, 3),
        "output": output,
        "message": result.schedule.message,
    }
    if not timings:
        del out["seconds"]
    return out


def _json_value(value: ObjectiveValue | None) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _line(summary: dict[str, Any]) -> str:
    gap = summary["gap"]
    parts = [
        f"{summary['status']}:",
        summary["objective_text"],
        f"gap {'-' if gap is None else f'{100 * gap:.2f} %'}",
    ]
    if "seconds" in summary:
        parts.append(f"{summary['seconds']:.2f} s")
    parts.append(f"({summary['solver']})")
    line = "  ".join(parts)
    if summary["message"]:
        line += f": {summary['message']}"
    return line
