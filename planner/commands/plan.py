"""``xpuplan plan``: scenario + platform -> instance -> solve -> a self-contained plan file."""

from __future__ import annotations

import argparse
import json

from xpuplan.models.plan import Plan, plan_settings, save_plan
from xpuplan.planner.commands.common import add_instance_arguments, instance_from_args
from xpuplan.planner.pictures import save_gantt, save_trace
from xpuplan.planner.report import solve_summary
from xpuplan.solvers import solve

NAME = "plan"
HELP = "compute a deployment plan (optimal or with a proven bound) for a scenario on a platform"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_instance_arguments(parser)
    parser.add_argument("--solver", default="cpsat", help="a registered solver (default cpsat)")
    parser.add_argument(
        "--time-limit",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="solver time limit (default 20)",
    )
    parser.add_argument("--workers", type=int, default=None, help="solver threads")
    parser.add_argument(
        "-o",
        "--output",
        default="plan.json",
        metavar="FILE",
        help="plan file to write (default plan.json)",
    )
    parser.add_argument("--gantt", metavar="PNG", help="also draw a Gantt chart")
    parser.add_argument("--trace", metavar="JSON", help="also write a Chrome trace")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    built = instance_from_args(args)
    instance = built.instance
    result = solve(
        instance, args.solver, time_limit=args.time_limit, workers=args.workers, seed=args.seed
    )
    settings = plan_settings(
        instance,
        result.schedule,
        platform=built.platform.name,
        power_mode=built.platform.power_mode,
        scenario=built.scenario.name,
        solver=args.solver,
        seed=args.seed,
        horizon_us=built.horizon_us,
    )
    save_plan(args.output, Plan(instance, result.schedule, settings))
    if args.gantt and result.schedule.assignments:
        save_gantt(args.gantt, instance, result.schedule)
    if args.trace and result.schedule.assignments:
        save_trace(args.trace, instance, result.schedule)
    summary = solve_summary(instance, result)
    summary["output"] = args.output
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{instance.name}: {instance.num_jobs} jobs, {instance.num_kernels} kernels -> "
            f"{summary['line']} -> {args.output}"
        )
        if result.schedule.message:
            print(result.schedule.message)
    return 0
