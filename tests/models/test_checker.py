"""One test per rule of the checker: a schedule that breaks just that rule, and nothing else."""

from __future__ import annotations

import pytest

from tests.conftest import tiny_instance, tiny_schedule
from xpuplan.models import (
    Assignment,
    InvalidInput,
    Objective,
    Resource,
    check_schedule,
    evaluate,
    preemptions_of,
)


def rules(instance, schedule) -> list[str]:
    return sorted({v.rule for v in check_schedule(instance, schedule)})


def test_valid_schedule_has_no_violations(tiny):
    """The hand-made schedule is valid and its makespan is 13."""
    sched = tiny_schedule(objective=13, lower_bound=13, status="optimal", preemptions=())
    assert check_schedule(tiny, sched) == []
    assert evaluate(tiny, sched) == 13


def test_missing_kernel(tiny):
    """A kernel left out is reported."""
    sched = tiny_schedule()
    sched = sched.replace(assignments=sched.assignments[:2])
    assert rules(tiny, sched) == ["coverage"]


def test_unknown_and_duplicate_kernel(tiny):
    """A kernel not in the instance, or listed twice, is reported."""
    sched = tiny_schedule()
    extra = Assignment("zz", "cpu", 1, "hi", 0, 1)
    sched = sched.replace(assignments=(*sched.assignments, extra, sched.assignments[0]))
    messages = [v.message for v in check_schedule(tiny, sched)]
    assert any("'zz' is not in the instance" in m for m in messages)
    assert any("more than once" in m for m in messages)


def test_mode_must_exist(tiny):
    """b1 has no mode on the NPU at level hi."""
    assert rules(tiny, tiny_schedule(Assignment("b1", "npu", 0, "hi", 11, 23))) == ["mode"]


def test_unit_in_range(tiny):
    """The CPU has units 0 and 1 only."""
    assert rules(tiny, tiny_schedule(Assignment("b1", "cpu", 2, "hi", 5, 13))) == ["unit"]


def test_duration(tiny):
    """end - start must equal the mode's duration."""
    assert rules(tiny, tiny_schedule(Assignment("b1", "cpu", 0, "hi", 5, 14))) == ["duration"]


def test_resume_cost_is_paid_on_a_broken_edge(tiny):
    """a2 on another device breaks a1 -> a2, so it must run 10 + resume 2, not 10."""
    short = tiny_schedule(Assignment("a2", "cpu", 1, "hi", 8, 18))
    assert rules(tiny, short) == ["duration"]
    paid = tiny_schedule(Assignment("a2", "cpu", 1, "hi", 8, 20))
    assert check_schedule(tiny, paid) == []
    assert preemptions_of(tiny, paid.assignments) == [("a1", "a2")]


def test_release():
    """Job B is released at 5 (bandwidth widened so that only the release is broken)."""
    inst = tiny_instance(resources=(Resource("bw", 20.0),))
    assert rules(inst, tiny_schedule(Assignment("b1", "cpu", 0, "hi", 4, 12))) == ["release"]


def test_precedence_with_cross_device_delay(tiny):
    """a2 on the CPU may start only 3 after a1 ends on the NPU."""
    sched = tiny_schedule(Assignment("a2", "cpu", 1, "hi", 6, 18))
    assert rules(tiny, sched) == ["precedence"]


def test_precedence_on_same_device_has_no_delay(tiny):
    """On the same device the delay does not apply: a2 may start right at a1's end."""
    assert check_schedule(tiny, tiny_schedule()) == []


def test_overlap(tiny):
    """b1 and a2 cannot share the single NPU unit."""
    assert rules(tiny, tiny_schedule(Assignment("b1", "npu", 0, "lo", 8, 20))) == ["overlap"]


def test_deadline_hard(tiny):
    """Job B's deadline 50 is hard under makespan."""
    assert rules(tiny, tiny_schedule(Assignment("b1", "cpu", 0, "hi", 45, 53))) == ["deadline"]


def test_deadline_soft_under_late_jobs():
    """Under late_jobs the same lateness is allowed and counted (weight 2)."""
    inst = tiny_instance(objective=Objective("late_jobs"))
    sched = tiny_schedule(Assignment("b1", "cpu", 0, "hi", 45, 53))
    assert check_schedule(inst, sched) == []
    assert evaluate(inst, sched) == 2


def test_resources(tiny):
    """a1 (bw 6) and b1 (bw 5) together exceed the capacity 10."""
    sched = tiny_schedule(
        Assignment("a1", "npu", 0, "hi", 5, 10), Assignment("a2", "npu", 0, "hi", 10, 16)
    )
    assert rules(tiny, sched) == ["resource"]


def test_power_cap():
    """With a 6 W cap only 4.75 W is left for kernels; a2 + b1 draw 6 W."""
    inst = tiny_instance(power_cap_w=6.0)
    assert rules(inst, tiny_schedule()) == ["power"]


