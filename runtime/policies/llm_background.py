"""``llm-background`` (RTGen-style): real-time work strictly before the LLM."""

from __future__ import annotations

from typing import Any

from xpuplan.runtime.jobs import Ready
from xpuplan.runtime.policies.base import QueuePolicy, deadline_key
from xpuplan.runtime.policy import register


@register("llm-background")
class LlmBackground(QueuePolicy):
    """Real-time (non-LLM) kernels by earliest deadline; an LLM kernel or decode step starts
    only while no real-time kernel is waiting to start, anywhere. LLM requests run FCFS."""

    def bind(self, api: Any) -> None:
        super().bind(api)
        self._rt_waiting = 0

    def key(self, item: Ready) -> Any:
        return (item.job.is_llm, *deadline_key(item))

    def on_ready(self, item: Ready) -> None:
        super().on_ready(item)
        if not item.job.is_llm:
            self._rt_waiting += 1

    def on_dispatch(self, item: Ready) -> None:
        if not item.job.is_llm:
            self._rt_waiting -= 1

    def blocked(self, item: Ready) -> bool:
        return item.job.is_llm and self._rt_waiting > 0
