"""What a run measured: per-task latencies and deadlines, LLM token timing, power, conservation.

Definitions
-----------
* latency of a job: completion minus arrival; percentiles by linear interpolation
  (:func:`numpy.percentile`), in ms.
* deadline violation rate of a task with deadlines: late jobs over decided jobs, where a job is
  *decided* when it completed, was dropped, or is still in flight past its deadline at the end
  of the run (those last two count as late). Jobs in flight whose deadline is after the end are
  undecided and left out.
* TTFT: first token (end of the prefill) minus arrival. Time between tokens: the gaps between a
  request's successive tokens. Both count as tokens are emitted, so requests still running at
  the end count too. TPS of a completed request: its decode tokens over the decode time,
  :math:`(n - 1) / (t_n - t_1)`; the task's TPS is the mean over its completed requests.
* proactive throughput: completed proactive requests per minute of simulated time.
* J/token: the run's whole energy (idle included) over every token generated in it.
* utilisation of a device: time its units spent executing kernels over units x duration.
* conservation: for every task, arrived = completed + failed + dropped + in flight, where in
  flight is counted by walking the jobs still alive; drops happen only through the simulator's
  counted admission control, failures only in a real run (a kernel that raised; a failed job
  counts as late). A mismatch is a bug and raises :class:`ConservationError`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from xpuplan.models import Schedule

if TYPE_CHECKING:
    import pandas as pd

    from xpuplan.models.workload import TaskSpec
    from xpuplan.runtime.jobs import Job


# The columns of SimResult.to_frame, in order.
TASK_COLUMNS = (
    "policy",
    "seed",
    "task",
    "class",
    "arrived",
    "completed",
    "dropped",
    "in_flight",
    "late",
    "decided",
    "deadline_violation_rate",
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "ttft_mean_ms",
    "ttft_p90_ms",
    "tbt_mean_ms",
    "tps",
    "tokens",
)


class ConservationError(RuntimeError):
    """Jobs were lost or invented: arrived != completed + dropped + in flight."""


@dataclass(frozen=True)
class Percentiles:
    """p50, p90, p99 and mean of a sample, in ms."""

    p50: float
    p90: float
    p99: float
    mean: float
    count: int

    @classmethod
    def of_us(cls, values_us: Sequence[float]) -> Percentiles | None:
        if not values_us:
            return None
        arr = np.asarray(values_us, dtype=float) / 1000.0
        p50, p90, p99 = np.percentile(arr, [50, 90, 99])
        return cls(float(p50), float(p90), float(p99), float(arr.mean()), len(arr))

    def to_json(self) -> dict[str, float | None]:
        return {
            "p50": _r(self.p50),
            "p90": _r(self.p90),
            "p99": _r(self.p99),
            "mean": _r(self.mean),
        }


class Recorder:
    """Counters and samples a simulator fills in as jobs arrive and finish."""

    def __init__(self, tasks: Sequence[TaskSpec]) -> None:
        num = len(tasks)
        self.tasks = tuple(tasks)
        self.arrived = [0] * num
        self.admitted = [0] * num
        self.completed = [0] * num
        self.dropped = [0] * num
        # Jobs whose kernel failed (the real executor; a simulation never fails a job).
        self.failed = [0] * num
        self.late = [0] * num
        self.latency_us: list[list[float]] = [[] for _ in range(num)]
        self.ttft_us: list[list[float]] = [[] for _ in range(num)]
        self.tbt_us: list[list[float]] = [[] for _ in range(num)]
        self.tps: list[list[float]] = [[] for _ in range(num)]
        self.tokens = [0] * num
        self.in_flight: list[int] | None = None

    def arrive(self, t_idx: int) -> None:
        self.arrived[t_idx] += 1

    def admit(self, t_idx: int) -> None:
        self.admitted[t_idx] += 1

    def drop(self, t_idx: int) -> None:
        """An arrival refused by admission control."""
        self.dropped[t_idx] += 1

    def fail(self, job: Job) -> None:
        """``job`` ended because one of its kernels failed (it counts as late)."""
        self.failed[job.task_idx] += 1

    def in_flight_count(self, t_idx: int) -> int:
        return self.admitted[t_idx] - self.completed[t_idx] - self.failed[t_idx]

    def job_done(self, job: Job, now: float) -> None:
        t_idx = job.task_idx
        self.completed[t_idx] += 1
        self.latency_us[t_idx].append(now - job.arrival)
        if job.deadline is not None and now > job.deadline + 1e-6:
            self.late[t_idx] += 1
        times = job._token_times
        if len(times) > 1 and times[-1] > times[0]:
            self.tps[t_idx].append((len(times) - 1) / ((times[-1] - times[0]) * 1e-6))

    def token(self, job: Job, now: float) -> None:
        """``job`` emitted a token at ``now`` (TTFT and time between tokens count at once, so
        requests still running at the end of a run count too)."""
        t_idx = job.task_idx
        times = job._token_times
        if times:
            self.tbt_us[t_idx].append(now - times[-1])
        else:
            self.ttft_us[t_idx].append(now - job.arrival)
        times.append(now)
        self.tokens[t_idx] += 1

    def check_conservation(self, live: Iterable[Job]) -> list[int]:
        """In-flight jobs per task, after checking that no job was lost (see module doc)."""
        in_flight = [0] * len(self.tasks)
        for job in live:
            in_flight[job.task_idx] += 1
        for t_idx, task in enumerate(self.tasks):
            arrived = self.arrived[t_idx]
            done = self.completed[t_idx] + self.failed[t_idx]
            accounted = done + self.dropped[t_idx] + in_flight[t_idx]
            if arrived != accounted or self.admitted[t_idx] != done + in_flight[t_idx]:
                raise ConservationError(
                    f"task {task.name!r}: arrived {arrived} != completed {self.completed[t_idx]} + "
                    f"failed {self.failed[t_idx]} + dropped {self.dropped[t_idx]} + in flight "
                    f"{in_flight[t_idx]}"
                )
        self.in_flight = in_flight
        return in_flight


@dataclass(frozen=True)
class TaskMetrics:
    """One task's figures (times in ms)."""

    name: str
    cls: str
    arrived: int
    completed: int
    dropped: int
    in_flight: int
    deadline_violation_rate: float | None
    latency_ms: Percentiles | None
    ttft_ms: Percentiles | None = None
    tbt_ms: Percentiles | None = None
    tps: float | None = None
    tokens: int = 0
    late: int = 0
    decided: int = 0
    llm: bool = False

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "class": self.cls,
            "arrived": self.arrived,
            "completed": self.completed,
            "dropped": self.dropped,
            "in_flight": self.in_flight,
            "deadline_violation_rate": _r(self.deadline_violation_rate),
            "late": self.late,
            "decided": self.decided,
            "latency_ms": None if self.latency_ms is None else self.latency_ms.to_json(),
        }
        if self.llm:
            doc["ttft_ms"] = None if self.ttft_ms is None else self.ttft_ms.to_json()
            doc["tbt_ms"] = None if self.tbt_ms is None else self.tbt_ms.to_json()
            doc["tps"] = _r(self.tps)
            doc["tokens"] = self.tokens
        return doc


