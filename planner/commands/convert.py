"""``xpuplan convert {stg,fjsp,psplib,dnn-graph} FILE``: benchmark files -> an instance file."""

from __future__ import annotations

import argparse
import json
import sys

from xpuplan.models import Instance, InvalidInput, instance_to_json, save_instance
from xpuplan.models.fields import MAX_COUNT, MAX_TIME, MAX_UNITS
from xpuplan.models.formats import (
    dnn_graph_to_instance,
    fjsp_to_instance,
    psplib_to_instance,
    stg_to_instance,
)
from xpuplan.models.jsonio import check_output_paths
from xpuplan.planner.limits import int_at_most

NAME = "convert"
HELP = "convert a benchmark file (STG, FJSP, PSPLIB, profiled DNN graph) to an xpuplan instance"
FORMATS = ("stg", "fjsp", "psplib", "dnn-graph")
# Which format each option belongs to (options given for another format are an error).
_OPTION_FORMATS = {
    "processors": ("--processors", "stg"),
    "inferences": ("--inferences", "dnn-graph"),
    "period_us": ("--period-us", "dnn-graph"),
    "deadline_us": ("--deadline-us", "dnn-graph"),
    "cpu_units": ("--cpu-units", "dnn-graph"),
    "accel_units": ("--accel-units", "dnn-graph"),
}
# dnn_graph_to_instance's parameter names -> the options a user typed.
_FLAG_OF = {
    "num_inferences": "--inferences",
    "period_us": "--period-us",
    "deadline_us": "--deadline-us",
    "cpu_units": "--cpu-units",
    "accel_units": "--accel-units",
    "processors": "--processors",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("format", choices=FORMATS, help="the file's format")
    parser.add_argument("file", help="the benchmark file")
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="the xpuplan.instance/1 file to write (default: print it)",
    )
    parser.add_argument("--name", help="the instance's name (default: from the file name)")
    parser.add_argument(
        "--processors",
        type=int_at_most(MAX_UNITS),
        metavar="M",
        help="stg: number of identical processors (required)",
    )
    parser.add_argument(
        "--inferences",
        type=int_at_most(MAX_COUNT),
        metavar="N",
        help="dnn-graph: copies of the graph, one job each (default 1)",
    )
    parser.add_argument(
        "--period-us",
        type=int_at_most(MAX_TIME),
        metavar="T",
        help="dnn-graph: job i is released at i x T us (default: all at 0)",
    )
    parser.add_argument(
        "--deadline-us",
        type=int_at_most(MAX_TIME),
        metavar="D",
        help="dnn-graph: relative deadline of each job in us (default: none)",
    )
    parser.add_argument(
        "--cpu-units",
        type=int_at_most(MAX_UNITS),
        metavar="N",
        help="dnn-graph: CPU units (default 1)",
    )
    parser.add_argument(
        "--accel-units",
        type=int_at_most(MAX_UNITS),
        metavar="N",
        help="dnn-graph: accelerator units (default 1)",
    )


def run(args: argparse.Namespace) -> int:
    for attr, (flag, fmt) in _OPTION_FORMATS.items():
        if getattr(args, attr) is not None and args.format != fmt:
            raise InvalidInput(f"only applies to {fmt}", field=flag, value=getattr(args, attr))
    check_output_paths([("-o", args.output)])
    try:
        instance = _convert(args)
    except InvalidInput as exc:
        if exc.file is None and exc.field in _FLAG_OF:
            raise InvalidInput(exc.message, field=_FLAG_OF[exc.field], value=exc.value) from None
        raise
    if args.output:
        save_instance(args.output, instance)
        print(
            f"wrote {args.output}: {instance.name}, {instance.num_kernels} kernels, "
            f"{len(instance.edges)} edges, {instance.num_jobs} jobs, "
            f"{instance.num_devices} devices"
        )
    else:
        json.dump(instance_to_json(instance), sys.stdout, indent=1, allow_nan=False)
        sys.stdout.write("\n")
    return 0


def _convert(args: argparse.Namespace) -> Instance:
    if args.format == "stg":
        if args.processors is None:
            raise InvalidInput("is required for stg", field="--processors", show_value=False)
        return stg_to_instance(args.file, args.processors, name=args.name)
    if args.format == "fjsp":
        return fjsp_to_instance(args.file, name=args.name)
    if args.format == "psplib":
        return psplib_to_instance(args.file, name=args.name)
    return dnn_graph_to_instance(
        args.file,
        num_inferences=1 if args.inferences is None else args.inferences,
        period_us=args.period_us,
        deadline_us=args.deadline_us,
        cpu_units=1 if args.cpu_units is None else args.cpu_units,
        accel_units=1 if args.accel_units is None else args.accel_units,
        name=args.name,
    )
