"""What a run is made of: templates bound to the machine, jobs, and the ready work policies see.

A :class:`BoundTemplate` resolves a :class:`xpuplan.models.workload.JobTemplate` against a machine
once per run into flat per-kernel arrays (modes as :class:`ModeRec` tuples, predecessor counts,
successor lists, in-edges), so the event loop never walks a graph. A :class:`Job` is one arrival
moving through its stages; a :class:`Ready` item is a kernel (or an LLM decode step) whose
predecessors are done -- what a policy dispatches.

Policies read jobs and ready items through their public attributes and properties, which are
documented on each class; every name with a leading underscore is the simulator's bookkeeping
(it changes as the run goes and is no part of the policy API).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from xpuplan.models import InvalidInput
from xpuplan.models.bulk import gc_paused
from xpuplan.models.instance import MEM_BW
from xpuplan.models.workload import DecodeTable, JobTemplate, TaskSpec
from xpuplan.runtime.platform_sim import MachineSpec, Run


class ModeRec(NamedTuple):
    """One way to run a kernel (or a decode step) on this machine; modes sort fastest first.

    Attributes
    ----------
    duration_us
        Solo duration at this level (no noise, no contention, no resume cost).
    dev
        Index of the device (in :attr:`MachineSpec.devices
        <xpuplan.runtime.platform_sim.MachineSpec.devices>`).
    level
        Index of the DVFS level in the device's ``levels`` (0 is the slowest).
    power_w
        Dynamic power drawn while it runs.
    bw_gbps
        Memory bandwidth it needs while it runs.
    mode_idx
        Index of the mode in its kernel's ``modes`` (or its decode table's).
    """

    duration_us: float
    dev: int
    level: int
    power_w: float
    bw_gbps: float
    mode_idx: int


DECODE = -1


class BoundTemplate:
    """A :class:`JobTemplate` resolved against a machine: flat per-kernel arrays.

    ``modes[k]`` lists kernel ``k``'s modes as :class:`ModeRec` tuples, fastest first;
    ``dev_mask[k]`` has bit ``d`` set when the kernel has a mode on device ``d``;
    ``in_edges[k]`` holds ``(src, cross_device_delay, resume_cost)`` (``resume_edges[k]`` those
    with a resume cost, as ``(src, resume_cost)``); ``dev_total[d]`` is the
    template's total fastest duration on device ``d`` when every kernel runs there (else None).
    """

    __slots__ = (
        "dev_mask",
        "dev_total",
        "full_mask",
        "in_edges",
        "min_dur",
        "modes",
        "names",
        "num_kernels",
        "num_preds",
        "resume_edges",
        "sources",
        "succs",
        "template",
    )

    def __init__(self, template: JobTemplate, spec: MachineSpec) -> None:
        # Binding builds a few objects per kernel and edge, all acyclic: see models/bulk.py for
        # why the cyclic collector is paused meanwhile (it took over half of a large binding).
        with gc_paused():
            self._bind(template, spec)

    def _bind(self, template: JobTemplate, spec: MachineSpec) -> None:
        dev_idx = spec.device_idx
        level_idx = [{lv: i for i, lv in enumerate(dev.levels)} for dev in spec.devices]
        num_devices = len(spec.devices)
        num = template.num_kernels
        self.template = template
        self.num_kernels = num
        self.names = tuple(ker.name for ker in template.kernels)
        self.modes: list[tuple[ModeRec, ...]] = []
        self.dev_mask: list[int] = []
        # fastest[d]: each kernel's fastest duration on device d, in kernel order, while every
        # kernel so far has a mode there (None from the first kernel that has none).
        fastest: list[list[float] | None] = [[] for _ in range(num_devices)]
        every_device = (1 << num_devices) - 1
        for ker in template.kernels:
            recs = []
            for m_idx, mode in enumerate(ker.modes):
                d_idx = dev_idx.get(mode.device)
                if d_idx is None or mode.level not in level_idx[d_idx]:
                    raise InvalidInput(
                        f"kernel {ker.name!r} of {template.name!r} has a mode on an unknown "
                        "device or level",
                        field="modes",
                        value=f"{mode.device}/{mode.level}",
                    )
                recs.append(
                    ModeRec(
                        float(mode.duration),
                        d_idx,
                        level_idx[d_idx][mode.level],
                        mode.power_w,
                        mode.demands.get(MEM_BW, 0.0),
                        m_idx,
                    )
                )
            recs.sort()
            self.modes.append(tuple(recs))
            mask = 0
            for rec in recs:
                # Fastest first: the first mode met on a device is the fastest there.
                if not mask >> rec[1] & 1:
                    mask |= 1 << rec[1]
                    on_dev = fastest[rec[1]]
                    if on_dev is not None:
                        on_dev.append(rec[0])
            self.dev_mask.append(mask)
            if mask != every_device:
                for d_idx in range(num_devices):
                    if not mask >> d_idx & 1:
                        fastest[d_idx] = None
        self.min_dur = [recs[0][0] for recs in self.modes]
        self.num_preds = [0] * num
        succs: list[list[int]] = [[] for _ in range(num)]
        in_edges: list[list[tuple[int, float, float]]] = [[] for _ in range(num)]
        for edge in template.edges:
            self.num_preds[edge.dst] += 1
            succs[edge.src].append(edge.dst)
            in_edges[edge.dst].append(
                (edge.src, float(edge.cross_device_delay), float(edge.resume_cost))
            )
        self.succs = [tuple(s) for s in succs]
        self.in_edges = [tuple(e) for e in in_edges]
        self.resume_edges = [tuple((src, cost) for src, _, cost in e if cost > 0) for e in in_edges]
        self.sources = tuple(k for k in range(num) if self.num_preds[k] == 0)
        # sum() over the kernels in order, as the total was always added up.
        self.dev_total = tuple(None if durs is None else sum(durs) for durs in fastest)
        full = 0
        for d_idx, total in enumerate(self.dev_total):
            if total is not None:
                full |= 1 << d_idx
        self.full_mask = full


class BoundDecode:
    """A :class:`DecodeTable` resolved against a machine: (device, level) of each table mode."""

    __slots__ = ("dev_mask", "mode_dev", "mode_level", "table")

    def __init__(self, table: DecodeTable, spec: MachineSpec) -> None:
        dev_idx = spec.device_idx
        self.table = table
        self.mode_dev: list[int] = []
        self.mode_level: list[int] = []
        for device, level in table.modes:
            d_idx = dev_idx.get(device)
            levels = spec.devices[d_idx].levels if d_idx is not None else ()
            if d_idx is None or level not in levels:
                raise InvalidInput(
                    "the decode table has a mode on an unknown device or level",
                    field="modes",
                    value=f"{device}/{level}",
                )
            self.mode_dev.append(d_idx)
            self.mode_level.append(levels.index(level))
        mask = 0
        for d_idx in self.mode_dev:
            mask |= 1 << d_idx
        self.dev_mask = mask

    def modes(self, kv_len: float, batch: int) -> tuple[ModeRec, ...]:
        """The step's modes at this KV length and batch size, fastest first."""
        recs = []
        for m_idx in range(len(self.mode_dev)):
            dur, power, bw = self.table.cost(m_idx, kv_len, batch)
            recs.append(
                ModeRec(dur, self.mode_dev[m_idx], self.mode_level[m_idx], power, bw, m_idx)
            )
        recs.sort()
        return tuple(recs)


