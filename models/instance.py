"""The problem Instance: what must be scheduled (format ``xpuplan.instance/1``).

An Instance is plain, validated, immutable data. Every rule below is enforced by
:func:`xpuplan.models.check_schedule`; a solver that cannot honour one refuses the instance with
:class:`xpuplan.models.Unsupported`.

Semantics
---------
* Each kernel runs once, uninterrupted, in exactly one of its modes (a (device, DVFS level)
  alternative with its own duration, dynamic power and resource demands), on one unit of that
  mode's device, and ``end - start == duration + resume``.
* Units are exclusive: no two kernels overlap on the same (device, unit); touching is fine.
* Edge ``(u, v)``: ``v.start >= u.end + (cross_device_delay if the devices differ else 0)``.
* Release: every kernel of a job starts at or after the job's release.
* Resources: at every instant the running kernels' demands sum to at most the capacity.
* Power: at every instant ``sum(idle power of every unit) + sum(power of running kernels) <= cap``.
* ``dvfs == "per-device"``: all kernels on one device use one level.
* Deadlines are hard, except under objectives built from them (``late_jobs``,
  ``weighted_tardiness``, or a lexicographic objective containing one), where they are soft.
* Preemption points are the edges inside a job. An edge is *contiguous* when ``dst`` runs on the
  same device and unit as ``src`` and starts exactly at ``src.end``. A kernel's ``resume`` is the
  largest ``resume_cost`` of its non-contiguous incoming edges (0 if none); the resume time runs on
  the kernel's device at its mode's power.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from xpuplan.models.errors import InvalidInput
from xpuplan.models.fields import MAX_KERNELS, MAX_MODES, MAX_REAL, MAX_UNITS, require_int

if TYPE_CHECKING:
    import networkx as nx

INSTANCE_FORMAT = "xpuplan.instance/1"
TIME_UNITS = ("ns", "us", "ms", "s", "unit")
DVFS_POLICIES = ("per-kernel", "per-device")
SIMPLE_OBJECTIVES = (
    "makespan",
    "weighted_completion",
    "weighted_tardiness",
    "late_jobs",
    "energy",
)
OBJECTIVE_TYPES = (*SIMPLE_OBJECTIVES, "lexicographic")
DEADLINE_OBJECTIVES = frozenset({"weighted_tardiness", "late_jobs"})
#: The shared memory bandwidth: the name of a mode's demand (GB/s) and of the Instance resource
#: that caps the sum of the demands of running kernels (``--memory-bandwidth``).
MEM_BW = "mem_bw_gbps"
# Attribute values a kernel may carry for provenance (model, op type, task, chunk...).
AttrValue = str | int | float | bool


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _require_name(value: Any, field_: str) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidInput("must be a non-empty string", field=field_, value=value)


def _require_float(value: Any, field_: str, minimum: float = 0.0, strict: bool = False) -> None:
    """A finite number >= ``minimum`` (> with ``strict``) and at most :data:`MAX_REAL`."""
    try:
        bad = not _is_number(value) or not math.isfinite(value)
    except OverflowError:  # an integer too large for a double
        bad = True
    bad = bad or (value <= minimum if strict else value < minimum)
    if bad:
        op = ">" if strict else ">="
        raise InvalidInput(f"must be a finite number {op} {minimum:g}", field=field_, value=value)
    if value > MAX_REAL:
        raise InvalidInput(f"must be at most {MAX_REAL:g}", field=field_, value=value)


@dataclass(frozen=True)
class Device:
    """A device (CPU cluster, GPU, NPU, DLA) with ``units`` identical exclusive units.

    ``idle_power_w`` is the static power of *one* unit, paid whenever the platform is on.
    """

    name: str
    units: int = 1
    idle_power_w: float = 0.0
    kind: str | None = None

    def validate(self, where: str) -> None:
        _require_name(self.name, f"{where}.name")
        require_int(self.units, f"{where}.units", 1, MAX_UNITS)
        _require_float(self.idle_power_w, f"{where}.idle_power_w")
        if self.kind is not None and not isinstance(self.kind, str):
            raise InvalidInput("must be a string or null", field=f"{where}.kind", value=self.kind)


@dataclass(frozen=True)
class Resource:
    """A renewable resource (e.g. memory bandwidth) with a capacity shared by running kernels."""

    name: str
    capacity: float

    def validate(self, where: str) -> None:
        _require_name(self.name, f"{where}.name")
        _require_float(self.capacity, f"{where}.capacity")


@dataclass(frozen=True)
class Job:
    """A job (one inference, one request): its kernels share a release and a deadline."""

    name: str
    release: int = 0
    deadline: int | None = None
    weight: float = 1.0

    def validate(self, where: str) -> None:
        _require_name(self.name, f"{where}.name")
        require_int(self.release, f"{where}.release", 0)
        if self.deadline is not None:
            require_int(self.deadline, f"{where}.deadline", 0)
            if self.deadline < self.release:
                raise InvalidInput(
                    f"is before the job's release {self.release}",
                    field=f"{where}.deadline",
                    value=self.deadline,
                )
        _require_float(self.weight, f"{where}.weight")


@dataclass(frozen=True)
class Mode:
    """One way to run a kernel: a (device, DVFS level) with its duration, power and demands."""

    device: str
    level: str
    duration: int
    power_w: float = 0.0
    demands: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.demands, MappingProxyType):
            object.__setattr__(self, "demands", MappingProxyType(dict(self.demands)))

    def validate(self, where: str) -> None:
        _require_name(self.device, f"{where}.device")
        if not isinstance(self.level, str):
            raise InvalidInput("must be a string", field=f"{where}.level", value=self.level)
        require_int(self.duration, f"{where}.duration", 1)
        _require_float(self.power_w, f"{where}.power_w")
        for res, amount in self.demands.items():
            _require_float(amount, f"{where}.demands.{res}")


@dataclass(frozen=True)
class Kernel:
    """A unit of work: runs once, uninterrupted, in one of its modes.

    ``attrs`` carries provenance only (model, op type, task, token chunk...); no rule reads it.
    """

    name: str
    job: str
    modes: tuple[Mode, ...]
    attrs: Mapping[str, AttrValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.modes, tuple):
            object.__setattr__(self, "modes", tuple(self.modes))
        if not isinstance(self.attrs, MappingProxyType):
            object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))

    def validate(self, where: str) -> None:
        _require_name(self.name, f"{where}.name")
        _require_name(self.job, f"{where}.job")
        if not self.modes:
            raise InvalidInput("must list at least one mode", field=f"{where}.modes", value=[])
        seen: set[tuple[str, str]] = set()
        for m_idx, mode in enumerate(self.modes):
            mode.validate(f"{where}.modes[{m_idx}]")
            key = (mode.device, mode.level)
            if key in seen:
                raise InvalidInput(
                    "repeats a (device, level) pair of another mode of this kernel",
                    field=f"{where}.modes[{m_idx}]",
                    value=f"{mode.device}/{mode.level}",
                )
            seen.add(key)

    def mode_index(self, device: str, level: str) -> int | None:
        """The index in ``modes`` of the mode on ``device`` at ``level`` (None: no such mode)."""
        return next(
            (m_idx for m_idx, m in enumerate(self.modes) if (m.device, m.level) == (device, level)),
            None,
        )


@dataclass(frozen=True)
class Edge:
    """Precedence ``src -> dst`` with a cross-device delay and an optional resume cost."""

    src: str
    dst: str
    cross_device_delay: int = 0
    resume_cost: int = 0

    def validate(self, where: str) -> None:
        _require_name(self.src, f"{where}.src")
        _require_name(self.dst, f"{where}.dst")
        if self.src == self.dst:
            raise InvalidInput(
                "an edge cannot join a kernel to itself", field=where, value=self.src
            )
        require_int(self.cross_device_delay, f"{where}.cross_device_delay", 0)
        require_int(self.resume_cost, f"{where}.resume_cost", 0)


@dataclass(frozen=True)
class Objective:
    """What to minimise.

    * ``makespan``: :math:`C_{max} = \\max_k end_k`.
    * ``weighted_completion``: :math:`\\sum_j w_j C_j` with :math:`C_j = \\max_{k \\in j} end_k`.
    * ``weighted_tardiness``: :math:`\\sum_j w_j \\max(0, C_j - d_j)` (jobs without deadline: 0).
    * ``late_jobs``: :math:`\\sum_j w_j [C_j > d_j]`.
    * ``energy``: :math:`\\sum_k p_k (end_k - start_k) + C_{max} \\sum_{d} u_d \\, p^{idle}_d`,
      the dynamic energy of the kernels (resume time included) plus the idle power of every unit
      over :math:`[0, C_{max}]`, in watts x ``time_unit``.
    * ``lexicographic``: minimise ``objectives[0]``, then ``objectives[1]`` among its optima, ...
    """

    type: str
    objectives: tuple[Objective, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.objectives, tuple):
            object.__setattr__(self, "objectives", tuple(self.objectives))

    def validate(self, where: str = "objective") -> None:
        if self.type not in OBJECTIVE_TYPES:
            raise InvalidInput(
                f"must be one of {', '.join(OBJECTIVE_TYPES)}",
                field=f"{where}.type",
                value=self.type,
            )
        if self.type == "lexicographic":
            if len(self.objectives) < 2:
                raise InvalidInput(
                    "a lexicographic objective needs at least two objectives",
                    field=f"{where}.objectives",
                    value=len(self.objectives),
                )
            for o_idx, sub in enumerate(self.objectives):
                if sub.type not in SIMPLE_OBJECTIVES:
                    raise InvalidInput(
                        f"must be one of {', '.join(SIMPLE_OBJECTIVES)}",
                        field=f"{where}.objectives[{o_idx}].type",
                        value=sub.type,
                    )
        elif self.objectives:
            raise InvalidInput(
                "only a lexicographic objective has sub-objectives",
                field=f"{where}.objectives",
                value=len(self.objectives),
            )

    @property
    def parts(self) -> tuple[Objective, ...]:
        """The simple objectives in priority order (itself when it is not lexicographic)."""
        return self.objectives if self.type == "lexicographic" else (self,)

    @property
    def soft_deadlines(self) -> bool:
        """True when deadlines are part of the objective rather than hard constraints."""
        return any(part.type in DEADLINE_OBJECTIVES for part in self.parts)

    def to_json(self) -> dict[str, Any]:
        if self.type == "lexicographic":
            return {"type": self.type, "objectives": [o.to_json() for o in self.objectives]}
        return {"type": self.type}

    @classmethod
    def parse(cls, text: str) -> Objective:
        """``"makespan"`` or ``"late_jobs,energy"`` (a lexicographic pair) -> Objective."""
        names = [name.strip() for name in text.split(",") if name.strip()]
        if len(names) == 1:
            obj = cls(names[0])
        else:
            obj = cls("lexicographic", tuple(cls(name) for name in names))
        obj.validate("objective")
        return obj


@dataclass(frozen=True)
class Instance:
    """A scheduling problem: devices, jobs, kernels with modes, edges, constraints, an objective.

    Construction validates everything and raises :class:`InvalidInput` naming the field at fault.
    Derived lookups (indices, adjacency, topological order) are built once on first use.
    """

    name: str
    devices: tuple[Device, ...]
    jobs: tuple[Job, ...]
    kernels: tuple[Kernel, ...]
    edges: tuple[Edge, ...] = ()
    objective: Objective = field(default_factory=lambda: Objective("makespan"))
    resources: tuple[Resource, ...] = ()
    power_cap_w: float | None = None
    dvfs: str = "per-kernel"
    time_unit: str = "us"

    def __post_init__(self) -> None:
        for attr in ("devices", "jobs", "kernels", "edges", "resources"):
            value = getattr(self, attr)
            if not isinstance(value, tuple):
                object.__setattr__(self, attr, tuple(value))
        self._validate()

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        _require_name(self.name, "name")
        if self.time_unit not in TIME_UNITS:
            raise InvalidInput(
                f"must be one of {', '.join(TIME_UNITS)}", field="time_unit", value=self.time_unit
            )
        if self.dvfs not in DVFS_POLICIES:
            raise InvalidInput(
                f"must be one of {', '.join(DVFS_POLICIES)}", field="dvfs", value=self.dvfs
            )
        if not self.devices:
            raise InvalidInput("must list at least one device", field="devices", value=[])
        if len(self.kernels) > MAX_KERNELS:
            raise InvalidInput(
                f"lists more kernels than the tools accept ({MAX_KERNELS:,}); plan a shorter "
                "horizon or coarser kernels",
                field="kernels",
                value=len(self.kernels),
            )
        num_modes = sum(len(ker.modes) for ker in self.kernels)
        if num_modes > MAX_MODES:
            raise InvalidInput(
                f"the kernels have more modes together than the tools accept ({MAX_MODES:,}); "
                "offer fewer DVFS levels or devices",
                field="kernels",
                value=num_modes,
            )
        _check_unique(self.devices, "devices", lambda d_idx, dev: dev.validate(f"devices[{d_idx}]"))
        _check_unique(
            self.resources, "resources", lambda r_idx, res: res.validate(f"resources[{r_idx}]")
        )
        _check_unique(self.jobs, "jobs", lambda j_idx, job: job.validate(f"jobs[{j_idx}]"))
        _check_unique(self.kernels, "kernels", lambda k_idx, ker: ker.validate(f"kernels[{k_idx}]"))
        self.objective.validate("objective")

        idle = self.idle_power_w
        if self.power_cap_w is not None:
            _require_float(self.power_cap_w, "power_cap_w")
            if self.power_cap_w < idle:
                raise InvalidInput(
                    f"is below the idle power of the devices ({idle:g} W)",
                    field="power_cap_w",
                    value=self.power_cap_w,
                )

        devices = {dev.name: dev for dev in self.devices}
        capacity = {res.name: res.capacity for res in self.resources}
        job_names = {job.name for job in self.jobs}
        for k_idx, ker in enumerate(self.kernels):
            where = f"kernels[{k_idx}]"
            if ker.job not in job_names:
                raise InvalidInput(
                    "names no job of this instance", field=f"{where}.job", value=ker.job
                )
            for m_idx, mode in enumerate(ker.modes):
                mwhere = f"{where}.modes[{m_idx}]"
                if mode.device not in devices:
                    raise InvalidInput(
                        "names no device of this instance",
                        field=f"{mwhere}.device",
                        value=mode.device,
                    )
                for res, amount in mode.demands.items():
                    if res not in capacity:
                        raise InvalidInput(
                            "names no resource of this instance",
                            field=f"{mwhere}.demands",
                            value=res,
                        )
                    if amount > capacity[res] + 1e-9:
                        raise InvalidInput(
                            f"exceeds the capacity of {res} ({capacity[res]:g})",
                            field=f"{mwhere}.demands.{res}",
                            value=amount,
                        )
            if self.power_cap_w is not None and all(
                idle + mode.power_w > self.power_cap_w + 1e-9 for mode in ker.modes
            ):
                raise InvalidInput(
                    f"no mode fits under the power cap {self.power_cap_w:g} W with idle power "
                    f"{idle:g} W",
                    field=f"{where}.modes",
                    value=ker.name,
                )

        kernel_job = {ker.name: ker.job for ker in self.kernels}
        seen_edges: set[tuple[str, str]] = set()
        for e_idx, edge in enumerate(self.edges):
            where = f"edges[{e_idx}]"
            edge.validate(where)
            for end in ("src", "dst"):
                name = getattr(edge, end)
                if name not in kernel_job:
                    raise InvalidInput(
                        "names no kernel of this instance", field=f"{where}.{end}", value=name
                    )
            if (edge.src, edge.dst) in seen_edges:
                raise InvalidInput(
                    "repeats an earlier edge", field=where, value=f"{edge.src} -> {edge.dst}"
                )
            seen_edges.add((edge.src, edge.dst))
            if edge.resume_cost and kernel_job[edge.src] != kernel_job[edge.dst]:
                raise InvalidInput(
                    "a resume_cost is only defined on an edge inside one job",
                    field=f"{where}.resume_cost",
                    value=edge.resume_cost,
                )
        self._check_acyclic()

    def _check_acyclic(self) -> None:
        if len(self.topological_order) == len(self.kernels):
            return
        import networkx as nx  # only on the error path

        graph = nx.DiGraph((e.src, e.dst) for e in self.edges)
        cycle = nx.find_cycle(graph)
        path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
        raise InvalidInput("the kernel graph contains a cycle", field="edges", value=path)

    # ------------------------------------------------------------------ derived data
    @cached_property
    def kernel_idx(self) -> dict[str, int]:
        """Kernel name -> position in ``kernels``."""
        return {ker.name: k_idx for k_idx, ker in enumerate(self.kernels)}

    @cached_property
    def job_idx(self) -> dict[str, int]:
        """Job name -> position in ``jobs``."""
        return {job.name: j_idx for j_idx, job in enumerate(self.jobs)}

    @cached_property
    def device_idx(self) -> dict[str, int]:
        """Device name -> position in ``devices``."""
        return {dev.name: d_idx for d_idx, dev in enumerate(self.devices)}

    @cached_property
    def resource_idx(self) -> dict[str, int]:
        """Resource name -> position in ``resources``."""
        return {res.name: r_idx for r_idx, res in enumerate(self.resources)}

    @property
    def num_kernels(self) -> int:
        return len(self.kernels)

    @property
    def num_jobs(self) -> int:
        return len(self.jobs)

    @property
    def num_devices(self) -> int:
        return len(self.devices)

    @cached_property
    def kernel2job(self) -> list[int]:
        """Job index of every kernel."""
        job_idx = self.job_idx
        return [job_idx[ker.job] for ker in self.kernels]

    @cached_property
    def job2kernels(self) -> list[list[int]]:
        """Kernel indices of every job, in instance order."""
        out: list[list[int]] = [[] for _ in self.jobs]
        for k_idx, j_idx in enumerate(self.kernel2job):
            out[j_idx].append(k_idx)
        return out

    @cached_property
    def edge_endpoints(self) -> list[tuple[int, int]]:
        """``(src index, dst index)`` of every edge."""
        kernel_idx = self.kernel_idx
        return [(kernel_idx[e.src], kernel_idx[e.dst]) for e in self.edges]

    @cached_property
    def in_edges(self) -> list[list[int]]:
        """Indices of the edges entering each kernel."""
        out: list[list[int]] = [[] for _ in self.kernels]
        for e_idx, (_, dst) in enumerate(self.edge_endpoints):
            out[dst].append(e_idx)
        return out

    @cached_property
    def out_edges(self) -> list[list[int]]:
        """Indices of the edges leaving each kernel."""
        out: list[list[int]] = [[] for _ in self.kernels]
        for e_idx, (src, _) in enumerate(self.edge_endpoints):
            out[src].append(e_idx)
        return out

    @cached_property
    def topological_order(self) -> list[int]:
        """Kernel indices in a topological order (Kahn, ties by instance order).

        Shorter than ``num_kernels`` only while validating a cyclic graph.
        """
        kernel_idx = {ker.name: k_idx for k_idx, ker in enumerate(self.kernels)}
        succs: list[list[int]] = [[] for _ in self.kernels]
        indeg = [0] * len(self.kernels)
        for edge in self.edges:
            src, dst = kernel_idx.get(edge.src), kernel_idx.get(edge.dst)
            if src is None or dst is None:
                continue
            succs[src].append(dst)
            indeg[dst] += 1
        order = [k_idx for k_idx, deg in enumerate(indeg) if deg == 0]
        head = 0
        while head < len(order):
            k_idx = order[head]
            head += 1
            for nxt in succs[k_idx]:
                indeg[nxt] -= 1
                if indeg[nxt] == 0:
                    order.append(nxt)
        return order

    @cached_property
    def idle_power_w(self) -> float:
        """Static power of all units of all devices, paid at every instant."""
        return sum(dev.units * dev.idle_power_w for dev in self.devices)

    @cached_property
    def dynamic_power_cap_w(self) -> float | None:
        """What the running kernels may draw together: the cap minus the idle power."""
        return None if self.power_cap_w is None else self.power_cap_w - self.idle_power_w

    @property
    def soft_deadlines(self) -> bool:
        """True when deadlines are part of the objective rather than hard constraints."""
        return self.objective.soft_deadlines

    @cached_property
    def levels_by_device(self) -> dict[str, tuple[str, ...]]:
        """The DVFS levels each device appears with in some mode, in first-seen order."""
        out: dict[str, dict[str, None]] = {dev.name: {} for dev in self.devices}
        for ker in self.kernels:
            for mode in ker.modes:
                out[mode.device][mode.level] = None
        return {name: tuple(levels) for name, levels in out.items()}

    def with_objective(self, objective: Objective) -> Instance:
        """The same instance with another objective."""
        return replace(self, objective=objective)

    def replace(self, **changes: Any) -> Instance:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_networkx(self) -> nx.DiGraph:
        """The instance as a networkx DiGraph, one node per kernel and one edge per precedence.

        See :func:`xpuplan.models.nx.instance_to_networkx` for the schema;
        :func:`xpuplan.models.nx.instance_from_networkx` reads the graph back.

        Examples
        --------
        >>> from xpuplan.models.generate import random_small_instance
        >>> inst = random_small_instance(3)
        >>> graph = inst.to_networkx()
        >>> sorted(graph.nodes) == sorted(k.name for k in inst.kernels)
        True
        >>> graph.graph["devices"] == inst.devices and graph.graph["objective"] == inst.objective
        True
        """
        # Deferred: networkx costs most of a second to import and models stays light without it
        # (xpuplan.models.nx imports this module at its top, never the other way round).
        from xpuplan.models.nx import instance_to_networkx

        return instance_to_networkx(self)


def _check_unique(items: Iterable[Any], where: str, validate: Any) -> None:
    seen: set[str] = set()
    for idx, item in enumerate(items):
        validate(idx, item)
        if item.name in seen:
            raise InvalidInput("repeats a name", field=f"{where}[{idx}].name", value=item.name)
        seen.add(item.name)
