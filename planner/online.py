"""Online policies on a clairvoyant Instance: the same jobs the solvers plan, run by a policy.

The online policies of :mod:`xpuplan.runtime.policies` never see the future, but to measure how far
they are from the optimum they must run on *the same problem* the solvers solve. This module runs a
policy on the jobs of an :class:`xpuplan.models.Instance` (typically built with
``include_unknown``, so it holds every sampled arrival): each job is injected at its
release with the instance's own kernels, modes and edges
(:meth:`xpuplan.models.workload.JobTemplate.from_instance_job`), so the executed run is a
:class:`xpuplan.models.Schedule` of that instance, which :func:`xpuplan.models.check_schedule`
judges and :func:`xpuplan.models.evaluate` scores with the instance's objective.

The run makes the Instance's assumptions and nothing else:

* no latency noise, no DVFS switching delay (an Instance has neither);
* no bandwidth contention slowdown: an Instance models memory bandwidth, if at all, as a hard
  ``mem_bw_gbps`` resource, which a policy may then overrun (a violation in its row);
* no reactive power governor: the Instance's power cap is a hard rule that the policy must keep by
  itself (``twill`` does; the others may break it, and their rows list the violations);
* decode batching across requests cannot happen: the Instance's decode steps are grouped kernels of
  each request's own job, not batched steps (:data:`BATCHING_POLICIES` note it in their row);
* ``twill``'s freezing (suspending a running kernel) would break the rule that a kernel runs
  uninterrupted, so it runs without it: a kernel that fits the cap at no level waits instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xpuplan.models import Instance, Schedule, check_schedule
from xpuplan.models.checker import Violation
from xpuplan.models.workload import DagStage, JobTemplate, TaskSpec
from xpuplan.runtime.jobs import InjectedJob
from xpuplan.runtime.plan_jobs import executed_schedule
from xpuplan.runtime.platform_sim import MachineSpec
from xpuplan.runtime.policies import get_policy, policy_info, policy_names, policy_uses_plan
from xpuplan.runtime.simulator import SimConfig, Simulator

#: Policies whose decode batching the Instance cannot express (their rows say it was off).
BATCHING_POLICIES = frozenset({"agent-xpu"})


@dataclass(frozen=True)
class OnlineRun:
    """A policy's run on an Instance.

    Attributes
    ----------
    schedule
        The executed run as a schedule of the instance (``status`` ``feasible`` and its
        ``objective`` set when every kernel ran; ``unknown`` when some did not finish).
    violations
        :func:`xpuplan.models.check_schedule` of the schedule (empty: a valid schedule).
    notes
        What the run turned off because the Instance cannot express it.
    seconds
        Wall time of the simulation.
    """

    schedule: Schedule
    violations: tuple[Violation, ...]
    notes: tuple[str, ...]
    seconds: float

    @property
    def valid(self) -> bool:
        return not self.violations


def online_policy_names() -> list[str]:
    """The registered policies that need no plan (the ones :func:`run_on_instance` can run)."""
    return [name for name in policy_names() if not policy_uses_plan(name)]


def run_on_instance(
    instance: Instance, policy: str, options: Mapping[str, Any] | None = None
) -> OnlineRun:
    """Run the online policy ``policy`` on the jobs of ``instance`` (see the module docstring).

    Parameters
    ----------
    instance
        The problem: its jobs arrive at their releases, one task per job-name prefix (the part
        before ``@``), with the class and priority the planner recorded on the kernels.
    policy
        A registered online policy (not a plan executor).
    options
        The policy's options.

    Returns
    -------
    OnlineRun
        The executed schedule, its violations of the instance's rules and the notes.

    Raises
    ------
    InvalidInput
        When ``policy`` is unknown or executes a plan.
    """
    import time

    from xpuplan.models import InvalidInput

    if policy not in online_policy_names():
        raise InvalidInput(
            f"is not an online policy (known: {', '.join(online_policy_names())})",
            field="policy",
            value=policy,
        )
    policy_info(policy)
    notes: list[str] = []
    if policy == "twill":
        pol: Any = get_policy(policy, **{**dict(options or {}), "freeze": False})
        notes.append("freezing off (a frozen kernel would run interrupted)")
    else:
        pol = get_policy(policy, **dict(options or {}))
    if policy in BATCHING_POLICIES or int((options or {}).get("decode_batch", 1)) > 1:
        notes.append("decode batching off (the Instance has no batched decode)")
    kernel2job = instance.kernel2job
    if any(kernel2job[src] != kernel2job[dst] for src, dst in instance.edge_endpoints):
        notes.append("edges between jobs not enforced (an online policy sees jobs one by one)")
    tasks, injected = _tasks_and_jobs(instance)
    # Every job can finish by then: all releases passed, then every kernel in its slowest mode
    # one after another.
    serial = sum(max(m.duration for m in k.modes) for k in instance.kernels)
    serial += sum(e.cross_device_delay + e.resume_cost for e in instance.edges)
    last = max((j.release for j in instance.jobs), default=0)
    horizon = float(last + serial + 1)
    config = SimConfig(
        dvfs_transition_us=0.0, contention=False, governor=False, noise_cv=0.0, record=True
    )
    sim = Simulator(
        MachineSpec.from_instance(instance),
        tasks,
        pol,
        [[] for _ in tasks],
        horizon,
        config=config,
        injected=injected,
    )
    started = time.perf_counter()
    sim.run()
    seconds = time.perf_counter() - started
    schedule = executed_schedule(sim, instance, f"policy:{policy}")
    if schedule.objective is None:
        schedule = schedule.replace(status="unknown", message="some kernels never ran")
    violations = tuple(check_schedule(instance, schedule))
    return OnlineRun(schedule, violations, tuple(notes), seconds)


def _tasks_and_jobs(instance: Instance) -> tuple[list[TaskSpec], list[InjectedJob]]:
    """One task per job-name prefix; every job injected at its release with its own kernels."""
    names: list[str] = []
    first: dict[str, int] = {}
    for j_idx, job in enumerate(instance.jobs):
        task = job.name.split("@", 1)[0]
        if task not in first:
            first[task] = j_idx
            names.append(task)
    tasks = []
    for name in names:
        job = instance.jobs[first[name]]
        attrs = _first_kernel_attrs(instance, first[name])
        cls = str(attrs.get("class", "periodic"))
        relative = None if job.deadline is None else float(job.deadline - job.release)
        template = JobTemplate.from_instance_job(instance, job.name)
        tasks.append(
            TaskSpec(
                name,
                (DagStage(template),),
                cls=cls if cls in ("periodic", "reactive", "proactive") else "periodic",
                priority=max(1, round(job.weight)) if math.isfinite(job.weight) else 1,
                deadline_us=relative,
            )
        )
    task_idx = {name: t for t, name in enumerate(names)}
    injected = [
        InjectedJob(
            float(job.release),
            task_idx[job.name.split("@", 1)[0]],
            job.name,
            JobTemplate.from_instance_job(instance, job.name),
            None if job.deadline is None else float(job.deadline),
        )
        for job in instance.jobs
    ]
    return tasks, injected


def _first_kernel_attrs(instance: Instance, j_idx: int) -> Mapping[str, Any]:
    kernels = instance.job2kernels[j_idx]
    return instance.kernels[kernels[0]].attrs if kernels else {}