def test_power_touching_intervals_do_not_add():
    """Kernels that touch (one ends when the other starts) never draw power together."""
    inst = tiny_instance(power_cap_w=5.75)  # 4.5 W dynamic: 4 (b1) alone fits, b1 + a2 does not
    sched = tiny_schedule(Assignment("b1", "cpu", 0, "hi", 11, 19))
    assert check_schedule(inst, sched) == []


def test_per_device_dvfs():
    """Under per-device DVFS the NPU cannot run a2 at lo and a1 at hi."""
    inst = tiny_instance(dvfs="per-device")
    assert check_schedule(inst, tiny_schedule()) == []
    assert rules(inst, tiny_schedule(Assignment("a2", "npu", 0, "lo", 5, 14))) == ["dvfs"]


def test_reported_objective(tiny):
    """A reported objective that the assignments do not give is reported."""
    assert rules(tiny, tiny_schedule(objective=12)) == ["objective"]


def test_reported_bound(tiny):
    """A bound above the objective, or optimal without objective == bound, is reported."""
    assert rules(tiny, tiny_schedule(objective=13, lower_bound=14)) == ["bound"]
    assert rules(tiny, tiny_schedule(objective=13, lower_bound=10, status="optimal")) == ["bound"]


def test_reported_preemptions(tiny):
    """Preemptions listed must be exactly the broken edges inside jobs."""
    assert rules(tiny, tiny_schedule(preemptions=(("a1", "a2"),))) == ["preemptions"]


def test_every_violation_is_listed(tiny):
    """A schedule that breaks three rules gets three violations, not the first one only."""
    sched = tiny_schedule(
        Assignment("b1", "cpu", 3, "hi", 5, 13), Assignment("a2", "npu", 0, "hi", 5, 12)
    )
    sched = sched.replace(objective=1)
    assert rules(tiny, sched) == ["duration", "objective", "unit"]


def test_schedule_for_another_instance(tiny):
    """A schedule naming another instance is bad input, not a violation."""
    with pytest.raises(InvalidInput, match="another instance"):
        check_schedule(tiny, tiny_schedule().replace(instance="other"))


def test_infeasible_schedule_without_assignments(tiny):
    """An infeasible answer with no assignments claims nothing to check."""
    sched = tiny_schedule().replace(assignments=(), status="infeasible")
    assert check_schedule(tiny, sched) == []


def test_energy_objective():
    """Energy = dynamic (power x time) + idle power of every unit over the makespan."""
    inst = tiny_instance(objective=Objective("energy"))
    sched = tiny_schedule()
    dynamic = 2.0 * 5 + 2.0 * 6 + 4.0 * 8
    assert evaluate(inst, sched) == pytest.approx(dynamic + 1.25 * 13)


def test_weighted_completion_and_tardiness():
    """Sum of w_j C_j and of w_j max(0, C_j - d_j), by hand."""
    sched = tiny_schedule(Assignment("b1", "cpu", 0, "hi", 45, 53))
    assert evaluate(tiny_instance(objective=Objective("weighted_completion")), sched) == 11 + 2 * 53
    assert evaluate(tiny_instance(objective=Objective("weighted_tardiness")), sched) == 2 * 3


def test_lexicographic_value():
    """A lexicographic objective evaluates to a tuple, most important first."""
    inst = tiny_instance(objective=Objective.parse("late_jobs,makespan"))
    assert evaluate(inst, tiny_schedule()) == (0, 13)


def measured_rules(instance, schedule) -> list[str]:
    return sorted({v.rule for v in check_schedule(instance, schedule, measured=True)})


def test_measured_mode_accepts_measured_durations(tiny):
    """An executed schedule: a2 took 7 instead of 6, b1 took 6.5 -> 7 instead of 8."""
    sched = tiny_schedule(
        Assignment("a2", "npu", 0, "hi", 5, 12), Assignment("b1", "cpu", 0, "hi", 5, 12)
    )
    assert rules(tiny, sched) == ["duration"]
    assert check_schedule(tiny, sched, measured=True) == []


def test_measured_mode_relaxes_nothing_else(tiny):
    """Overlap on a unit, precedence, release and a backwards interval are still caught."""
    # a2 starts before a1's measured end on the same unit: overlap and precedence (and a1's
    # bandwidth, 6, now overlaps b1's, 5, beyond the capacity 10)
    sched = tiny_schedule(Assignment("a1", "npu", 0, "hi", 0, 7))
    assert measured_rules(tiny, sched) == ["overlap", "precedence", "resource"]
    # b1 before its job's release (5)
    assert "release" in measured_rules(tiny, tiny_schedule(Assignment("b1", "cpu", 0, "hi", 4, 9)))
    # a kernel that ends before it starts
    backwards = tiny_schedule(Assignment("b1", "cpu", 0, "hi", 9, 8))
    assert "duration" in measured_rules(tiny, backwards)
    # a kernel left out
    sched = tiny_schedule()
    assert measured_rules(tiny, sched.replace(assignments=sched.assignments[:2])) == ["coverage"]
    # b1's measured run past its deadline (50) is a deadline violation, as in a plan
    late = tiny_schedule(Assignment("b1", "cpu", 0, "hi", 45, 51))
    assert "deadline" in measured_rules(tiny, late)
