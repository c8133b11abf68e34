"""``xpuplan verify INSTANCE SCHEDULE``: the independent checker on the command line."""

from __future__ import annotations

import argparse
import json

from models import InvalidInput, check_schedule, load_instance, load_schedule

NAME = "verify"
HELP = "check a schedule against its instance (exit 0 valid, 1 invalid with every violation)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("instance", help="an xpuplan.instance/1 file")
    parser.add_argument("schedule", help="an xpuplan.schedule/1 file")
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace) -> int:
    instance = load_instance(args.instance)
    schedule = load_schedule(args.schedule)
    try:
        violations = check_schedule(instance, schedule)
    except InvalidInput as exc:  # a schedule for another instance
        raise exc.in_file(args.schedule) from None
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
