"""Fingerprints of simulation results, to prove that a refactoring of the runtime keeps behaviour.

Usage::

    python benchmarks/sim_hashes.py --out before.json          # record
    python benchmarks/sim_hashes.py --compare before.json      # compare (exit 1 on a difference)

Runs :func:`xpuplan.runtime.api.simulate` for every registered online policy on every
built-in scenario and platform preset, with and without latency noise (``noise_cv`` 0 and 0.1),
for ``--duration`` simulated seconds; the plan executors (``time-triggered``, ``self-timed``) and
``hybrid`` run with a plan of the scenario's known tasks made by ``--plan-solver`` (as ``xpuplan
simulate`` makes one), recorded, so the executed schedule is fingerprinted too. A few runs at
10x the Poisson load (``video-call``) cover the overloaded regime.

Each run's fingerprint is the SHA-256 of its ``simulate`` JSON document without the wall-clock
field (``wall_s``), together with every field of the :class:`xpuplan.runtime.metrics.SimResult`
at full float precision (the JSON rounds to 4 digits) and, for plan runs, the executed schedule.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from xpuplan.models import InvalidInput
from xpuplan.models.jsonio import schedule_to_json
from xpuplan.models.presets import get_platform, platform_names
from xpuplan.models.presets.scenarios import get_scenario, scenario_names
from xpuplan.models.scenario import Poisson, Scenario
from xpuplan.models.workload import CompileOptions, Workload, compile_workload
from xpuplan.planner.commands.simulate import plan_known_tasks
from xpuplan.runtime.api import simulate
from xpuplan.runtime.metrics import SimResult
from xpuplan.runtime.policies import policy_names, policy_uses_plan
from xpuplan.runtime.simulator import SimConfig

WALL_FIELDS = ("wall_s",)
# Fields left out on request (--ignore), e.g. one added after a baseline was recorded.
IGNORED: set[str] = set()
# How models become kernels (--max-kernels overrides the coarsening: the runtime's default was 8
# per model before the one-workload refactor made it the planner's 6).
COMPILE: list[CompileOptions] = [CompileOptions()]


def scaled(scenario: Scenario, factor: float) -> Scenario:
    """``scenario`` with every Poisson rate times ``factor`` (periodic tasks unchanged)."""
    tasks = tuple(
        dataclasses.replace(t, arrival=Poisson(t.arrival.rate_per_min * factor))
        if isinstance(t.arrival, Poisson)
        else t
        for t in scenario.tasks
    )
    return dataclasses.replace(scenario, name=f"{scenario.name}x{factor:g}", tasks=tasks)


def fingerprint(result: SimResult) -> str:
    """SHA-256 of the result without its wall-clock fields (see the module docstring)."""
    skip = {*WALL_FIELDS, *IGNORED}
    doc = {k: v for k, v in result.to_json().items() if k not in skip}
    full = {
        f.name: getattr(result, f.name)
        for f in dataclasses.fields(result)
        if f.name not in skip and f.name != "executed"
    }
    payload = {
        "doc": doc,
        "full": json.loads(json.dumps(full, default=_plain)),
        "executed": None if result.executed is None else schedule_to_json(result.executed),
    }
    text = json.dumps(payload, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return repr(value)


def cases(duration_s: float) -> list[tuple[str, str, str, float, str, float]]:
    """``(platform, scenario, policy, noise_cv, plan, load)`` of every run."""
    online = [p for p in policy_names() if not policy_uses_plan(p)]
    planned = [p for p in policy_names() if policy_uses_plan(p)]
    out = []
    for platform in platform_names():
        for scenario in scenario_names():
            for noise in (0.0, 0.1):
                for policy in online:
                    out.append((platform, scenario, policy, noise, "", 1.0))
                for policy in planned:
                    out.append((platform, scenario, policy, noise, "heft", 1.0))
    for policy in ("fcfs", "edf", "agent-xpu", "twill"):
        out.append(("core-ultra-125h", "video-call", policy, 0.0, "", 10.0))
    out.append(("core-ultra-125h", "video-call", "hybrid", 0.0, "heft", 10.0))
    return out


def run_all(duration_s: float, seed: int, only: str | None) -> dict[str, str]:
    plans: dict[tuple[str, str, float], Any] = {}
    # Building a workload takes about a second; the runs of one platform and scenario share it.
    workloads: dict[tuple[str, str, float], Workload] = {}
    out: dict[str, str] = {}
    for platform_name, scenario_name, policy, noise, solver, load in cases(duration_s):
        key = f"{platform_name}|{scenario_name}|{policy}|cv={noise:g}|load={load:g}"
        if only is not None and only not in key:
            continue
        platform = get_platform(platform_name)
        scenario = get_scenario(scenario_name)
        if load != 1.0:
            scenario = scaled(scenario, load)
        wkey = (platform_name, scenario_name, load)
        if wkey not in workloads:
            workloads[wkey] = compile_workload(platform, scenario, COMPILE[0])
        plan = None
        if solver:
            pkey = wkey
            if pkey not in plans:
                try:
                    plans[pkey] = plan_known_tasks(platform, scenario, duration_s, seed, solver)
                except (InvalidInput, IndexError) as exc:
                    # IndexError: a heuristic on a plan with no jobs (issue 14, not the runtime).
                    plans[pkey] = exc
            plan = plans[pkey]
            if isinstance(plan, Exception):
                out[key] = f"no plan: {type(plan).__name__}: {plan}"
                continue
        config = SimConfig(noise_cv=noise, record=plan is not None)
        try:
            result = simulate(
                platform,
                scenario,
                policy,
                plan=plan,
                duration_s=duration_s,
                seed=seed,
                config=config,
                workload=workloads[wkey],
            )
        except InvalidInput as exc:
            out[key] = f"InvalidInput: {exc}"
            continue
        out[key] = fingerprint(result)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3.0, help="simulated seconds per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-kernels", type=int, help="coarsening per model of the workload")
    parser.add_argument("--only", help="run only the cases whose key contains this text")
    parser.add_argument("--out", type=Path, help="write the fingerprints here (JSON)")
    parser.add_argument("--compare", type=Path, help="compare with fingerprints written before")
    parser.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="FIELD",
        help="leave a result field out of the fingerprint (one added since the baseline)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    IGNORED.update(args.ignore)
    if args.max_kernels is not None:
        COMPILE[0] = CompileOptions(max_kernels_per_model=args.max_kernels)
    hashes = run_all(args.duration, args.seed, args.only)
    elapsed = time.perf_counter() - started
    print(f"{len(hashes)} runs in {elapsed:.1f} s", file=sys.stderr)
    if args.out:
        args.out.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")
    if args.compare:
        before = json.loads(args.compare.read_text())
        changed = [k for k in hashes if before.get(k) != hashes[k]]
        missing = [k for k in before if k not in hashes and args.only is None]
        for key in changed:
            print(f"CHANGED {key}: {before.get(key)} -> {hashes[key]}")
        for key in missing:
            print(f"MISSING {key}")
        print(f"{len(hashes) - len(changed)}/{len(hashes)} identical")
        return 1 if changed or missing else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
