"""``rr-backends`` (RTGen-style): each task's jobs take its backends in turn, FCFS."""

from __future__ import annotations

from xpuplan.runtime.dispatch import DispatchApi
from xpuplan.runtime.jobs import Job, Ready
from xpuplan.runtime.policies.fcfs import Fcfs
from xpuplan.runtime.policy import register


@register("rr-backends")
class RrBackends(Fcfs):
    """Successive jobs of a task go to successive backends (devices that run the whole stage),
    spreading load without looking at it; FCFS on each backend. A kernel the job's backend
    cannot run goes to its fastest idle unit."""

    def __init__(self, decode_batch: int = 1) -> None:
        super().__init__(decode_batch=decode_batch)

    def bind(self, api: DispatchApi) -> None:
        super().bind(api)
        self._turns = [0] * len(api.tasks)
        self._job_turn: dict[int, int] = {}

    def on_arrival(self, job: Job) -> None:
        self._job_turn[job.jid] = self._turns[job.task_idx]
        self._turns[job.task_idx] += 1

    def on_job_done(self, job: Job) -> None:
        self._job_turn.pop(job.jid, None)

    def allowed_mask(self, item: Ready) -> int:
        stage_mask = item.stage_mask or item.dev_mask
        backends = [d for d in range(self.api.machine.num_devices) if stage_mask >> d & 1]
        return 1 << backends[self._job_turn[item.job.jid] % len(backends)]
