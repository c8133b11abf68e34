"""``xpuplan simulate``: run a scenario on a platform under an online policy or a plan.

Plan-executing policies (``hybrid``, ``time-triggered``, ``self-timed``) take ``--plan``; without
one, the command plans the scenario's known tasks first (``--plan-solver``, over their
hyperperiod when they are all periodic, else over the simulated duration with the same seed, so
the plan's arrivals are the simulation's).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from xpuplan.models import InvalidInput
from xpuplan.models.jsonio import FileWriter, check_output_paths, write_files
from xpuplan.models.plan import Plan, load_plan
from xpuplan.models.platform import Platform
from xpuplan.models.presets import resolve_platform
from xpuplan.models.scenario import Periodic, Scenario
from xpuplan.planner.commands.common import (
    add_no_timings,
    add_profile_argument,
    build_checked_planned,
    naming_sources,
    on_terminal,
    print_json,
    scenario_from_args,
)
from xpuplan.planner.contention import check_plan_contention
from xpuplan.planner.limits import (
    MAX_DURATION_S,
    MIN_DURATION_S,
    check_simulation_size,
    count_arg,
    number_arg,
    seconds_arg,
    seed_arg,
)
from xpuplan.planner.pictures import PANELS, check_picture_path, draw_gantt
from xpuplan.planner.planning import make_plan
from xpuplan.planner.runview import run_as_schedule, watching
from xpuplan.planner.tables import check_csv_target, csv_writer
from xpuplan.planner.unroll import PlanningOptions
from xpuplan.runtime.api import simulate
from xpuplan.runtime.metrics import SimResult
from xpuplan.runtime.policies import policy_names, policy_uses_plan
from xpuplan.runtime.simulator import SimConfig, Simulator

NAME = "simulate"
HELP = "simulate a scenario on a platform under an online policy or a static plan"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--platform", required=True, help="a built-in platform or a YAML file")
    parser.add_argument("--scenario", required=True, help="a built-in scenario or a YAML file")
    parser.add_argument(
        "--policy", required=True, metavar="NAME", help=f"one of: {', '.join(policy_names())}"
    )
    parser.add_argument("--plan", metavar="PLAN", help="a plan file (xpuplan plan -o ...)")
    parser.add_argument(
        "--duration",
        type=seconds_arg(MIN_DURATION_S, MAX_DURATION_S),
        default=60.0,
        metavar="SECONDS",
        help="simulated time (default 60)",
    )
    parser.add_argument(
        "--seed", type=seed_arg, default=0, help="seed of arrivals and noise (default 0)"
    )
    parser.add_argument("--power-mode", help="a named power mode of the platform")
    add_profile_argument(parser)
    parser.add_argument(
        "--noise-cv",
        type=number_arg(0.0, 10.0, "standard deviations per mean"),
        default=0.0,
        metavar="X",
        help="coefficient of variation of kernel latency noise (default 0)",
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a policy option, e.g. mapping=fixed (repeatable)",
    )
    parser.add_argument(
        "--max-in-flight",
        type=count_arg(1, 1_000_000),
        metavar="N",
        help="admission control: drop arrivals of a task with N jobs in flight",
    )
    parser.add_argument(
        "--no-governor", action="store_true", help="do not enforce the power budget"
    )
    parser.add_argument(
        "--plan-solver",
        default="heft",
        metavar="NAME",
        help="solver that plans the known tasks when a plan is needed (default heft)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--gantt", metavar="PNG", help="draw the run: kernels by unit, jobs, power over time"
    )
    parser.add_argument("--power", metavar="PNG", help="draw the power over time of the run")
    add_no_timings(parser)
    parser.add_argument("--csv", metavar="FILE", help="also write the per-task table as CSV")


def run(args: argparse.Namespace) -> int:
    if args.policy not in policy_names():
        raise InvalidInput(
            f"is not a known policy (known: {', '.join(policy_names())})",
            field="--policy",
            value=args.policy,
        )
    if not args.duration > 0:
        raise InvalidInput("must be > 0", field="--duration", value=args.duration)
    if args.noise_cv < 0:
        raise InvalidInput("must be >= 0", field="--noise-cv", value=args.noise_cv)
    check_output_paths([("--gantt", args.gantt), ("--power", args.power), ("--csv", args.csv)])
    check_picture_path(args.gantt, "--gantt")
    check_picture_path(args.power, "--power")
    if args.csv:
        check_csv_target(args.csv)
    platform = resolve_platform(args.platform, args.power_mode)
    scenario = scenario_from_args(args)
    check_simulation_size(scenario, args.duration)
    plan = None
    if args.plan:
        plan = load_plan(args.plan)
        try:
            note = check_plan_contention(plan, platform)
        except InvalidInput as exc:
            raise exc.in_file(args.plan) from None
        if note:
            print(f"xpuplan simulate: {args.plan}: {note}", file=sys.stderr)
    elif policy_uses_plan(args.policy):
        plan = plan_known_tasks(
            platform,
            scenario,
            args.duration,
            args.seed,
            args.plan_solver,
            sources=(args.platform, args.scenario),
        )
    pictures = bool(args.gantt or args.power)
    config = SimConfig(
        noise_cv=args.noise_cv,
        max_in_flight=args.max_in_flight,
        governor=not args.no_governor,
        record=pictures,
    )
    with (
        naming_plan(args.plan),
        naming_sources(platform, scenario, args.platform, args.scenario),
        watching(args.duration, on_terminal(args)) as watch,
    ):
        result = simulate(
            platform,
            scenario,
            args.policy,
            plan=plan,
            duration_s=args.duration,
            seed=args.seed,
            config=config,
            policy_options=parse_options(args.option),
            prepare=watch.observe,
        )
    outputs = _pictures(args, watch.sim) if pictures and watch.sim is not None else []
    if args.csv:
        outputs.append((args.csv, csv_writer(result.to_frame())))
    write_files(outputs)  # all or none
    if args.json:
        doc = result.to_json()
        if args.no_timings:
            doc.pop("wall_s", None)
        print_json(doc)
    else:
        print(summary(result))
    return 0


def _pictures(args: argparse.Namespace, sim: Simulator) -> list[tuple[str, FileWriter]]:
    name = f"{args.scenario} on {args.platform} under {args.policy}"
    instance, schedule = run_as_schedule(sim, name)
    title = f"{name}: {args.duration:g} s simulated (seed {args.seed})"
    out: list[tuple[str, FileWriter]] = []
    for path, panels in ((args.gantt, PANELS), (args.power, ("power",))):
        if path:

            def write(tmp: Path, panels: tuple[str, ...] = panels) -> None:
                draw_gantt(
                    tmp,
                    instance,
                    schedule,
                    panels=panels,
                    title=title,
                    power_cap_w=sim.spec.power_budget_w,
                )

            out.append((path, write))
    return out


@contextmanager
def naming_plan(plan_path: str | None) -> Iterator[None]:
    """An error about the plan's repetition (the runtime's ``repeat_us``) names the plan file's
    field it comes from, ``period_us``."""
    try:
        yield
    except InvalidInput as exc:
        if exc.field != "repeat_us":
            raise
        raise InvalidInput(
            exc.message,
            field="period_us",
            value=exc.value,
            file=plan_path or "the plan made for --policy",
        ) from None


def parse_options(items: list[str]) -> dict[str, Any]:
    """``["mapping=fixed", "aging_s=30"]`` -> ``{"mapping": "fixed", "aging_s": 30}``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise InvalidInput("must be KEY=VALUE", field="--option", value=item)
        value: Any = text
        for cast in (int, float):
            try:
                value = cast(text)
                break
            except ValueError:
                continue
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidInput("must be a finite number", field=f"--option {key}", value=text)
        if text in ("true", "false"):
            value = text == "true"
        out[key] = value
    return out


