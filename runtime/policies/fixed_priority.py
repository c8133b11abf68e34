"""``fixed-priority``: the task's priority first, then arrival."""

from __future__ import annotations

from typing import Any

from xpuplan.runtime.jobs import Ready
from xpuplan.runtime.policies.base import QueuePolicy
from xpuplan.runtime.policy import register


@register("fixed-priority")
class FixedPriority(QueuePolicy):
    """Ready kernels by their task's priority (higher first), ties by arrival (non-preemptive
    within a kernel, preemptive at kernel boundaries)."""

    def key(self, item: Ready) -> Any:
        return (-item.job.priority, item.job.arrival, item.job.jid)
