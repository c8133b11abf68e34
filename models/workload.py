"""The workload: a scenario on a platform compiled into job templates, for planner and runtime.

:func:`compile_workload` is the one compiler from (platform, scenario, options) to a
:class:`Workload`. The planner unrolls a workload's templates over a horizon into an Instance
(:func:`xpuplan.planner.unroll.build_instance`); the runtime simulates the very same templates
(:func:`xpuplan.runtime.api.simulate`). Defaults live in :class:`CompileOptions`, and only
there.

A :class:`JobTemplate` is one job's kernel DAG: kernels with their modes (device, DVFS level,
duration, power, bandwidth demand), edges with cross-device delays and resume costs. It comes
from an annotated kernel DAG (:func:`JobTemplate.from_kernel_dag`) or from one job of an
:class:`xpuplan.models.Instance` (:func:`JobTemplate.from_instance_job`), and is immutable: the
simulator binds it once per run to flat per-kernel arrays.

A task's job is a sequence of *stages*. A :class:`DagStage` runs a template; a
:class:`DecodeStage` runs an LLM's decode steps, one token each, whose cost comes from a
:class:`DecodeTable`: the decode kernel DAG collapsed to one kernel per (device, level) and
sampled over KV lengths and batch sizes. Batching matters because decode is memory bound: one
step reads the weights once for the whole batch, so a step of ``B`` requests costs far less than
``B`` steps of one.

Decode convention (planner and runtime alike): an LLM request of ``output_tokens`` tokens is its
prefill, which yields the first token, then ``output_tokens - 1`` decode steps; step ``i``
(from 0) runs at KV length ``prompt_tokens + 1 + i``. The runtime runs the steps one token at a
time (batched across requests); the planner, which cannot batch across jobs, plans them as
kernels of ``decode_tokens_per_kernel`` steps each, costed at the group's middle KV length, so
that an answer of 129 tokens is 8 kernels, not 128 (:attr:`TaskSpec.template`: the whole job as
one DAG).
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import networkx as nx

from xpuplan.models.errors import InvalidInput
from xpuplan.models.instance import MEM_BW, AttrValue, Instance, Mode
from xpuplan.models.kernels import build_kernel_dag
from xpuplan.models.platform import Platform
from xpuplan.models.scenario import Arrival, ModelRef, Scenario, Task, arrival_times_us


@dataclass(frozen=True)
class KernelSpec:
    """One kernel of a template: a name local to the job, its modes and provenance attributes."""

    name: str
    modes: tuple[Mode, ...]
    attrs: Mapping[str, AttrValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "modes", tuple(self.modes))
        if not isinstance(self.attrs, MappingProxyType):
            object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))


@dataclass(frozen=True)
class EdgeSpec:
    """Precedence between two kernels of a template, by position in ``kernels``."""

    src: int
    dst: int
    cross_device_delay: int = 0
    resume_cost: int = 0


@dataclass(frozen=True)
class JobTemplate:
    """A job's kernel DAG, kernels in a topological order.

    Raises
    ------
    InvalidInput
        When there is no kernel, a kernel has no mode, or an edge points backwards (which also
        rules out cycles) or out of range.
    """

    name: str
    kernels: tuple[KernelSpec, ...]
    edges: tuple[EdgeSpec, ...] = ()
    #: Sum over kernels of the fastest mode's duration: the least work the job needs (computed
    #: once here, since every job of the template starts from it).
    min_work_us: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kernels", tuple(self.kernels))
        object.__setattr__(self, "edges", tuple(self.edges))
        if not self.kernels:
            raise InvalidInput(
                "must have at least one kernel", field=f"{self.name}.kernels", value=[]
            )
        for k_idx, ker in enumerate(self.kernels):
            if not ker.modes:
                raise InvalidInput(
                    "has no mode", field=f"{self.name}.kernels[{k_idx}]", value=ker.name
                )
        for e_idx, edge in enumerate(self.edges):
            if not 0 <= edge.src < edge.dst < len(self.kernels):
                raise InvalidInput(
                    "must join an earlier kernel to a later one (topological order)",
                    field=f"{self.name}.edges[{e_idx}]",
                    value=(edge.src, edge.dst),
                )
        min_work = float(sum(min(m.duration for m in ker.modes) for ker in self.kernels))
        object.__setattr__(self, "min_work_us", min_work)

    @property
    def num_kernels(self) -> int:
        return len(self.kernels)

    @cached_property
    def fastest_us(self) -> int:
        """The longest path with every kernel in its fastest mode (edge delays left out).

        No job of the template can finish sooner after its release.
        """
        finish = [0] * len(self.kernels)
        preds: list[list[int]] = [[] for _ in self.kernels]
        for edge in self.edges:
            preds[edge.dst].append(edge.src)
        for k_idx, ker in enumerate(self.kernels):
            start = max((finish[p] for p in preds[k_idx]), default=0)
            finish[k_idx] = start + min(m.duration for m in ker.modes)
        return max(finish, default=0)

    def subset(self, name: str, keep: Sequence[int]) -> JobTemplate:
        """The kernels at positions ``keep`` (increasing) and the edges between them."""
        pos = {k_idx: p for p, k_idx in enumerate(keep)}
        return JobTemplate(
            name,
            tuple(self.kernels[k] for k in keep),
            tuple(
                EdgeSpec(pos[e.src], pos[e.dst], e.cross_device_delay, e.resume_cost)
                for e in self.edges
                if e.src in pos and e.dst in pos
            ),
        )

    @classmethod
    def from_kernel_dag(cls, graph: nx.DiGraph, name: str | None = None) -> JobTemplate:
        """A template from an annotated kernel DAG (node ``modes``, edge delays and resumes).

        Kernels are ordered by :func:`networkx.lexicographical_topological_sort` on their string
        names, so the order does not depend on insertion order. Node attributes other than
        ``modes`` that are plain values (``label``, ``chunk``, ``layer``, ``phase``...) and
        ``op_types`` (joined with ``+``) become kernel attributes.
        """
        if not nx.is_directed_acyclic_graph(graph):
            raise InvalidInput(
                "the kernel graph contains a cycle",
                field="kernels",
                value=str(graph.graph.get("name", name)),
            )
        order = list(nx.lexicographical_topological_sort(graph, key=str))
        pos = {node: k_idx for k_idx, node in enumerate(order)}
        kernels = []
        for node in order:
            data = graph.nodes[node]
            attrs: dict[str, AttrValue] = {
                key: value
                for key, value in data.items()
                if key != "modes" and isinstance(value, str | int | float | bool)
            }
            if "op_types" in data:
                attrs["op_types"] = "+".join(str(op) for op in data["op_types"])
            kernels.append(KernelSpec(str(node), tuple(data["modes"]), attrs))
        edges = sorted(
            (
                EdgeSpec(
                    pos[src],
                    pos[dst],
                    int(data.get("cross_device_delay", 0)),
                    int(data.get("resume_cost", 0)),
                )
                for src, dst, data in graph.edges(data=True)
            ),
            key=_edge_order,
        )
        return cls(name or str(graph.graph.get("name", "job")), tuple(kernels), tuple(edges))

    @classmethod
    def from_instance_job(cls, instance: Instance, job: str) -> JobTemplate:
        """The kernels of job ``job`` of ``instance`` and the edges between them.

        Kernel names stay the instance's names, so an executed run maps back to the instance.
        Edges to or from other jobs are left out (plan executors enforce them separately).
        """
        j_idx = instance.job_idx.get(job)
        if j_idx is None:
            raise InvalidInput("names no job of the instance", field="job", value=job)
        members = set(instance.job2kernels[j_idx])
        order = [k for k in instance.topological_order if k in members]
        pos = {k_idx: p for p, k_idx in enumerate(order)}
        kernels = tuple(
            KernelSpec(
                instance.kernels[k].name, instance.kernels[k].modes, instance.kernels[k].attrs
            )
            for k in order
        )
        edges = sorted(
            (
                EdgeSpec(pos[src], pos[dst], edge.cross_device_delay, edge.resume_cost)
                for edge, (src, dst) in zip(instance.edges, instance.edge_endpoints, strict=True)
                if src in members and dst in members
            ),
            key=_edge_order,
        )
        return cls(job, kernels, tuple(edges))

    @classmethod
    def chain(cls, name: str, parts: Sequence[JobTemplate], delay_us: int = 0) -> JobTemplate:
        """Templates run one after another: every sink of a part precedes every source of the next.

        Kernel names get the prefix ``m{i}.`` when there is more than one part.
        """
        if len(parts) == 1:
            return cls(name, parts[0].kernels, parts[0].edges)
        kernels: list[KernelSpec] = []
        edges: list[EdgeSpec] = []
        previous_sinks: list[int] = []
        for p_idx, part in enumerate(parts):
            base = len(kernels)
            kernels.extend(
                KernelSpec(f"m{p_idx}.{ker.name}", ker.modes, ker.attrs) for ker in part.kernels
            )
            edges.extend(
                EdgeSpec(base + e.src, base + e.dst, e.cross_device_delay, e.resume_cost)
                for e in part.edges
            )
            has_pred = {e.dst for e in part.edges}
            has_succ = {e.src for e in part.edges}
            sources = [base + k for k in range(part.num_kernels) if k not in has_pred]
            edges.extend(EdgeSpec(src, dst, delay_us) for src in previous_sinks for dst in sources)
            previous_sinks = [base + k for k in range(part.num_kernels) if k not in has_succ]
        return cls(name, tuple(kernels), tuple(sorted(edges, key=_edge_order)))


def _edge_order(edge: EdgeSpec) -> tuple[int, int]:
    return edge.src, edge.dst


def collapse_modes(kernels: Sequence[KernelSpec]) -> tuple[Mode, ...]:
    """The kernels run back to back on one unit, as one kernel: a mode per common (device, level).

    Duration :math:`\\sum_k d_k`; power and bandwidth demand are time-weighted means
    :math:`\\sum_k d_k p_k / \\sum_k d_k`, so energy and bytes moved are conserved.
    """
    common: dict[tuple[str, str], list[Mode]] = {}
    for k_idx, ker in enumerate(kernels):
        for mode in ker.modes:
            key = (mode.device, mode.level)
            if k_idx == 0:
                common[key] = [mode]
            elif key in common and len(common[key]) == k_idx:
                common[key].append(mode)
    modes = []
    for (device, level), parts in common.items():
        if len(parts) != len(kernels):
            continue
        total = sum(m.duration for m in parts)
        power = sum(m.duration * m.power_w for m in parts) / total
        bandwidth = sum(m.duration * m.demands.get(MEM_BW, 0.0) for m in parts) / total
        modes.append(Mode(device, level, total, power, {MEM_BW: bandwidth}))
    if not modes:
        raise InvalidInput(
            "no device runs every kernel of the step",
            field="modes",
            value=[k.name for k in kernels],
        )
    return tuple(modes)


@dataclass(frozen=True)
class DecodeTable:
    """Cost of one decode step of an LLM per (device, level), over KV length and batch size.

    ``duration_us[m][i][j]`` (and ``power_w``, ``bandwidth_gbps``) is the step's cost in mode
    ``modes[m]`` at KV length ``kv_points[i]`` and batch size ``batch_points[j]``; in between,
    :meth:`cost` interpolates linearly in both (attention work grows linearly with the KV length;
    weight traffic is paid once per step), and extrapolates linearly past the last KV point.
    """

    model: str
    modes: tuple[tuple[str, str], ...]
    kv_points: tuple[int, ...]
    batch_points: tuple[int, ...]
    duration_us: tuple[tuple[tuple[float, ...], ...], ...]
    power_w: tuple[tuple[tuple[float, ...], ...], ...]
    bandwidth_gbps: tuple[tuple[tuple[float, ...], ...], ...]

    def __post_init__(self) -> None:
        if list(self.kv_points) != sorted(set(self.kv_points)) or not self.kv_points:
            raise InvalidInput("must be increasing", field="kv_points", value=self.kv_points)
        if list(self.batch_points) != sorted(set(self.batch_points)) or self.batch_points[0] != 1:
            raise InvalidInput(
                "must be increasing from 1", field="batch_points", value=self.batch_points
            )

    def cost(self, m_idx: int, kv_len: float, batch: int) -> tuple[float, float, float]:
        """``(duration_us, power_w, bandwidth_gbps)`` of one step in mode ``m_idx``."""
        return (
            _bilinear(self.duration_us[m_idx], self.kv_points, self.batch_points, kv_len, batch),
            _bilinear(self.power_w[m_idx], self.kv_points, self.batch_points, kv_len, batch),
            _bilinear(self.bandwidth_gbps[m_idx], self.kv_points, self.batch_points, kv_len, batch),
        )

    @classmethod
    def from_steps(
        cls,
        model: str,
        kv_points: Sequence[int],
        batch_points: Sequence[int],
        steps: Mapping[tuple[int, int], Sequence[Mode]],
    ) -> DecodeTable:
        """A table from one collapsed step (a mode per (device, level)) per grid point.

        A (device, level) enters the table only when every grid point has it.
        """
        grid = [(kv, b) for kv in kv_points for b in batch_points]
        keyed = {point: {(m.device, m.level): m for m in steps[point]} for point in grid}
        modes = [key for key in keyed[grid[0]] if all(key in keyed[p] for p in grid)]
        if not modes:
            raise InvalidInput(
                "no (device, level) runs the decode step at every grid point",
                field="model",
                value=model,
            )

        def table(read: Any) -> tuple[tuple[tuple[float, ...], ...], ...]:
            return tuple(
                tuple(
                    tuple(float(read(keyed[(kv, b)][key])) for b in batch_points)
                    for kv in kv_points
                )
                for key in modes
            )

        return cls(
            model,
            tuple(modes),
            tuple(kv_points),
            tuple(batch_points),
            table(lambda m: m.duration),
            table(lambda m: m.power_w),
            table(lambda m: m.demands.get(MEM_BW, 0.0)),
        )


def _segment(points: Sequence[int], value: float) -> tuple[int, float]:
    """Index ``i`` and weight ``w`` so that ``value ~ (1 - w) points[i] + w points[i + 1]``."""
    if len(points) == 1:
        return 0, 0.0
    i = min(max(bisect.bisect_right(points, value) - 1, 0), len(points) - 2)
    return i, (value - points[i]) / (points[i + 1] - points[i])


def _bilinear(
    values: tuple[tuple[float, ...], ...],
    kv_points: Sequence[int],
    batch_points: Sequence[int],
    kv: float,
    batch: int,
) -> float:
    i, wi = _segment(kv_points, kv)
    j, wj = _segment(batch_points, min(batch, batch_points[-1]))
    wj = min(wj, 1.0)
    row = values[i]
    lo = row[j] if len(batch_points) == 1 else row[j] * (1 - wj) + row[j + 1] * wj
    if len(kv_points) == 1:
        return lo
    row = values[i + 1]
    hi = row[j] if len(batch_points) == 1 else row[j] * (1 - wj) + row[j + 1] * wj
    # Past the last KV point the line through the last two points continues (wi > 1); the
    # floor keeps a duration positive.
    return max(lo * (1 - wi) + hi * wi, 1e-9)


@dataclass(frozen=True)
class DagStage:
    """A stage that runs a kernel DAG."""

    template: JobTemplate

    @property
    def min_work_us(self) -> float:
        return self.template.min_work_us


@dataclass(frozen=True)
class DecodeStage:
    """``num_steps`` decode steps of an LLM, starting at KV length ``kv_start``."""

    table: DecodeTable
    num_steps: int
    kv_start: int

    @cached_property
    def min_step_us(self) -> float:
        """The fastest single-request step at the starting KV length (a lower bound per step)."""
        return min(self.table.cost(m, self.kv_start, 1)[0] for m in range(len(self.table.modes)))

    @property
    def min_work_us(self) -> float:
        return self.min_step_us * self.num_steps


Stage = DagStage | DecodeStage


@dataclass(frozen=True)
class TaskSpec:
    """One task as the simulator runs it.

    Parameters
    ----------
    name, cls, priority
        As in the scenario (``cls`` is periodic, reactive or proactive; higher priority is more
        important).
    stages
        What each arrival runs, in order.
    arrival
        When arrivals happen (a scenario arrival; None for jobs injected by a plan executor).
    deadline_us
        Relative deadline, or None.
    output_tokens
        Tokens an LLM request generates (0 for other tasks); ``first_token_stage`` is the stage
        whose end emits the first one (the prefill).
    template
        The whole job as one kernel DAG, as the planner plans it (an LLM's decode steps grouped
        into kernels, see the module docstring); None when it is the one stage's template (or
        for hand-made tasks that are only simulated).
    """

    name: str
    stages: tuple[Stage, ...]
    cls: str = "periodic"
    priority: int = 1
    arrival: Arrival | None = None
    deadline_us: float | None = None
    output_tokens: int = 0
    first_token_stage: int | None = None
    template: JobTemplate | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", tuple(self.stages))
        if not self.stages:
            raise InvalidInput(
                "must have at least one stage", field=f"{self.name}.stages", value=[]
            )

    @property
    def job_template(self) -> JobTemplate:
        """The whole job as one kernel DAG (:attr:`template`, else the one stage's template)."""
        if self.template is not None:
            return self.template
        stage = self.stages[0]
        if len(self.stages) != 1 or not isinstance(stage, DagStage):
            raise InvalidInput(
                "has a decode stage or several stages but no template of the whole job",
                field=f"{self.name}.template",
                value=None,
            )
        return stage.template

    def as_planned(self) -> TaskSpec:
        """This task running its :attr:`job_template` as one stage, as the planner plans it.

        Decode steps run as the template's grouped kernels (never batched across requests), and
        the task is no longer an LLM task for the runtime (no token timing is recorded).
        """
        if self.template is None and len(self.stages) == 1:
            return self
        return TaskSpec(
            self.name,
            (DagStage(self.job_template),),
            self.cls,
            self.priority,
            self.arrival,
            self.deadline_us,
        )

    @property
    def is_llm(self) -> bool:
        return self.output_tokens > 0

    @cached_property
    def min_work_us(self) -> float:
        return sum(stage.min_work_us for stage in self.stages)


@dataclass(frozen=True)
class Workload:
    """The tasks of a scenario on a platform, ready to simulate.

    ``handoff_us`` is the delay between two stages of a job on different devices (the
    platform's hand-over cost, as on the edges between chained models).
    """

    name: str
    tasks: tuple[TaskSpec, ...]
    power_budget_w: float | None = None
    handoff_us: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tuple(self.tasks))
        names = [t.name for t in self.tasks]
        if len(set(names)) != len(names):
            raise InvalidInput("repeats a task name", field="tasks", value=names)

    def as_planned(self) -> Workload:
        """Every task as the planner plans it (:meth:`TaskSpec.as_planned`)."""
        return Workload(
            self.name,
            tuple(t.as_planned() for t in self.tasks),
            self.power_budget_w,
            self.handoff_us,
        )

    def task_idx(self, name: str) -> int:
        for t_idx, task in enumerate(self.tasks):
            if task.name == name:
                return t_idx
        raise InvalidInput(f"workload {self.name!r} has no such task", field="task", value=name)

    def arrival_times_us(self, seed: int, horizon_us: int) -> list[list[int]]:
        """Arrival times of every task in ``[0, horizon_us)``.

        Drawn exactly as the planner draws them (:mod:`xpuplan.planner.unroll`): one
        :class:`random.Random` seeded with ``seed``, tasks in order. The arrivals depend on the
        seed and the horizon only, never on the policy, so every policy sees the same arrivals.
        """
        rng = random.Random(seed)
        out: list[list[int]] = []
        for task in self.tasks:
            if task.arrival is None:
                out.append([])
                continue
            proxy = Task(task.name, (), task.arrival)  # arrival_times_us reads only the arrival
            out.append(arrival_times_us(proxy, horizon_us, rng))
        return out


