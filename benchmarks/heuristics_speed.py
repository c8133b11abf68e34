"""Speed of xpuplan's HEFT against SAGA's HEFT, side by side, on DAGs both can express.

Usage::

    python benchmarks/heuristics_speed.py --sizes 2000 5000 --all-heuristics \\
        --out benchmarks/results/heuristics_speed.md

SAGA (``pip install anrg-saga``; 2.0.2 on Python 3.11) is a benchmark-only dependency; without it
only xpuplan's timings are measured.

The instances are random layered DAGs on ``--devices`` *uniformly related* devices, the model
SAGA's HEFT works in: task ``i`` has a cost :math:`w_i`, device ``d`` a speed :math:`s_d`, and the
duration is :math:`w_i / s_d`; an edge carries :math:`c_{ij}` data over links of bandwidth 1, so its
delay is :math:`c_{ij}` between two different devices and 0 on one device. Costs are multiples of
the speeds' least common multiple, so every duration is an integer in both models. xpuplan gets an
Instance with one mode per (task, device) and ``cross_device_delay = c_ij``; SAGA a ``Network`` of
nodes with the speeds and links of speed 1, and a ``TaskGraph`` of the costs and data sizes.

What is timed, end to end, on the same DAG:

* xpuplan, as a user calls it: ``solve(load_instance(path), solver="heft")`` on the instance saved
  as a JSON file beforehand (untimed) -- reading and validating the file, building the heuristic's
  arrays, HEFT, the lower bound the result reports, and ``solve``'s own ``check_schedule`` of
  the result; the median of ``--repeat`` runs, each from the file again;
* SAGA: building its ``Network`` and ``TaskGraph`` and ``HeftScheduler().schedule`` (one run:
  tens of seconds at 5,000 tasks).

The one-time cost of importing each package is measured apart, in a fresh interpreter, and not
included (xpuplan's ``xpuplan.solvers`` imports OR-Tools for its exact solvers).

SAGA's upward rank averages a transfer's time over all its links, *including* the infinitely fast
link of a device with itself, i.e. over :math:`m (m + 1) / 2` links of which :math:`m (m - 1) / 2`
cost :math:`c_{ij}` (SAGA 2.0.2, ``upward_rank`` in ``saga/schedulers/cpop.py``); the timed xpuplan
call ranks with the paper's average (the delay itself), so for the cross-check xpuplan's HEFT is
also run (untimed) with ``comm_factor = (m - 1) / (m + 1)``, which ranks the tasks as SAGA does,
and that makespan is compared with SAGA's. Every xpuplan schedule (both) is checked with
:func:`xpuplan.models.check_schedule` (untimed).

Sizes: costs ``lcm(speeds) * U{10^4..10^6}`` and data ``U{0..6 * 10^6}`` keep every time of a
5,000-task schedule far below the solvers' limit of 2^40 (``solve`` refuses larger instances);
the SAGA-only figures of earlier runs used 100 times larger numbers, which ``solve`` refuses.
"""

from __future__ import annotations

import argparse
import gc
import logging
import math
import os
import platform
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from xpuplan.models import (
    Device,
    Edge,
    Instance,
    Job,
    Kernel,
    Mode,
    Objective,
    check_schedule,
    evaluate,
    load_instance,
    save_instance,
)
from xpuplan.solvers import solve
from xpuplan.solvers.heuristics import HEURISTICS
from xpuplan.solvers.heuristics.heft import heft
from xpuplan.solvers.heuristics.problem import build_problem

# The target: xpuplan end to end at least this many times faster than SAGA's total.
TARGET = 10.0

try:
    from saga import Network, TaskGraph
    from saga.schedulers.heft import HeftScheduler
except ImportError:
    HeftScheduler = None


