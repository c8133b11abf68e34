"""Cost of the Python API's conversions: networkx task graphs in and out, schedules as DataFrames.

Usage::

    python benchmarks/api_conversions.py --sizes 2000 5000 \\
        --out benchmarks/results/api_conversions.md

For each size, a random layered SAGA-style task graph (node ``weight`` = cost, edge ``weight`` =
data size) on 4 devices with speeds, built with networkx (untimed), then timed one step at a time:

* ``from_networkx``: :func:`xpuplan.instance_from_networkx` (durations and delays derived, the
  Instance validated, its topological order computed);
* ``heft``: :func:`xpuplan.solve` with HEFT (every schedule also goes through the checker, untimed);
* ``to_frame``: :meth:`xpuplan.Schedule.to_frame`, one row per kernel;
* ``to_networkx`` and ``round trip``: :meth:`xpuplan.Instance.to_networkx`, then reading that graph
  back, checked equal up to the edges' order.

Each step is the least of ``--repeat`` runs (wall clock, one process).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx

import xpuplan
from xpuplan.models.nx import canonical_edge_order

SPEEDS = {"cpu": 1.0, "gpu": 4.0, "npu": 6.0, "dsp": 2.0}


def task_graph(num_tasks: int, seed: int) -> nx.DiGraph:
    """A layered DAG: each task gets 1-3 predecessors among the previous ~sqrt(n) tasks' layer."""
    rng = random.Random(seed)
    width = max(2, round(num_tasks**0.5))
    graph = nx.DiGraph()
    for t_idx in range(num_tasks):
        graph.add_node(f"t{t_idx}", weight=rng.uniform(10.0, 1000.0))
        layer_start = (t_idx // width - 1) * width
        if layer_start < 0:
            continue
        for src in rng.sample(range(layer_start, layer_start + width), rng.randint(1, 3)):
            graph.add_edge(f"t{src}", f"t{t_idx}", weight=rng.uniform(0.0, 200.0))
    return graph


def best_of(repeat: int, step: Callable[[], Any]) -> tuple[float, Any]:
    """The least wall time of ``repeat`` runs of ``step``, and its last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        began = time.perf_counter()
        result = step()
        best = min(best, time.perf_counter() - began)
    return best, result


def measure(num_tasks: int, repeat: int) -> dict[str, Any]:
    graph = task_graph(num_tasks, seed=num_tasks)
    t_in, inst = best_of(
        repeat, lambda: xpuplan.instance_from_networkx(graph, speeds=SPEEDS, bandwidth=1.0)
    )
    t_heft, result = best_of(repeat, lambda: xpuplan.solve(inst, "heft"))
    assert xpuplan.check_schedule(inst, result.schedule) == []
    t_frame, frame = best_of(repeat, lambda: result.schedule.to_frame(inst))
    assert len(frame) == inst.num_kernels
    t_out, out = best_of(repeat, inst.to_networkx)
    t_back, back = best_of(repeat, lambda: xpuplan.instance_from_networkx(out))
    assert back == canonical_edge_order(inst)
    return {
        "tasks": num_tasks,
        "edges": graph.number_of_edges(),
        "from_networkx": t_in,
        "heft": t_heft,
        "to_frame": t_frame,
        "to_networkx": t_out,
        "round trip": t_back,
        "makespan": result.objective,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, help="write the results as Markdown here")
    args = parser.parse_args(argv)
    rows = [measure(size, args.repeat) for size in args.sizes]
    lines = [
        "# API conversions: networkx in and out, schedules as DataFrames",
        "",
        "Command: `python benchmarks/api_conversions.py "
        + shlex.join(sys.argv[1:] if argv is None else argv)
        + "`",
        "",
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        f"networkx {nx.__version__}; load average at the end {os.getloadavg()[0]:.1f} "
        "(the machine was shared; wall-clock seconds, least of "
        f"{args.repeat} runs).",
        "",
        "| tasks | edges | from_networkx s | heft s | to_frame s | to_networkx s | round trip s "
        "| HEFT makespan |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['tasks']} | {row['edges']} | {row['from_networkx']:.3f} | {row['heft']:.3f} "
            f"| {row['to_frame']:.3f} | {row['to_networkx']:.3f} | {row['round trip']:.3f} "
            f"| {row['makespan']} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
