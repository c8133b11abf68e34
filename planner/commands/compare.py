"""``xpuplan compare``: solvers, heuristics and online policies on one instance, next to the best
known bound.

The instance is a file, or is built from ``--platform`` and ``--scenario`` with the same planning
options as ``xpuplan plan``. ``--policies`` adds online policies, each run on the instance's jobs
(arriving at their releases); built from a scenario, the instance is then the clairvoyant one
(``--include-unknown``: every sampled arrival), so the policies and the solvers face the same
arrivals. The table ranks every valid schedule by the instance's objective.

Prints the table (or one JSON document with ``--json``), optionally writes it as CSV and draws
the gaps as a bar chart. Exits 1 when a solver returned a schedule the checker rejects (a bug),
else 0; a policy's schedule that breaks a rule of the instance is a finding, reported in its row.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from xpuplan.models import Instance, InvalidInput, Objective, load_instance
from xpuplan.models.jsonio import FileWriter, check_output_paths, write_files
from xpuplan.models.presets import resolve_platform
from xpuplan.planner.commands.common import (
    add_instance_arguments,
    add_no_timings,
    build_checked,
    options_from_args,
    print_json,
    scenario_from_args,
    time_limit_arg,
)
from xpuplan.planner.compare import compare, plot_gaps
from xpuplan.planner.limits import count_arg
from xpuplan.planner.pictures import check_picture_path
from xpuplan.planner.report import objective_units, quantities_text

NAME = "compare"
HELP = "run solvers and heuristics on one instance and show each one's gap to the best bound"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "instance", nargs="?", help="an xpuplan.instance/1 file (or use --platform)"
    )
    parser.add_argument(
        "--solvers",
        nargs="+",
        metavar="NAME",
        help="registered solvers (default: the heuristics, then cpsat)",
    )
    parser.add_argument(
        "--time-limit",
        type=time_limit_arg(),
        default=10.0,
        metavar="S",
        help="time limit of each exact solver in seconds (default 10)",
    )
    parser.add_argument(
        "--policies",
        nargs="+",
        metavar="NAME",
        default=[],
        help="online policies to run on the instance's jobs (or: all); implies "
        "--include-unknown when the instance is built from a scenario",
    )
    parser.add_argument(
        "--workers", type=count_arg(1, 1024), metavar="N", help="threads of each exact solver"
    )
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON document")
    out.add_argument("--csv", metavar="FILE", help="also write the table as CSV")
    parser.add_argument("--plot", metavar="PNG", help="draw the gaps as a bar chart")
    add_no_timings(parser)
    built = parser.add_argument_group("building the instance from a platform and a scenario")
    # The planning options of `xpuplan plan`; --platform and --scenario are optional here because
    # an instance file can be given instead.
    add_instance_arguments(built, required=False)


def run(args: argparse.Namespace) -> int:
    check_output_paths([("--csv", args.csv), ("--plot", args.plot)])
    check_picture_path(args.plot, "--plot")
    policies = _policies(args.policies)
    if policies and args.instance is None:
        args.include_unknown = True
    instance = _instance(args)
    frame = compare(
        instance,
        args.solvers,
        time_limit=args.time_limit,
        workers=args.workers,
        seed=args.seed,
        policies=policies,
    )
    if args.no_timings:
        frame = frame.drop(columns=["seconds"])
    outputs: list[tuple[str, FileWriter]] = []
    if args.csv:
        text = frame.to_csv(index=False)

        def write_csv(tmp: Path) -> None:
            tmp.write_text(text, encoding="utf-8")

        outputs.append((args.csv, write_csv))
    if args.plot:
        title = instance.name
        outputs.append((args.plot, lambda tmp: plot_gaps(frame, tmp, title=title)))
    write_files(outputs)
    if args.json:
        print_json(
            {
                "instance": instance.name,
                "objective_parts": [part.type for part in instance.objective.parts],
                "objective_units": objective_units(instance),
                "rows": _json_rows(frame),
            }
        )
    else:
        print(f"{instance.name}: {instance.num_kernels} kernels, objective {_objective(instance)}")
        print(_table(frame, instance))
    # A policy whose schedule breaks a rule of the instance is a finding, not a bug; a solver's is.
    invalid = frame[~frame["valid"] & (frame["kind"] != "policy")]
    for _, row in invalid.iterrows():
        print(f"xpuplan compare: {row['solver']}: {row['message']}", file=sys.stderr)
    return 1 if len(invalid) else 0


def _policies(names: list[str]) -> list[str]:
    from xpuplan.planner.online import online_policy_names

    if names == ["all"]:
        return online_policy_names()
    known = online_policy_names()
    for name in names:
        if name not in known:
            raise InvalidInput(
                f"is not an online policy (known: {', '.join(known)}, or all)",
                field="--policies",
                value=name,
            )
    return list(names)


def _instance(args: argparse.Namespace) -> Instance:
    if args.instance is not None:
        if args.platform or args.scenario:
            raise InvalidInput(
                "give an instance file or --platform and --scenario, not both",
                field="--platform",
                value=args.platform or args.scenario,
            )
        instance = load_instance(args.instance)
        if args.objective is not None:
            instance = instance.with_objective(Objective.parse(args.objective))
        return instance
    if not args.platform or not args.scenario:
        missing = "--platform" if not args.platform else "--scenario"
        raise InvalidInput(
            "is required when no instance file is given",
            field=missing,
            value=None,
            show_value=False,
        )
    platform = resolve_platform(args.platform, args.power_mode)
    scenario = scenario_from_args(args)
    return build_checked(platform, scenario, options_from_args(args), args.platform, args.scenario)


def _objective(instance: Instance) -> str:
    """``late_jobs,energy``: the parts (the table shows each with its unit)."""
    return ",".join(part.type for part in instance.objective.parts)


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, float) and value != value:  # NaN from pandas for a missing value
        return None
    return value


def _json_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {column: _json_value(value) for column, value in row.items()}
        for row in frame.astype(object).where(frame.notna(), None).to_dict("records")
    ]


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, tuple):
        return "(" + ", ".join(_text(v) for v in value) + ")"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _table(frame: pd.DataFrame, instance: Instance) -> str:
    if (frame["kind"] == "policy").any():
        # One ranking: best valid objective first, then the rows without a valid schedule.
        ranks = [None if r is None or r != r else int(r) for r in frame["rank"]]
        order = sorted(range(len(frame)), key=lambda i: (ranks[i] is None, ranks[i] or 0, i))
        frame = frame.iloc[order].reset_index(drop=True)
    shown = pd.DataFrame(
        {
            "rank": ["-" if r is None or r != r else str(int(r)) for r in frame["rank"]],
            "solver": frame["solver"],
            "kind": frame["kind"],
            "status": frame["status"],
            "objective": [quantities_text(instance, v) for v in frame["objective"]],
            "best bound": [quantities_text(instance, v) for v in frame["best_bound"]],
            "gap": ["-" if g is None or g != g else f"{100 * g:.2f}%" for g in frame["gap"]],
            "note": [m if isinstance(m, str) else "" for m in frame["message"]],
        }
    )
    if "seconds" in frame:
        shown.insert(len(shown.columns) - 1, "seconds", [f"{s:.2f}" for s in frame["seconds"]])
    return shown.to_string(index=False)
