"""``xpuplan solve INSTANCE``: solve an instance file with a registered solver.

Writes an ``xpuplan.schedule/1`` file whatever the outcome (an infeasible instance's schedule has
no assignments and says why in ``message``) and exits 0 when the solve ran. A schedule the
independent checker rejects is never written: that is a solver bug,
:class:`xpuplan.models.InternalError` (exit 3, see :mod:`xpuplan.planner.cli`).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from xpuplan.models import Objective, load_instance, save_schedule
from xpuplan.models.schedule import ObjectiveValue
from xpuplan.solvers import Result, solve, solver_info

NAME = "solve"
HELP = "solve an instance file (optimal, or the best schedule found with a proven bound)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("instance", help="an xpuplan.instance/1 file")
    parser.add_argument("--solver", default="cpsat", help="a registered solver (default cpsat)")
    parser.add_argument(
        "--time-limit", type=float, metavar="S", help="wall seconds (default: none)"
    )
    parser.add_argument("--workers", type=int, metavar="N", help="solver threads")
    parser.add_argument("--seed", type=int, default=0, help="solver seed (default 0)")
    parser.add_argument(
        "--objective", help="override the instance's objective (e.g. makespan, late_jobs,energy)"
    )
    parser.add_argument("-o", "--output", metavar="SCHEDULE", help="the schedule file to write")
    parser.add_argument(
        "--json", action="store_true", help="print the summary as one JSON document"
    )


def run(args: argparse.Namespace) -> int:
    solver_info(args.solver)  # an unknown name fails before the instance is read
    instance = load_instance(args.instance)
    if args.objective is not None:
        instance = instance.with_objective(Objective.parse(args.objective))
    result = solve(
        instance,
        args.solver,
        time_limit=args.time_limit,
        workers=args.workers,
        seed=args.seed,
    )
    if args.output:
        save_schedule(args.output, result.schedule)
    summary = _summary(result, args.solver, args.output)
    if args.json:
        print(json.dumps(summary))
    else:
        print(_line(summary))
    return 0


def _summary(result: Result, solver: str, output: str | None) -> dict[str, Any]:
    return {
        "instance": result.schedule.instance,
        "solver": solver,
        "status": result.status,
        "objective": _json_value(result.objective),
        "lower_bound": _json_value(result.lower_bound),
        "gap": result.gap,
        "seconds": round(result.runtime, 3),
        "output": output,
        "message": result.schedule.message,
    }


def _json_value(value: ObjectiveValue | None) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _line(summary: dict[str, Any]) -> str:
    gap = summary["gap"]
    parts = [
        f"{summary['status']}",
        f"objective {_text(summary['objective'])}",
        f"bound {_text(summary['lower_bound'])}",
        f"gap {'-' if gap is None else f'{100 * gap:.2f}%'}",
        f"{summary['seconds']:.2f} s",
        f"({summary['solver']})",
    ]
    line = "  ".join(parts)
    if summary["message"]:
        line += f": {summary['message']}"
    return line


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return "(" + ", ".join(_text(v) for v in value) + ")"
    return f"{value:.6g}" if isinstance(value, float) else str(value)
