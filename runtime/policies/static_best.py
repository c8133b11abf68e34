"""``static-best`` (RTGen-style): each model pinned to its fastest backend, FCFS."""

from __future__ import annotations

from xpuplan.runtime.policies.fcfs import Fcfs
from xpuplan.runtime.policy import register


@register("static-best")
class StaticBest(Fcfs):
    """Every stage of a model runs on the backend where that stage is fastest alone.

    The static deployment an engineer picks from a profile table: no load balancing, so a busy
    best backend makes its models queue while other backends idle.
    """

    def __init__(self, decode_batch: int = 1) -> None:
        super().__init__(mapping="fixed", decode_batch=decode_batch)
