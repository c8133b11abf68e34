"""Hashes of solver schedules on a fixed set of instances, to prove a refactor changes nothing.

Usage (``PYTHONPATH`` picks the checkout whose code runs, not an installed copy)::

    PYTHONPATH=OLD_CHECKOUT python benchmarks/solver_hashes.py > before.txt
    PYTHONPATH=. python benchmarks/solver_hashes.py > after.txt
    diff before.txt after.txt

Every line is ``instance  solver  sha256[:16]  status  objective``. The hash covers the whole
schedule document (:func:`xpuplan.models.jsonio.schedule_to_json`) without ``solve_seconds``:
assignments, status, objective, bound, preemptions and message. Every schedule also goes through
:func:`xpuplan.models.check_schedule` (a rejected one prints ``INVALID``).

Solves are made deterministic: CP-SAT runs on one worker with a *deterministic* time limit
(``max_deterministic_time``, not wall seconds) and no wall limit; the MILP solvers run on small
instances without a limit, where they prove optimality (their schedules then depend only on the
model, the backend and the seed); brute force on tiny ones; HEFT everywhere.

Instance set: every built-in scenario on every platform preset (``build_instance`` with default
planning options, as ``xpuplan plan`` builds them; HEFT on all, CP-SAT on the two smaller
scenarios, gaming and compound-ai, since the 666-kernel ones take minutes on a loaded 2-core
machine), ``random_small_instance`` seeds 0-11 (5 kernels at most) and two
``layered_dag_instance`` DAGs (12 and 30 kernels; HEFT and CP-SAT only). Arguments, if any, keep
only the instances whose names contain one of them.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from typing import Any

from xpuplan.models import Instance, InvalidInput, Unsupported, check_schedule
from xpuplan.models.generate import layered_dag_instance, random_small_instance
from xpuplan.models.jsonio import schedule_to_json
from xpuplan.models.presets import get_platform, platform_names
from xpuplan.models.presets.scenarios import get_scenario, scenario_names
from xpuplan.planner.unroll import build_instance
from xpuplan.solvers import solve

CPSAT = {"workers": 1, "seed": 0, "params": {"max_deterministic_time": 1.0}}
CPSAT_SCENARIOS = ("gaming", "compound-ai")


def instances() -> Iterator[tuple[Instance, list[tuple[str, dict[str, Any]]]]]:
    """Each instance with the solvers (and options) run on it."""
    for platform_name in platform_names():
        platform = get_platform(platform_name)
        for scenario_name in scenario_names():
            inst = build_instance(platform, get_scenario(scenario_name))
            named = inst.replace(name=f"{scenario_name}@{platform_name}")
            solvers: list[tuple[str, dict[str, Any]]] = [("heft", {})]
            if scenario_name in CPSAT_SCENARIOS:
                solvers.append(("cpsat", CPSAT))
            yield named, solvers
    for seed in range(12):
        inst = random_small_instance(seed, max_kernels=5)
        named = inst.replace(name=f"random{seed}")
        solvers = [("heft", {}), ("cpsat", CPSAT), ("milp", {}), ("milp-ti", {})]
        solvers += [("brute-force", {}), ("milp", {"backend": "highs"})]
        yield named, solvers
    for seed, size in ((1, 12), (2, 30)):
        inst = layered_dag_instance(seed, size)
        named = inst.replace(name=f"layered{size}")
        # The disjunctive MILP does not prove these DAGs optimal within minutes.
        yield named, [("heft", {}), ("cpsat", CPSAT)]


def digest(instance: Instance, solver: str, options: dict[str, Any]) -> str:
    """One output line for ``solver`` on ``instance``."""
    try:
        result = solve(instance, solver, **options)
    except (Unsupported, InvalidInput) as exc:
        text = f"{type(exc).__name__}: {exc}"
        return (
            f"{instance.name}\t{solver}\trefused\t{hashlib.sha256(text.encode()).hexdigest()[:16]}"
        )
    doc = schedule_to_json(result.schedule)
    doc.pop("solve_seconds", None)
    text = json.dumps(doc, sort_keys=True)
    bad = check_schedule(instance, result.schedule) if result.schedule.is_solution else []
    mark = "INVALID" if bad else result.schedule.status
    key = solver + ("" if not options.get("backend") else f"[{options['backend']}]")
    sha = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{instance.name}\t{key}\t{sha}\t{mark}\t{result.schedule.objective}"


def main() -> int:
    wanted = sys.argv[1:]
    for instance, solvers in instances():
        if wanted and not any(word in instance.name for word in wanted):
            continue
        for solver, options in solvers:
            print(digest(instance, solver, options), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
