"""The runtime's entry points: simulate a scenario on a platform, or execute a plan.

>>> from runtime.api import simulate
>>> result = simulate("jetson-orin-nx-16gb", "compound-ai", "twill", duration_s=5.0, seed=0)
>>> doc = result.to_json()
>>> cons = doc["conservation"]
>>> cons["arrived"] == cons["completed"] + cons["dropped"] + cons["in_flight"]
True
>>> doc["time_over_budget_s"]
0.0
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from xpuplan.models import InvalidInput, Schedule
from xpuplan.models.plan import Plan
from xpuplan.models.platform import Platform
from xpuplan.models.presets import resolve_platform
from xpuplan.models.presets.scenarios import resolve_scenario
from xpuplan.models.scenario import Periodic, Scenario
from xpuplan.models.workload import (
    CompileOptions,
    DagStage,
    TaskSpec,
    Workload,
    compile_workload,
)
from xpuplan.runtime.metrics import SimResult, class_summary, task_metrics
from xpuplan.runtime.plan_jobs import PlanJobs, executed_schedule
from xpuplan.runtime.platform_sim import MachineSpec
from xpuplan.runtime.policies import Policy, get_policy, policy_plan_only, policy_uses_plan
from xpuplan.runtime.simulator import SimConfig, Simulator


def simulate(
    platform: Platform | str,
    scenario: Scenario | str,
    policy: str | Policy = "fcfs",
    *,
    plan: Plan | None = None,
    duration_s: float = 60.0,
    seed: int = 0,
    power_mode: str | None = None,
    noise_cv: float | None = None,
    config: SimConfig | None = None,
    workload: Workload | None = None,
    policy_options: Mapping[str, Any] | None = None,
    compile_options: CompileOptions | None = None,
    simulator_type: type[Simulator] = Simulator,
    prepare: Callable[[Simulator], None] | None = None,
) -> SimResult:
    """Simulate ``scenario`` on ``platform`` for ``duration_s`` under ``policy``.

    Parameters
    ----------
    platform, scenario
        Objects, or built-in names / YAML paths.
    policy
        A registered policy's name (see :func:`xpuplan.runtime.policies.policy_names`) or a policy.
    plan
        A static plan, for ``hybrid`` (its jobs replace the arrivals of the tasks it covers and
        the online policy serves the others) and for ``time-triggered`` / ``self-timed`` (which
        run the plan alone). Each plan job belongs to the task :meth:`Plan.task_of` names; a
        plan whose tasks are all periodic repeats every :attr:`Plan.period_us` (its
        hyperperiod).
    duration_s
        Simulated time; arrivals are drawn in ``[0, duration)``; jobs still running at the end
        count as in flight.
    seed
        Seeds the arrival times (the same for every policy) and the latency noise.
    power_mode
        A power mode of the platform.
    noise_cv
        Latency noise (overrides ``config.noise_cv``).
    config
        The rest of the simulation settings.
    workload
        A workload already built for this platform and scenario (reuse across policies).
    policy_options
        Options of the policy (e.g. ``{"mapping": "fixed"}`` for ``fcfs``).
    compile_options
        How models become kernels (when ``workload`` is not given; the planner's defaults).
    simulator_type, prepare
        The simulator class, and a call made on the simulator before it runs (the real executor,
        :mod:`xpuplan.runtime.ort_exec`, runs this way on ONNX Runtime and the wall clock).

    Returns
    -------
    SimResult
        Per-task and global metrics (``to_json()``, ``to_frame()``); ``executed`` holds the
        schedule a plan ran as, for the checker.

    Examples
    --------
    >>> result = simulate("jetson-orin-nx-16gb", "gaming", "edf", duration_s=1.0, seed=0)
    >>> cons = result.conservation
    >>> cons["arrived"] == cons["completed"] + cons["dropped"] + cons["in_flight"]
    True
    >>> list(result.to_frame()["task"])
    ['super-resolution', 'hand-tracking', 'npc-dialogue']
    """
    if not duration_s > 0:
        raise InvalidInput("must be > 0", field="duration", value=duration_s)
    plat = _platform(platform, power_mode)
    scen = resolve_scenario(scenario) if isinstance(scenario, str) else scenario
    config = config or SimConfig()
    if noise_cv is not None:
        config = replace(config, noise_cv=noise_cv)
    if workload is None:
        workload = compile_workload(plat, scen, compile_options or CompileOptions())
    wl = workload
    horizon_us = round(duration_s * 1e6)
    arrivals = wl.arrival_times_us(seed, horizon_us)
    injected = []
    options = dict(policy_options or {})
    name = policy if isinstance(policy, str) else policy.name
    if plan is not None:
        if isinstance(policy, str) and not policy_uses_plan(policy):
            raise InvalidInput(
                "does not execute a plan (use hybrid, time-triggered or self-timed)",
                field="policy",
                value=policy,
            )
        task_of_job = _plan_tasks(plan, wl)
        covered = set(task_of_job)
        periodic = all(isinstance(wl.tasks[t].arrival, Periodic) for t in covered)
        jobs = PlanJobs.of(plan, plan.period_us if periodic else None)
        injected = jobs.injections(task_of_job, horizon_us)
        executor_only = policy_plan_only(name)
        arrivals = [
            [] if executor_only or t in covered else times for t, times in enumerate(arrivals)
        ]
        options["plan"] = jobs
    pol = get_policy(policy, **options) if isinstance(policy, str) else policy
    spec = MachineSpec.from_platform(
        plat, power_budget_w=wl.power_budget_w, contention=config.contention
    )
    sim = simulator_type(
        spec,
        wl.tasks,
        pol,
        arrivals,
        horizon_us,
        config=config,
        seed=seed,
        injected=injected,
        handoff_us=wl.handoff_us,
    )
    executed = None
    if prepare is not None:
        prepare(sim)
    started = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - started
    if plan is not None and config.record:
        executed = executed_schedule(sim, plan.instance, f"runtime:{name}")
    return _result(sim, name, spec.name, scen.name, duration_s, seed, wall, executed)


def simulate_plan(
    plan: Plan,
    policy: str = "time-triggered",
    *,
    noise_cv: float = 0.0,
    seed: int = 0,
    repeat_us: int | None = None,
    duration_s: float | None = None,
    config: SimConfig | None = None,
    policy_options: Mapping[str, Any] | None = None,
) -> SimResult:
    """Execute a plan on the machine its instance describes (no platform or scenario needed).

    By default the run makes the instance's own assumptions: DVFS switches are instant and
    bandwidth contends only through the instance's ``mem_bw_gbps`` resource, if it has one; pass
    ``config`` to add switching delays or governor settings.

    Jobs are grouped into tasks by :meth:`Plan.task_of` (a job the plan gives no task is a task
    of its own). The run is recorded: :attr:`SimResult.executed` is repetition 0 as a schedule of
    the plan's instance. ``duration_s`` defaults to twice the plan's span (its makespan or
    latest deadline), so every job can finish.
    """
    inst = plan.instance
    config = replace(config or SimConfig(dvfs_transition_us=0.0), noise_cv=noise_cv, record=True)
    names = sorted(set(plan.tasks))
    templates = PlanJobs.of(plan, repeat_us)
    first_job: dict[str, int] = {}
    for j_idx, job in enumerate(inst.jobs):
        first_job.setdefault(plan.task_of(job.name), j_idx)
    tasks = []
    for name in names:
        job = inst.jobs[first_job[name]]
        rel = None if job.deadline is None else float(job.deadline - job.release)
        tasks.append(
            TaskSpec(
                name,
                (DagStage(templates.templates[first_job[name]]),),
                priority=round(job.weight),
                deadline_us=rel,
            )
        )
    task_idx = {name: t for t, name in enumerate(names)}
    task_of_job = [task_idx[plan.task_of(job.name)] for job in inst.jobs]
    if duration_s is not None:
        horizon = duration_s * 1e6
    else:
        makespan = max((a.end for a in plan.schedule.assignments), default=0)
        latest_deadline = max((j.deadline or 0 for j in inst.jobs), default=0)
        # Twice the plan's span leaves noisy runs the time to finish.
        horizon = 2.0 * max(makespan, latest_deadline) + 1
    pol = get_policy(policy, plan=templates, **dict(policy_options or {}))
    spec = MachineSpec.from_instance(inst)
    sim = Simulator(
        spec,
        tasks,
        pol,
        [[] for _ in tasks],
        horizon,
        config=config,
        seed=seed,
        injected=templates.injections(task_of_job, horizon),
    )
    started = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - started
    executed = executed_schedule(sim, inst, f"runtime:{policy}")
    return _result(sim, policy, spec.name, inst.name, horizon / 1e6, seed, wall, executed)


def _platform(platform: Platform | str, power_mode: str | None) -> Platform:
    if isinstance(platform, str):
        return resolve_platform(platform, power_mode)
    if power_mode is not None and platform.power_mode != power_mode:
        return platform.with_power_mode(power_mode)
    return platform


def _plan_tasks(plan: Plan, workload: Workload) -> list[int]:
    """The workload task of every plan job (:meth:`Plan.task_of`)."""
    out = []
    for job in plan.instance.jobs:
        name = plan.task_of(job.name)
        try:
            out.append(workload.task_idx(name))
        except InvalidInput:
            raise InvalidInput(
                f"plan job {job.name!r} belongs to no task of the scenario "
                f"({', '.join(t.name for t in workload.tasks)})",
                field="plan.instance.jobs",
                value=job.name,
            ) from None
    return out


def _result(
    sim: Simulator,
    policy: str,
    platform: str,
    scenario: str,
    duration_s: float,
    seed: int,
    wall: float,
    executed: Schedule | None,
) -> SimResult:
    machine = sim.machine
    recorder = sim.recorder
    live = sim.live_jobs
    horizon = sim.horizon_us
    in_flight = recorder.in_flight or [0] * len(sim.tasks)
    reactive, proactive = class_summary(recorder, horizon)
    tokens = sum(recorder.tokens)
    units = {dev.name: dev.units for dev in sim.spec.devices}
    return SimResult(
        policy=policy,
        platform=platform,
        scenario=scenario,
        duration_s=duration_s,
        seed=seed,
        noise_cv=sim.config.noise_cv,
        tasks=task_metrics(recorder, live, horizon),
        reactive=reactive,
        proactive=proactive,
        energy_j=machine.energy_j,
        avg_power_w=machine.energy_j / (horizon * 1e-6),
        peak_power_w=machine.peak_power_w,
        power_budget_w=machine.budget_w,
        time_over_budget_s=machine.over_budget_us * 1e-6,
        longest_over_budget_s=machine.longest_over_budget_us * 1e-6,
        joules_per_token=machine.energy_j / tokens if tokens else None,
        utilisation={
            dev.name: machine.busy_us[d] / (units[dev.name] * horizon)
            for d, dev in enumerate(sim.spec.devices)
        },
        preemptions=sim.preemptions,
        migrations=sim.migrations,
        freezes=sim.freezes,
        conservation={
            "arrived": sum(recorder.arrived),
            "completed": sum(recorder.completed),
            "dropped": sum(recorder.dropped),
            "in_flight": sum(in_flight),
        },
        num_events=sim.engine.num_events,
        wall_s=wall,
        executed=executed,
    )
