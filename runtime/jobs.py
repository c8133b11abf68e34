"""What a run is made of: templates bound to the machine, jobs, and the ready work policies see.

A :class:`BoundTemplate` resolves a :class:`xpuplan.runtime.workload.JobTemplate` against a machine
once per run into flat per-kernel arrays (modes as :data:`ModeRec` tuples, predecessor counts,
successor lists, in-edges), so the event loop never walks a graph. A :class:`Job` is one arrival
moving through its stages; a :class:`Ready` item is a kernel (or an LLM decode step) whose
predecessors are done -- what a policy dispatches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xpuplan.models import InvalidInput
from xpuplan.runtime.platform_sim import MachineSpec, Run
from xpuplan.runtime.workload import MEM_BW, DecodeTable, JobTemplate, TaskSpec

# A mode as the event loop uses it: (duration us, device, level index, power W, bandwidth GB/s,
# index of the mode in its kernel or decode table). Tuples sort fastest first.
ModeRec = tuple[float, int, int, float, float, int]
DECODE = -1


class BoundTemplate:
    """A :class:`JobTemplate` resolved against a machine: flat per-kernel arrays.

    ``modes[k]`` lists kernel ``k``'s modes as :data:`ModeRec` tuples, fastest first;
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
        dev_idx = spec.device_idx
        level_idx = [{lv: i for i, lv in enumerate(dev.levels)} for dev in spec.devices]
        num = template.num_kernels
        self.template = template
        self.num_kernels = num
        self.names = tuple(ker.name for ker in template.kernels)
        self.modes: list[tuple[ModeRec, ...]] = []
        self.dev_mask: list[int] = []
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
                    (
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
                mask |= 1 << rec[1]
            self.dev_mask.append(mask)
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
        self.dev_total: list[float | None] = []
        for d_idx in range(len(spec.devices)):
            per_kernel = [
                min((r[0] for r in recs if r[1] == d_idx), default=None) for recs in self.modes
            ]
            self.dev_total.append(None if None in per_kernel else sum(per_kernel))  # type: ignore[arg-type]
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
            recs.append((dur, self.mode_dev[m_idx], self.mode_level[m_idx], power, bw, m_idx))
        recs.sort()
        return tuple(recs)


class Job:
    """One arrival of a task, moving through its stages."""

    __slots__ = (
        "arrival",
        "bt",
        "deadline",
        "displaced",
        "done_at",
        "ext_dev",
        "ext_end",
        "first_token",
        "frozen",
        "jid",
        "k_dev",
        "k_end",
        "k_unit",
        "kv",
        "last_dev",
        "last_unit",
        "left",
        "name",
        "npreds",
        "num_ready",
        "num_running",
        "priority",
        "remaining",
        "runs",
        "spec",
        "stage",
        "stages",
        "steps",
        "tag",
        "task_idx",
        "token_times",
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
        self.stage = -1
        self.bt: BoundTemplate | None = None
        self.npreds: list[int] = []
        self.k_end: list[float] = []
        self.k_unit: list[int] = []
        self.k_dev: list[int] = []
        self.left = 0
        self.ext_end = arrival
        self.ext_dev = -1
        self.steps = 0
        self.kv = 0
        self.num_ready = 0
        self.num_running = 0
        self.runs: list[Run] = []
        self.frozen = False
        self.first_token: float | None = None
        self.token_times: list[float] = []
        self.done_at: float | None = None
        self.last_unit = -1
        self.last_dev = -1
        self.displaced = False
        self.remaining = (
            spec.min_work_us if stages is spec.stages else sum(s.min_work_us for s in stages)
        )

    @property
    def cls(self) -> str:
        return self.spec.cls

    @property
    def done(self) -> bool:
        return self.done_at is not None


class Ready:
    """A kernel (or a decode step) whose predecessors are done: what a policy dispatches."""

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
        bt = self.job.bt
        return "decode" if self.k == DECODE or bt is None else bt.names[self.k]


@dataclass(frozen=True)
class InjectedJob:
    """A job that does not come from a task's arrival process (e.g. a plan's job)."""

    time: float
    task_idx: int
    name: str
    template: JobTemplate
    deadline: float | None
    tag: Any = None
