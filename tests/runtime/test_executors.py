"""Plan executors: zero noise reproduces a plan exactly; noise shows each executor's rule."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tiny_instance, tiny_schedule
from tests.runtime.helpers import chain, kernel, machine, task
from xpuplan.models import Assignment, Instance, Job, Objective, Schedule, check_schedule, evaluate
from xpuplan.models.generate import random_small_instance
from xpuplan.models.plan import Plan
from xpuplan.models.scenario import Periodic
from xpuplan.models.workload import JobTemplate
from xpuplan.runtime.api import simulate_plan
from xpuplan.runtime.plan_jobs import PlanJobs
from xpuplan.runtime.platform_sim import DeviceInfo
from xpuplan.runtime.policies import get_policy
from xpuplan.runtime.policies.plan_executors import TimeTriggered
from xpuplan.runtime.simulator import SimConfig, Simulator

EXECUTORS = ("time-triggered", "self-timed")


def serial_plan(inst: Instance, seed: int) -> Plan:
    """A valid plan that runs one kernel at a time in topological order, with random gaps.

    Hard deadlines are dropped and DVFS made per-kernel so that any such plan is valid; every
    other rule (releases, cross-device delays, resume costs, edges across jobs, power caps,
    levels) stays.
    """
    inst = inst.replace(
        jobs=tuple(Job(j.name, j.release, None, j.weight) for j in inst.jobs),
        objective=Objective("makespan"),
        dvfs="per-kernel",
    )
    rng = random.Random(seed)
    placed: dict[int, Assignment] = {}
    clock = 0
    for k_idx in inst.topological_order:
        ker = inst.kernels[k_idx]
        fitting = [
            m
            for m in ker.modes
            if inst.power_cap_w is None or inst.idle_power_w + m.power_w <= inst.power_cap_w
        ]
        mode = rng.choice(fitting)
        unit = rng.randrange(inst.devices[inst.device_idx[mode.device]].units)
        start = max(clock + rng.choice((0, 0, 2, 5)), inst.jobs[inst.kernel2job[k_idx]].release)
        for e_idx in inst.in_edges[k_idx]:
            src = placed[inst.edge_endpoints[e_idx][0]]
            delay = inst.edges[e_idx].cross_device_delay if src.device != mode.device else 0
            start = max(start, src.end + delay)
        resume = 0
        for e_idx in inst.in_edges[k_idx]:
            src = placed[inst.edge_endpoints[e_idx][0]]
            if not (src.device == mode.device and src.unit == unit and src.end == start):
                resume = max(resume, inst.edges[e_idx].resume_cost)
        end = start + mode.duration + resume
        placed[k_idx] = Assignment(ker.name, mode.device, unit, mode.level, start, end)
        clock = end
    schedule = Schedule(inst.name, tuple(placed[k] for k in range(inst.num_kernels)))
    assert check_schedule(inst, schedule) == []
    return Plan(inst, schedule.replace(objective=evaluate(inst, schedule)), {})


def _same(executed: Schedule, plan: Plan) -> bool:
    return sorted(executed.assignments, key=lambda a: a.kernel) == sorted(
        plan.schedule.assignments, key=lambda a: a.kernel
    )


@pytest.mark.parametrize("executor", EXECUTORS)
def test_zero_noise_reproduces_the_tiny_plan(executor: str) -> None:
    """The conftest plan (a resumable edge, a power cap, a bandwidth resource) runs as planned."""
    inst = tiny_instance()
    plan = Plan(inst, tiny_schedule(objective=13), {})
    executed = simulate_plan(plan, executor).executed
    assert executed is not None and check_schedule(inst, executed) == []
    assert _same(executed, plan)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(EXECUTORS))
def test_zero_noise_reproduces_random_plans(seed: int, executor: str) -> None:
    """Random instances (every rule of the format) with serial plans with idle gaps."""
    plan = serial_plan(random_small_instance(seed), seed)
    executed = simulate_plan(plan, executor).executed
    assert executed is not None
    assert check_schedule(plan.instance, executed) == []
    assert _same(executed, plan)


def test_noise_time_triggered_never_starts_early() -> None:
    """Under noise a time-triggered kernel starts at or after its planned time."""
    plan = serial_plan(random_small_instance(11, max_kernels=6), 11)
    planned = {a.kernel: a.start for a in plan.schedule.assignments}
    result = simulate_plan(plan, "time-triggered", noise_cv=0.4, seed=3)
    assert result.executed is not None
    assert all(a.start >= planned[a.kernel] for a in result.executed.assignments)


def test_noise_self_timed_keeps_each_units_order() -> None:
    """Under noise (and without holding to the plan) each unit runs its kernels in plan order."""
    plan = serial_plan(random_small_instance(5, max_kernels=6), 5)

    def order(schedule: Schedule) -> dict[tuple[str, int], list[str]]:
        out: dict[tuple[str, int], list[str]] = {}
        for asg in sorted(schedule.assignments, key=lambda a: a.start):
            out.setdefault((asg.device, asg.unit), []).append(asg.kernel)
        return out

    result = simulate_plan(
        plan, "self-timed", noise_cv=0.5, seed=2, policy_options={"hold_to_plan": False}
    )
    assert result.executed is not None and order(result.executed) == order(plan.schedule)


def test_dvfs_switching_delay_makes_a_tight_plan_late() -> None:
    """A plan that switches a unit's level between back-to-back kernels runs late by the switch."""
    inst = tiny_instance(power_cap_w=None)
    sched = Schedule(
        "tiny",
        (
            Assignment("a1", "npu", 0, "hi", 0, 5),
            Assignment("a2", "npu", 0, "lo", 5, 14),
            Assignment("b1", "cpu", 0, "hi", 5, 13),
        ),
    )
    assert check_schedule(inst, sched) == []
    plan = Plan(inst, sched.replace(objective=evaluate(inst, sched)), {})
    exact = simulate_plan(plan, "time-triggered").executed
    assert exact is not None and _same(exact, plan)
    assert check_schedule(inst, exact) == []
    late = simulate_plan(plan, "time-triggered", config=SimConfig(dvfs_transition_us=4.0)).executed
    assert late is not None
    assert {a.kernel: a.start for a in late.assignments}["a2"] == 9


