"""``xpuplan verify INSTANCE SCHEDULE`` or ``xpuplan verify PLAN``: the independent checker.

Exit codes: 0 the schedule is valid; 1 it breaks rules (each violation listed); 2 bad input;
4 there is no schedule to check: the schedule claims ``infeasible`` or ``unknown`` and lists no
assignments, and the checker cannot prove (or refute) that claim, so it is reported as not
verified rather than valid. (3 is kept for an internal error, as in every command.)

An assignment may leave out its ``level`` when its kernel has a single mode on that device: the
level is then that mode's.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from xpuplan.models import (
    Instance,
    InvalidInput,
    Schedule,
    check_schedule,
    load_instance,
    load_schedule,
)
from xpuplan.models.plan import is_plan_file, load_plan
from xpuplan.planner.commands.common import print_json
from xpuplan.planner.contention import plan_contention_capacity
from xpuplan.planner.report import objective_text

NAME = "verify"
HELP = (
    "check a schedule against its instance (exit 0 valid, 1 invalid with every violation, "
    "4 an infeasible/unknown claim with no schedule, which cannot be verified)"
)
#: The exit code of a schedule with no assignments that claims infeasible or unknown.
NOT_VERIFIED = 4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("instance", help="an xpuplan.instance/1 file, or an xpuplan.plan/1 file")
    parser.add_argument("schedule", nargs="?", help="an xpuplan.schedule/1 file (not with a plan)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace) -> int:
    if args.schedule is None:
        if not is_plan_file(args.instance):
            raise InvalidInput("give a schedule file, or a plan file alone", file=args.instance)
        plan = load_plan(args.instance)
        # A robust plan's schedule is one of the instance it was planned on (its margin applied).
        instance, schedule, source = plan.planned_instance, plan.schedule, args.instance
        margin = plan.margin
        try:
            contention = plan_contention_capacity(plan)
        except InvalidInput as exc:
            raise exc.in_file(args.instance) from None
    else:
        margin = None
        contention = None
        instance = load_instance(args.instance)
        schedule = load_schedule(args.schedule)
        source = args.schedule
    schedule = fill_levels(instance, schedule)
    try:
        violations = check_schedule(instance, schedule)
    except InvalidInput as exc:  # a schedule for another instance
        raise exc.in_file(source) from None
    unchecked = not schedule.is_solution and not schedule.assignments
    if args.json:
        doc: dict[str, Any] = {
            "valid": None if unchecked else not violations,
            "verified": not unchecked,
            "status": schedule.status,
            "violations": [{"rule": v.rule, "message": v.message} for v in violations],
        }
        if margin is not None:
            doc["margin"] = margin.to_json()
        if contention is not None:
            doc["contention_capacity_gbps"] = contention
        print_json(doc)
    elif unchecked:
        print(
            f"not verified: the schedule claims {schedule.status!r} and has no assignments; "
            "there is nothing to check and the checker cannot prove the claim"
        )
    elif violations:
        print(f"INVALID: {len(violations)} violation(s)")
        for violation in violations:
            print(f"  {violation}")
    else:
        shown = objective_text(instance, schedule.objective, None, None)
        if margin is not None:
            shown += (
                f"; planned at the {margin.quantile:g} quantile of {margin.noise_cv:g} CV noise, "
                f"durations x{margin.factor:.4f}"
            )
        if contention is not None:
            shown += f"; contention-aware: no kernel slowed at {contention:g} GB/s"
        print(f"valid ({schedule.status}, {shown})")
    if unchecked:
        return NOT_VERIFIED
    return 1 if violations else 0


def fill_levels(instance: Instance, schedule: Schedule) -> Schedule:
    """Give every assignment without a level the level of its kernel's only mode on its device
    (left as it is when the kernel has no mode or several modes there)."""
    changed = []
    any_filled = False
    for asg in schedule.assignments:
        k_idx = instance.kernel_idx.get(asg.kernel)
        if asg.level == "" and k_idx is not None:
            levels = {m.level for m in instance.kernels[k_idx].modes if m.device == asg.device}
            if len(levels) == 1:
                (level,) = levels
                if level != "":
                    asg = replace(asg, level=level)
                    any_filled = True
        changed.append(asg)
    return schedule.replace(assignments=tuple(changed)) if any_filled else schedule
