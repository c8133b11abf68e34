"""Sweep throughput on Dask against the same cells in a plain loop, and Dask's overhead per cell.

Usage::

    python benchmarks/sweep_throughput.py --workers 2   # see benchmarks/results/sweeps.md

The cells are those of ``examples/sweeps/smoke.yaml`` without CP-SAT (whose time limit would make
its cells wall-clock bound rather than work bound), each run once in this process in a plain loop
(:func:`xpuplan.planner.sweep.run_cells_serially`) and once by :func:`xpuplan.planner.sweep.sweep`
on a :class:`distributed.LocalCluster` of ``--workers`` processes started beforehand (the start-up
is timed separately). Reported:

* speedup: loop wall time over sweep wall time (target >= 1.8x on 2 cores);
* Dask overhead per cell: ``(workers x sweep wall - sum of the cells' own seconds) / cells``, the
  time a worker spent per cell not running it (scheduling, shipping the cell and its row, the
  tail where one worker idles, the file writes of the client), against the median cell time
  (target < 5 %); and the cost per task of 200 empty tasks, as a floor.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

from distributed import Client, LocalCluster

from xpuplan.planner.sweep import load_grid, run_cells_serially, sweep

ROOT = Path(__file__).resolve().parents[1]


def _noop(value: int) -> int:
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--grid", default=str(ROOT / "examples" / "sweeps" / "smoke.yaml"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    import yaml

    overrides = {"solvers": ["heft", "peft"]}
    for item in args.set:
        key, _, text = item.partition("=")
        overrides[key] = yaml.safe_load(text)
    grid = load_grid(args.grid, overrides)
    cells = grid.cells()
    load_start = os.getloadavg()

    started = time.perf_counter()
    rows = list(run_cells_serially(cells))
    loop_s = time.perf_counter() - started
    loop_cells = [float(r["seconds"]) for r in rows]
    errors = sum(r.get("status") == "error" for r in rows)

    started = time.perf_counter()
    with LocalCluster(
        n_workers=args.workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    ) as cluster:
        startup_s = time.perf_counter() - started
        with Client(cluster) as client:
            client.gather(client.map(_noop, range(args.workers * 4)))  # warm the workers
            started = time.perf_counter()
            client.gather(client.map(_noop, range(200), pure=False))
            noop_s = (time.perf_counter() - started) / 200
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            frame, _ = sweep(
                grid,
                Path(tmp) / "r.parquet",
                scheduler=cluster.scheduler_address,
                progress=False,
            )
            sweep_s = time.perf_counter() - started
    sweep_cells = [float(s) for s in frame["seconds"]]
    load_end = os.getloadavg()
    overhead = (args.workers * sweep_s - sum(sweep_cells)) / len(cells)
    median = statistics.median(sweep_cells)
    command = argv if argv is not None else sys.argv[1:]
    lines = [
        "# Sweep throughput: Dask against a plain loop",
        "",
        f"Command: `{shlex.join(['python', 'benchmarks/sweep_throughput.py', *command])}`",
        "",
        f"{len(cells)} cells of `{Path(args.grid).name}` (solvers {', '.join(grid.solvers)}; "
        f"policies {', '.join(grid.policies)}; simulate {grid.simulate}, "
        f"duration {grid.duration_s[0]:g} s), {errors} failed in the loop. "
        f"{os.cpu_count()} CPUs; load average {load_start[0]:.2f} at the start, "
        f"{load_end[0]:.2f} at the end.",
        "",
        "| | wall (s) | sum of cell seconds | median cell (s) |",
        "|---|---|---|---|",
        f"| plain loop (this process) | {loop_s:.1f} | {sum(loop_cells):.1f} | "
        f"{statistics.median(loop_cells):.3f} |",
        f"| sweep, {args.workers} worker processes | {sweep_s:.1f} | {sum(sweep_cells):.1f} | "
        f"{median:.3f} |",
        "",
        f"- speedup: **{loop_s / sweep_s:.2f}x** (target >= 1.8x on 2 cores); cluster start-up "
        f"{startup_s:.1f} s, not included (a sweep pays it once).",
        f"- Dask overhead per cell: **{1000 * overhead:.0f} ms = {100 * overhead / median:.1f} %** "
        f"of the median cell (target < 5 %); 200 empty tasks cost {1000 * noop_s:.1f} ms each.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
