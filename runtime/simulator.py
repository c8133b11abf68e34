"""The simulator: jobs flowing through their stages on a simulated platform, driven by a policy.

Events (lower priority first at the same instant): a kernel's end, a delayed kernel start, a job
arrival, a dispatch decision, and a governor sample. Every state change that could let the policy
start something requests one decision at the current instant, which runs after all the ends and
arrivals of that instant, so the policy sees them all; the governor samples the power once the
instant's decisions are made (never in the gap between a kernel's end and its successor's start).

The simulator is the event core and the world: it owns the engine (:mod:`xpuplan.runtime.engine`),
the machine (:mod:`xpuplan.runtime.platform_sim`), the jobs' lifecycle (arrival, admission, stages,
readiness, completion), the preemption, migration and freeze counts, and the recording of runs
(:class:`xpuplan.runtime.metrics.Recorder`, :attr:`Simulator.executed`). A policy sees none of it:
it is bound to a :class:`xpuplan.runtime.dispatch.DispatchApi` (:attr:`Simulator.api`), whose calls
land in :meth:`Simulator.start`, :meth:`~Simulator.freeze`, :meth:`~Simulator.unfreeze`,
:meth:`~Simulator.retarget` and :meth:`~Simulator.wake_at`, and reads the machine through its
read-only :class:`xpuplan.runtime.dispatch.MachineView`. Ready work reaches the policy through its
hooks (:class:`xpuplan.runtime.policy.Policy`). Everything a template needs per kernel is
precomputed once per run in a :class:`xpuplan.runtime.jobs.BoundTemplate`, so the event loop never
walks a graph.

Timing rules are the Instance's (:mod:`xpuplan.models.instance`): a kernel on device ``d`` starts at
or after each predecessor's end plus the edge's cross-device delay when the predecessor ran on
another device; an edge is contiguous when the kernel starts on its predecessor's unit exactly at
its end, and a kernel pays the largest ``resume_cost`` of its non-contiguous in-edges on top of
its duration. So with zero noise, no contention and no DVFS transition a run reproduces the
durations a schedule for the same instance would have.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple

from xpuplan.models import InvalidInput
from xpuplan.models.workload import DagStage, DecodeTable, JobTemplate, TaskSpec
from xpuplan.runtime.dispatch import DispatchApi, RunView
from xpuplan.runtime.engine import Engine
from xpuplan.runtime.jobs import (
    DECODE,
    BoundDecode,
    BoundTemplate,
    InjectedJob,
    Job,
    ModeRec,
    Ready,
)
from xpuplan.runtime.metrics import Recorder
from xpuplan.runtime.platform_sim import RUNNING, WAITING, MachineSpec, PlatformSim, Run

if TYPE_CHECKING:
    from xpuplan.runtime.policy import Policy

PRIO_END, PRIO_START, PRIO_ARRIVAL, PRIO_DECIDE, PRIO_GOVERNOR = 0, 1, 2, 3, 4
_OUTSIDE = "start, freeze and unfreeze are for a policy's hooks during a run"


@dataclass(frozen=True)
class SimConfig:
    """Settings of one simulation (see :mod:`xpuplan.runtime.platform_sim` for the machine model).

    Parameters
    ----------
    noise_cv
        Coefficient of variation of the lognormal latency noise (0: exact).
    dvfs_transition_us
        Time a unit needs to switch DVFS level before a kernel at another level starts.
    contention
        Model memory-bandwidth contention.
    governor
        Enforce the power budget with the reactive governor.
    governor_period_us
        The governor's sampling period.
    max_in_flight
        Admission control: a task with this many unfinished jobs drops further arrivals (each
        drop counted). None admits everything.
    record
        Keep every executed kernel (needed to turn a run into a :class:`xpuplan.models.Schedule`).
    """

    noise_cv: float = 0.0
    dvfs_transition_us: float = 100.0
    contention: bool = True
    governor: bool = True
    governor_period_us: float = 10_000.0
    max_in_flight: int | None = None
    record: bool = False

    def __post_init__(self) -> None:
        for name in ("noise_cv", "dvfs_transition_us"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise InvalidInput("must be a finite number >= 0", field=name, value=value)
        if not self.governor_period_us > 0:
            raise InvalidInput(
                "must be > 0", field="governor_period_us", value=self.governor_period_us
            )
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise InvalidInput("must be >= 1", field="max_in_flight", value=self.max_in_flight)


class ExecutedKernel(NamedTuple):
    """One kernel (or one job's decode step) as executed (with ``SimConfig(record=True)``)."""

    job: str
    kernel: str
    unit: int
    dev: int
    level: int
    start: float
    end: float
    #: The run's dynamic power when it ended (W), a batched decode step's shared by its jobs.
    power_w: float


def _inherits(policy: Any, hook: str) -> bool:
    """True when ``policy`` keeps the no-op ``hook`` of :class:`BasePolicy` (no need to call it)."""
    from_class = getattr(type(policy), hook, None)
    return (
        from_class is not None and getattr(from_class, "__qualname__", "") == f"BasePolicy.{hook}"
    )


class Simulator:
    """One simulation run: build it, then :meth:`run` it (to its horizon, at once or in steps).

    Parameters
    ----------
    spec
        The machine.
    tasks
        The tasks (their arrivals are given separately).
    policy
        The dispatch policy (bound to this simulator).
    arrivals
        Arrival times in us per task, each list sorted.
    horizon_us
        The simulated time; the run stops there with the jobs still in flight counted.
    seed
        Seed of the run's random generator (latency noise).
    injected
        Jobs that arrive outside the tasks' arrival processes (a plan's jobs).
    handoff_us
        Delay between two stages of a job that run on different devices (prefill to decode).
    """

    #: The machine model it runs on (the real executor substitutes a subclass whose kernels run
    #: on ONNX Runtime: :mod:`xpuplan.runtime.ort_exec`).
    machine_type: type[PlatformSim] = PlatformSim

    def __init__(
        self,
        spec: MachineSpec,
        tasks: Sequence[TaskSpec],
        policy: Policy,
        arrivals: Sequence[Sequence[int | float]],
        horizon_us: float,
        *,
        config: SimConfig = SimConfig(),
        seed: int = 0,
        injected: Sequence[InjectedJob] = (),
        handoff_us: float = 0.0,
    ) -> None:
        if len(arrivals) != len(tasks):
            raise InvalidInput(
                "must give one arrival list per task", field="arrivals", value=len(arrivals)
            )
        self.engine = Engine(seed)
        self.tasks = tuple(tasks)
        self.config = config
        self.horizon_us = float(horizon_us)
        self.handoff_us = float(handoff_us)
        if not config.contention:
            spec = replace(spec, contention_bw_gbps=None)
        self.spec = spec
        self.machine = self.machine_type(
            spec,
            self.engine.rng,
            self._on_end,
            noise_cv=config.noise_cv,
            dvfs_transition_us=config.dvfs_transition_us,
            end_priority=PRIO_END,
        )
        self.recorder = Recorder(self.tasks)
        self.jobs: dict[int, Job] = {}
        self.preemptions = 0
        self.migrations = 0
        self.freezes = 0
        # With config.record: every executed kernel and every completed job.
        self.executed: list[ExecutedKernel] = []
        self.finished_jobs: list[Job] = []
        self._decode_waiting: dict[int, list[Ready]] = {}
        self._unit_last: list[Job | None] = [None] * self.machine.num_units
        self._bound: dict[int, BoundTemplate] = {}
        self._bound_decode: dict[int, BoundDecode] = {}
        self._streams: list[tuple[int, list[float], list[InjectedJob | None]]] = []
        for t_idx, times in enumerate(arrivals):
            if times:
                self._streams.append((t_idx, [float(t) for t in times], []))
        if injected:
            ordered = sorted(injected, key=lambda j: (j.time, j.name))
            self._streams.append((-1, [j.time for j in ordered], list(ordered)))
        self._stream_pos = [0] * len(self._streams)
        self._num_jobs = 0
        self._seq = 0
        self._decide_wanted = False
        self._decide_scheduled = False
        self._governor_pending = False
        self._governed = config.governor and spec.power_budget_w is not None
        self._budget_limit = math.inf if spec.power_budget_w is None else spec.power_budget_w + 1e-9
        self._out: list[Any] | None = None
        self._started = False
        self._ran = False
        self.policy = policy
        #: What the policy is bound to: the dispatch API and the read-only machine view.
        self.api = DispatchApi(self, self.machine)
        policy.bind(self.api)
        # Hot-path shortcuts: the policy's hooks, and whether runs are recorded.
        self._on_ready = policy.on_ready
        self._decide = policy.decide
        self._on_end_hook = None if _inherits(policy, "on_end") else policy.on_end
        self._record_runs = config.record
        self._noisy = config.noise_cv > 0

    # ------------------------------------------------------------------ what the dispatch API calls
    @property
    def now(self) -> float:
        """The simulated time, in us."""
        return self.engine.now

    def bind_template(self, template: JobTemplate) -> BoundTemplate:
        """The run's bound copy of ``template`` (made once per template)."""
        bound = self._bound.get(id(template))
        if bound is None or bound.template is not template:
            bound = self._bound[id(template)] = BoundTemplate(template, self.spec)
        return bound

    def bind_decode(self, table: DecodeTable) -> BoundDecode:
        """The run's bound copy of a decode table (made once per table)."""
        bound = self._bound_decode.get(id(table))
        if bound is None or bound.table is not table:
            bound = self._bound_decode[id(table)] = BoundDecode(table, self.spec)
        return bound

    def data_ready(self, item: Ready, dev: int) -> float:
        """When ``item``'s inputs are available on device ``dev`` (cross-device delays included)."""
        job = item.job
        t = item.t
        if item.k != DECODE and job._bt is not None and job._bt.in_edges[item.k]:
            k_end, k_dev = job._k_end, job._k_dev
            for src, delay, _ in job._bt.in_edges[item.k]:
                end = k_end[src] + (delay if k_dev[src] != dev else 0.0)
                if end > t:
                    t = end
        elif job._ext_dev >= 0 and job._ext_dev != dev:
            t = max(t, job._ext_end + self.handoff_us)
        return t

    def decode_items(self, item: Ready) -> list[Ready]:
        """Decode steps of ``item``'s model that are ready and not taken, oldest first."""
        if not item.is_decode:
            return []
        table = item.job.stages[item.job._stage].table
        waiting = self._decode_waiting.get(id(table), [])
        waiting[:] = [it for it in waiting if not it.taken]
        return list(waiting)

    def start(
        self,
        item: Ready,
        unit: int,
        mode: ModeRec | None = None,
        *,
        batch: Sequence[Ready] = (),
        not_before: float | None = None,
    ) -> None:
        """Dispatch ``item`` to ``unit`` in ``mode`` (default: the fastest mode on that device).

        The unit is held from now; the kernel starts when its inputs are on the device, the unit
        has switched DVFS level, and not before ``not_before``. ``batch`` adds other ready decode
        steps of the same model to a decode step (one step for all of them).

        Raises
        ------
        RuntimeError
            When the policy breaks a rule: the item is taken, the unit busy, the mode on another
            device, the job frozen, or a batch mixes models or holds non-decode work.
        """
        machine = self.machine
        job = item.job
        if item.taken or job._frozen or machine.unit_run[unit] is not None:
            raise RuntimeError(self._refusal(item, unit))
        now = self.engine.now
        dev = machine.unit_dev[unit]
        items = None
        modes = item.modes
        if batch and (len(batch) > 1 or batch[0] is not item):
            items, modes = self._batched(item, batch)
            mode = self._mode_for(item, modes, dev, mode, unit)
        # mode[1], mode[2]: its device and level (by index on this hot path, which is faster).
        elif mode is None or mode[1] != dev or mode[2] > machine.cap[dev]:
            mode = self._mode_for(item, modes, dev, mode, unit)
        dur, _, level, power, bw, _ = mode

        t_start = item.t if item.t > now else now
        k = item.k
        bt = job._bt
        resume_edges: tuple[tuple[int, float], ...] = ()
        if k >= 0 and bt.in_edges[k]:  # type: ignore[union-attr]
            k_end, k_dev = job._k_end, job._k_dev
            for src, delay, _ in bt.in_edges[k]:  # type: ignore[union-attr]
                end = k_end[src] + delay if k_dev[src] != dev else k_end[src]
                if end > t_start:
                    t_start = end
            resume_edges = bt.resume_edges[k]  # type: ignore[union-attr]
        elif job._ext_dev >= 0 and job._ext_dev != dev and job._ext_end + self.handoff_us > t_start:
            t_start = job._ext_end + self.handoff_us
        if items is not None:
            for other in items[1:]:
                t_start = max(t_start, self.data_ready(other, dev))
        if not_before is not None and not_before > t_start:
            t_start = not_before
        if machine.unit_level[unit] != level:
            t_start = max(t_start, now + machine.dvfs_transition_us)
            machine.unit_level[unit] = level
        elif machine.level_ready[unit] > t_start:  # a switch made ahead is still under way
            t_start = machine.level_ready[unit]
        work = dur * machine.noise() if self._noisy else dur
        if resume_edges:
            work += self._resume_cost(job, resume_edges, unit, t_start)
        run = Run(job, k, item, modes, unit, dev, level, dur, work, power, bw, t_start)
        if items is None:
            self._take(item, run)
        else:
            run.batch = [it.job for it in items]
            for it in items:
                self._take(it, run)
        machine.reserve(run)
        if t_start > now:
            self._emit((t_start, PRIO_START, self._on_start, run))
        else:
            out = self._out
            if out is None:
                raise RuntimeError(_OUTSIDE)
            machine.begin(run, now, out)
            # The governor only needs arming while power is over budget or a cap is active.
            if self._governed and (machine.power_w > self._budget_limit or machine.throttled):
                self._check_governor()

    @staticmethod
    def _resume_cost(
        job: Job, resume_edges: tuple[tuple[int, float], ...], unit: int, t_start: float
    ) -> float:
        """The largest resume cost among the kernel's non-contiguous in-edges (0 if none)."""
        resume = 0.0
        k_end, k_unit = job._k_end, job._k_unit
        for src, cost in resume_edges:
            if cost > resume and not (k_unit[src] == unit and k_end[src] == t_start):
                resume = cost
        return resume

    def _take(self, item: Ready, run: Run) -> None:
        """Mark ``item`` dispatched in ``run``; count a migration or preemption it causes.

        A *migration*: the job continues on another device although the device of its previous
        kernel could run this one. A *preemption*: another job last ran on this unit, has work
        ready, and runs nothing anywhere -- it was displaced at a kernel boundary (counted once
        until it runs again).
        """
        item.taken = True
        job = item.job
        job._num_ready -= 1
        job._num_running += 1
        job._runs.append(run)
        last_dev = job._last_dev
        if last_dev != run.dev and last_dev >= 0 and item.dev_mask >> last_dev & 1:
            self.migrations += 1
        job._displaced = False
        unit = run.unit
        other = self._unit_last[unit]
        if (
            other is not job
            and other is not None
            and not other._displaced
            and other._done_at is None
            and other._last_unit == unit
            and other._num_running == 0
            and other._num_ready > 0
        ):
            other._displaced = True
            self.preemptions += 1

    def _refusal(self, item: Ready, unit: int) -> str:
        name = f"{item.job.name}/{item.kernel_name}"
        if item.taken:
            return f"{name} was already dispatched"
        if item.job._frozen:
            return f"job {item.job.name} is frozen"
        return f"unit {self.machine.unit_name[unit]} is busy"

    def _mode_for(
        self, item: Ready, modes: tuple[ModeRec, ...], dev: int, wanted: ModeRec | None, unit: int
    ) -> ModeRec:
        """The fastest mode on ``dev`` at or below the wanted level and the governor's cap."""
        if wanted is not None and wanted.dev != dev:
            raise RuntimeError(
                f"mode on device {wanted.dev} given for unit {self.machine.unit_name[unit]}"
            )
        top = len(self.spec.devices[dev].levels) - 1 if wanted is None else wanted.level
        limit = min(top, self.machine.cap[dev])
        rec = next((r for r in modes if r.dev == dev and r.level <= limit), None)
        if rec is None:
            # Every mode on this device is above the cap: the governor cannot throttle it.
            rec = next((r for r in modes if r.dev == dev and r.level <= top), None)
        if rec is None:
            raise RuntimeError(
                f"{item.job.name}/{item.kernel_name} has no mode on {self.machine.unit_name[unit]}"
            )
        return rec

    def _batched(
        self, item: Ready, batch: Sequence[Ready]
    ) -> tuple[list[Ready], tuple[ModeRec, ...]]:
        """The items of a decode batch and the step's modes at its size and mean KV length."""
        job = item.job
        if not item.is_decode:
            raise RuntimeError("only decode steps can be batched")
        table = job.stages[job._stage].table
        items = [item]
        for other in batch:
            if other is item:
                continue
            if other.taken or not other.is_decode or other.job._frozen:
                raise RuntimeError(f"cannot batch {other.job.name}/{other.kernel_name}")
            if other.job.stages[other.job._stage].table is not table:
                raise RuntimeError("a decode batch must hold one model")
            items.append(other)
        kv = sum(it.job._kv for it in items) / len(items)
        return items, self.bind_decode(table).modes(kv, len(items))

    def freeze(self, job: Job) -> None:
        """Suspend ``job``: its running kernels stop (power and progress), nothing new starts."""
        if job._frozen or job.done:
            return
        job._frozen = True
        self.freezes += 1
        out = self._out_list()
        for run in job._runs:
            if run.batch is None or len(run.batch) == 1:
                self.machine.suspend(run, self.engine.now, out)

    def unfreeze(self, job: Job) -> None:
        """Let a frozen job continue."""
        if not job._frozen:
            return
        job._frozen = False
        out = self._out_list()
        for run in job._runs:
            self.machine.resume(run, self.engine.now, out)
        self._check_governor()  # resumed kernels draw power again
        self._request_decision()

    def wake_at(self, time: float) -> None:
        """Ask for a dispatch decision at ``time`` (e.g. a planned start)."""
        self._emit((max(time, self.engine.now), PRIO_DECIDE, self._on_decide, None))

    def switch_level(self, unit: int, level: int) -> None:
        """Switch the idle ``unit`` to DVFS ``level`` ahead of the work that needs it.

        The switch takes ``dvfs_transition_us`` from now; a kernel started on the unit at that
        level begins no earlier than its end, and one at another level switches again. A level
        above the governor's cap is lowered to the cap (a kernel could not run above it). No
        change when the unit is at that level already.

        Raises
        ------
        RuntimeError
            When the unit is held (a run or a dispatched kernel) or the level does not exist.
        """
        machine = self.machine
        if machine.unit_run[unit] is not None:
            raise RuntimeError(f"unit {machine.unit_name[unit]} is busy: switch levels when idle")
        dev = machine.unit_dev[unit]
        if not 0 <= level < len(machine.spec.devices[dev].levels):
            raise RuntimeError(f"device {machine.spec.devices[dev].name} has no level {level}")
        level = min(level, machine.cap[dev])
        if machine.unit_level[unit] != level:
            machine.unit_level[unit] = level
            machine.level_ready[unit] = self.engine.now + machine.dvfs_transition_us

    @property
    def live_jobs(self) -> list[Job]:
        """The jobs that arrived, were admitted and have not completed."""
        return list(self.jobs.values())

    # ------------------------------------------------------------------ running
    def run(self, until: float | None = None) -> Simulator:
        """Run up to ``until`` (default: the horizon); may be called again to continue.

        On reaching the horizon the run ends: the last stretch of power is accounted and job
        conservation is checked.
        """
        if self._ran:
            raise RuntimeError("the run has reached its horizon")
        if not self._started:
            self._started = True
            for s_idx in range(len(self._streams)):
                self._schedule_arrival(s_idx)
        end = self.horizon_us if until is None else min(until, self.horizon_us)
        self.engine.run(end)
        if end >= self.horizon_us:
            self._ran = True
            self.machine.account(self.horizon_us)
            for run in self.machine.running:
                self.machine.busy_us[run.dev] += self.horizon_us - run.start
            self.recorder.check_conservation(self.jobs.values())
        return self

    # ------------------------------------------------------------------ internals
    def _emit(self, event: Any) -> None:
        if self._out is None:
            self.engine.schedule(*event)
        else:
            self._out.append(event)

    def _out_list(self) -> list[Any]:
        """The current handler's follow-up events (state changes happen inside handlers only)."""
        if self._out is None:
            raise RuntimeError(_OUTSIDE)
        return self._out

    def _flush(self) -> list[Any] | None:
        """The follow-up events of the current handler, after settling a wanted decision.

        A decision must see every event of its instant. When nothing else is pending at this
        instant (in the heap or among the follow-ups) it runs right here, which spares an event
        per decision; otherwise a decision event is scheduled after them.
        """
        out = self._out
        assert out is not None
        engine = self.engine
        now = engine.now
        while self._decide_wanted:
            self._decide_wanted = False
            if self._decide_scheduled:
                break
            alone = engine.next_time > now
            if alone:
                for event in out:
                    if event[0] <= now:
                        alone = False
                        break
            if alone:
                if not self.machine.hold:
                    self._decide()
            else:
                self._decide_scheduled = True
                out.append((now, PRIO_DECIDE, self._on_decide, None))
        self._out = None
        return out

    def _request_decision(self) -> None:
        if self._out is not None:
            self._decide_wanted = True
        elif not self._decide_scheduled:  # outside any handler
            self._decide_scheduled = True
            self.engine.schedule(self.engine.now, PRIO_DECIDE, self._on_decide, None)

    def _check_governor(self) -> None:
        machine = self.machine
        if (
            self._governed
            and not self._governor_pending
            and (machine.power_w > self._budget_limit or machine.throttled)
        ):
            self._governor_pending = True
            period = self.config.governor_period_us
            tick = (math.floor(self.engine.now / period) + 1) * period
            self._emit((tick, PRIO_GOVERNOR, self._on_governor, None))

    def _schedule_arrival(self, s_idx: int) -> None:
        _, times, _ = self._streams[s_idx]
        pos = self._stream_pos[s_idx]
        if pos < len(times) and times[pos] < self.horizon_us:
            self.engine.schedule(times[pos], PRIO_ARRIVAL, self._on_arrival, s_idx)

    def _on_arrival(self, s_idx: int) -> list[Any] | None:
        self._out = []
        now = self.engine.now
        t_idx, _, injected = self._streams[s_idx]
        pos = self._stream_pos[s_idx]
        self._stream_pos[s_idx] = pos + 1
        self._schedule_arrival(s_idx)
        if t_idx < 0:
            inj = injected[pos]
            assert inj is not None
            t_idx = inj.task_idx
            stages: tuple[Any, ...] = (DagStage(inj.template),)
            deadline, name, tag = inj.deadline, inj.name, inj.tag
        else:
            spec = self.tasks[t_idx]
            stages = spec.stages
            deadline = None if spec.deadline_us is None else now + spec.deadline_us
            name, tag = f"{spec.name}@{pos}", None
        self.recorder.arrive(t_idx)
        limit = self.config.max_in_flight
        if limit is not None and self.recorder.in_flight_count(t_idx) >= limit:
            self.recorder.drop(t_idx)
            return self._flush()
        job = self._new_job(t_idx, now, stages, deadline, name, tag)
        self.policy.on_arrival(job)
        self._enter_stage(job, 0, now, -1)
        return self._flush()

    def _new_job(
        self,
        t_idx: int,
        now: float,
        stages: tuple[Any, ...],
        deadline: float | None,
        name: str,
        tag: Any,
    ) -> Job:
        job = Job(self._num_jobs, name, t_idx, self.tasks[t_idx], stages, now, deadline, tag)
        self._num_jobs += 1
        self.jobs[job.jid] = job
        self.recorder.admit(t_idx)
        return job

    def _enter_stage(self, job: Job, stage_idx: int, now: float, dev: int) -> None:
        job._stage = stage_idx
        if stage_idx == len(job.stages):
            self._complete(job, now)
            return
        if job.spec.first_token_stage == stage_idx - 1:
            job._first_token = now
            self.recorder.token(job, now)
        job._ext_end, job._ext_dev = now, dev
        stage = job.stages[stage_idx]
        if isinstance(stage, DagStage):
            bt = self.bind_template(stage.template)
            job._bt = bt
            job._npreds = list(bt.num_preds)
            job._k_end = [0.0] * bt.num_kernels
            job._k_unit = [-1] * bt.num_kernels
            job._k_dev = [-1] * bt.num_kernels
            job._left = bt.num_kernels
            for k in bt.sources:
                self._ready(job, k, now)
        else:
            job._bt = None
            job._steps = 0
            job._kv = stage.kv_start
            self._ready(job, DECODE, now)

    def _ready(self, job: Job, k: int, now: float) -> None:
        self._seq += 1
        if k == DECODE:
            stage = job.stages[job._stage]
            bound = self.bind_decode(stage.table)
            item = Ready(job, k, now, self._seq, bound.modes(job._kv, 1), bound.dev_mask)
            self._decode_waiting.setdefault(id(stage.table), []).append(item)
        else:
            bt = job._bt
            item = Ready(job, k, now, self._seq, bt.modes[k], bt.dev_mask[k])  # type: ignore[union-attr]
        job._num_ready += 1
        self._on_ready(item)
        self._decide_wanted = True

    def _on_start(self, run: Run) -> list[Any] | None:
        self._out = []
        if run.state == WAITING:
            run.suspended = run.job._frozen and (run.batch is None or len(run.batch) == 1)
            self.machine.begin(run, self.engine.now, self._out)
            self._check_governor()
        return self._flush()

    def _on_end(self, run: Run) -> list[Any] | None:
        now = self.engine.now
        if run.due != now or run.state != RUNNING:
            return None  # superseded by a rate change, a suspension or a resumption
        out = self._out = []
        self.machine.finish(run, now, out)
        if self._record_runs:
            self._record(run, now)
        unit, dev = run.unit, run.dev
        if run.batch is None:
            job = run.job
            self._unit_last[unit] = job
            job._num_running -= 1
            job._runs.remove(run)
            job._last_unit, job._last_dev = unit, dev
            k = run.k
            if k < 0:
                self._decode_done(job, now, dev)
            else:
                bt = job._bt
                job._k_end[k] = now
                job._k_unit[k] = unit
                job._k_dev[k] = dev
                job._remaining -= bt.min_dur[k]
                npreds = job._npreds
                for dst in bt.succs[k]:
                    waiting = npreds[dst] - 1
                    npreds[dst] = waiting
                    if not waiting:
                        # _ready, inline: the hot path of every DAG.
                        self._seq += 1
                        item = Ready(job, dst, now, self._seq, bt.modes[dst], bt.dev_mask[dst])
                        job._num_ready += 1
                        self._on_ready(item)
                left = job._left - 1
                job._left = left
                if not left:
                    self._enter_stage(job, job._stage + 1, now, dev)
        else:
            self._unit_last[unit] = None
            for job in run.batch:
                job._num_running -= 1
                job._runs.remove(run)
                job._last_unit, job._last_dev = unit, dev
                self._decode_done(job, now, dev)
        if self._on_end_hook is not None:
            self._on_end_hook(RunView(run))
        self._decide_wanted = True
        machine = self.machine
        if self._governed and (machine.power_w > self._budget_limit or machine.throttled):
            self._check_governor()
        return self._flush()

    def _decode_done(self, job: Job, now: float, dev: int) -> None:
        stage = job.stages[job._stage]
        job._steps += 1
        job._kv += 1
        job._remaining -= stage.min_step_us
        self.recorder.token(job, now)
        job._ext_end, job._ext_dev = now, dev
        if job._steps == stage.num_steps:
            self._enter_stage(job, job._stage + 1, now, dev)
        else:
            self._ready(job, DECODE, now)

    def _complete(self, job: Job, now: float) -> None:
        job._done_at = now
        del self.jobs[job.jid]
        self.recorder.job_done(job, now)
        if self._record_runs:
            self.finished_jobs.append(job)
        self.policy.on_job_done(job)

    def _on_decide(self, _: Any) -> list[Any] | None:
        self._out = []
        self._decide_scheduled = False
        self._decide_wanted = False
        if not self.machine.hold:
            self._decide()
        return self._flush()

    def _on_governor(self, _: Any) -> list[Any] | None:
        self._out = []
        self._governor_pending = False
        machine = self.machine
        changed = self._govern()
        if machine.over_budget or machine.throttled:
            self._check_governor()
        if changed and not machine.hold:
            self._request_decision()
        return self._flush()

    def _govern(self) -> bool:
        """One governor sample: new caps, and the running kernels moved within them.

        Afterwards the running kernels draw at most the budget, unless those over it run at
        their devices' lowest levels (then dispatch is held). Returns whether anything changed.
        """
        machine = self.machine
        over = machine.over_budget
        changed, lowered = machine.governor_step()
        for dev in lowered:
            self._throttle_running(dev)
        if over:
            # A kernel dispatched before a cap dropped may have begun above it since (it waited
            # for its inputs or a level switch): move it too.
            for dev in range(machine.num_devices):
                if dev not in lowered:
                    self._throttle_running(dev)
        return changed

    def retarget(self, run: Run, mode: ModeRec) -> None:
        """Switch a started run to another mode of its device (a DVFS change mid-kernel)."""
        if mode.dev != run.dev:
            raise RuntimeError("a run can change level, not device")
        self.machine.retarget(
            run,
            self.engine.now,
            self._out_list(),
            mode.duration_us / run.base,
            mode.level,
            mode.power_w,
            mode.bw_gbps,
        )
        run.base = mode.duration_us
        self._check_governor()  # a policy may raise a level as well as lower it

    def _throttle_running(self, dev: int) -> None:
        """Move the kernels running on ``dev`` to their fastest mode within its new level cap."""
        cap = self.machine.cap[dev]
        for run in list(self.machine.running):
            if run.dev != dev or run.level <= cap:
                continue
            rec = next((r for r in run.modes if r.dev == dev and r.level <= cap), None)
            if rec is not None:
                self.retarget(run, rec)

    def _record(self, run: Run, now: float) -> None:
        jobs = run.batch if run.batch is not None else [run.job]
        share = run.power / len(jobs)
        for job in jobs:
            name = "decode" if run.k == DECODE else job._bt.names[run.k]
            self.executed.append(
                ExecutedKernel(job.name, name, run.unit, run.dev, run.level, run.start, now, share)
            )
