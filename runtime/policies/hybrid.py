"""``hybrid``: a static plan for the known periodic part, an online policy in its slack."""

from __future__ import annotations

from xpuplan.models import InvalidInput
from xpuplan.runtime.executors import PlanJobs, plan_executor, unit_window
from xpuplan.runtime.jobs import Job, Ready
from xpuplan.runtime.platform_sim import Run
from xpuplan.runtime.policies.base import QueuePolicy
from xpuplan.runtime.policy import BasePolicy, get_policy, register
from xpuplan.runtime.simulator import Simulator


@register("hybrid")
class Hybrid(BasePolicy):
    """The plan's jobs run under a plan executor; every other arrival is served by ``online``
    (a list policy: fcfs, edf, llf, fixed-priority, static-best, rr-backends, llm-background),
    which may start a kernel on a unit only if it ends, at its nominal duration, before that
    unit's next planned interval (and no due plan kernel waits for the unit).

    Parameters
    ----------
    plan
        The plan (its jobs are the periodic part).
    online
        The online policy's name.
    executor
        ``time-triggered`` or ``self-timed``.
    """

    uses_plan = True

    def __init__(
        self, plan: PlanJobs | None = None, online: str = "edf", executor: str = "time-triggered"
    ) -> None:
        if plan is None:
            raise InvalidInput(
                "needs a plan of the periodic part (give --plan PLAN, or plan=)",
                field="plan",
                value=None,
            )
        self.plan = plan
        self.executor = plan_executor(executor, plan)
        policy = get_policy(online)
        if not isinstance(policy, QueuePolicy):
            raise InvalidInput(
                "must be a list policy (fcfs, edf, llf, fixed-priority, static-best, "
                "rr-backends, llm-background)",
                field="policy.online",
                value=online,
            )
        self.online = policy

    def bind(self, sim: Simulator) -> None:
        super().bind(sim)
        self.executor.bind(sim)
        self.online.bind(sim)
        self._intervals = self.executor.planned_intervals()
        sim.unit_gate = self._latest_end

    def _latest_end(self, unit: int) -> float:
        """Latest end for online work started now on ``unit``."""
        if unit in self.executor.pending_units():
            return self.sim.now
        return self.sim.now + unit_window(self._intervals[unit], self.sim.now, self.plan.repeat_us)

    def on_arrival(self, job: Job) -> None:
        (self.executor if job.tag is not None else self.online).on_arrival(job)

    def on_ready(self, item: Ready) -> None:
        (self.executor if item.job.tag is not None else self.online).on_ready(item)

    def on_end(self, run: Run) -> None:
        (self.executor if run.job.tag is not None else self.online).on_end(run)

    def on_job_done(self, job: Job) -> None:
        (self.executor if job.tag is not None else self.online).on_job_done(job)

    def decide(self) -> None:
        self.executor.decide()
        if self.sim.machine.idle_mask:
            self.online.decide()
