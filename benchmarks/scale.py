"""Exact planning at scale: gap against time, model build time and memory (issue 13, Scale).

Usage::

    python -m xpuplan instance --platform ryzen-ai-hx370 --scenario video-call \\
        --max-kernels 20 -o /tmp/scale/vc20.json
    python benchmarks/scale.py /tmp/scale/vc20.json --solver cpsat --time-limit 60 --workers 2

One solve of one instance file per run (run them one at a time: the figures are CPU-bound). It
prints, as JSON lines: every progress report (objective, bound, gap, seconds since the solve
began) and a summary with the final objective and bound, the proven gap, the best heuristic's
objective and gap to the same bound, the CPU time (user + system) of the process, its peak
resident memory, the load average before and after, and the model build time (``--build-only``
builds the CP-SAT model alone and reports its time and memory). Every schedule goes through
:func:`xpuplan.models.check_schedule`; a violation exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from typing import Any

from xpuplan.models import check_schedule, load_instance
from xpuplan.models.objectives import evaluate
from xpuplan.planner.compare import gap_to
from xpuplan.solvers import solve
from xpuplan.solvers.bounds import part_lower_bound
from xpuplan.solvers.heuristics import best_heuristic_schedule, default_names


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _heuristics(instance: Any, names: list[str], out: dict[str, Any]) -> int:
    """Each heuristic's (or the default portfolio's best) gap to the cheap bound, and its time."""
    cheap = tuple(part_lower_bound(instance, p) for p in instance.objective.parts)
    ref = cheap if len(cheap) > 1 else cheap[0]
    status = 0
    for name in names:
        began = time.perf_counter()
        chosen = None if name == "portfolio" else [name]
        schedule = best_heuristic_schedule(instance, names=chosen)
        seconds = time.perf_counter() - began
        row = dict(out, heuristic=name, seconds=round(seconds, 2))
        if schedule is None:
            row.update(objective=None)
        else:
            bad = check_schedule(instance, schedule)
            status = status or int(bool(bad))
            gap = gap_to(evaluate(instance, schedule), ref)
            row.update(
                best=schedule.solver,
                objective=_plain(evaluate(instance, schedule)),
                bound=_plain(ref),
                gap=None if gap is None else round(100 * gap, 3),
                valid=not bad,
            )
        print(json.dumps(row), flush=True)
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", help="an instance JSON file")
    parser.add_argument("--solver", default="cpsat")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--build-only", action="store_true", help="build the CP-SAT model only")
    parser.add_argument("--option", action="append", default=[], help="solver option key=value")
    parser.add_argument(
        "--heuristics",
        metavar="NAMES",
        help="run only these heuristics (comma-separated; 'portfolio' for the default set) and "
        "print each one's gap to the cheap bound and its time",
    )
    args = parser.parse_args(argv)

    load_before = os.getloadavg()[0]
    instance = load_instance(args.instance)
    out: dict[str, Any] = {
        "instance": os.path.basename(args.instance),
        "kernels": instance.num_kernels,
        "solver": args.solver,
        "time_limit": args.time_limit,
        "workers": args.workers,
        "load_before": round(load_before, 2),
    }
    if args.heuristics:
        return _heuristics(instance, args.heuristics.split(","), out)
    if args.build_only:
        from xpuplan.solvers.cpsat.model import CpsatModel

        cpu0, began = _cpu(), time.perf_counter()
        cpm = CpsatModel(instance)
        out["build_s"] = round(time.perf_counter() - began, 2)
        out["build_cpu_s"] = round(_cpu() - cpu0, 2)
        proto = cpm.model.proto
        out["variables"] = len(proto.variables)
        out["constraints"] = len(proto.constraints)
        out["intervals"] = cpm.num_intervals
        out["peak_rss_mib"] = round(_rss_mib(), 1)
        out["load_after"] = round(os.getloadavg()[0], 2)
        print(json.dumps(out))
        return 0

    cpu0 = _cpu()
    began = time.perf_counter()
    heuristic = best_heuristic_schedule(instance, seed=args.seed, names=default_names(instance))
    heuristic_s = time.perf_counter() - began
    cheap = tuple(part_lower_bound(instance, p) for p in instance.objective.parts)

    def report(objective: Any, bound: Any, seconds: float) -> None:
        gap = None if objective is None or bound is None else gap_to(objective, bound)
        row = {
            "t": round(seconds, 2),
            "objective": _plain(objective),
            "bound": _plain(bound),
            "gap": None if gap is None else round(100 * gap, 3),
        }
        print(json.dumps(row), flush=True)

    options: dict[str, Any] = {}
    for item in args.option:
        key, _, value = item.partition("=")
        options[key] = json.loads(value)
    if args.solver == "cpsat" or args.solver.startswith("cpsat-"):
        options.setdefault("callback", report)
    cpu1 = _cpu()
    result = solve(
        instance, args.solver, time_limit=args.time_limit, workers=args.workers, **options
    )
    violations = check_schedule(instance, result.schedule) if result.schedule.is_solution else []
    bound = result.lower_bound
    out.update(
        status=result.status,
        objective=_plain(result.objective),
        bound=_plain(bound),
        gap=None if result.gap is None else round(100 * result.gap, 3),
        solve_s=round(result.schedule.solve_seconds or 0.0, 2),
        solve_cpu_s=round(_cpu() - cpu1, 2),
        valid=not violations,
    )
    if heuristic is not None:
        h_obj = evaluate(instance, heuristic)
        h_valid = not check_schedule(instance, heuristic)
        ref = bound if bound is not None else (cheap if len(cheap) > 1 else cheap[0])
        h_gap = gap_to(h_obj, ref)
        out.update(
            heuristic=heuristic.solver,
            heuristic_objective=_plain(h_obj),
            heuristic_gap=None if h_gap is None else round(100 * h_gap, 3),
            heuristic_valid=h_valid,
            heuristic_s=round(heuristic_s, 2),
        )
    out.update(
        total_cpu_s=round(_cpu() - cpu0, 2),
        peak_rss_mib=round(_rss_mib(), 1),
        load_after=round(os.getloadavg()[0], 2),
    )
    print(json.dumps(out), flush=True)
    if violations:
        print(f"INVALID schedule: {violations[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
