"""``xpuplan run``: execute a plan for real on ONNX Runtime and measure it against the plan.

Every planned kernel's sub-model is loaded into an ONNX Runtime session on its device's provider
before the clock starts; one worker per device unit; the plan's dispatch tables repeat every plan
period for ``--duration`` seconds under ``--executor``; with ``--policy`` the scenario's other
tasks are served in the plan's slack by that online policy (the simulator's policy objects). See
:mod:`xpuplan.runtime.real_run` for what the report measures.
"""

from __future__ import annotations

import argparse
import json

from xpuplan.models import InvalidInput
from xpuplan.models.plan import Plan, load_plan
from xpuplan.models.presets import resolve_platform
from xpuplan.models.presets.scenarios import resolve_scenario
from xpuplan.planner.commands.common import add_profile_argument, scenario_from_args
from xpuplan.planner.commands.simulate import summary as sim_summary
from xpuplan.runtime.real_run import EXECUTORS, RealRunResult, run_plan

NAME = "run"
HELP = "execute a plan for real on ONNX Runtime and measure it against the plan"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("plan", metavar="PLAN", help="a plan file (xpuplan plan -o ...)")
    parser.add_argument(
        "--platform",
        help="the platform YAML the plan was made for (default: the plan's platform name)",
    )
    parser.add_argument(
        "--scenario",
        help="the scenario YAML naming the ONNX files (default: the plan's scenario name)",
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, metavar="SECONDS", help="run time (default 10)"
    )
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="time-triggered",
        help="start kernels at their planned offsets, or in planned order when ready",
    )
    parser.add_argument(
        "--policy",
        metavar="NAME",
        help="an online list policy (edf, fcfs...) serving the scenario's other tasks in the "
        "plan's slack (default: run the plan alone)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of inputs and arrivals (default 0)"
    )
    parser.add_argument(
        "--check-outputs",
        nargs="?",
        type=int,
        const=10,
        default=0,
        metavar="N",
        help="compare every N-th job's outputs with the whole model's (default N 10)",
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="wait at most this long after --duration for jobs in flight (default 5)",
    )
    add_profile_argument(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--trace", metavar="JSON", help="write a Chrome/Perfetto trace")
    parser.add_argument(
        "--write-profile", metavar="CSV", help="write the measured kernel latencies as a profile"
    )


def _source(given: str | None, plan: Plan, key: str, flag: str) -> str:
    """The --platform/--scenario given, else the name the plan records."""
    if given:
        return given
    name = getattr(plan, key, None) or plan.settings.get(key)
    if not name:
        raise InvalidInput(
            f"the plan does not name its {key}; give {flag} FILE", field=flag, value=None
        )
    return str(name)


def run(args: argparse.Namespace) -> int:
    if not args.duration > 0:
        raise InvalidInput("must be > 0", field="--duration", value=args.duration)
    if args.check_outputs < 0:
        raise InvalidInput("must be >= 1", field="--check-outputs", value=args.check_outputs)
    if args.drain < 0:
        raise InvalidInput("must be >= 0", field="--drain", value=args.drain)
    plan = load_plan(args.plan)
    platform_src = _source(args.platform, plan, "platform", "--platform")
    scenario_src = _source(args.scenario, plan, "scenario", "--scenario")
    try:
        power_mode = getattr(plan, "power_mode", None) or plan.settings.get("power_mode")
        platform = resolve_platform(platform_src, power_mode)
        resolve_scenario(scenario_src)
    except InvalidInput as exc:
        if args.platform and args.scenario:
            raise
        raise InvalidInput(
            f"{exc} (the plan names {platform_src!r} and {scenario_src!r}; give --platform "
            "and --scenario files)",
            field="--platform/--scenario",
            value=None,
            show_value=False,
        ) from None
    # --profile: the online policies' durations of the scenario's other tasks (the plan's own
    # kernels keep the plan's durations)
    args.scenario = scenario_src
    scenario = scenario_from_args(args)
    result = run_plan(
        plan,
        platform,
        scenario,
        duration_s=args.duration,
        executor=args.executor,
        policy=args.policy,
        seed=args.seed,
        check_outputs_every=args.check_outputs,
        drain_s=args.drain,
    )
    if args.trace:
        result.write_trace(args.trace)
    if args.write_profile:
        result.write_profile(args.write_profile)
    doc = result.to_json()
    if args.json:
        print(json.dumps(doc))
    else:
        print(summary(result, doc))
    if result.violations:
        print(f"BUG: the executed schedule breaks {len(result.violations)} rule(s):")
        for violation in result.violations[:10]:
            print(f"  {violation}")
        return 1
    return 0


def summary(result: RealRunResult, doc: dict[str, object]) -> str:
    """The simulate table, then the comparison with the plan."""
    failed = len(result.stats.job_failed)
    text = sim_summary(result.sim).replace("s simulated", "s run for real", 1)
    lines = [text.replace(" + dropped ", f" + failed {failed} + dropped ", 1)]
    pvm = result.planned_vs_measured()
    err, jit = pvm["kernel_error_pct"], pvm["jitter_us"]
    over = doc["runtime_overhead"]
    assert isinstance(over, dict)
    late = pvm["late_in_reality_on_time_in_plan"]
    lines.append(
        f"  executor {result.executor}"
        + (f" + {result.policy} in the slack" if result.policy else "")
        + f"; failed jobs {len(result.stats.job_failed)}"
        + ("; INTERRUPTED (partial report)" if result.stats.interrupted else "")
    )
    lines.append(
        f"  planned vs measured over {pvm['kernels']} kernels: error p50 {_num(err['p50'])}% p90 "
        f"{_num(err['p90'])}%, jitter p50 {_num(jit['p50'])} us p99 {_num(jit['p99'])} us, "
        f"overruns {pvm['overruns']}, late starts {pvm['late_starts']}; late in reality / on "
        f"time in plan {late}"
    )
    lines.append(
        f"  runtime overhead {_num(over['us_per_kernel'])} us per kernel (median kernel "
        f"{_num(over['median_kernel_us'])} us); executed schedule: {len(result.violations)} "
        f"violations of the executor's invariants, measured outcomes {result.outcomes or 'none'}"
    )
    if result.outputs is not None:
        lines.append(
            f"  outputs: {result.outputs['checked']} checked against the whole model, "
            f"{result.outputs['mismatched']} mismatched"
        )
    return "\n".join(lines)


def _num(value: object) -> str:
    """A figure with one decimal (a dash when there is none)."""
    return "-" if not isinstance(value, int | float) else f"{value:.1f}"
