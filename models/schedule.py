"""The Schedule: when and where each kernel runs (format ``xpuplan.schedule/1``).

Also the timing rules every producer of schedules shares: which edges are contiguous, how long a
kernel's resume lasts, and how to turn per-kernel decisions (mode, unit, start) into assignments.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from xpuplan.models.errors import InvalidInput
from xpuplan.models.instance import Instance

if TYPE_CHECKING:
    import pandas as pd

SCHEDULE_FORMAT = "xpuplan.schedule/1"
STATUSES = ("optimal", "feasible", "infeasible", "unknown")
# A simple objective's value is a number; a lexicographic one's is a tuple, most important first.
ObjectiveValue = int | float | tuple[int | float, ...]


@dataclass(frozen=True)
class Assignment:
    """Kernel ``kernel`` runs on ``(device, unit)`` at DVFS ``level`` over ``[start, end)``."""

    kernel: str
    device: str
    unit: int
    level: str
    start: int
    end: int

    def validate(self, where: str) -> None:
        for attr in ("kernel", "device"):
            value = getattr(self, attr)
            if not isinstance(value, str) or not value:
                raise InvalidInput(
                    "must be a non-empty string", field=f"{where}.{attr}", value=value
                )
        if not isinstance(self.level, str):
            raise InvalidInput("must be a string", field=f"{where}.level", value=self.level)
        for attr in ("unit", "start", "end"):
            value = getattr(self, attr)
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidInput("must be an integer", field=f"{where}.{attr}", value=value)


@dataclass(frozen=True)
class Schedule:
    """A solver's answer for one instance.

    ``status == "optimal"`` means ``objective == lower_bound`` was proven. Heuristics report
    ``"feasible"`` with the best bound the project computes cheaply. An ``"infeasible"`` or
    ``"unknown"`` schedule may have no assignments; ``message`` then says why.
    """

    instance: str
    assignments: tuple[Assignment, ...] = ()
    solver: str = ""
    status: str = "feasible"
    objective: ObjectiveValue | None = None
    lower_bound: ObjectiveValue | None = None
    solve_seconds: float = 0.0
    preemptions: tuple[tuple[str, str], ...] | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        self._normalise()
        self._validate()

    def _normalise(self) -> None:
        if not isinstance(self.assignments, tuple):
            object.__setattr__(self, "assignments", tuple(self.assignments))
        if self.preemptions is not None and not isinstance(self.preemptions, tuple):
            object.__setattr__(self, "preemptions", tuple(tuple(p) for p in self.preemptions))

    def _validate(self, *, assignments: bool = True) -> None:
        if not isinstance(self.instance, str) or not self.instance:
            raise InvalidInput("must be a non-empty string", field="instance", value=self.instance)
        if self.status not in STATUSES:
            raise InvalidInput(
                f"must be one of {', '.join(STATUSES)}", field="status", value=self.status
            )
        if assignments:
            for a_idx, asg in enumerate(self.assignments):
                asg.validate(f"assignments[{a_idx}]")
        for attr in ("objective", "lower_bound"):
            _validate_value(getattr(self, attr), attr)
        if not isinstance(self.solve_seconds, int | float) or not self.solve_seconds >= 0:
            raise InvalidInput(
                "must be a number >= 0", field="solve_seconds", value=self.solve_seconds
            )

    @property
    def is_solution(self) -> bool:
        """True when the schedule claims to place every kernel (optimal or feasible)."""
        return self.status in ("optimal", "feasible")

    def by_kernel(self) -> dict[str, Assignment]:
        """Kernel name -> its assignment (the last one when a kernel is listed twice)."""
        return {asg.kernel: asg for asg in self.assignments}

    def replace(self, **changes: Any) -> Schedule:
        """A copy with some fields changed (validated again, as a new schedule is).

        When ``assignments`` is not among the changes the copy shares this schedule's tuple of
        frozen, already validated assignments, so only the other fields are checked: a solver's
        result is replaced two or three times on its way out (objective, bound, solver name),
        and re-checking thousands of assignments each time was a visible part of a heuristic's
        whole run.
        """
        if "assignments" in changes:
            return replace(self, **changes)
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(f"Schedule has no field {sorted(unknown)[0]!r}")
        copy = object.__new__(type(self))
        for f in fields(self):
            object.__setattr__(copy, f.name, changes.get(f.name, getattr(self, f.name)))
        copy._normalise()
        copy._validate(assignments=False)
        return copy

    @property
    def makespan(self) -> int:
        return max((asg.end for asg in self.assignments), default=0)

    def to_frame(self, instance: Instance) -> pd.DataFrame:
        """One row per kernel: job, task, device, unit, level, start, end, duration, energy.

        See :func:`xpuplan.models.frames.schedule_frame` for every column; ``instance`` is the
        instance this schedule is for (the source of jobs, tasks and modes).

        Examples
        --------
        >>> from xpuplan.models.generate import layered_dag_instance
        >>> inst = layered_dag_instance(seed=0, num_kernels=3, num_devices=1)
        >>> order = [inst.kernels[k] for k in inst.topological_order]
        >>> starts, t = [], 0
        >>> for ker in order:
        ...     starts.append(t)
        ...     t += ker.modes[0].duration
        >>> asgs = [Assignment(k.name, "dev0", 0, "max", s, s + k.modes[0].duration)
        ...         for k, s in zip(order, starts)]
        >>> frame = Schedule(inst.name, asgs).to_frame(inst)
        >>> list(frame["job"].unique()), list(frame["end"] - frame["start"] == frame["duration"])
        (['dag'], [True, True, True])
        """
        # Deferred: pandas costs about a second to import; frames imports this module for type
        # checking only.
        from xpuplan.models.frames import schedule_frame

        return schedule_frame(self, instance)


def _validate_value(value: Any, field_: str) -> None:
    if value is None:
        return
    values = value if isinstance(value, tuple) else (value,)
    for item in values:
        if isinstance(item, bool) or not isinstance(item, int | float) or math.isnan(item):
            raise InvalidInput(
                "must be a number, a list of numbers or null", field=field_, value=value
            )


# ---------------------------------------------------------------------- timing rules
def is_contiguous(src: Assignment, dst: Assignment) -> bool:
    """Contiguous: ``dst`` starts on the same (device, unit) exactly at ``src.end``."""
    return src.device == dst.device and src.unit == dst.unit and dst.start == src.end


def resume_of(instance: Instance, k_idx: int, by_index: Sequence[Assignment | None]) -> int:
    """The resume time of kernel ``k_idx``: the largest resume cost of its broken in-edges."""
    dst = by_index[k_idx]
    if dst is None:
        return 0
    resume = 0
    for e_idx in instance.in_edges[k_idx]:
        edge = instance.edges[e_idx]
        if not edge.resume_cost:
            continue
        src = by_index[instance.edge_endpoints[e_idx][0]]
        if src is not None and not is_contiguous(src, dst):
            resume = max(resume, edge.resume_cost)
    return resume


def preemptions_of(instance: Instance, assignments: Sequence[Assignment]) -> list[tuple[str, str]]:
    """The non-contiguous edges inside jobs (where a job was preempted or migrated)."""
    by_name = {asg.kernel: asg for asg in assignments}
    kernel2job = instance.kernel2job
    out = []
    for e_idx, (src_idx, dst_idx) in enumerate(instance.edge_endpoints):
        if kernel2job[src_idx] != kernel2job[dst_idx]:
            continue
        edge = instance.edges[e_idx]
        src, dst = by_name.get(edge.src), by_name.get(edge.dst)
        if src is not None and dst is not None and not is_contiguous(src, dst):
            out.append((edge.src, edge.dst))
    return out


def build_assignments(
    instance: Instance,
    modes: Sequence[int],
    units: Sequence[int],
    starts: Sequence[int],
) -> list[Assignment]:
    """Assignments from per-kernel decisions, with each end including the kernel's resume time.

    Parameters
    ----------
    instance
        The instance the decisions are for.
    modes, units, starts
        Per kernel index: the index of the chosen mode in ``kernel.modes``, the unit of its
        device, and the start time.

    Returns
    -------
    list[Assignment]
        In instance kernel order. Ends are computed in topological order, since whether an edge
        is contiguous depends on the end of its source.
    """
    by_index: list[Assignment | None] = [None] * instance.num_kernels
    for k_idx in instance.topological_order:
        ker = instance.kernels[k_idx]
        mode = ker.modes[modes[k_idx]]
        start = int(starts[k_idx])
        asg = Assignment(ker.name, mode.device, int(units[k_idx]), mode.level, start, start)
        by_index[k_idx] = asg
        end = start + mode.duration + resume_of(instance, k_idx, by_index)
        by_index[k_idx] = replace(asg, end=end)
    return [asg for asg in by_index if asg is not None]


def decoded_assignments(
    instance: Instance,
    modes: Sequence[int],
    units: Sequence[int],
    starts: Sequence[int],
    ends: Sequence[int],
    source: str,
) -> list[Assignment]:
    """:func:`build_assignments`, checked against the ends a solver's model computed itself.

    A solver's model has its own encoding of durations and resume times; where it disagrees
    with the rules the model is wrong, never the result, so this raises ``RuntimeError`` naming
    ``source`` (e.g. "the cpsat model of video-call") and the first kernel that differs.
    """
    assignments = build_assignments(instance, modes, units, starts)
    for asg, end in zip(assignments, ends, strict=True):
        if asg.end != end:
            raise RuntimeError(
                f"internal error in {source}: kernel {asg.kernel!r} ends at {end} in the model "
                f"but at {asg.end} by the instance's rules"
            )
    return assignments