class Job:
    """One arrival of a task, moving through its stages.

    Attributes
    ----------
    jid
        The job's number in its run (arrival order).
    name
        ``task@n`` for the n-th arrival of a task; a plan's job keeps its instance name.
    task_idx, spec
        The task it belongs to (index and :class:`xpuplan.models.workload.TaskSpec`).
    stages
        What it runs, in order (the task's stages, or a plan job's single DAG stage).
    arrival, deadline
        Arrival and absolute deadline in us (None: no deadline).
    priority
        The task's priority (higher is more important).
    tag
        What injected it: None for a task's arrival, ``(repetition, offset_us)`` for a plan's job.

    Every other slot (a leading underscore) is the simulator's bookkeeping; the properties below
    give policies what they may read of it.
    """

    __slots__ = (
        "_bt",
        "_displaced",
        "_done_at",
        "_ext_dev",
        "_ext_end",
        "_first_token",
        "_frozen",
        "_k_dev",
        "_k_end",
        "_k_unit",
        "_kv",
        "_last_dev",
        "_last_unit",
        "_left",
        "_npreds",
        "_num_ready",
        "_num_running",
        "_remaining",
        "_runs",
        "_stage",
        "_steps",
        "_token_times",
        "arrival",
        "deadline",
        "jid",
        "name",
        "priority",
        "spec",
        "stages",
        "tag",
        "task_idx",
    )

    def __init__(
        self,
        jid: int,
        name: str,
        task_idx: int,
        spec: TaskSpec,
        stages: tuple[Any, ...],
        arrival: float,
        deadline: float | None,
        tag: Any,
    ) -> None:
        self.jid = jid
        self.name = name
        self.task_idx = task_idx
        self.spec = spec
        self.stages = stages
        self.arrival = arrival
        self.deadline = deadline
        self.priority = spec.priority
        self.tag = tag
        self._stage = -1
        self._bt: BoundTemplate | None = None
        self._npreds: list[int] = []
        self._k_end: list[float] = []
        self._k_unit: list[int] = []
        self._k_dev: list[int] = []
        self._left = 0
        self._ext_end = arrival
        self._ext_dev = -1
        self._steps = 0
        self._kv = 0
        self._num_ready = 0
        self._num_running = 0
        self._runs: list[Run] = []
        self._frozen = False
        self._first_token: float | None = None
        self._token_times: list[float] = []
        self._done_at: float | None = None
        self._last_unit = -1
        self._last_dev = -1
        self._displaced = False
        self._remaining = (
            spec.min_work_us if stages is spec.stages else sum(s.min_work_us for s in stages)
        )

    @property
    def cls(self) -> str:
        """The task's class: periodic, reactive or proactive."""
        return self.spec.cls

    @property
    def is_llm(self) -> bool:
        """True for an LLM request (a task with prefill and decode stages)."""
        return self.spec.is_llm

    @property
    def frozen(self) -> bool:
        """True while a policy holds the job suspended (:meth:`DispatchApi.freeze
        <xpuplan.runtime.dispatch.DispatchApi.freeze>`)."""
        return self._frozen

    @property
    def done(self) -> bool:
        """True once its last stage has ended."""
        return self._done_at is not None

    @property
    def remaining_us(self) -> float:
        """The least work left: the fastest durations of the kernels and decode steps that have
        not ended (it only shrinks as the job's own work ends)."""
        return self._remaining

    @property
    def first_token_at(self) -> float | None:
        """When an LLM request emitted its first token (None before, and for other tasks)."""
        return self._first_token


