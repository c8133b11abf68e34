"""``xpuplan plan``: scenario + platform -> instance -> solve -> a self-contained plan file.

With neither ``--platform`` nor ``--scenario`` it plans the README's example (the video call on
the Ryzen AI HX 370) and says so. Every output path is checked before the solve, and the plan,
the Gantt chart and the trace are written all or none.

``--noise-cv X --quantile Q`` makes a robust plan: every kernel planned at that quantile of the
runtime's latency noise (:mod:`xpuplan.planner.planning`, :mod:`xpuplan.models.margin`).
"""

from __future__ import annotations

import argparse
import sys

from xpuplan.models import InvalidInput
from xpuplan.models.jsonio import check_output_paths, json_writer, write_files
from xpuplan.models.plan import plan_to_json
from xpuplan.planner.commands.common import (
    DEFAULT_PLATFORM,
    DEFAULT_SCENARIO,
    add_instance_arguments,
    add_margin_arguments,
    add_no_timings,
    instance_from_args,
    on_terminal,
    print_json,
    time_limit_arg,
)
from xpuplan.planner.limits import count_arg
from xpuplan.planner.pictures import check_picture_path, chrome_trace, gantt_writer
from xpuplan.planner.planning import make_plan
from xpuplan.planner.progress import solve_progress
from xpuplan.planner.report import solve_summary

NAME = "plan"
HELP = "compute a deployment plan (optimal or with a proven bound) for a scenario on a platform"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_instance_arguments(parser, required=False)
    add_margin_arguments(parser)
    parser.add_argument("--solver", default="cpsat", help="a registered solver (default cpsat)")
    parser.add_argument(
        "--time-limit",
        type=time_limit_arg(),
        default=20.0,
        metavar="SECONDS",
        help="solver time limit (default 20)",
    )
    parser.add_argument("--workers", type=count_arg(1, 1024), default=None, help="solver threads")
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
    add_no_timings(parser)


def run(args: argparse.Namespace) -> int:
    example = args.platform is None and args.scenario is None
    if example:
        args.platform, args.scenario = DEFAULT_PLATFORM, DEFAULT_SCENARIO
    elif args.platform is None or args.scenario is None:
        missing = "--platform" if args.platform is None else "--scenario"
        raise InvalidInput(
            "is required with the other (or give neither to plan the example)",
            field=missing,
            value=None,
            show_value=False,
        )
    check_output_paths([("-o", args.output), ("--gantt", args.gantt), ("--trace", args.trace)])
    check_picture_path(args.gantt, "--gantt")
    if example:
        print(
            f"xpuplan plan: no --platform or --scenario given: planning the example "
            f"--platform {DEFAULT_PLATFORM} --scenario {DEFAULT_SCENARIO}",
            file=sys.stderr,
        )
    built = instance_from_args(args)
    instance = built.instance
    with solve_progress(instance, args.solver, args.time_limit, on_terminal(args)) as extra:
        made = make_plan(
            built.platform,
            built.scenario,
            built.options,
            solver=args.solver,
            time_limit=args.time_limit,
            workers=args.workers,
            planned=built.planned,
            solve_options=extra,
        )
    result = made.result
    schedule = result.schedule
    doc = plan_to_json(made.plan)
    if args.no_timings:
        doc["schedule"].pop("solve_seconds", None)
    outputs = [(args.output, json_writer(doc))]
    if args.gantt and schedule.assignments:
        outputs.append((args.gantt, gantt_writer(instance, schedule)))
    if args.trace and schedule.assignments:
        outputs.append((args.trace, json_writer(chrome_trace(instance, schedule), indent=None)))
    write_files(outputs)
    summary = solve_summary(instance, result, timings=not args.no_timings)
    summary["output"] = args.output
    margin = made.plan.margin
    if margin is not None:
        summary["margin"] = margin.to_json()
    if args.json:
        print_json(summary)
    else:
        print(
            f"{instance.name}: {instance.num_jobs} jobs, {instance.num_kernels} kernels -> "
            f"{summary['line']} -> {args.output}"
        )
        if margin is not None:
            print(
                f"robust: every kernel planned at the {margin.quantile:g} quantile of "
                f"{margin.noise_cv:g} CV latency noise (durations x{margin.factor:.4f}); the "
                "objective counts those durations (xpuplan simulate --plan: a run's energy)"
            )
        if schedule.message:
            print(schedule.message)
        if (args.gantt or args.trace) and not schedule.assignments:
            print("no schedule to draw: --gantt and --trace were not written")
    return 0