@dataclass(frozen=True)
class RelatedDag:
    """A DAG on uniformly related devices: costs, speeds, and ``(src, dst, data)`` edges."""

    costs: list[int]
    speeds: list[int]
    edges: list[tuple[int, int, int]]

    def instance(self) -> Instance:
        """The xpuplan Instance of this DAG (one mode per task and device)."""
        devices = tuple(Device(f"d{d_idx}") for d_idx in range(len(self.speeds)))
        kernels = tuple(
            Kernel(
                f"t{k_idx}",
                "dag",
                tuple(Mode(f"d{d}", "max", cost // speed) for d, speed in enumerate(self.speeds)),
            )
            for k_idx, cost in enumerate(self.costs)
        )
        edges = tuple(Edge(f"t{src}", f"t{dst}", data) for src, dst, data in self.edges)
        return Instance(
            name=f"related-{len(self.costs)}",
            devices=devices,
            jobs=(Job("dag"),),
            kernels=kernels,
            edges=edges,
            objective=Objective("makespan"),
            time_unit="unit",
        )


def related_dag(seed: int, num_tasks: int, num_devices: int) -> RelatedDag:
    """A random layered DAG (as :func:`xpuplan.models.generate.layered_dag_instance`) with related
    speeds.

    Speeds are ``1..num_devices`` in a random order, costs ``lcm(speeds) * U{10^4..10^6}`` and
    data sizes ``U{0..6 * 10^6}``, so the communication-to-computation ratio is about 1. The wide
    ranges make two devices finishing a task at the same instant (a tie, which each HEFT breaks its
    own way: xpuplan by device index, SAGA by its set iteration order) vanishingly rare; every
    number stays an integer far below 2**53, so SAGA's float arithmetic is exact.
    """
    rng = random.Random(seed)
    speeds = list(range(1, num_devices + 1))
    rng.shuffle(speeds)
    unit = math.lcm(*speeds)
    costs = [unit * rng.randint(10**4, 10**6) for _ in range(num_tasks)]
    layers = max(2, round(num_tasks**0.5))
    layer_of = sorted(rng.randrange(layers) for _ in range(num_tasks))
    layer_of[:layers] = range(layers)
    layer_of.sort()
    by_layer: list[list[int]] = [[] for _ in range(layers)]
    for k_idx, layer in enumerate(layer_of):
        by_layer[layer].append(k_idx)
    edges = []
    for layer in range(1, layers):
        earlier = [k for lyr in range(max(0, layer - 3), layer) for k in by_layer[lyr]]
        for dst in by_layer[layer]:
            srcs = {rng.choice(by_layer[layer - 1])}
            for _ in range(2):
                if rng.random() < 0.3:
                    srcs.add(rng.choice(earlier))
            edges.extend((src, dst, rng.randint(0, 6 * 10**6)) for src in sorted(srcs))
    return RelatedDag(costs, speeds, edges)


def time_xpuplan(dag: RelatedDag, repeat: int, folder: Path) -> tuple[float, float, int, int]:
    """HEFT end to end as a user calls it, from the instance's file: least and median seconds over
    ``repeat`` runs, the makespan, and the makespan with SAGA's ranks (untimed; see the module
    docstring)."""
    inst = dag.instance()
    path = folder / f"{inst.name}.json"
    save_instance(path, inst)
    seconds = []
    makespan = 0
    for _ in range(repeat):
        gc.collect()  # start from an empty collector, as the other library does
        began = time.perf_counter()
        result = solve(load_instance(path), solver="heft")
        seconds.append(time.perf_counter() - began)
        if result.status != "feasible" or result.schedule.lower_bound is None:
            raise AssertionError(f"xpuplan HEFT gave {result.status}: {result.schedule.message}")
        violations = check_schedule(inst, result.schedule)
        if violations:
            raise AssertionError(f"xpuplan HEFT produced an invalid schedule: {violations[:3]}")
        makespan = int(evaluate(inst, result.schedule))
    num_devices = len(dag.speeds)
    like_saga = heft(inst, comm_factor=(num_devices - 1) / (num_devices + 1))
    violations = check_schedule(inst, like_saga)
    if violations:
        raise AssertionError(f"xpuplan HEFT produced an invalid schedule: {violations[:3]}")
    return min(seconds), statistics.median(seconds), makespan, int(evaluate(inst, like_saga))


def import_seconds(module: str) -> float:
    """Seconds to import ``module`` in a fresh interpreter (this checkout's code)."""
    code = (
        "import time; began = time.perf_counter(); "
        f"import {module}; print(time.perf_counter() - began)"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")])),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return float(out.stdout.strip())


def time_saga(dag: RelatedDag) -> tuple[float, float, float]:
    """SAGA's seconds to build its graphs, seconds to schedule, and its makespan."""
    gc.collect()  # start from an empty collector, as the other library does
    began = time.perf_counter()
    names = [f"d{d_idx}" for d_idx in range(len(dag.speeds))]
    network = Network.create(
        nodes=[(name, float(speed)) for name, speed in zip(names, dag.speeds, strict=True)],
        edges=[(a, b, 1.0) for i, a in enumerate(names) for b in names[i + 1 :]],
    )
    task_graph = TaskGraph.create(
        tasks=[(f"t{k_idx}", float(cost)) for k_idx, cost in enumerate(dag.costs)],
        dependencies=[(f"t{src}", f"t{dst}", float(data)) for src, dst, data in dag.edges],
    )
    built = time.perf_counter()
    schedule = HeftScheduler().schedule(network, task_graph)
    done = time.perf_counter()
    return built - began, done - built, schedule.makespan


def time_heuristics(inst: Instance) -> list[tuple[str, float, object]]:
    """Seconds (end to end, one run) and objective of every xpuplan heuristic on ``inst``."""
    rows = []
    for heur in HEURISTICS:
        began = time.perf_counter()
        schedule = heur.fn(inst, problem=build_problem(inst))
        seconds = time.perf_counter() - began
        if check_schedule(inst, schedule):
            raise AssertionError(f"{heur.name} produced an invalid schedule")
        rows.append((heur.name, seconds, evaluate(inst, schedule)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000])
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5, help="xpuplan runs per size (median)")
    parser.add_argument("--no-saga", action="store_true", help="skip SAGA even if installed")
    parser.add_argument("--all-heuristics", action="store_true", help="also time every heuristic")
    parser.add_argument("--out", type=Path, help="markdown file to write")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # SAGA warns about the super source and sink it adds
    use_saga = HeftScheduler is not None and not args.no_saga

    lines = [
        "# HEFT speed: xpuplan vs SAGA",
        "",
        f"Command: `python {shlex.join(['benchmarks/heuristics_speed.py', *sys.argv[1:]])}`",
        "",
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{_cpu_name()}; one process, one core; "
        f"SAGA {'anrg-saga ' + _saga_version() if use_saga else 'not run'}.",
        "",
        f"Load average (1, 5, 15 min) at the start of the run: {_load()} "
        "(other processes shared the machine; timings are wall-clock).",
        "",
        "Uniformly related devices (duration = cost / speed), one cross-device delay per edge; "
        f'{args.devices} devices; xpuplan: `solve(load_instance(path), solver="heft")`, least / '
        f"median of {args.repeat} runs (speed-ups use the median); SAGA: graph build + HEFT, one "
        "run (see the module docstring of the script for what is timed). Target (issue 13): "
        f"SAGA total / xpuplan >= {TARGET:g}x.",
        "",
        "| tasks | edges | xpuplan end to end s (least / median) | SAGA build s | SAGA HEFT s "
        "| SAGA total s | speed-up (total) | target | xpuplan makespan (SAGA's ranks) "
        "| SAGA makespan | same | xpuplan makespan (paper's ranks) | its lower bound |",
        "|---:|---:|---:|---:|---:|---:|---:|:---:|---:|---:|:---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            dag = related_dag(args.seed, size, args.devices)
            least, ours, our_makespan, like_saga = time_xpuplan(dag, args.repeat, Path(folder))
            bound = solve(dag.instance(), solver="heft").schedule.lower_bound
            if use_saga:
                build, sched, saga_makespan = time_saga(dag)
                total = build + sched
                lines.append(
                    f"| {size} | {len(dag.edges)} | {least:.3f} / {ours:.3f} | {build:.2f} | "
                    f"{sched:.2f} | {total:.2f} | {total / ours:.1f}x | "
                    f"{'met' if total / ours >= TARGET else 'MISSED'} | {like_saga} | "
                    f"{saga_makespan:.0f} | "
                    f"{'yes' if round(saga_makespan) == like_saga else 'NO'} | {our_makespan} | "
                    f"{bound} |"
                )
            else:
                lines.append(
                    f"| {size} | {len(dag.edges)} | {least:.3f} / {ours:.3f} | - | - | - | - | - "
                    f"| {like_saga} | - | - | {our_makespan} | {bound} |"
                )
            print(lines[-1], flush=True)
    lines += [
        "",
        "One-time imports in a fresh interpreter, not in the figures above: "
        f"`xpuplan.solvers` {import_seconds('xpuplan.solvers'):.2f} s"
        + (
            f", `saga.schedulers.heft` {import_seconds('saga.schedulers.heft'):.2f} s"
            if use_saga
            else ""
        )
        + ".",
    ]
    if args.all_heuristics:
        lines += [
            "",
            "## Every heuristic on the same instances (one run each, end to end)",
            "",
            "Each heuristic as the registry runs it, with the paper's ranks (``comm_factor`` 1): "
            "HEFT's makespans differ from the table above, where delays are averaged as SAGA "
            "does (``comm_factor`` (m - 1) / (m + 1)) to reproduce its schedules.",
            "",
            "| heuristic | "
            + " | ".join(f"{size} tasks: s / makespan" for size in args.sizes)
            + " |",
            "|---|" + "---:|" * len(args.sizes),
        ]
        per_size = [
            time_heuristics(related_dag(args.seed, size, args.devices).instance())
            for size in args.sizes
        ]
        for h_idx, heur in enumerate(HEURISTICS):
            cells = [f"{rows[h_idx][1]:.3f} / {rows[h_idx][2]}" for rows in per_size]
            lines.append(f"| {heur.name} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    lines += ["", f"Load average (1, 5, 15 min) at the end of the run: {_load()}."]
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


def _load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def _cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown cpu"


def _saga_version() -> str:
    return version("anrg-saga")


if __name__ == "__main__":
    sys.exit(main())