@dataclass(frozen=True)
class SimResult:
    """Everything one simulation measured; :meth:`to_json` is the ``xpuplan simulate`` document."""

    policy: str
    platform: str
    scenario: str
    duration_s: float
    seed: int
    noise_cv: float
    tasks: dict[str, TaskMetrics]
    reactive: dict[str, float | int | None] | None
    proactive: dict[str, float | int | None] | None
    energy_j: float
    avg_power_w: float
    peak_power_w: float
    power_budget_w: float | None
    time_over_budget_s: float
    longest_over_budget_s: float
    joules_per_token: float | None
    utilisation: dict[str, float]
    preemptions: int
    migrations: int
    freezes: int
    conservation: dict[str, int]
    num_events: int
    wall_s: float
    executed: Schedule | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "platform": self.platform,
            "scenario": self.scenario,
            "duration_s": self.duration_s,
            "seed": self.seed,
            "noise_cv": self.noise_cv,
            "tasks": {name: tm.to_json() for name, tm in self.tasks.items()},
            "reactive": self.reactive,
            "proactive": self.proactive,
            "energy_j": _r(self.energy_j),
            "avg_power_w": _r(self.avg_power_w),
            "peak_power_w": _r(self.peak_power_w),
            "power_budget_w": self.power_budget_w,
            "time_over_budget_s": _r(self.time_over_budget_s),
            "longest_over_budget_s": _r(self.longest_over_budget_s),
            "joules_per_token": _r(self.joules_per_token),
            "utilisation": {dev: _r(u) for dev, u in self.utilisation.items()},
            "preemptions": self.preemptions,
            "migrations": self.migrations,
            "freezes": self.freezes,
            "conservation": self.conservation,
            "num_events": self.num_events,
            "wall_s": _r(self.wall_s),
        }

    def to_frame(self) -> pd.DataFrame:
        """The per-task figures as a DataFrame, one row per task (times in ms).

        Columns: ``policy`` and ``seed`` (so that frames of several runs concatenate), ``task``,
        ``class``, ``arrived``, ``completed``, ``dropped``, ``in_flight``, ``late``, ``decided``,
        ``deadline_violation_rate`` (``late / decided``; NA for a task without deadline), the
        latency's ``latency_mean_ms``, ``latency_p50_ms``, ``latency_p90_ms``,
        ``latency_p99_ms``, and for LLM tasks ``ttft_mean_ms``, ``ttft_p90_ms``,
        ``tbt_mean_ms``, ``tps`` and ``tokens`` (NA elsewhere). Values are unrounded.

        Examples
        --------
        >>> from xpuplan.runtime.api import simulate
        >>> result = simulate("ryzen-ai-hx370", "video-call", "edf", duration_s=0.5, seed=0)
        >>> frame = result.to_frame()
        >>> list(frame["task"]) == list(result.tasks)
        True
        >>> bool((frame["arrived"] == frame["completed"] + frame["dropped"]
        ...       + frame["in_flight"]).all())
        True
        """
        # Deferred: pandas costs about a second to import and the simulator does not need it.
        import pandas as pd

        rows = []
        for name, tm in self.tasks.items():
            lat, ttft, tbt = tm.latency_ms, tm.ttft_ms, tm.tbt_ms
            rows.append(
                {
                    "policy": self.policy,
                    "seed": self.seed,
                    "task": name,
                    "class": tm.cls,
                    "arrived": tm.arrived,
                    "completed": tm.completed,
                    "dropped": tm.dropped,
                    "in_flight": tm.in_flight,
                    "late": tm.late,
                    "decided": tm.decided,
                    "deadline_violation_rate": tm.deadline_violation_rate,
                    "latency_mean_ms": None if lat is None else lat.mean,
                    "latency_p50_ms": None if lat is None else lat.p50,
                    "latency_p90_ms": None if lat is None else lat.p90,
                    "latency_p99_ms": None if lat is None else lat.p99,
                    "ttft_mean_ms": None if ttft is None else ttft.mean,
                    "ttft_p90_ms": None if ttft is None else ttft.p90,
                    "tbt_mean_ms": None if tbt is None else tbt.mean,
                    "tps": tm.tps,
                    "tokens": tm.tokens if tm.llm else None,
                }
            )
        frame = pd.DataFrame(rows, columns=list(TASK_COLUMNS))
        for column in TASK_COLUMNS[10:-1]:
            frame[column] = frame[column].astype("float64")
        frame["tokens"] = frame["tokens"].astype("Int64")
        return frame


