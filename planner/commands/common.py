"""Arguments shared by the commands that build an instance from a platform and a scenario."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from xpuplan.models import Instance, InvalidInput
from xpuplan.models.fields import MAX_COUNT, MAX_REAL
from xpuplan.models.margin import MAX_NOISE_CV
from xpuplan.models.platform import Platform
from xpuplan.models.presets import platform_names, resolve_platform
from xpuplan.models.presets.scenarios import resolve_scenario, scenario_names
from xpuplan.models.profiles import load_profile
from xpuplan.models.scenario import MAX_HORIZON_S, Scenario
from xpuplan.models.workload import CompileOptions
from xpuplan.planner.limits import (
    MAX_TIME_LIMIT_S,
    MIN_HORIZON_S,
    check_plan_size,
    count_arg,
    number_arg,
    seconds_arg,
    seed_arg,
)
from xpuplan.planner.unroll import (
    DEFAULT_HORIZON_S,
    Planned,
    PlanningOptions,
    build_planned,
)

T = TypeVar("T")
#: What ``xpuplan plan`` plans when given no platform and no scenario (the README's example).
DEFAULT_PLATFORM = "ryzen-ai-hx370"
DEFAULT_SCENARIO = "video-call"
#: The workload compiler's defaults (one set for planner and runtime).
DEFAULTS = CompileOptions()


def add_instance_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, required: bool = True
) -> None:
    """--platform, --scenario and the planning options (the first two optional if not required)."""
    parser.add_argument("--platform", required=required, help="a built-in platform or a YAML file")
    parser.add_argument("--scenario", required=required, help="a built-in scenario or a YAML file")
    parser.add_argument("--power-mode", help="a named power mode of the platform (e.g. 15W)")
    parser.add_argument(
        "--horizon",
        type=seconds_arg(MIN_HORIZON_S, MAX_HORIZON_S),
        metavar="SECONDS",
        help="planning horizon (default: hyperperiod, else the scenario's)",
    )
    parser.add_argument(
        "--seed", type=seed_arg, default=0, help="seed of sampled arrivals and solvers (default 0)"
    )
    parser.add_argument("--objective", help="e.g. makespan, energy, late_jobs,energy")
    parser.add_argument(
        "--power-cap",
        type=number_arg(0.0, MAX_REAL, "watts"),
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
        default=str(DEFAULTS.levels),
        help="DVFS levels per device offered to the solver: all, top or a count",
    )
    parser.add_argument(
        "--max-kernels",
        type=count_arg(1, 10_000),
        default=DEFAULTS.max_kernels_per_model,
        metavar="N",
        help=f"coarsen each model to at most N kernels (default {DEFAULTS.max_kernels_per_model})",
    )
    parser.add_argument(
        "--decode-group",
        type=count_arg(1, MAX_COUNT),
        default=DEFAULTS.decode_tokens_per_kernel,
        metavar="TOKENS",
        help=f"LLM decode steps per kernel (default {DEFAULTS.decode_tokens_per_kernel})",
    )
    parser.add_argument(
        "--memory-bandwidth",
        action="store_true",
        help="model the shared memory bandwidth as a resource",
    )
    parser.add_argument(
        "--contention",
        action="store_true",
        help="plan so that the runtime's memory-bandwidth contention never slows a kernel",
    )
    parser.add_argument(
        "--include-unknown",
        action="store_true",
        help="also plan unknown (reactive) arrivals: the clairvoyant problem",
    )
    add_profile_argument(parser)


def add_margin_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--noise-cv X --quantile Q: plan every kernel at a quantile of the runtime's latency noise
    (:mod:`xpuplan.models.margin`)."""
    parser.add_argument(
        "--noise-cv",
        type=number_arg(0.0, MAX_NOISE_CV, "standard deviations per mean"),
        default=None,
        metavar="X",
        help="plan against latency noise of this coefficient of variation (with --quantile)",
    )
    parser.add_argument(
        "--quantile",
        type=_probability,
        default=None,
        metavar="Q",
        help="plan every kernel at this quantile of the --noise-cv noise, in (0, 1), e.g. 0.99",
    )


