"""``hybrid``: a static plan for the known periodic part, an online policy in its slack.

The plan's jobs run under a plan executor (a registered policy with ``plan_only``); every other
arrival goes to a list policy bound to a :meth:`restricted
<xpuplan.runtime.dispatch.DispatchApi.restricted>` copy of the dispatch API, whose placement only
offers a unit when the kernel, at its nominal duration, ends before that unit's next planned
interval, and no unit a due plan kernel waits for. This gate is the plan's, so it lives here.

Online work therefore only ever runs in the plan's gaps. A kernel longer than every gap of every
unit that can run it never starts: with a plan that keeps the units busy, online work longer than
the gaps (a long LLM prefill chunk, for instance) starves, by design -- the plan's deadlines come
first (see docs/policies.md).
"""

from __future__ import annotations

from xpuplan.models import InvalidInput
from xpuplan.runtime.dispatch import DispatchApi, RunView
from xpuplan.runtime.jobs import Job, Ready
from xpuplan.runtime.plan_jobs import PlanJobs
from xpuplan.runtime.policies.base import QueuePolicy
from xpuplan.runtime.policies.plan_executors import PlanExecutor, unit_window
from xpuplan.runtime.policy import BasePolicy, get_policy, policy_names, policy_plan_only, register


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
        A plan executor's name (``time-triggered`` or ``self-timed``).
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
        if executor not in policy_names() or not policy_plan_only(executor):
            executors = [name for name in policy_names() if policy_plan_only(name)]
            raise InvalidInput(
                f"must be a plan executor ({', '.join(executors)})",
                field="policy.executor",
                value=executor,
            )
        # No switching ahead: the online policy uses the plan's gaps, at levels of its own.
        runner = get_policy(executor, plan=plan, switch_ahead=False)
        assert isinstance(runner, PlanExecutor)
        self.executor = runner
        policy = get_policy(online)
        if not isinstance(policy, QueuePolicy):
            raise InvalidInput(
                "must be a list policy (fcfs, edf, llf, fixed-priority, static-best, "
                "rr-backends, llm-background)",
                field="policy.online",
                value=online,
            )
        self.online = policy

    def bind(self, api: DispatchApi) -> None:
        super().bind(api)
        self.executor.bind(api)
        self.online.bind(api.restricted(self._latest_end))
        self._intervals = self.executor.planned_intervals()

    def _latest_end(self, unit: int) -> float:
        """Latest end for online work started now on ``unit``."""
        now = self.api.now
        if unit in self.executor.pending_units():
            return now
        return now + unit_window(self._intervals[unit], now, self.plan.repeat_us)

    def on_arrival(self, job: Job) -> None:
        (self.executor if job.tag is not None else self.online).on_arrival(job)

    def on_ready(self, item: Ready) -> None:
        (self.executor if item.job.tag is not None else self.online).on_ready(item)

    def on_end(self, run: RunView) -> None:
        (self.executor if run.job.tag is not None else self.online).on_end(run)

    def on_job_done(self, job: Job) -> None:
        (self.executor if job.tag is not None else self.online).on_job_done(job)

    def decide(self) -> None:
        self.executor.decide()
        if self.api.machine.idle_mask:
            self.online.decide()
