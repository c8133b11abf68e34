"""Arguments shared by the commands that build an instance from a platform and a scenario."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace

from xpuplan.models import Instance, InvalidInput
from xpuplan.models.platform import Platform
from xpuplan.models.presets import resolve_platform
from xpuplan.models.profiles import load_profile
from xpuplan.models.scenario import Scenario
from xpuplan.models.scenarios import resolve_scenario
from xpuplan.planner.unroll import PlanningOptions, build_instance, planning_horizon_us


def add_instance_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, required: bool = True
) -> None:
    """--platform, --scenario and the planning options (the first two optional if not required)."""
    parser.add_argument("--platform", required=required, help="a built-in platform or a YAML file")
    parser.add_argument("--scenario", required=required, help="a built-in scenario or a YAML file")
    parser.add_argument("--power-mode", help="a named power mode of the platform (e.g. 15W)")
    parser.add_argument(
        "--horizon",
        type=float,
        metavar="SECONDS",
        help="planning horizon (default: hyperperiod, else the scenario's)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of sampled arrivals (default 0)")
    parser.add_argument("--objective", help="e.g. makespan, energy, late_jobs,energy")
    parser.add_argument(
        "--power-cap",
        type=float,
        metavar="WATTS",
        help="power cap (default: the scenario's, else the platform's budget)",
    )
    parser.add_argument(
        "--dvfs",
        choices=("per-kernel", "per-device"),
        default="per-kernel",
        help="DVFS decisions per kernel, or one static level per device",
    )
    parser.add_argument(
        "--levels",
        default="3",
        help="DVFS levels per device offered to the solver: all, top or a count",
    )
    parser.add_argument(
        "--max-kernels",
        type=int,
        default=6,
        metavar="N",
        help="coarsen each model to at most N kernels (default 6)",
    )
    parser.add_argument(
        "--decode-group",
        type=int,
        default=16,
        metavar="TOKENS",
        help="LLM decode steps per kernel (default 16)",
    )
    parser.add_argument(
        "--memory-bandwidth",
        action="store_true",
        help="model the shared memory bandwidth as a resource",
    )
    parser.add_argument(
        "--include-unknown",
        action="store_true",
        help="also plan unknown (reactive) arrivals: the clairvoyant problem",
    )
    add_profile_argument(parser)


def add_profile_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--profile FILE: measured kernel latencies (``xpuplan profile``) instead of the roofline."""
    parser.add_argument(
        "--profile",
        metavar="CSV",
        help="measured kernel latencies (from xpuplan profile) used instead of the roofline",
    )


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    """The scenario of --scenario, its models given the rows of --profile when there is one.

    The profile travels in each model's parameters (``profile``, an argument of
    :func:`xpuplan.models.kernels.build_kernel_dag`), so every kernel DAG built for the scenario
    uses it.
    """
    scenario = resolve_scenario(args.scenario)
    path = getattr(args, "profile", None)
    if not path:
        return scenario
    table = load_profile(path)
    tasks = tuple(
        replace(
            task,
            models=tuple(
                replace(ref, params={**ref.params, "profile": table}) for ref in task.models
            ),
        )
        for task in scenario.tasks
    )
    return replace(scenario, tasks=tasks)


def options_from_args(args: argparse.Namespace) -> PlanningOptions:
    levels: str | int = args.levels
    if levels not in ("all", "top"):
        try:
            levels = int(levels)
        except ValueError:
            raise InvalidInput(
                "must be all, top or a positive count", field="--levels", value=args.levels
            ) from None
        if levels < 1:
            raise InvalidInput(
                "must be all, top or a positive count", field="--levels", value=levels
            )
    for flag, value in (("--max-kernels", args.max_kernels), ("--decode-group", args.decode_group)):
        if value < 1:
            raise InvalidInput("must be >= 1", field=flag, value=value)
    return PlanningOptions(
        horizon_s=args.horizon,
        seed=args.seed,
        objective=args.objective,
        power_cap_w=args.power_cap,
        max_kernels_per_model=args.max_kernels,
        levels=levels,
        decode_tokens_per_kernel=args.decode_group,
        dvfs=args.dvfs,
        memory_bandwidth=args.memory_bandwidth,
        include_unknown=args.include_unknown,
    )


@dataclass(frozen=True)
class Built:
    """What the instance-building commands resolved and built."""

    platform: Platform
    scenario: Scenario
    options: PlanningOptions
    instance: Instance

    @property
    def horizon_us(self) -> int:
        return planning_horizon_us(self.scenario, self.options)


def instance_from_args(args: argparse.Namespace) -> Built:
    """Resolve --platform/--scenario/--power-mode and build the instance."""
    platform = resolve_platform(args.platform, args.power_mode)
    scenario = scenario_from_args(args)
    options = options_from_args(args)
    return Built(platform, scenario, options, build_instance(platform, scenario, options))
