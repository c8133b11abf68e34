"""``llf``: least laxity first."""

from __future__ import annotations

import math
from typing import Any

from xpuplan.runtime.jobs import Ready
from xpuplan.runtime.policies.base import QueuePolicy
from xpuplan.runtime.policy import register


@register("llf")
class Llf(QueuePolicy):
    """Ready kernels by laxity :math:`d_j - t - W_j`, with :math:`W_j` the least remaining work
    of the job (fastest modes).

    At one instant the order by laxity is the order by :math:`d_j - W_j` (``t`` is common), so
    the key is computed when the kernel becomes ready; a job's :math:`W_j` only shrinks as its
    own kernels finish, and a chain has one ready kernel at a time, so the key is exact for
    chains. Jobs without a deadline come last, by arrival.
    """

    def key(self, item: Ready) -> Any:
        job = item.job
        slack = math.inf if job.deadline is None else job.deadline - job.remaining_us
        return (slack, job.arrival, job.jid)
