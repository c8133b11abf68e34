"""``xpuplan instance``: unroll a scenario on a platform into an xpuplan.instance/1 file."""

from __future__ import annotations

import argparse

from xpuplan.models import save_instance
from xpuplan.models.jsonio import check_output_paths
from xpuplan.planner.commands.common import (
    add_instance_arguments,
    add_margin_arguments,
    instance_from_args,
    print_json,
)

NAME = "instance"
HELP = "build the problem instance of a scenario on a platform"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_instance_arguments(parser)
    add_margin_arguments(parser)
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="instance file to write"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    check_output_paths([("-o", args.output)])
    built = instance_from_args(args)
    instance = built.instance  # with --noise-cv/--quantile: the durations at that quantile
    save_instance(args.output, instance)
    margin = built.planned.margin
    summary = {
        "instance": instance.name,
        "jobs": instance.num_jobs,
        "kernels": instance.num_kernels,
        "modes": sum(len(k.modes) for k in instance.kernels),
        "edges": len(instance.edges),
        "power_cap_w": instance.power_cap_w,
        "objective": instance.objective.to_json(),
        "output": args.output,
    }
    if margin is not None:
        summary["margin"] = margin.to_json()
    if args.json:
        print_json(summary)
    else:
        print(
            f"{instance.name}: {instance.num_jobs} jobs, {instance.num_kernels} kernels, "
            f"{summary['modes']} modes, {len(instance.edges)} edges -> {args.output}"
        )
        if margin is not None:
            print(
                f"durations at the {margin.quantile:g} quantile of {margin.noise_cv:g} CV "
                f"latency noise (x{margin.factor:.4f} the nominal ones)"
            )
    return 0