def task_metrics(
    recorder: Recorder, live: Iterable[Job], horizon_us: float
) -> dict[str, TaskMetrics]:
    """Per-task figures at the end of a run (after :meth:`Recorder.check_conservation`)."""
    in_flight = recorder.in_flight or [0] * len(recorder.tasks)
    overdue = [0] * len(recorder.tasks)
    for job in live:
        if job.deadline is not None and job.deadline < horizon_us:
            overdue[job.task_idx] += 1
    out = {}
    for t_idx, task in enumerate(recorder.tasks):
        has_deadline = task.deadline_us is not None
        lost = recorder.dropped[t_idx] + recorder.failed[t_idx]
        decided = recorder.completed[t_idx] + lost + overdue[t_idx]
        late = recorder.late[t_idx] + lost + overdue[t_idx]
        rate = late / decided if has_deadline and decided else None
        tps = recorder.tps[t_idx]
        out[task.name] = TaskMetrics(
            name=task.name,
            cls=task.cls,
            arrived=recorder.arrived[t_idx],
            completed=recorder.completed[t_idx],
            dropped=recorder.dropped[t_idx],
            in_flight=in_flight[t_idx],
            deadline_violation_rate=rate,
            latency_ms=Percentiles.of_us(recorder.latency_us[t_idx]),
            ttft_ms=Percentiles.of_us(recorder.ttft_us[t_idx]) if task.is_llm else None,
            tbt_ms=Percentiles.of_us(recorder.tbt_us[t_idx]) if task.is_llm else None,
            tps=float(np.mean(tps)) if tps else None,
            tokens=recorder.tokens[t_idx],
            late=late if has_deadline else 0,
            decided=decided if has_deadline else 0,
            llm=task.is_llm,
        )
    return out


def class_summary(
    recorder: Recorder, horizon_us: float
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The ``reactive`` and ``proactive`` blocks (None when the class is absent)."""
    reactive_idcs = [t for t, task in enumerate(recorder.tasks) if task.cls == "reactive"]
    proactive_idcs = [t for t, task in enumerate(recorder.tasks) if task.cls == "proactive"]
    reactive = None
    if reactive_idcs:
        pooled = [lat for t in reactive_idcs for lat in recorder.latency_us[t]]
        stats = Percentiles.of_us(pooled)
        reactive = {
            "mean_latency_ms": None if stats is None else _r(stats.mean),
            "p90_latency_ms": None if stats is None else _r(stats.p90),
            "completed": sum(recorder.completed[t] for t in reactive_idcs),
            "arrived": sum(recorder.arrived[t] for t in reactive_idcs),
        }
    proactive = None
    if proactive_idcs:
        done = sum(recorder.completed[t] for t in proactive_idcs)
        pooled = [lat for t in proactive_idcs for lat in recorder.latency_us[t]]
        stats = Percentiles.of_us(pooled)
        proactive = {
            "throughput_rpm": _r(done / (horizon_us / 60e6)),
            "completed": done,
            "arrived": sum(recorder.arrived[t] for t in proactive_idcs),
            "mean_latency_ms": None if stats is None else _r(stats.mean),
        }
    return reactive, proactive


def _r(value: float | None, digits: int = 4) -> float | None:
    """Round for the JSON document (None and non-finite values become null)."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)