def test_plans_repeat_every_hyperperiod() -> None:
    """With repeat_us the jobs run again each period, repetition r named ``job#r``."""
    plan = Plan(tiny_instance(), tiny_schedule(objective=13), {})
    result = simulate_plan(plan, "time-triggered", repeat_us=20, duration_s=60e-6)
    assert result.conservation == {"arrived": 6, "completed": 6, "dropped": 0, "in_flight": 0}


def _vision_plan() -> PlanJobs:
    """Two vision jobs per 2 ms: NPU 0-300 and GPU 300-500 of each millisecond."""
    jobs = tuple(Job(f"vision@{i}", i * 1000, i * 1000 + 1000) for i in range(2))
    kernels = []
    from xpuplan.models import Edge, Kernel
    from xpuplan.models import Mode as M

    edges = []
    for job in jobs:
        kernels += [
            Kernel(f"{job.name}/a", job.name, (M("npu", "hi", 300),)),
            Kernel(f"{job.name}/b", job.name, (M("gpu", "hi", 200),)),
        ]
        edges.append(Edge(f"{job.name}/a", f"{job.name}/b"))
    spec = machine()
    from xpuplan.models import Device

    inst = Instance(
        "vc",
        tuple(Device(d.name, d.units, d.idle_power_w) for d in spec.devices),
        jobs,
        tuple(kernels),
        tuple(edges),
    )
    sched = Schedule(
        "vc",
        (
            Assignment("vision@0/a", "npu", 0, "hi", 0, 300),
            Assignment("vision@0/b", "gpu", 0, "hi", 300, 500),
            Assignment("vision@1/a", "npu", 0, "hi", 1000, 1300),
            Assignment("vision@1/b", "gpu", 0, "hi", 1300, 1500),
        ),
    )
    assert check_schedule(inst, sched.replace(objective=1500)) == []
    return PlanJobs.of(Plan(inst, sched, {}), repeat_us=2000)


def test_hybrid_keeps_the_plan_on_time_and_serves_arrivals_in_its_slack() -> None:
    """Planned kernels start exactly on time under online load; online work fills the gaps."""
    vision = chain("v", kernel("a", npu=300), kernel("b", gpu=200))
    spec = machine()
    plan_jobs = _vision_plan()
    tasks = [
        task("vision", vision, arrival=Periodic(500)),
        task("chat", chain("c", kernel("q", gpu=400, npu=400)), cls="reactive"),
    ]
    chat_times = [100, 350, 1100, 2600, 3100]
    policy = get_policy("hybrid", plan=plan_jobs, online="edf")
    sim = Simulator(
        spec,
        tasks,
        policy,
        [[], chat_times],
        10_000,
        config=SimConfig(contention=False, record=True, dvfs_transition_us=0.0),
        injected=plan_jobs.injections([0, 0], 10_000),
    )
    sim.run()
    planned = {
        (f"vision@{i % 2}" + (f"#{i // 2}" if i >= 2 else ""), k): (i * 1000 + off)
        for i in range(10)
        for k, off in (("a", 0), ("b", 300))
    }
    for job, ker, _, _, _, start, _, _ in sim.executed:
        if job.startswith("vision"):
            assert start == planned[(job, ker.split("/")[-1])]
    assert sim.recorder.completed == [10, 5]
    assert isinstance(policy.executor, TimeTriggered)