class Ready:
    """A kernel (or a decode step) whose predecessors are done: what a policy dispatches.

    Attributes (read-only for policies)
    ----------
    job
        The job it belongs to.
    k
        The kernel's index in its stage's template; negative (``DECODE``) for a decode step.
    t
        When it became ready (its inputs may reach another device later; see
        :meth:`DispatchApi.data_ready <xpuplan.runtime.dispatch.DispatchApi.data_ready>`).
    seq
        Readiness order in the run (a tie-breaker that keeps heaps deterministic).
    modes
        Its :class:`ModeRec` tuples, fastest first.
    dev_mask
        Bit ``d`` set when it has a mode on device ``d``.
    taken
        True once dispatched (a policy drops taken items lazily from its queues).
    """

    __slots__ = ("dev_mask", "job", "k", "modes", "seq", "t", "taken")

    def __init__(
        self, job: Job, k: int, t: float, seq: int, modes: tuple[ModeRec, ...], dev_mask: int
    ) -> None:
        self.job = job
        self.k = k
        self.t = t
        self.seq = seq
        self.modes = modes
        self.dev_mask = dev_mask
        self.taken = False

    @property
    def is_decode(self) -> bool:
        return self.k == DECODE

    @property
    def kernel_name(self) -> str:
        """The kernel's name in its template (``decode`` for a decode step)."""
        bt = self.job._bt
        return "decode" if self.k == DECODE or bt is None else bt.names[self.k]

    @property
    def stage_totals(self) -> tuple[float | None, ...] | None:
        """Per device, the fastest total duration of this kernel's whole stage when every kernel
        of it runs on that device (None where one cannot); None for a decode step."""
        bt = self.job._bt
        return None if self.k == DECODE or bt is None else bt.dev_total

    @property
    def stage_mask(self) -> int:
        """Devices that run this kernel's whole stage, as a bit mask (0: none, or a decode step)."""
        bt = self.job._bt
        return 0 if self.k == DECODE or bt is None else bt.full_mask


@dataclass(frozen=True)
class InjectedJob:
    """A job that does not come from a task's arrival process (e.g. a plan's job)."""

    time: float
    task_idx: int
    name: str
    template: JobTemplate
    deadline: float | None
    tag: Any = None