def plan_known_tasks(
    platform: Platform,
    scenario: Scenario,
    duration_s: float,
    seed: int,
    solver: str,
    sources: tuple[str, str] | None = None,
) -> Plan:
    """A plan of the scenario's known tasks (see the module docstring); ``sources`` are the
    platform and scenario as the user named them, for error messages."""
    known = [t for t in scenario.tasks if t.known]
    if not known:
        raise InvalidInput(
            f"scenario {scenario.name!r} has no known tasks to plan; give --plan",
            field="--plan",
            value=None,
        )
    periodic = all(isinstance(t.arrival, Periodic) for t in known)
    options = PlanningOptions(
        horizon_s=None if periodic else duration_s, seed=seed, objective="late_jobs,energy"
    )
    platform_arg, scenario_arg = sources or (platform.name, scenario.name)
    planned = build_checked_planned(platform, scenario, options, platform_arg, scenario_arg)
    made = make_plan(platform, scenario, options, solver=solver, planned=planned)
    if not made.result.schedule.is_solution:  # a schedule the checker rejects raised InternalError
        raise InvalidInput(
            f"solver {solver!r} found no valid plan ({made.result.status})",
            field="--plan-solver",
            value=solver,
        )
    return made.plan


def summary(result: SimResult) -> str:
    """A short table: one line per task, then power and accounting."""
    lines = [
        f"{result.scenario} on {result.platform} under {result.policy}, "
        f"{result.duration_s:g} s simulated (seed {result.seed})"
    ]
    width = max(len(name) for name in result.tasks)
    for name, tm in result.tasks.items():
        lat = tm.latency_ms
        rate = (
            "-"
            if tm.deadline_violation_rate is None
            else f"{100 * tm.deadline_violation_rate:.1f}%"
        )
        text = (
            f"  {name:<{width}}  {tm.cls:<9} {tm.completed:>6}/{tm.arrived:<6} late {rate:>6}"
            f"  p50 {_ms(lat.p50 if lat else None)}  p90 {_ms(lat.p90 if lat else None)}"
        )
        if tm.ttft_ms is not None:
            text += f"  TTFT {tm.ttft_ms.mean:8.1f} ms  TPS {tm.tps or 0:6.1f}"
        lines.append(text.rstrip())
    budget = "none" if result.power_budget_w is None else f"{result.power_budget_w:g} W"
    over = f"{result.time_over_budget_s:.3f} s"
    if result.time_over_budget_s > 0:
        over += f" (longest {1000 * result.longest_over_budget_s:.1f} ms)"
    lines.append(
        f"  energy {result.energy_j:.1f} J, power avg {result.avg_power_w:.2f} W / peak "
        f"{result.peak_power_w:.2f} W, budget {budget}, over budget {over}"
    )
    cons = result.conservation
    lines.append(
        f"  arrived {cons['arrived']} = completed {cons['completed']} + dropped "
        f"{cons['dropped']} + in flight {cons['in_flight']}; preemptions "
        f"{result.preemptions}, migrations {result.migrations}, freezes {result.freezes}"
    )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    """A latency column: milliseconds, or a dash when nothing completed."""
    return f"{'-':>9}   " if value is None else f"{value:9.2f} ms"