def test_hybrid_never_starts_online_work_longer_than_every_gap_of_the_plan() -> None:
    """Starvation by design: online work runs only in the plan's gaps (800 us on the GPU here),
    so a 900 us GPU-only kernel never starts under hybrid, while a 600 us one does; the same
    kernel runs at once under the online policy alone."""
    vision = chain("v", kernel("a", npu=300), kernel("b", gpu=200))
    tasks = [
        task("vision", vision, arrival=Periodic(500)),
        task("long", chain("l", kernel("x", gpu=900)), cls="reactive"),
        task("short", chain("s", kernel("y", gpu=600)), cls="reactive"),
    ]
    plan_jobs = _vision_plan()
    config = SimConfig(contention=False, record=True, dvfs_transition_us=0.0)
    hybrid = Simulator(
        machine(),
        tasks,
        get_policy("hybrid", plan=plan_jobs, online="edf"),
        [[], [100], [100]],
        10_000,
        config=config,
        injected=plan_jobs.injections([0, 0], 10_000),
    ).run()
    assert hybrid.recorder.completed == [10, 0, 1]
    assert not [e for e in hybrid.executed if e.job.startswith("long")]
    alone = Simulator(
        machine(), tasks, get_policy("edf"), [[], [100], [100]], 10_000, config=config
    ).run()
    assert alone.recorder.completed[1:] == [1, 1]


def test_executors_need_a_plan() -> None:
    """Asking for an executor without a plan is a clear input error."""
    with pytest.raises(Exception, match="needs a plan"):
        get_policy("time-triggered")


def test_template_from_instance_job_keeps_names_and_inner_edges() -> None:
    """A plan job's template has the instance's kernel names and only its own edges."""
    template = JobTemplate.from_instance_job(tiny_instance(), "A")
    assert [k.name for k in template.kernels] == ["a1", "a2"]
    assert [(e.src, e.dst, e.cross_device_delay, e.resume_cost) for e in template.edges] == [
        (0, 1, 3, 2)
    ]


def _gap_plan(gap: int) -> Plan:
    """a1 at the NPU's top level, then a2 at its low level ``gap`` us later (paying the resume
    cost, since the two are not contiguous); b1 on the CPU."""
    inst = tiny_instance(power_cap_w=None)
    start = 5 + gap
    sched = Schedule(
        "tiny",
        (
            Assignment("a1", "npu", 0, "hi", 0, 5),
            Assignment("a2", "npu", 0, "lo", start, start + 9 + 2),
            Assignment("b1", "cpu", 0, "hi", 5, 13),
        ),
    )
    assert check_schedule(inst, sched) == []
    return Plan(inst, sched.replace(objective=evaluate(inst, sched)), {})


@pytest.mark.parametrize(
    ("executor", "gap", "ahead", "a2_start"),
    [
        # The switch (4 us) fits the 7 us gap when made as a1 ends; made at a2's planned time
        # (time-triggered without switching ahead) it delays a2 by all of it.
        ("time-triggered", 7, True, 12),
        ("time-triggered", 7, False, 16),
        # A 2 us gap absorbs half of it.
        ("time-triggered", 2, True, 9),
        ("time-triggered", 2, False, 11),
        # Self-timed dispatches a2 as soon as a1 ends (holding it to its planned time), so the
        # switch starts then either way.
        ("self-timed", 7, True, 12),
        ("self-timed", 7, False, 12),
        ("self-timed", 2, True, 9),
        ("self-timed", 2, False, 9),
    ],
)
def test_switching_ahead_spends_the_dvfs_switch_in_the_gap(
    executor: str, gap: int, ahead: bool, a2_start: int
) -> None:
    plan = _gap_plan(gap)
    result = simulate_plan(
        plan,
        executor,
        config=SimConfig(dvfs_transition_us=4.0),
        policy_options={"switch_ahead": ahead},
    )
    executed = result.executed
    assert executed is not None
    assert check_schedule(plan.instance, executed) == []
    assert {a.kernel: a.start for a in executed.assignments}["a2"] == a2_start


def test_switch_level_is_for_idle_units() -> None:
    """A policy may switch an idle unit only; a kernel at another level switches back."""
    from xpuplan.runtime.policy import BasePolicy

    seen: list[str] = []

    class Switcher(BasePolicy):
        name = "switcher"

        def on_ready(self, item) -> None:  # type: ignore[no-untyped-def]
            self.item = item

        def decide(self) -> None:
            api = self.api
            if api.now == 0 and not seen:
                api.switch_level(0, 0)  # the CPU's "lo" level, idle: allowed
                seen.append(f"level {api.machine.unit_level(0)}")
                api.start(self.item, 0)
                try:
                    api.switch_level(0, 1)
                except RuntimeError as exc:
                    seen.append(str(exc))

    devices = (DeviceInfo("cpu", "cpu", 1, 1.0, ("lo", "hi")),)
    job = chain("j", kernel("k", cpu=100))
    sim = Simulator(
        machine(devices=devices),
        [task("t", job)],
        Switcher(),
        [[0]],
        1e6,
        config=SimConfig(dvfs_transition_us=10.0, contention=False, record=True),
    ).run()
    assert seen == ["level 0", "unit cpu/0 is busy: switch levels when idle"]
    # The kernel's only mode is at "hi": it switched back, 10 us after its dispatch.
    (run,) = sim.executed
    assert (run.level, run.start) == (1, 10.0)
