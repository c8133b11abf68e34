"""``xpuplan list {platforms,scenarios,models,policies,solvers}``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from xpuplan.models.presets import get_platform, platform_names, platform_summary
from xpuplan.models.presets.scenarios import get_scenario, scenario_names
from xpuplan.models.zoo import model_info, model_names
from xpuplan.planner.tables import rows_frame, write_csv
from xpuplan.runtime.policies import policy_info, policy_names
from xpuplan.solvers import solver_info, solver_names

NAME = "list"
HELP = "list the built-in platforms, scenarios, models, online policies or solvers"
WHAT = ("platforms", "scenarios", "models", "policies", "solvers")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", choices=WHAT)
    parser.add_argument("--json", action="store_true", help="print a JSON array of objects")
    parser.add_argument("--csv", metavar="FILE", help="also write the rows as CSV")


def _rows(what: str) -> list[dict[str, Any]]:
    if what == "platforms":
        return [platform_summary(get_platform(name)) for name in platform_names()]
    if what == "scenarios":
        rows = []
        for name in scenario_names():
            scenario = get_scenario(name)
            rows.append(
                {
                    "name": name,
                    "description": scenario.description,
                    "objective": scenario.objective,
                    "power_budget_w": scenario.power_budget_w,
                    "tasks": [
                        {
                            "name": t.name,
                            "models": [m.name for m in t.models],
                            "class": t.cls,
                            "priority": t.priority,
                            "deadline_ms": t.relative_deadline_ms,
                            "known": t.known,
                        }
                        for t in scenario.tasks
                    ],
                }
            )
        return rows
    if what == "models":
        rows = []
        for name in model_names():
            info = model_info(name)
            rows.append({"name": name, "family": info.family, "description": info.description})
        return rows
    if what == "policies":
        return [policy_info(name) for name in policy_names()]
    return [
        {"name": name, "kind": solver_info(name).kind, "description": solver_info(name).description}
        for name in solver_names()
    ]


def run(args: argparse.Namespace) -> int:
    rows = _rows(args.what)
    if args.csv:
        write_csv(args.csv, rows_frame(rows))
    if args.json:
        print(json.dumps(rows))
        return 0
    width = max((len(r["name"]) for r in rows), default=0)
    for row in rows:
        detail = row.get("description") or row.get("kind") or ""
        print(f"{row['name']:<{width}}  {detail}")
    return 0
