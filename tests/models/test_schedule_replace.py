"""Schedule.replace: the same copy as dataclasses.replace, fields still checked."""

from __future__ import annotations

import dataclasses

import pytest

from xpuplan.models import Assignment, InvalidInput, Schedule


def _schedule() -> Schedule:
    return Schedule(
        "inst",
        (Assignment("a", "cpu", 0, "max", 0, 5), Assignment("b", "gpu", 0, "max", 5, 9)),
        solver="heft",
        objective=9,
    )


def test_replace_equals_dataclasses_replace_and_shares_the_assignments() -> None:
    sched = _schedule()
    changes = {"objective": 8, "lower_bound": 7, "preemptions": [["a", "b"]], "message": "m"}
    copy = sched.replace(**changes)
    assert copy == dataclasses.replace(sched, **changes)
    assert copy.preemptions == (("a", "b"),)  # normalised as a new schedule's are
    assert copy.assignments is sched.assignments
    assert sched.objective == 9  # the original is untouched


def test_replace_still_checks_the_fields_it_changes() -> None:
    sched = _schedule()
    with pytest.raises(InvalidInput, match="status"):
        sched.replace(status="done")
    with pytest.raises(InvalidInput, match="solve_seconds"):
        sched.replace(solve_seconds=-1.0)
    with pytest.raises(InvalidInput, match=r"assignments\[1\]\.start"):
        sched.replace(assignments=(sched.assignments[0], Assignment("b", "gpu", 0, "max", "5", 9)))
    with pytest.raises(TypeError, match="no field 'objectiv'"):
        sched.replace(objectiv=3)
