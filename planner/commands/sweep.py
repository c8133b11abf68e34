"""``xpuplan sweep``: run a grid of solvers and online policies on Dask distributed.

The grid file is documented in ``docs/sweeps.md``; the results are one tidy table (Parquet or CSV
by the output's extension) that a second run of the same command completes instead of redoing.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

import yaml

from xpuplan.models import InvalidInput
from xpuplan.planner.sweep import load_grid, sweep

NAME = "sweep"
HELP = "run a grid of solvers and online policies on Dask (LocalCluster or --scheduler)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("grid", metavar="GRID.yaml", help="the grid (see docs/sweeps.md)")
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="results: *.parquet or *.csv (cells already in it are skipped)",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="an existing Dask scheduler (tcp://host:8786)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes of the local cluster (default: CPUs / threads_per_cell)",
    )
    parser.add_argument(
        "--max-cells", type=int, metavar="N", help="run at most N of the remaining cells"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="replace a key of the grid (VALUE in YAML, e.g. seeds=[0,1] or duration_s=60); "
        "repeatable",
    )
    bar = parser.add_mutually_exclusive_group()
    bar.add_argument("--progress", action="store_true", default=None, help="always show progress")
    bar.add_argument(
        "--no-progress", dest="progress", action="store_false", help="never show progress"
    )


def run(args: argparse.Namespace) -> int:
    for flag, value in (("--workers", args.workers), ("--max-cells", args.max_cells)):
        if value is not None and value < 1:
            raise InvalidInput("must be >= 1", field=flag, value=value)
    if args.scheduler and args.workers:
        raise InvalidInput(
            "applies to the local cluster only, not with --scheduler",
            field="--workers",
            value=args.workers,
        )
    grid = load_grid(args.grid, _overrides(args.set))
    # A batch system stops a job with SIGTERM: treat it as Ctrl-C, so the rows already finished
    # are written before the exit (the sweep writes its table on the way out).
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        frame, done = sweep(
            grid,
            args.output,
            scheduler=args.scheduler,
            workers=args.workers,
            progress=args.progress,
            max_cells=args.max_cells,
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    left = done.total - done.skipped - done.done
    print(
        f"{args.output}: {len(frame)} rows; this run: {done.done} cells "
        f"({done.failed} failed) in {done.seconds:.1f} s, {done.skipped} already done"
        + (f", {left} left" if left > 0 else "")
    )
    errors = frame[frame["status"] == "error"]
    for _, row in errors.head(5).iterrows():
        print(
            f"xpuplan sweep: failed cell {row['scenario']}@{row['platform']} seed {row['seed']} "
            f"{row['kind']} {row['name']}: {row['error']}",
            file=sys.stderr,
        )
    return 1 if done.failed else 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _overrides(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput("must be KEY=VALUE", field="--set", value=item)
        try:
            out[key.strip()] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise InvalidInput("has a value that is not YAML", field="--set", value=item) from None
    return out
