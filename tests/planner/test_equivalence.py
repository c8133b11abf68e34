"""Plan and simulation are the same workload: the checker judges the runtime by the planner's
Instance.

1. A plan of a scenario's known tasks, executed by the ``time-triggered`` executor with the
   Instance's own assumptions (no latency noise, no bandwidth contention, instant DVFS switches,
   no power governor), reproduces the plan's schedule exactly (kernels, devices, units, levels,
   starts and ends), and the executed schedule passes the checker.
2. An online policy run on the clairvoyant workload (the sampled unknown arrivals too)
   gives a schedule the checker accepts against the clairvoyant Instance built from the same
   trace. Two runtime features have no counterpart in an Instance and are off: decode batching
   across requests (the tasks run :meth:`~xpuplan.models.workload.TaskSpec.as_planned`: an LLM's
   decode steps as the planner's grouped kernels) and the power governor (it throttles a
   running kernel's level after the fact; the Instance is built without a power cap instead,
   since a policy without governor does not hold one: the cap is set to 1 MW). DVFS switching
   delays and bandwidth contention are off as in 1. Every online policy is run, each on every
   scenario and preset.
"""

from __future__ import annotations

from functools import cache

import pytest

from xpuplan.models import Assignment, Schedule, check_schedule
from xpuplan.models.presets import get_platform, platform_names
from xpuplan.models.presets.scenarios import get_scenario, scenario_names
from xpuplan.models.scenario import Periodic
from xpuplan.models.workload import compile_workload
from xpuplan.planner.planning import Made, make_plan
from xpuplan.planner.unroll import Planned, PlanningOptions, build_planned
from xpuplan.runtime.api import simulate
from xpuplan.runtime.platform_sim import MachineSpec
from xpuplan.runtime.policies import get_policy, policy_names, policy_uses_plan
from xpuplan.runtime.simulator import SimConfig, Simulator

# The Instance's assumptions: what the runtime must switch off to be judged by it.
EXACT = SimConfig(
    noise_cv=0.0, dvfs_transition_us=0.0, contention=False, governor=False, record=True
)
CASES = [(p, s) for p in platform_names() for s in scenario_names()]
# Clairvoyant problems: one second of arrivals (video-call's periodic tasks alone are ~680
# kernels a second), at the first seed whose trace has an unknown arrival in it.
CLAIRVOYANT_HORIZON_S = 1.0
ONLINE = [p for p in policy_names() if not policy_uses_plan(p)]


def _key(asg: Assignment) -> tuple[str, str, int, str, int, int]:
    return asg.kernel, asg.device, asg.unit, asg.level, asg.start, asg.end


@cache
def _plan(platform: str, scenario: str) -> Made:
    """heft's plan of the known tasks (over the hyperperiod, else the scenario's horizon)."""
    scen = get_scenario(scenario)
    known = [t for t in scen.tasks if t.known]
    assert known, scenario
    return make_plan(
        get_platform(platform),
        scen,
        PlanningOptions(objective="late_jobs,energy"),
        solver="heft",
    )


@pytest.mark.parametrize(("platform", "scenario"), CASES)
def test_time_triggered_execution_reproduces_the_plan(platform: str, scenario: str) -> None:
    made = _plan(platform, scenario)
    plan = made.plan
    assert check_schedule(plan.instance, plan.schedule) == []
    periodic = all(isinstance(t.arrival, Periodic) for t in get_scenario(scenario).tasks if t.known)
    assert (plan.period_us is not None) == periodic
    span = max(a.end for a in plan.schedule.assignments)
    duration_us = 2 * max(plan.period_us or 0, span) + 1
    result = simulate(
        platform,
        scenario,
        "time-triggered",
        plan=plan,
        duration_s=duration_us / 1e6,
        config=EXACT,
    )
    executed = result.executed
    assert executed is not None
    assert sorted(map(_key, executed.assignments)) == sorted(map(_key, plan.schedule.assignments))
    assert check_schedule(plan.instance, executed) == []
    assert executed.objective == plan.schedule.objective


@cache
def _clairvoyant(platform: str, scenario: str) -> tuple[Planned, int]:
    """The clairvoyant Instance of one second, at the first seed with an unknown arrival (any
    arrival when every task is known)."""
    plat, scen = get_platform(platform), get_scenario(scenario)
    horizon_us = round(CLAIRVOYANT_HORIZON_S * 1e6)
    probe = compile_workload(plat, scen)
    unknown = [t for t, task in enumerate(scen.tasks) if not task.known] or list(
        range(len(scen.tasks))
    )
    seed = next(
        s for s in range(1000) if any(probe.arrival_times_us(s, horizon_us)[t] for t in unknown)
    )
    planned = build_planned(
        plat,
        scen,
        PlanningOptions(
            include_unknown=True,
            horizon_s=CLAIRVOYANT_HORIZON_S,
            seed=seed,
            objective="late_jobs,energy",  # a policy may be late: lateness is a metric
            power_cap_w=1e6,  # no cap (1 MW): the governor is off (see the module docstring)
        ),
    )
    return planned, seed


@pytest.mark.parametrize("policy", ONLINE)
@pytest.mark.parametrize(("platform", "scenario"), CASES)
def test_online_policy_on_the_clairvoyant_workload_passes_the_checker(
    platform: str, scenario: str, policy: str
) -> None:
    planned, seed = _clairvoyant(platform, scenario)
    instance = planned.instance
    workload = planned.workload.as_planned()  # decode as the planner's kernels, not batched
    arrivals = workload.arrival_times_us(seed, planned.horizon_us)
    released = {(planned.job_tasks[j.name], j.release) for j in instance.jobs}
    assert released == {
        (task.name, t) for task, times in zip(workload.tasks, arrivals, strict=True) for t in times
    }
    spec = MachineSpec.from_platform(get_platform(platform), power_budget_w=None, contention=False)
    sim = Simulator(
        spec,
        workload.tasks,
        get_policy(policy),
        arrivals,
        100 * planned.horizon_us,  # long enough for every job to finish
        config=EXACT,
        seed=seed,
        handoff_us=workload.handoff_us,
    )
    sim.run()
    assignments = tuple(
        Assignment(
            f"{job}/{kernel}",
            spec.devices[dev].name,
            unit - sim.machine.dev_units[dev][0],
            spec.devices[dev].levels[level],
            round(start),
            round(end),
        )
        for job, kernel, unit, dev, level, start, end, _ in sim.executed
    )
    assert len(assignments) == instance.num_kernels
    schedule = Schedule(instance.name, assignments, solver=f"runtime:{policy}", status="feasible")
    assert check_schedule(instance, schedule) == []
