"""Hashes of what the planner and the runtime compute, to prove a refactor keeps behaviour.

Run before and after a change and compare (from the repository root, ``PYTHONPATH=.`` so that
the working tree's code is the one hashed) (``--out FILE`` writes the hashes as JSON, ``--diff
FILE`` compares with a file written before)::

    python benchmarks/behaviour_hashes.py --out before.json
    python benchmarks/behaviour_hashes.py --diff before.json

Hashed, every built-in scenario on every preset:

* ``instance/<scenario>/<platform>``: the Instance JSON of ``build_instance`` (default options,
  and ``include_unknown`` for the clairvoyant problem);
* ``schedule/<solver>/<scenario>/<platform>``: the schedule of deterministic heuristics (heft,
  heft+dvfs, edf) on that instance, minus the solve time;
* ``workload/<scenario>/<platform>``: the repr of the runtime's workload (default options);
* ``sim/<policy>/<scenario>/<platform>/<noise>``: the ``simulate`` JSON document of every
  registered policy (plan-executing ones get the plan ``xpuplan simulate`` makes with heft),
  ``duration_s`` 1.0, seed 0, without and with noise (cv 0.2), minus ``wall_s``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from typing import Any

from xpuplan.models import InvalidInput
from xpuplan.models.jsonio import instance_to_json, schedule_to_json
from xpuplan.models.presets import platform_names, resolve_platform
from xpuplan.models.presets.scenarios import resolve_scenario, scenario_names
from xpuplan.models.workload import CompileOptions, compile_workload
from xpuplan.planner.commands.simulate import plan_known_tasks
from xpuplan.planner.unroll import PlanningOptions, build_instance
from xpuplan.runtime.api import simulate
from xpuplan.runtime.policies import policy_names, policy_uses_plan
from xpuplan.solvers import solve

SOLVERS = ("heft", "heft+dvfs", "edf")
DURATION_S = 1.0
NOISES = (0.0, 0.2)


def _digest(doc: Any) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def hashes(only: str | None = None, max_kernels: int | None = None) -> dict[str, str]:
    """Every hash, keyed by what it hashes.

    ``max_kernels`` overrides the runtime workload's coarsening per model (the runtime's default
    was 8 before the one-workload refactor, the planner's and now everyone's is 6).
    """
    compile_options = (
        CompileOptions()
        if max_kernels is None
        else CompileOptions(max_kernels_per_model=max_kernels)
    )
    out: dict[str, str] = {}
    for plat_name in platform_names():
        platform = resolve_platform(plat_name)
        for scen_name in scenario_names():
            scenario = resolve_scenario(scen_name)
            for clair in (False, True):
                key = f"instance/{scen_name}/{plat_name}{'/clairvoyant' if clair else ''}"
                try:
                    inst = build_instance(
                        platform, scenario, PlanningOptions(include_unknown=clair)
                    )
                except InvalidInput as exc:
                    out[key] = f"InvalidInput: {exc}"
                    continue
                out[key] = _digest(instance_to_json(inst))
                if clair:
                    continue
                for solver in SOLVERS:
                    try:
                        result = solve(inst, solver, seed=0, workers=1)
                    except Exception as exc:  # recorded: a failure is behaviour too
                        out[f"schedule/{solver}/{scen_name}/{plat_name}"] = repr(exc)
                        continue
                    doc = schedule_to_json(result.schedule)
                    doc.pop("solve_seconds", None)
                    out[f"schedule/{solver}/{scen_name}/{plat_name}"] = _digest(doc)
            workload = compile_workload(platform, scenario, compile_options)
            out[f"workload/{scen_name}/{plat_name}"] = _digest(repr(workload))
            plan: Any = None
            for policy in policy_names():
                if only and only not in policy:
                    continue
                if policy_uses_plan(policy):
                    if plan is None:
                        try:
                            plan = plan_known_tasks(platform, scenario, DURATION_S, 0, "heft")
                        except Exception as exc:  # recorded: a failure is behaviour too
                            plan = f"{type(exc).__name__}: {exc}"
                    if isinstance(plan, str):
                        out[f"sim/{policy}/{scen_name}/{plat_name}"] = f"plan failed: {plan}"
                        continue
                for noise in NOISES:
                    key = f"sim/{policy}/{scen_name}/{plat_name}/{noise:g}"
                    try:
                        res = simulate(
                            platform,
                            scenario,
                            policy,
                            plan=plan if policy_uses_plan(policy) else None,
                            duration_s=DURATION_S,
                            seed=0,
                            noise_cv=noise,
                            workload=workload,
                        )
                    except InvalidInput as exc:
                        out[key] = f"InvalidInput: {exc}"
                        continue
                    doc = res.to_json()
                    doc.pop("wall_s", None)
                    out[key] = _digest(doc)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the hashes to this JSON file")
    parser.add_argument("--diff", help="compare with hashes written before")
    parser.add_argument("--only", help="only policies whose name contains this")
    parser.add_argument(
        "--max-kernels", type=int, help="the runtime workload's coarsening per model"
    )
    args = parser.parse_args(argv)
    now = hashes(args.only, args.max_kernels)
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(now, handle, indent=1, sort_keys=True)
    if args.diff:
        with open(args.diff) as handle:
            before = json.load(handle)
        changed = sorted(k for k in now if k in before and before[k] != now[k])
        for key in changed:
            print(f"CHANGED {key}: {before[key]} -> {now[key]}")
        missing = sorted(set(before) ^ set(now))
        for key in missing:
            print(f"ONLY IN {'before' if key in before else 'after'} {key}")
        same = len(now) - len(changed) - sum(1 for k in missing if k in now)
        print(f"{same} same, {len(changed)} changed, {len(missing)} in one run only")
        return 1 if changed or missing else 0
    print(f"{len(now)} hashes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
