"""``edf``: earliest deadline first (RTGen-style family and generic)."""

from __future__ import annotations

from typing import Any

from xpuplan.runtime.jobs import Ready
from xpuplan.runtime.policies.base import QueuePolicy, deadline_key
from xpuplan.runtime.policy import register


@register("edf")
class Edf(QueuePolicy):
    """Ready kernels by their job's absolute deadline (jobs without one last, by arrival),
    each on the fastest idle unit."""

    def key(self, item: Ready) -> Any:
        return deadline_key(item)
