"""``xpuplan report``: the standard figures of a sweep's results, as PNG files and an HTML page."""

from __future__ import annotations

import argparse

from xpuplan.planner.report_figures import write_report
from xpuplan.planner.sweep import read_results

NAME = "report"
HELP = "draw a sweep's figures (PNG) and an index.html that shows them"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", metavar="RESULTS", help="a sweep's *.parquet or *.csv")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--cell",
        metavar="KEY=VALUE,...",
        help="one row to draw as a Gantt chart with deadlines and power "
        "(e.g. scenario=gaming,seed=0,name=edf)",
    )
    parser.add_argument("--title", help="the page's title (default: the grid's name)")


def run(args: argparse.Namespace) -> int:
    frame, meta = read_results(args.results)
    title = args.title or f"xpuplan sweep: {meta.get('grid', {}).get('name', args.results)}"
    written = write_report(frame, args.output, cell=args.cell, meta=meta, title=title)
    for path in written:
        print(path)
    print(f"{args.output}/index.html")
    return 0
