"""Contention-aware plans against contention-blind ones, executed in the simulator (issue #13).

Usage::

    python benchmarks/contention.py --time-limit 20 --workers 2 \\
        --targets core-ultra-125h/gaming jetson-orin-nx-16gb/gaming \\
        --out benchmarks/results/contention-runs.md

For each ``platform/scenario`` target three plans are made with CP-SAT (seed 0), as
``xpuplan plan`` makes them:

* ``aware``: ``--contention`` (:mod:`xpuplan.planner.contention`: no kernel is ever slowed by
  the runtime's bandwidth contention);
* ``blind``: the default plan. Its instance has no bandwidth demands, so the simulator would run
  its kernels as moving no memory; it is executed with the kernels' real demands attached
  (:func:`xpuplan.planner.contention.with_traffic`), which is what the platform would see;
* ``peak``: ``--memory-bandwidth`` (the existing option: the demands capped at the platform's
  peak bandwidth, not at the runtime's contention capacity).

Each plan runs in the simulator (:func:`xpuplan.runtime.api.simulate` on the platform, the
runtime's contention capacity, the governor on) under ``time-triggered`` and ``self-timed`` for
two repetitions of its period, with contention on and, in the same configuration, off; with
DVFS switches instant (``tr=0``, the Instance's own assumption) and at the simulator's default
100 us (``tr=100``, what ``xpuplan simulate --plan`` gives). Reported per run: the largest kernel
end shift of repetition 0 against the plan (absolute and as a share of the kernel's planned
duration), the same shift against the run with contention off (contention's own effect), the
jobs of repetition 0 finished late or not at all, the late jobs over the whole run, energy, and
the checker's verdict on the executed repetition 0. Every plan's schedule is checked too.
"""

from __future__ import annotations

import argparse
import os
import platform as host
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import ortools

from xpuplan.models import check_schedule
from xpuplan.models.plan import Plan
from xpuplan.models.presets import get_platform
from xpuplan.models.presets.scenarios import get_scenario
from xpuplan.planner.contention import end_shift, planned_capacity_gbps, with_traffic
from xpuplan.planner.planning import make_plan
from xpuplan.planner.report import objective_text
from xpuplan.planner.unroll import PlanningOptions, build_planned
from xpuplan.runtime.api import simulate
from xpuplan.runtime.simulator import SimConfig

TARGETS = (
    "core-ultra-125h/gaming",
    "jetson-orin-nx-16gb/gaming",
    "core-ultra-125h/video-call",
    "jetson-orin-nx-16gb/video-call",
)
#: The share of a kernel's planned duration its simulated end may move ("within 2 %").
TOLERANCE = 0.02


