"""Schedule.to_frame: one row per kernel, cross-checked against the schedule and the checker."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tiny_instance
from xpuplan.models import Assignment, Objective, Schedule, check_schedule
from xpuplan.models.frames import SCHEDULE_COLUMNS
from xpuplan.models.generate import random_small_instance
from xpuplan.models.objectives import evaluate
from xpuplan.models.presets import get_platform
from xpuplan.models.presets.scenarios import get_scenario
from xpuplan.models.schedule import resume_of
from xpuplan.planner.unroll import build_instance
from xpuplan.solvers import solve


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["heft", "edf+dvfs", "brute-force"]))
def test_frame_matches_schedule_and_energy(seed, solver):
    """Every row is its assignment; resume and energy follow the instance's rules."""
    inst = random_small_instance(seed, max_kernels=5)
    result = solve(inst, solver, time_limit=5)
    schedule = result.schedule
    frame = schedule.to_frame(inst)
    assert list(frame.columns) == list(SCHEDULE_COLUMNS)
    assert len(frame) == len(schedule.assignments)
    if not schedule.assignments:
        return
    assert check_schedule(inst, schedule) == []
    by_index = [schedule.by_kernel().get(ker.name) for ker in inst.kernels]
    for row, asg in zip(frame.itertuples(index=False), schedule.assignments, strict=True):
        assert (row.kernel, row.device, row.unit, row.level, row.start, row.end) == (
            asg.kernel,
            asg.device,
            asg.unit,
            asg.level,
            asg.start,
            asg.end,
        )
        k_idx = inst.kernel_idx[asg.kernel]
        ker = inst.kernels[k_idx]
        mode = ker.modes[ker.mode_index(asg.device, asg.level)]
        assert row.job == ker.job == row.task
        assert row.duration == asg.end - asg.start == mode.duration + row.resume
        assert row.resume == resume_of(inst, k_idx, by_index)
        assert row.power_w == mode.power_w and row.energy == mode.power_w * row.duration
    # The energy objective is the column's sum plus the idle power over the makespan.
    energy = evaluate(inst.with_objective(Objective("energy")), schedule)
    assert math.isclose(
        frame["energy"].sum() + inst.idle_power_w * frame["end"].max(), energy, rel_tol=1e-9
    )


def test_frame_of_a_broken_schedule_marks_what_the_instance_lacks():
    """A kernel or mode the instance does not have gives NA where the instance is needed."""
    inst = tiny_instance()
    schedule = Schedule(
        "tiny",
        (
            Assignment("a1", "npu", 0, "hi", 0, 5),
            Assignment("a2", "cpu", 0, "lo", 8, 18),  # cpu has no level lo for a2
            Assignment("ghost", "cpu", 1, "hi", 0, 4),
        ),
    )
    assert {v.rule for v in check_schedule(inst, schedule)} >= {"mode", "coverage"}
    frame = schedule.to_frame(inst)
    assert frame.loc[0, "energy"] == 10.0 and frame.loc[0, "resume"] == 0
    assert frame.loc[1, "job"] == "A" and pd.isna(frame.loc[1, "energy"])
    assert pd.isna(frame.loc[1, "resume"]) and pd.isna(frame.loc[2, "job"])


def test_frame_of_an_empty_schedule():
    """An infeasible schedule gives an empty frame with every column."""
    frame = Schedule("tiny", status="infeasible").to_frame(tiny_instance())
    assert frame.empty and list(frame.columns) == list(SCHEDULE_COLUMNS)


def test_frame_task_comes_from_the_planner():
    """The planner's kernels carry their task (the known ones are planned); groups by job work."""
    inst = build_instance(get_platform("jetson-orin-nx-16gb"), get_scenario("gaming"))
    result = solve(inst, "heft")
    assert check_schedule(inst, result.schedule) == []
    frame = result.schedule.to_frame(inst)
    assert set(frame["task"]) == {t.name for t in get_scenario("gaming").tasks if t.known}
    assert (frame.groupby("job")["end"].max().max()) == result.schedule.makespan