def single_task(name: str, template: JobTemplate, **fields: Any) -> TaskSpec:
    """A task whose job is one template."""
    return TaskSpec(name, (DagStage(template),), **fields)


def llm_task(
    name: str,
    prefill: JobTemplate,
    table: DecodeTable,
    prompt_tokens: int,
    output_tokens: int,
    after: Sequence[Stage] = (),
    **fields: Any,
) -> TaskSpec:
    """An LLM request: the prefill, ``output_tokens - 1`` decode steps, then ``after``.

    The prefill emits the first token; decode step ``i`` runs at KV length
    ``prompt_tokens + i``.
    """
    stages: list[Stage] = [DagStage(prefill)]
    if output_tokens > 1:
        stages.append(DecodeStage(table, output_tokens - 1, prompt_tokens + 1))
    stages.extend(after)
    return TaskSpec(name, tuple(stages), output_tokens=output_tokens, first_token_stage=0, **fields)


def relative_deadline_us(task: Task) -> float | None:
    """A scenario task's relative deadline in us (one period for periodic tasks by default)."""
    deadline_ms = task.relative_deadline_ms
    return None if deadline_ms is None else deadline_ms * 1000.0


# ---------------------------------------------------------------------- the compiler
@dataclass(frozen=True)
class CompileOptions:
    """How a scenario's models become kernels: the one set of defaults of planner and runtime.

    Parameters
    ----------
    max_kernels_per_model
        Coarsening target of a (non-LLM) model: fewer kernels keep solver instances small and
        simulations fast, at the price of fewer preemption points.
    kernels_per_chunk
        Coarsening target per LLM prefill chunk (chunk boundaries stay preemption points).
    levels
        DVFS levels per device in the modes: ``"all"``, ``"top"`` or a count.
    decode_tokens_per_kernel
        Decode steps grouped into one kernel of the planned job (:attr:`TaskSpec.template`).
    decode_batches
        Batch sizes at which the runtime's decode steps are costed (interpolated in between).
    resume_cost_us
        Price of resuming an LLM prefill broken between chunks (checkpointing its state).
    """

    max_kernels_per_model: int = 6
    kernels_per_chunk: int = 2
    levels: str | int = 3
    decode_tokens_per_kernel: int = 16
    decode_batches: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    resume_cost_us: int = 0

    def __post_init__(self) -> None:
        for name in ("max_kernels_per_model", "kernels_per_chunk", "decode_tokens_per_kernel"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInput("must be an integer >= 1", field=name, value=value)
        if not self.decode_batches or list(self.decode_batches) != sorted(set(self.decode_batches)):
            raise InvalidInput(
                "must be increasing batch sizes", field="decode_batches", value=self.decode_batches
            )


def workload_power_budget_w(
    platform: Platform, scenario: Scenario, override: float | None = None
) -> float | None:
    """The power budget: ``override``, else the scenario's, else the platform's."""
    if override is not None:
        return override
    if scenario.power_budget_w is not None:
        return scenario.power_budget_w
    return platform.power_budget_w


def handoff_delay_us(platform: Platform) -> int:
    """Delay of handing a model's output to the next model (or stage) on another device.

    The platform's transfer delay of a negligible payload, rounded up to a whole microsecond:
    the synchronisation overhead, on unified and discrete memory alike.
    """
    return math.ceil(platform.transfer_delay_us(0.0))


def compile_workload(
    platform: Platform,
    scenario: Scenario,
    options: CompileOptions = CompileOptions(),
    *,
    tasks: Collection[str] | None = None,
    power_budget_w: float | None = None,
) -> Workload:
    """The scenario's tasks as job templates on ``platform`` (see the module docstring).

    A task's models run as a chain: every last kernel of a model precedes every first kernel of
    the next, with :func:`handoff_delay_us` between devices; kernel names get the prefix
    ``m{i}.`` when a task has several models. An LLM task (its *first* model is the LLM) runs

    1. the prefill over ``prompt_tokens``, chunked by the task's ``chunk_tokens`` (kernels
       ``prefill.*``),
    2. ``output_tokens - 1`` decode steps: for the runtime a :class:`DecodeStage` costed by a
       :class:`DecodeTable` over the KV lengths every request of that model spans and the
       ``decode_batches`` (one table per model, so requests of different tasks batch together);
       for the planner kernels ``decode.{g}`` of ``decode_tokens_per_kernel`` steps,
    3. the rest of the chain (e.g. a speech synthesiser), as one DAG.

    Kernels are listed in :func:`networkx.topological_sort` order of each model's DAG and carry
    the attributes ``task``, ``model``, ``class`` and, where the DAG has them, ``label``,
    ``layer``, ``chunk`` and ``phase``.

    Parameters
    ----------
    platform, scenario
        What to compile.
    options
        Coarsening, levels and decode settings.
    tasks
        Compile only the tasks of these names (default: all), in the scenario's order.
    power_budget_w
        Overrides the power budget (default: the scenario's, else the platform's; see
        :func:`workload_power_budget_w`).

    Raises
    ------
    InvalidInput
        When a model is unknown or runs on no device of the platform (naming the task's model).
    """
    wanted = [t for t in scenario.tasks if tasks is None or t.name in tasks]
    compiler = _Compiler(platform, options)
    kv_ranges: dict[Any, list[int]] = {}
    for task in wanted:
        if task.is_llm:
            prompt = task.prompt_tokens or 1
            span = kv_ranges.setdefault(_key(task.models[0]), [prompt + 1, prompt + 1])
            span[0] = min(span[0], prompt + 1)
            span[1] = max(span[1], prompt + max(task.output_tokens or 1, 2) - 1)
    specs = tuple(compiler.task(task, kv_ranges) for task in wanted)
    return Workload(
        f"{scenario.name}@{platform.name}",
        specs,
        workload_power_budget_w(platform, scenario, power_budget_w),
        float(handoff_delay_us(platform)),
    )


def _key(ref: ModelRef) -> tuple[str, tuple[tuple[str, Any], ...]]:
    return ref.name, tuple(sorted((k, repr(v)) for k, v in ref.params.items()))


class _Compiler:
    """Kernel DAGs of one platform, built once per (model, parameters, shape)."""

    def __init__(self, platform: Platform, options: CompileOptions) -> None:
        self.platform = platform
        self.options = options
        self.delay = handoff_delay_us(platform)
        self._graphs: dict[Any, nx.DiGraph] = {}
        self._tables: dict[Any, DecodeTable] = {}

    def task(self, task: Task, kv_ranges: Mapping[Any, list[int]]) -> TaskSpec:
        common: dict[str, Any] = {
            "cls": task.cls,
            "priority": task.priority,
            "arrival": task.arrival,
            "deadline_us": relative_deadline_us(task),
        }
        template, part_of = self._template(task)
        if not task.is_llm:
            return TaskSpec(task.name, (DagStage(template),), **common)
        output = task.output_tokens or 1
        prompt = task.prompt_tokens or 1
        prefill = [
            k
            for k, ker in enumerate(template.kernels)
            if part_of[k] == 0 and ker.attrs.get("phase") == "prefill"
        ]
        after = [k for k in range(template.num_kernels) if part_of[k] > 0]
        stages: list[Stage] = [DagStage(template.subset(f"{task.name}:prefill", prefill))]
        if output > 1:
            lo, hi = kv_ranges[_key(task.models[0])]
            table = self.decode_table(task, (lo, hi) if hi > lo else (lo,))
            stages.append(DecodeStage(table, output - 1, prompt + 1))
        if after:
            stages.append(DagStage(template.subset(f"{task.name}:after", after)))
        return TaskSpec(
            task.name,
            tuple(stages),
            output_tokens=output,
            first_token_stage=0,
            template=template,
            **common,
        )

    # ------------------------------------------------------------------ the job as one DAG
    def _template(self, task: Task) -> tuple[JobTemplate, list[int]]:
        """Kernel DAGs of the task's model chain, joined last kernels -> first kernels.

        Also the model (position in the chain) of every kernel.
        """
        parts: list[nx.DiGraph] = []
        for m_idx, ref in enumerate(task.models):
            try:
                if task.is_llm and m_idx == 0:
                    parts.append(self._llm_graph(task, ref))
                else:
                    parts.append(self._model_graph(ref))
            except InvalidInput as exc:
                raise exc.under(f"tasks.{task.name}.models[{m_idx}]") from None
        kernels: list[KernelSpec] = []
        part_of: list[int] = []
        edges: list[EdgeSpec] = []
        previous_sinks: list[int] = []
        chain = len(parts) > 1
        for p_idx, graph in enumerate(parts):
            prefix = f"m{p_idx}." if chain else ""
            ref = task.models[p_idx]
            pos: dict[Any, int] = {}
            for node in nx.topological_sort(graph):
                data = graph.nodes[node]
                attrs: dict[str, AttrValue] = {
                    "task": task.name,
                    "model": ref.name,
                    "class": task.cls,
                }
                for key in ("label", "layer", "chunk", "phase"):
                    if key in data and isinstance(data[key], str | int | float | bool):
                        attrs[key] = data[key]
                pos[node] = len(kernels)
                part_of.append(p_idx)
                kernels.append(KernelSpec(f"{prefix}{node}", tuple(data["modes"]), attrs))
            for src, dst, data in graph.edges(data=True):
                edges.append(
                    EdgeSpec(
                        pos[src],
                        pos[dst],
                        int(data.get("cross_device_delay", 0)),
                        int(data.get("resume_cost", 0)),
                    )
                )
            sources = [pos[n] for n in graph.nodes if graph.in_degree(n) == 0]
            edges.extend(
                EdgeSpec(src, dst, self.delay) for src in previous_sinks for dst in sources
            )
            previous_sinks = [pos[n] for n in graph.nodes if graph.out_degree(n) == 0]
        return JobTemplate(task.name, tuple(kernels), tuple(edges)), part_of

    def _model_graph(self, ref: ModelRef) -> nx.DiGraph:
        key = ("model", _key(ref))
        if key not in self._graphs:
            self._graphs[key] = build_kernel_dag(
                ref.name,
                self.platform,
                max_kernels=self.options.max_kernels_per_model,
                levels=self.options.levels,
                **dict(ref.params),
            )
        return self._graphs[key]

    def _llm_graph(self, task: Task, ref: ModelRef) -> nx.DiGraph:
        """Chunked prefill, then the decode steps grouped into kernels, as one kernel DAG."""
        assert task.prompt_tokens is not None
        options, platform = self.options, self.platform
        prompt = task.prompt_tokens
        chunk = task.chunk_tokens or prompt
        num_chunks = math.ceil(prompt / chunk)
        prefill = build_kernel_dag(
            ref.name,
            platform,
            phase="prefill",
            tokens=prompt,
            chunk_tokens=task.chunk_tokens,
            max_kernels=num_chunks * options.kernels_per_chunk,
            levels=options.levels,
            resume_cost_us=options.resume_cost_us,
            **dict(ref.params),
        )
        graph = nx.relabel_nodes(prefill, {n: f"prefill.{n}" for n in prefill.nodes})
        for node in graph.nodes:
            graph.nodes[node]["phase"] = "prefill"
        tails = [n for n in graph.nodes if graph.out_degree(n) == 0]
        steps = (task.output_tokens or 1) - 1
        group = options.decode_tokens_per_kernel
        done = 0
        g_idx = 0
        while done < steps:
            size = min(group, steps - done)
            kv_mid = prompt + 1 + done + size // 2
            step = build_kernel_dag(
                ref.name,
                platform,
                phase="decode",
                kv_len=kv_mid,
                batch=1,
                max_kernels=1,
                levels=options.levels,
                **dict(ref.params),
            )
            (node,) = step.nodes
            modes = tuple(
                Mode(m.device, m.level, m.duration * size, m.power_w, dict(m.demands))
                for m in step.nodes[node]["modes"]
            )
            name = f"decode.{g_idx}"
            graph.add_node(name, modes=modes, label=f"decode x{size}", phase="decode", chunk=g_idx)
            for tail in tails:
                graph.add_edge(tail, name, cross_device_delay=self.delay, resume_cost=0)
            tails = [name]
            done += size
            g_idx += 1
        return graph

    # ------------------------------------------------------------------ the runtime's decode
    def decode_table(self, task: Task, kv_points: tuple[int, ...]) -> DecodeTable:
        """The decode-step cost table of the task's LLM over ``kv_points`` and the batches."""
        ref = task.models[0]
        key = ("decode", _key(ref), kv_points)
        if key not in self._tables:
            steps = {}
            for kv in kv_points:
                for batch in self.options.decode_batches:
                    try:
                        graph = build_kernel_dag(
                            ref.name,
                            self.platform,
                            phase="decode",
                            kv_len=kv,
                            batch=batch,
                            max_kernels=1,
                            levels=self.options.levels,
                            **dict(ref.params),
                        )
                    except InvalidInput as exc:
                        raise exc.under(f"tasks.{task.name}.models[0]") from None
                    kernels = JobTemplate.from_kernel_dag(graph, ref.name).kernels
                    steps[(kv, batch)] = collapse_modes(kernels)
            self._tables[key] = DecodeTable.from_steps(
                ref.name, kv_points, self.options.decode_batches, steps
            )
        return self._tables[key]