def _probability(text: str) -> float:
    """An argparse type: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1) (got {text!r})") from None
    if not (math.isfinite(value) and 0 < value < 1):
        raise argparse.ArgumentTypeError(
            f"must be a number strictly between 0 and 1 (got {text!r})"
        )
    return value


_probability.__name__ = "probability"


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
    noise_cv = getattr(args, "noise_cv", None)
    quantile = getattr(args, "quantile", None)
    if quantile is not None and noise_cv is None:
        raise InvalidInput(
            "needs --noise-cv (the noise it is a quantile of)", field="--quantile", value=quantile
        )
    if noise_cv is not None and quantile is None:
        raise InvalidInput(
            "needs --quantile (e.g. --quantile 0.99) to plan against it",
            field="--noise-cv",
            value=noise_cv,
        )
    return PlanningOptions(
        horizon_s=args.horizon,
        seed=args.seed,
        objective=args.objective,
        power_cap_w=args.power_cap,
        dvfs=args.dvfs,
        memory_bandwidth=args.memory_bandwidth,
        contention=args.contention,
        include_unknown=args.include_unknown,
        workload=CompileOptions(
            max_kernels_per_model=args.max_kernels,
            levels=levels,
            decode_tokens_per_kernel=args.decode_group,
        ),
        noise_cv=noise_cv,
        quantile=quantile,
    )


@dataclass(frozen=True)
class Built:
    """What the instance-building commands resolved and built."""

    platform: Platform
    scenario: Scenario
    options: PlanningOptions
    planned: Planned

    @property
    def instance(self) -> Instance:
        """The instance to solve (with the robustness margin, if any)."""
        return self.planned.planned_instance

    @property
    def horizon_us(self) -> int:
        return self.planned.horizon_us


def instance_from_args(args: argparse.Namespace) -> Built:
    """Resolve --platform/--scenario/--power-mode, check the size, and build the instance."""
    platform = resolve_platform(args.platform, args.power_mode)
    scenario = scenario_from_args(args)
    options = options_from_args(args)
    planned = build_checked_planned(platform, scenario, options, args.platform, args.scenario)
    return Built(platform, scenario, options, planned)


def build_checked(
    platform: Platform,
    scenario: Scenario,
    options: PlanningOptions,
    platform_arg: str,
    scenario_arg: str,
) -> Instance:
    """:func:`build_instance` after the size check, with errors naming the user's files."""
    planned = build_checked_planned(platform, scenario, options, platform_arg, scenario_arg)
    return planned.planned_instance


def build_checked_planned(
    platform: Platform,
    scenario: Scenario,
    options: PlanningOptions,
    platform_arg: str,
    scenario_arg: str,
) -> Planned:
    """:func:`build_planned` after the size check, with errors naming the user's files."""
    check_plan_size(
        scenario,
        horizon_s=options.horizon_s,
        include_unknown=options.include_unknown,
        max_kernels_per_model=options.workload.max_kernels_per_model,
        decode_group=options.workload.decode_tokens_per_kernel,
        fallback_horizon_s=DEFAULT_HORIZON_S,
    )
    with naming_sources(platform, scenario, platform_arg, scenario_arg):
        return build_planned(platform, scenario, options)


@contextmanager
def naming_sources(
    platform: Platform, scenario: Scenario, platform_arg: str, scenario_arg: str
) -> Iterator[None]:
    """Errors raised while compiling a scenario on a platform name the file (or built-in) and
    the field as the user wrote them: ``tasks.chat.models[0].tokens`` becomes
    ``chat.yaml: tasks[0].prompt_tokens``."""
    try:
        yield
    except InvalidInput as exc:
        if exc.file is not None:
            raise
        raise user_fields(exc, platform, scenario, platform_arg, scenario_arg) from None