def run_target(target: str, time_limit: float, workers: int) -> list[str]:
    """The markdown lines of one target."""
    platform_name, scenario_name = target.split("/")
    platform = get_platform(platform_name)
    scenario = get_scenario(scenario_name)
    lines = [f"### {target}", ""]
    plans: dict[str, Plan] = {}
    objectives: dict[str, tuple[Any, Any]] = {}
    rows = ["| plan | instance | status | objective | bound | solve s | schedule checked |"]
    rows.append("|---|---|---|---|---|---|---|")
    traffic = build_planned(platform, scenario, PlanningOptions(memory_bandwidth=True)).instance
    for name, options in (
        ("aware", PlanningOptions(contention=True)),
        ("blind", PlanningOptions()),
        ("peak", PlanningOptions(memory_bandwidth=True)),
    ):
        started = time.perf_counter()
        made = make_plan(
            platform, scenario, options, solver="cpsat", time_limit=time_limit, workers=workers
        )
        seconds = time.perf_counter() - started
        inst, res = made.plan.instance, made.result
        violations = check_schedule(inst, res.schedule)
        if violations:
            raise AssertionError(f"{target} {name}: the checker rejects the plan: {violations}")
        resource = next((r.capacity for r in inst.resources), None)
        rows.append(
            f"| {name} | {inst.num_kernels} kernels, bandwidth cap "
            f"{'none' if resource is None else f'{resource:g} GB/s'} | {res.status} | "
            f"{objective_text(inst, res.objective, None, None)} | "
            f"{objective_text(inst, res.lower_bound, None, None)} | {seconds:.1f} | valid |"
        )
        plans[name] = with_traffic(made.plan, traffic) if name == "blind" else made.plan
        objectives[name] = (res.objective, res.lower_bound)
    lines += [
        f"Runtime contention capacity B = {planned_capacity_gbps(platform):g} GB/s (planned, "
        f"rounded down), platform peak {platform.mem_bw_gbps:g} GB/s, power budget "
        f"{platform.power_budget_w:g} W.",
        "",
        *rows,
        "",
        "| plan | executor | tr us | end shift vs plan (us, share) | late rep 0 | late / jobs "
        "(run) | energy J | met as run | contention's own shift (us, share) | late, energy "
        "J with contention off | met by contention | over budget s | executed rep 0 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    summary: dict[str, tuple[int, float, float]] = {}
    for name, plan in plans.items():
        assert plan.period_us is not None
        duration = 2 * plan.period_us / 1e6
        for policy in ("time-triggered", "self-timed"):
            for transition in (0.0, 100.0):
                runs = {}
                for contention in (True, False):
                    config = SimConfig(
                        contention=contention, record=True, dvfs_transition_us=transition
                    )
                    runs[contention] = simulate(
                        platform, scenario, policy, plan=plan, duration_s=duration, config=config
                    )
                on, off = runs[True], runs[False]
                assert on.executed is not None and off.executed is not None
                vs_plan = end_shift(plan.instance, plan.schedule, on.executed)
                own = end_shift(plan.instance, off.executed, on.executed)
                late = sum(tm.late for tm in on.tasks.values())
                late_off = sum(tm.late for tm in off.tasks.values())
                decided = sum(tm.decided for tm in on.tasks.values())
                verdict = check_schedule(plan.instance, on.executed)
                rules = sorted({v.rule for v in verdict})
                executed = "valid" if not verdict else f"{len(verdict)} ({', '.join(rules)})"
                met = vs_plan.late_jobs == 0 and late == 0 and vs_plan.max_rel <= TOLERANCE
                met_own = late <= late_off and own.max_rel <= TOLERANCE
                lines.append(
                    f"| {name} | {policy} | {transition:g} | {vs_plan.max_us:g}, "
                    f"{100 * vs_plan.max_rel:.1f} % | {vs_plan.late_jobs} | {late} / {decided} "
                    f"| {on.energy_j:.5f} | {'yes' if met else 'no'} | {own.max_us:g}, "
                    f"{100 * own.max_rel:.1f} % | {late_off}, {off.energy_j:.5f} | "
                    f"{'yes' if met_own else 'no'} | {on.time_over_budget_s:g} | {executed} |"
                )
                if policy == "time-triggered" and transition == 0:
                    summary[name] = (late, on.energy_j, vs_plan.max_rel)
    aware_objective = _energy(objectives["aware"][0])
    blind_bound = _energy(objectives["blind"][1])
    late_a, energy_a, _ = summary["aware"]
    for name in ("blind", "peak"):
        late_b, energy_b, shift_b = summary[name]
        lines.append(
            f"\n{name} against aware (time-triggered, instant DVFS switches, contention on): "
            f"late jobs {late_b} vs {late_a} over two periods, simulated energy "
            f"{100 * (energy_b / energy_a - 1):+.2f} %, largest kernel end shift "
            f"{100 * shift_b:.1f} % of the kernel's duration."
        )
    same_lateness = _late(objectives["aware"][0]) == _late(objectives["blind"][1])
    if aware_objective is not None and blind_bound and same_lateness:
        cost = 100 * (aware_objective / blind_bound - 1)
        lines.append(
            f"\nWhat forbidding contention can cost at most (planned energy, aware plan found "
            f"against the blind plan's proven bound, same late jobs): {cost:+.2f} %."
        )
    return [*lines, ""]


def _energy(value: Any) -> float | None:
    """The energy of an objective value: the value itself, or the last of a lexicographic one
    (``late_jobs,energy``)."""
    if value is None:
        return None
    return float(value[-1] if isinstance(value, list | tuple) else value)


def _late(value: Any) -> float | None:
    """The first component of a lexicographic objective value (late jobs), else None."""
    return float(value[0]) if isinstance(value, list | tuple) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", default=list(TARGETS), metavar="PLATFORM/SCENARIO")
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="also write the tables to this markdown file")
    args = parser.parse_args(argv)
    header = [
        f"Command: `python benchmarks/{Path(__file__).name} "
        f"{shlex.join(sys.argv[1:] if argv is None else argv)}`",
        "",
        f"Machine: {os.cpu_count()} CPUs ({host.machine()}), Python {host.python_version()}, "
        f"OR-Tools {ortools.__version__}; load average at start "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}.",
        "",
    ]
    print("\n".join(header), flush=True)
    out = list(header)
    for target in args.targets:
        lines = run_target(target, args.time_limit, args.workers)
        print("\n".join(lines), flush=True)
        out += lines
    if args.out:
        args.out.write_text("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
