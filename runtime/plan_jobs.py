"""A plan's jobs as the simulator runs them, and a run's execution of a plan as a schedule.

Plans that cover one hyperperiod repeat every ``repeat_us``: repetition ``r`` of job ``j`` is
released at ``release + r H`` and its kernels are planned at ``start + r H``. Repetition 0 keeps
the instance's job and kernel names, so its executed run is a :class:`xpuplan.models.Schedule` of
the plan's instance (:func:`executed_schedule`), which :func:`xpuplan.models.check_schedule` can
judge. The executors that run a plan are policies (:mod:`xpuplan.runtime.policies.plan_executors`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xpuplan.models import Assignment, Instance, InvalidInput, Schedule, evaluate
from xpuplan.models.plan import Plan
from xpuplan.runtime.jobs import InjectedJob

if TYPE_CHECKING:
    from xpuplan.runtime.simulator import Simulator
from xpuplan.models.workload import JobTemplate


@dataclass(frozen=True)
class PlanJobs:
    """A plan's jobs as the simulator injects them, with the task each belongs to."""

    plan: Plan
    templates: tuple[JobTemplate, ...]
    repeat_us: int | None

    @classmethod
    def of(cls, plan: Plan, repeat_us: int | None = None) -> PlanJobs:
        inst = plan.instance
        if plan.schedule.instance != inst.name:
            raise InvalidInput(
                "the plan's schedule is for another instance",
                field="schedule.instance",
                value=plan.schedule.instance,
            )
        if not plan.schedule.is_solution:
            raise InvalidInput(
                "the plan's schedule is not a solution",
                field="schedule.status",
                value=plan.schedule.status,
            )
        if repeat_us is not None and repeat_us < max(
            (a.end for a in plan.schedule.assignments), default=0
        ):
            raise InvalidInput(
                "is shorter than the plan's makespan", field="repeat_us", value=repeat_us
            )
        return cls(
            plan,
            tuple(JobTemplate.from_instance_job(inst, job.name) for job in inst.jobs),
            repeat_us,
        )

    def injections(self, task_of_job: Sequence[int], horizon_us: float) -> list[InjectedJob]:
        """Every repetition of every job released before the horizon."""
        inst = self.plan.instance
        out = []
        num_reps = 1 if self.repeat_us is None else max(1, math.ceil(horizon_us / self.repeat_us))
        for rep in range(num_reps):
            offset = 0 if self.repeat_us is None else rep * self.repeat_us
            for j_idx, job in enumerate(inst.jobs):
                release = job.release + offset
                if release >= horizon_us:
                    continue
                name = job.name if rep == 0 else f"{job.name}#{rep}"
                deadline = None if job.deadline is None else job.deadline + offset
                out.append(
                    InjectedJob(
                        release,
                        task_of_job[j_idx],
                        name,
                        self.templates[j_idx],
                        deadline,
                        (rep, offset),
                    )
                )
        return out


def executed_schedule(sim: Simulator, instance: Instance, solver: str) -> Schedule:
    """The kernels of repetition 0 as executed, as a schedule of ``instance``.

    Times are rounded to integers (exact when the run had no noise, contention or DVFS
    switching delays that are not whole microseconds).
    """
    if not sim.config.record:
        raise InvalidInput(
            "the simulation did not record its runs (SimConfig(record=True))",
            field="record",
            value=False,
        )
    jobs = {job.name for job in instance.jobs}
    machine = sim.machine
    assignments = []
    for job_name, kernel, unit, dev, level, start, end, _ in sim.executed:
        if job_name not in jobs:
            continue
        device = sim.spec.devices[dev]
        assignments.append(
            Assignment(
                kernel,
                device.name,
                unit - machine.dev_units[dev][0],
                device.levels[level],
                round(start),
                round(end),
            )
        )
    schedule = Schedule(instance.name, tuple(assignments), solver=solver, status="feasible")
    if len(assignments) == instance.num_kernels:
        schedule = schedule.replace(objective=evaluate(instance, schedule))
    return schedule
