"""Robust plans: the energy a plan pays to keep deadlines under noise (issue 13, Robustness).

Usage (the issue's case; about 10 minutes on 2 shared cores)::

    python benchmarks/robust.py --platform ryzen-ai-hx370 --scenario video-call \\
        --noise-cv 0.1 --quantiles none,0.5,0.8,0.9,0.95,0.99,0.999 \\
        --time-limit 15 --workers 2 --seeds 0,1,2,3,4 --duration 20 \\
        --plans /tmp/robust --out benchmarks/results/robust.md

For every quantile (``none``: the nominal plan, no margin) it makes the plan exactly as
``xpuplan plan --noise-cv X --quantile Q`` does (:func:`xpuplan.planner.planning.make_plan`, CLI
defaults otherwise), writes it to ``--plans`` and reads it back, then executes the plan file as
``xpuplan simulate --plan FILE --noise-cv X --seed S --duration D`` does (the command's default
:class:`xpuplan.runtime.simulator.SimConfig`: 100 us DVFS transitions, memory contention, the
power governor) under ``time-triggered`` and ``self-timed``, once per seed, and sums each periodic
task's late and decided jobs over the seeds. A 95 % Wilson upper bound on each violation rate says
whether ``<= 1 %`` is met with confidence, not just on the sample.

Energy: the solver's objective (the planned instance's: durations at the quantile, so its energy
part counts every kernel's power over its inflated slot), the same schedule's objective at
nominal durations (the zero-noise run of the plan under the instance's own assumptions,
:func:`xpuplan.runtime.api.simulate_plan`), and the simulated energy of the noisy runs (mean over
seeds, in joules per plan period): the honest figure.

Checks: every plan's schedule against the instance it was planned on
(:func:`xpuplan.models.check_schedule`, exact); the zero-noise run against the nominal instance
(exact: every kernel starts at its planned time and takes its nominal duration); every noisy run's
first hyperperiod against the nominal instance as a measured schedule (``measured=True``: every
rule but ``end - start == duration``), where only ``deadline`` violations (the lateness being
measured) are allowed. Any other violation exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform as pyplatform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from xpuplan.models import check_schedule, evaluate
from xpuplan.models.plan import Plan, load_plan, save_plan
from xpuplan.models.presets import resolve_platform
from xpuplan.models.presets.scenarios import resolve_scenario
from xpuplan.models.scenario import Periodic
from xpuplan.models.workload import compile_workload
from xpuplan.planner.planning import make_plan
from xpuplan.planner.report import objective_text
from xpuplan.planner.unroll import PlanningOptions
from xpuplan.runtime.api import simulate, simulate_plan
from xpuplan.runtime.simulator import SimConfig

EXECUTORS = ("time-triggered", "self-timed")
TARGET = 0.01


def wilson_upper(late: int, n: int, z: float = 1.96) -> float:
    """The upper end of the 95 % Wilson score interval of a rate ``late / n``
    (Wilson, JASA 22(158), 1927)."""
    if n == 0:
        return math.nan
    p = late / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre + half) / (1 + z * z / n)


def _quantiles(text: str) -> list[float | None]:
    out: list[float | None] = []
    for item in text.split(","):
        item = item.strip()
        out.append(None if item in ("none", "") else float(item))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", default="ryzen-ai-hx370")
    parser.add_argument("--scenario", default="video-call")
    parser.add_argument("--noise-cv", type=float, default=0.1)
    parser.add_argument("--quantiles", default="none,0.5,0.8,0.9,0.95,0.99,0.999")
    parser.add_argument("--solver", default="cpsat")
    parser.add_argument("--time-limit", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--duration", type=float, default=20.0, help="simulated seconds per run")
    parser.add_argument("--plans", default="/tmp/robust-plans", help="folder for the plan files")
    parser.add_argument("--out", help="markdown file to write")
    args = parser.parse_args(argv)

    seeds = [int(s) for s in args.seeds.split(",")]
    platform = resolve_platform(args.platform)
    scenario = resolve_scenario(args.scenario)
    workload = compile_workload(platform, scenario)
    periodic = [t.name for t in scenario.tasks if t.known and isinstance(t.arrival, Periodic)]
    Path(args.plans).mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    began = time.perf_counter()
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for quantile in _quantiles(args.quantiles):
        label = "none" if quantile is None else f"{quantile:g}"
        options = PlanningOptions(
            noise_cv=None if quantile is None else args.noise_cv, quantile=quantile
        )
        t0 = time.perf_counter()
        made = make_plan(
            platform,
            scenario,
            options,
            solver=args.solver,
            time_limit=args.time_limit,
            workers=args.workers,
        )
        solve_s = time.perf_counter() - t0
        path = Path(args.plans) / f"plan-q{label}.json"
        save_plan(path, made.plan)
        plan = load_plan(path)
        assert plan == made.plan, "the plan file does not read back equal"
        instance = plan.planned_instance
        result = made.result
        row: dict[str, Any] = {
            "quantile": label,
            "factor": 1.0 if plan.margin is None else plan.margin.factor,
            "status": result.status,
            "objective": objective_text(instance, result.objective, result.lower_bound, result.gap),
            "objective_raw": result.objective,
            "solve_s": round(solve_s, 1),
            "plan": str(path),
        }
        violations = check_schedule(instance, plan.schedule)
        if violations or not plan.schedule.is_solution:
            failures.append(f"q={label}: plan invalid: {violations[:3]} ({result.status})")
            rows.append(row)
            continue
        nominal = _nominal_objective(plan, failures, label)
        row["nominal_objective"] = objective_text(plan.instance, nominal, None, None)
        row["runs"] = {}
        for executor in EXECUTORS:
            row["runs"][executor] = _runs(
                plan, platform, scenario, workload, executor, args, seeds, periodic, failures, label
            )
        rows.append(row)
        print(json.dumps(_plain(row)), flush=True)
    load_after = os.getloadavg()
    wall = time.perf_counter() - began
    if args.out:
        Path(args.out).write_text(
            _markdown(rows, args, argv, periodic, seeds, load_before, load_after, wall, failures)
        )
    for failure in failures:
        print("FAILURE:", failure, file=sys.stderr)
    return 1 if failures else 0


def _nominal_objective(plan: Plan, failures: list[str], label: str) -> Any:
    """The plan's objective at nominal durations: its zero-noise run under the instance's own
    assumptions, a valid schedule of the nominal instance that starts every kernel at its
    planned time when the margin's factor is >= 1 (below 1 the plan assumed kernels faster than
    they are: later kernels may start late, and deadlines may be missed)."""
    period_s = plan.period_us / 1e6 if plan.period_us else None
    executed = simulate_plan(plan, "time-triggered", duration_s=period_s).executed
    assert executed is not None
    shrunk = plan.margin is not None and plan.margin.factor < 1
    violations = [
        v
        for v in check_schedule(plan.instance, executed)
        if not (shrunk and v.rule in ("deadline", "reported"))
    ]
    planned = {a.kernel: a.start for a in plan.schedule.assignments}
    moved = [a.kernel for a in executed.assignments if a.start != planned[a.kernel]]
    if violations or (moved and not shrunk) or len(executed.assignments) != len(planned):
        failures.append(f"q={label}: zero-noise run: {violations[:3]}, moved {moved[:3]}")
        return None
    return evaluate(plan.instance, executed)


def _runs(
    plan: Plan,
    platform: Any,
    scenario: Any,
    workload: Any,
    executor: str,
    args: argparse.Namespace,
    seeds: list[int],
    periodic: list[str],
    failures: list[str],
    label: str,
) -> dict[str, Any]:
    """The plan under ``executor`` as ``xpuplan simulate`` runs it: once at zero noise (seed 0)
    and once per seed at ``--noise-cv``."""
    late = dict.fromkeys(periodic, 0)
    decided = dict.fromkeys(periodic, 0)
    energies = []
    zero: dict[str, float | None] = {}
    for noise, run_seeds in ((0.0, [0]), (args.noise_cv, seeds)):
        for seed in run_seeds:
            # xpuplan simulate's SimConfig, recording the runs for the checker.
            config = SimConfig(noise_cv=noise, governor=True, record=True)
            res = simulate(
                platform,
                scenario,
                executor,
                plan=plan,
                duration_s=args.duration,
                seed=seed,
                config=config,
                workload=workload,
            )
            executed = res.executed
            assert executed is not None
            bad = [
                v
                for v in check_schedule(plan.instance, executed, measured=True)
                if v.rule != "deadline"
            ]
            if bad:
                failures.append(f"q={label} {executor} noise {noise} seed {seed}: {bad[:3]}")
            if noise == 0.0:
                zero = {n: res.tasks[n].deadline_violation_rate for n in periodic}
                continue
            for name in periodic:
                late[name] += res.tasks[name].late
                decided[name] += res.tasks[name].decided
            energies.append(res.energy_j / res.duration_s)
    period_s = (plan.period_us or 1_000_000) / 1e6
    return {
        "late": late,
        "decided": decided,
        "zero_noise_rate": zero,
        "energy_per_period_j": statistics.mean(energies) * period_s,
        "energy_sd_j": (statistics.stdev(energies) if len(energies) > 1 else 0.0) * period_s,
        "avg_power_w": statistics.mean(energies),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _met95(ok: bool, few: int, counted: int) -> str:
    if not counted:
        return "n/a"
    return ("yes" if ok else "no") + ("*" if few else "")


def _pct(late: int, n: int) -> str:
    return "-" if n == 0 else f"{100 * late / n:.2f}"


def _markdown(
    rows: list[dict[str, Any]],
    args: argparse.Namespace,
    argv: list[str] | None,
    periodic: list[str],
    seeds: list[int],
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
    wall: float,
    failures: list[str],
) -> str:
    import ortools

    command = "python benchmarks/robust.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = [
        "# Robust plans: violation rate and energy against the planning quantile",
        "",
        "Issue 13, Robustness. Made by `benchmarks/robust.py` (its docstring says what each "
        "column is and what is checked).",
        "",
        "```sh",
        command,
        "```",
        "",
        f"- machine: {os.cpu_count()} CPUs, load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after (shared with other benchmark runs); Python "
        f"{pyplatform.python_version()}, OR-Tools {ortools.__version__}; {wall / 60:.1f} min",
        f"- {args.scenario} on {args.platform}; noise CV {args.noise_cv:g}; solver "
        f"{args.solver}, {args.time_limit:g} s, {args.workers} workers; seeds "
        f"{','.join(map(str, seeds))}, {args.duration:g} s simulated each (every run with "
        "`xpuplan simulate`'s defaults: 100 us DVFS transitions, contention, governor)",
        f"- checks: {'all passed' if not failures else f'{len(failures)} FAILED (see below)'}",
        "",
        "## Plans",
        "",
        "| quantile | duration factor | status | solver's objective (planned durations) | "
        "objective at nominal durations | solve s |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['quantile']} | {row['factor']:.4f} | {row['status']} | {row['objective']} | "
            f"{row.get('nominal_objective', '-')} | {row['solve_s']} |"
        )
    lines += [
        "",
        "## Deadline violations under noise, and simulated energy",
        "",
        "Per periodic task: late / decided jobs summed over the seeds, in % (95 % Wilson upper "
        "bound in brackets). `met` is yes when every periodic task's rate is <= 1 %; "
        "`met (95 %)` when every upper bound is (`*`: leaving out tasks with too few jobs for "
        "the bound to reach 1 % even with none late, i.e. fewer than 381). Energy: simulated "
        "joules per plan period (mean +- sd over seeds). `zero noise`: the largest rate of "
        "the same runs without noise (what the 100 us DVFS transitions and contention alone "
        "cost).",
        "",
        "| quantile | executor | "
        + " | ".join(periodic)
        + " | met | met (95 %) | zero noise | energy J/period |",
        "|---|---|" + "---|" * len(periodic) + "---|---|---|---|",
    ]
    for row in rows:
        for executor, run in row.get("runs", {}).items():
            cells = []
            ok = ok95 = True
            few = counted = 0
            for name in periodic:
                late, n = run["late"][name], run["decided"][name]
                upper = wilson_upper(late, n)
                ok &= n > 0 and late / n <= TARGET
                if wilson_upper(0, n) > TARGET:
                    few += 1  # too few jobs for the bound to reach 1 % even with none late
                else:
                    counted += 1
                    ok95 &= upper <= TARGET
                cells.append(f"{_pct(late, n)} ({100 * upper:.2f}) [{late}/{n}]")
            zero = max((r or 0.0) for r in run["zero_noise_rate"].values())
            lines.append(
                f"| {row['quantile']} | {executor} | "
                + " | ".join(cells)
                + f" | {'yes' if ok else 'no'} | {_met95(ok95, few, counted)} | "
                f"{100 * zero:.2f} % | {run['energy_per_period_j']:.4f} +- "
                f"{run['energy_sd_j']:.4f} |"
            )
    if failures:
        lines += ["", "## Check failures", ""] + [f"- {f}" for f in failures]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
