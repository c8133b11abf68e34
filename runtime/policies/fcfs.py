"""``fcfs``: first come, first served over jobs, greedy or with a fixed mapping."""

from __future__ import annotations

from typing import Any

from xpuplan.models import InvalidInput
from xpuplan.runtime.dispatch import DispatchApi
from xpuplan.runtime.jobs import Ready
from xpuplan.runtime.policies.base import QueuePolicy, fastest_device
from xpuplan.runtime.policy import register

MAPPINGS = ("greedy", "fixed")


@register("fcfs")
class Fcfs(QueuePolicy):
    """Ready kernels in order of their job's arrival.

    Parameters
    ----------
    mapping
        ``"greedy"``: each kernel on the fastest idle unit that runs it. ``"fixed"``: each
        model's stage pinned to the one device where it runs fastest (Twill's baseline, "each
        model on one fixed device"); kernels wait for that device.
    device
        Pin every kernel that has a mode there to this device (overrides ``mapping``).
    decode_batch
        Decode steps of one model batched together (default 1: none).
    """

    def __init__(
        self, mapping: str = "greedy", device: str | None = None, decode_batch: int = 1
    ) -> None:
        super().__init__(decode_batch)
        if mapping not in MAPPINGS:
            raise InvalidInput(
                f"must be one of {', '.join(MAPPINGS)}", field="policy.mapping", value=mapping
            )
        self.mapping = mapping
        self.device = device

    def bind(self, api: DispatchApi) -> None:
        super().bind(api)
        self._pin = -1
        if self.device is not None:
            idx = api.machine.spec.device_idx.get(self.device)
            if idx is None:
                raise InvalidInput(
                    "names no device of the platform", field="policy.device", value=self.device
                )
            self._pin = idx
        # Greedy and unpinned, Fcfs restricts nothing: no need to ask for every ready item.
        if type(self).allowed_mask is Fcfs.allowed_mask and self._pin < 0:
            self._masked = self.mapping == "fixed"

    def key(self, item: Ready) -> Any:
        return (item.job.arrival, item.job.jid)

    def allowed_mask(self, item: Ready) -> int:
        if self._pin >= 0:
            return 1 << self._pin
        return 1 << fastest_device(item) if self.mapping == "fixed" else -1