_TASK_FIELD = re.compile(r"^tasks\.(?P<name>[^.\[]+)(?P<rest>.*)$")
_MODEL_FIELD = re.compile(r"^\.models\[(?P<idx>\d+)\](?:\.(?P<key>\w+))?(?P<tail>.*)$")
_PLATFORM_FIELD = re.compile(r"(?:^|\.)(?P<key>transfer_gbps|sync_overhead_us|mem_bw_gbps)$")
_DEVICE_FIELD = re.compile(r"(?:^|\.)devices\.(?P<name>[^.\[]+)(?P<rest>.*)$")


def user_fields(
    exc: InvalidInput,
    platform: Platform,
    scenario: Scenario,
    platform_arg: str,
    scenario_arg: str,
) -> InvalidInput:
    """``exc`` with its field rewritten to the user's document and the document named."""
    field = exc.field or ""
    devices = [d.name for d in platform.devices]
    match = _DEVICE_FIELD.search(field)
    if match and match["name"] in devices:
        # A platform's number that makes a kernel impossible (found while costing a task's model).
        source = _source(platform_arg, platform_names(), "platform")
        return InvalidInput(
            exc.message,
            field=f"devices[{devices.index(match['name'])}]{match['rest']}",
            value=exc.value,
            file=source,
            show_value=exc.show_value,
        )
    match = _PLATFORM_FIELD.search(field)
    if match:
        return InvalidInput(
            exc.message,
            field=match["key"],
            value=exc.value,
            file=_source(platform_arg, platform_names(), "platform"),
            show_value=exc.show_value,
        )
    match = _TASK_FIELD.match(field)
    names = [t.name for t in scenario.tasks]
    if match and match["name"] in names:
        t_idx = names.index(match["name"])
        task = scenario.tasks[t_idx]
        rest = match["rest"]
        model = _MODEL_FIELD.match(rest)
        if model:
            m_idx = int(model["idx"])
            key = model["key"]
            if key is None or key == "model":
                rest = f".models[{m_idx}]"
            elif task.is_llm and m_idx == 0 and key in ("tokens", "chunk_tokens"):
                rest = ".prompt_tokens" if key == "tokens" else ".chunk_tokens"
            elif task.is_llm and m_idx == 0 and key in ("kv_len", "past_tokens"):
                rest = ".output_tokens"
            else:
                rest = f".models[{m_idx}].params.{key}{model['tail']}"
        source = _source(scenario_arg, scenario_names(), "scenario")
        return InvalidInput(
            exc.message,
            field=f"tasks[{t_idx}]{rest}",
            value=exc.value,
            file=source,
            show_value=exc.show_value,
        )
    return exc


def _source(arg: str, builtins: Any, kind: str) -> str:
    return f"{kind} {arg}" if arg in builtins else arg


# ---------------------------------------------------------------------- output helpers
def print_json(doc: Any) -> None:
    """One strict JSON document on stdout: a value that is not a finite number (which Python
    would print as the non-standard ``NaN`` or ``Infinity``) is printed as ``null``."""
    print(json.dumps(_finite(doc), allow_nan=False))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def add_no_timings(parser: argparse.ArgumentParser) -> None:
    """``--no-timings``: leave wall-clock fields out, so equal runs print equal bytes."""
    parser.add_argument(
        "--no-timings",
        action="store_true",
        help="leave out wall-clock times (output is then byte-identical from run to run)",
    )


def time_limit_arg() -> Callable[[str], float]:
    """The argparse type of ``--time-limit``."""
    return seconds_arg(0.001, MAX_TIME_LIMIT_S)


def on_terminal(args: argparse.Namespace) -> bool:
    """Whether live progress may be shown: stdout is a terminal and no ``--json``."""
    return sys.stdout.isatty() and not getattr(args, "json", False)
