"""``xpuplan verify INSTANCE SCHEDULE`` or ``xpuplan verify PLAN``: the independent checker."""

from __future__ import annotations

import argparse
import json

from xpuplan.models import InvalidInput, check_schedule, load_instance, load_schedule
from xpuplan.models.plan import is_plan_file, load_plan

NAME = "verify"
HELP = "check a schedule against its instance (exit 0 valid, 1 invalid with every violation)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("instance", help="an xpuplan.instance/1 file, or an xpuplan.plan/1 file")
    parser.add_argument("schedule", nargs="?", help="an xpuplan.schedule/1 file (not with a plan)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace) -> int:
    if args.schedule is None:
        if not is_plan_file(args.instance):
            raise InvalidInput("give a schedule file, or a plan file alone", file=args.instance)
        plan = load_plan(args.instance)
        instance, schedule, source = plan.instance, plan.schedule, args.instance
    else:
        instance = load_instance(args.instance)
        schedule = load_schedule(args.schedule)
        source = args.schedule
    try:
        violations = check_schedule(instance, schedule)
    except InvalidInput as exc:  # a schedule for another instance
        raise exc.in_file(source) from None
    if args.json:
        doc = {
            "valid": not violations,
            "status": schedule.status,
            "violations": [{"rule": v.rule, "message": v.message} for v in violations],
        }
        print(json.dumps(doc))
    elif violations:
        print(f"INVALID: {len(violations)} violation(s)")
        for violation in violations:
            print(f"  {violation}")
    else:
        print(f"valid ({schedule.status}, objective {schedule.objective})")
    return 1 if violations else 0
