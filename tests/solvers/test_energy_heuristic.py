"""``edf-energy``: the least-energy mode within the deadline budgets, against hand-worked cases and
the exact solver; and the exact solvers' warm start uses it on energy objectives."""

from __future__ import annotations

import pytest

from xpuplan.models import (
    Device,
    Edge,
    Instance,
    Job,
    Kernel,
    Mode,
    Objective,
    Schedule,
    check_schedule,
    evaluate,
)
from xpuplan.models.objectives import dynamic_energy
from xpuplan.solvers import solve
from xpuplan.solvers.bounds import part_lower_bound
from xpuplan.solvers.exact import warm_start
from xpuplan.solvers.heuristics import run_heuristic
from xpuplan.solvers.heuristics.energy import cheap_deadlines, edf_energy
from xpuplan.solvers.heuristics.problem import build_problem


def valid(instance: Instance, schedule: Schedule) -> Schedule:
    assert schedule.is_solution, schedule.message
    assert check_schedule(instance, schedule) == []
    return schedule


def chain(deadline: int | None) -> Instance:
    """Two kernels in a chain; a fast hungry GPU (2 units of time at 10 W) or a slow frugal NPU
    (5 at 1 W) for each."""
    modes = (Mode("gpu", "max", 2, 10.0), Mode("npu", "max", 5, 1.0))
    return Instance(
        name="chain",
        devices=(Device("gpu"), Device("npu")),
        jobs=(Job("j", 0, deadline),),
        kernels=(Kernel("a", "j", modes), Kernel("b", "j", modes)),
        edges=(Edge("a", "b"),),
        objective=Objective.parse("late_jobs,energy"),
        time_unit="unit",
    )


def devices(schedule: Schedule) -> dict[str, str]:
    return {a.kernel: a.device for a in schedule.assignments}


def test_slack_goes_to_the_frugal_device() -> None:
    inst = chain(deadline=10)
    sched = valid(inst, edf_energy(inst))
    assert devices(sched) == {"a": "npu", "b": "npu"}
    # EDF places by earliest finish: both on the GPU, 5x the dynamic energy.
    edf = valid(inst, run_heuristic(inst, "edf"))
    assert devices(edf) == {"a": "gpu", "b": "gpu"}
    assert dynamic_energy(inst, sched.assignments) == 10.0
    assert dynamic_energy(inst, edf.assignments) == 40.0


def test_a_tight_deadline_is_kept_and_the_slack_shared() -> None:
    # 7 units: one kernel on the NPU (5) and one on the GPU (2) fit, both on the NPU (10) do not.
    # The first kernel's budget with the second in its cheapest mode is 7 - 5 = 2: the GPU; the
    # second then still fits on the NPU (2 + 5 = 7).
    inst = chain(deadline=7)
    sched = valid(inst, edf_energy(inst))
    assert devices(sched) == {"a": "gpu", "b": "npu"}
    assert evaluate(inst, sched)[0] == 0
    assert cheap_deadlines(build_problem(inst)) == [2, 7]
    # The exact optimum is the same energy (either order of the two devices).
    best = valid(inst, solve(inst, "cpsat", time_limit=10).schedule)
    assert best.status == "optimal"
    assert evaluate(inst, sched) == pytest.approx(evaluate(inst, best))


def test_an_impossible_budget_falls_back_to_the_earliest_finish() -> None:
    # 4 units: only both on the GPU fit, and the guard of hard deadlines is not involved (the
    # deadline is soft): the kernels take the earliest finish when no budget can be met.
    inst = chain(deadline=4)
    sched = valid(inst, edf_energy(inst))
    assert devices(sched) == {"a": "gpu", "b": "gpu"}
    assert evaluate(inst, sched)[0] == 0


def test_no_deadline_runs_everything_cheapest() -> None:
    inst = chain(deadline=None)
    assert devices(valid(inst, edf_energy(inst))) == {"a": "npu", "b": "npu"}


@pytest.fixture(scope="module")
def video_call() -> Instance:
    from xpuplan.models.presets import get_platform
    from xpuplan.models.presets.scenarios import get_scenario
    from xpuplan.planner.unroll import build_instance

    return build_instance(get_platform("ryzen-ai-hx370"), get_scenario("video-call"))


def test_video_call_is_near_the_energy_bound(video_call: Instance) -> None:
    """On the default plan's instance (666 kernels) it is within 0.2 % of the cheap energy bound
    (measured 0.05 %), far closer than the time-driven heuristics (peft+dvfs: 0.9 %)."""
    inst = video_call
    sched = valid(inst, edf_energy(inst))
    late, energy = evaluate(inst, sched)
    assert late == 0
    bound = part_lower_bound(inst, inst.objective.parts[1])
    assert bound <= energy <= bound * 1.002
    peft = valid(inst, run_heuristic(inst, "peft+dvfs"))
    assert evaluate(inst, peft)[1] > energy * 1.005


def test_the_warm_start_of_energy_objectives_includes_it(video_call: Instance) -> None:
    inst = video_call
    # With a tiny limit only the first pass runs (HEFT and edf-energy), and edf-energy wins.
    start = warm_start(inst, 0, 0.001)
    assert start is not None
    assert check_schedule(inst, start) == []
    assert evaluate(inst, start) == evaluate(inst, edf_energy(inst))
