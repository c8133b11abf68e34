"""A recorded run as an Instance and a Schedule, so the independent checker can judge it.

Every completed job of a run recorded with ``SimConfig(record=True)`` becomes a job of the
instance, released at its arrival, its kernels named ``<job>/<kernel>`` with their template's
modes and edges; the executed runs become the schedule's assignments. With no latency noise and
no bandwidth contention every executed duration equals a mode's duration plus the resume rule's
cost, so :func:`xpuplan.models.check_schedule` must accept the pair: a check of the simulator's
timing rules and of the policy's dispatch decisions alike.
"""

from __future__ import annotations

from xpuplan.models import (
    Assignment,
    Device,
    Edge,
    Instance,
    InvalidInput,
    Job,
    Kernel,
    Mode,
    Schedule,
    Unsupported,
    evaluate,
)
from xpuplan.models.workload import DagStage
from xpuplan.runtime.simulator import Simulator


def executed_instance(sim: Simulator, name: str = "run") -> tuple[Instance, Schedule]:
    """The completed jobs of ``sim`` as an Instance, and what ran as its Schedule.

    Deadlines are left out (a run may be late; lateness is a metric, not a broken rule), so is
    the power cap (the governor reacts after the fact), and so are bandwidth demands (the
    simulator turns them into slowdowns, not into a hard resource limit).

    Raises
    ------
    InvalidInput
        When the run was not recorded.
    Unsupported
        When a completed job has a decode stage or several stages (a batched decode step is
        one execution shared by several jobs, which an Instance cannot express).
    """
    if not sim.config.record:
        raise InvalidInput(
            "the simulation did not record its runs (SimConfig(record=True))",
            field="record",
            value=False,
        )
    jobs, kernels, edges = [], [], []
    done = {}
    for job in sim.finished_jobs:
        if len(job.stages) != 1 or not isinstance(job.stages[0], DagStage):
            raise Unsupported(f"job {job.name!r} has {len(job.stages)} stages or a decode stage")
        template = job.stages[0].template
        jobs.append(Job(job.name, round(job.arrival)))
        for ker in template.kernels:
            modes = tuple(Mode(m.device, m.level, m.duration, m.power_w) for m in ker.modes)
            kernels.append(Kernel(f"{job.name}/{ker.name}", job.name, modes, ker.attrs))
        for edge in template.edges:
            edges.append(
                Edge(
                    f"{job.name}/{template.kernels[edge.src].name}",
                    f"{job.name}/{template.kernels[edge.dst].name}",
                    edge.cross_device_delay,
                    edge.resume_cost,
                )
            )
        done[job.name] = job
    devices = tuple(Device(d.name, d.units, d.idle_power_w, d.kind) for d in sim.spec.devices)
    inst = Instance(name, devices, tuple(jobs), tuple(kernels), tuple(edges))
    machine = sim.machine
    assignments = []
    for job_name, kernel, unit, dev, level, start, end, _ in sim.executed:
        if job_name not in done:
            continue
        device = sim.spec.devices[dev]
        assignments.append(
            Assignment(
                f"{job_name}/{kernel}",
                device.name,
                unit - machine.dev_units[dev][0],
                device.levels[level],
                round(start),
                round(end),
            )
        )
    schedule = Schedule(name, tuple(assignments), solver=f"runtime:{sim.policy.name}")
    return inst, schedule.replace(objective=evaluate(inst, schedule))
