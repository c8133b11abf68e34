"""What the CP-SAT model needs from an instance, derived once: horizon, scales, unit layout.

Nothing here creates a solver variable; :class:`ModelData` is plain data that
:mod:`xpuplan.solvers.cpsat.variables` and :mod:`xpuplan.solvers.cpsat.constraints` read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from xpuplan.models import Instance, InvalidInput, Unsupported
from xpuplan.solvers import bounds
from xpuplan.solvers.cpsat.scaling import POWER_SCALES, require_scale, scaled

UNIT_MODELS = ("auto", "per-unit")
# Times stay far below 2^63 even multiplied by scaled powers and weights.
MAX_HORIZON = 2**40


@dataclass(frozen=True)
class ResumeTerm:
    """A kernel's resume time as an affine function of one contiguity literal.

    With the in-edges that carry a resume cost sorted by cost, at most one of them can be
    contiguous (two contiguous predecessors would overlap on the kernel's unit just before it
    starts). So ``resume = high - (high - low) * contig[edge]``: the largest cost ``high`` unless
    its edge ``edge`` is contiguous, else ``low``, the largest of the others (0 if none). Edges
    whose endpoints share no device are never contiguous and only raise ``low``, or fix the whole
    term when their cost is the largest (then ``edge`` is None).
    """

    edge: int | None
    high: int
    low: int


@dataclass(frozen=True)
class ModelData:
    """Derived data of one instance for the CP-SAT model.

    Attributes
    ----------
    horizon
        No kernel of some optimal schedule ends later
        (:func:`xpuplan.solvers.bounds.serial_upper_bound`, or the hint's makespan when the first
        objective is the makespan).
    kernel_devices
        The device indices each kernel has a mode on.
    per_unit
        Per device: True when each unit gets its own optional intervals and no-overlap. A device
        with several units is *pooled* otherwise (one cumulative of capacity ``units`` and units
        assigned after the solve), which is exact when no edge with a resume cost can join two
        kernels on it, since then which unit a kernel runs on changes nothing.
    unit_slots
        Per device and kernel index: the units the kernel may use. Units are interchangeable, so
        the i-th kernel that can use a device takes one of its first i + 1 units (symmetry
        breaking: relabel units in the order kernels first use them).
    contig_edges
        Edges with a resume cost whose endpoints share a device: their contiguity is a decision.
    resume
        Per kernel, its :class:`ResumeTerm` (None when it never pays a resume).
    work_subsets
        The device sets that get a redundant load constraint: every single device, the whole
        platform, and any other set whose static work bound beats all of those.
    power_scale
        Watts -> integers (1000 or 10^6) when the power cap or the energy objective needs it.
    resource_scales
        Per resource, the scale of its capacity and demands.
    """

    instance: Instance
    horizon: int
    kernel_devices: list[frozenset[int]]
    per_unit: list[bool]
    unit_slots: list[dict[int, int]]
    contig_edges: list[int]
    resume: list[ResumeTerm | None]
    power_scale: int | None
    resource_scales: list[int]
    heads: list[int]
    tails: list[int]
    fastest: list[int]
    job_completion_lb: list[int]
    work_subsets: list[frozenset[int]]
    stop: Callable[[], bool] | None = field(default=None, compare=False)

    @classmethod
    def build(
        cls,
        instance: Instance,
        *,
        unit_model: str = "auto",
        horizon: int | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> ModelData:
        """Derive everything; ``horizon`` (optional) may only shrink the computed one; ``stop``
        (optional) cuts the assignment LP bound short (see :attr:`makespan_lb`).

        Raises
        ------
        Unsupported
            When powers or resource amounts cannot be scaled to integers exactly.
        """
        if unit_model not in UNIT_MODELS:
            raise InvalidInput(
                f"must be one of {', '.join(UNIT_MODELS)}", field="unit_model", value=unit_model
            )
        devices = bounds.kernel_devices(instance)
        contig_edges = [
            e_idx
            for e_idx, (src, dst) in enumerate(instance.edge_endpoints)
            if instance.edges[e_idx].resume_cost and devices[src] & devices[dst]
        ]
        shared: set[int] = set()
        for e_idx in contig_edges:
            src, dst = instance.edge_endpoints[e_idx]
            shared |= devices[src] & devices[dst]
        per_unit = [
            dev.units > 1 and (unit_model == "per-unit" or d_idx in shared)
            for d_idx, dev in enumerate(instance.devices)
        ]
        serial = bounds.serial_upper_bound(instance)
        if serial >= MAX_HORIZON:
            raise Unsupported(
                f"cpsat cannot model this instance: its horizon {serial} exceeds {MAX_HORIZON}"
            )
        return cls(
            instance=instance,
            horizon=serial if horizon is None else min(serial, horizon),
            kernel_devices=devices,
            per_unit=per_unit,
            unit_slots=_unit_slots(instance, devices),
            contig_edges=contig_edges,
            resume=_resume_terms(instance, set(contig_edges)),
            power_scale=_power_scale(instance),
            resource_scales=[
                require_scale(
                    [res.capacity]
                    + [m.demands.get(res.name, 0.0) for k in instance.kernels for m in k.modes],
                    POWER_SCALES,
                    f"the demands of resource {res.name!r}",
                )
                for res in instance.resources
            ],
            heads=bounds.heads(instance),
            tails=bounds.tails(instance),
            fastest=bounds.fastest_durations(instance),
            job_completion_lb=bounds.job_completion_bounds(instance),
            work_subsets=_work_subsets(instance),
            stop=stop,
        )

    @cached_property
    def makespan_lb(self) -> int:
        """:math:`C_{max}`'s floor, cheap bounds and assignment LP (computed on first use: only a
        model with a makespan variable reads it). The LPs stop early when ``stop()`` turns true."""
        return bounds.makespan_bound(self.instance, lp=True, stop=self.stop)

    @cached_property
    def cheap_makespan_lb(self) -> int:
        """The cheap bounds alone (:func:`xpuplan.solvers.bounds.makespan_lower_bound`)."""
        return bounds.makespan_lower_bound(self.instance)

    def scaled_power(self, watts: float) -> int:
        """``watts`` in the model's integer power unit."""
        if self.power_scale is None:
            raise ValueError("this instance has no power scale (no power cap, no energy objective)")
        return scaled(watts, self.power_scale)

    @property
    def scaled_dynamic_cap(self) -> int | None:
        """The power cap minus every unit's idle power, in the model's integer power unit."""
        inst = self.instance
        if inst.power_cap_w is None:
            return None
        idle = sum(dev.units * self.scaled_power(dev.idle_power_w) for dev in inst.devices)
        return self.scaled_power(inst.power_cap_w) - idle

    def resume_edge(self, k_idx: int) -> int:
        """The edge whose contiguity decides kernel ``k_idx``'s resume time."""
        term = self.resume[k_idx]
        if term is None or term.edge is None:
            raise ValueError(f"kernel {k_idx}'s resume time depends on no contiguity decision")
        return term.edge

    def resume_source(self, k_idx: int) -> int:
        """The source kernel of :meth:`resume_edge`."""
        return self.instance.edge_endpoints[self.resume_edge(k_idx)][0]

    def resource_capacity(self, r_idx: int) -> int:
        res = self.instance.resources[r_idx]
        return scaled(res.capacity, self.resource_scales[r_idx])

    def resource_demand(self, r_idx: int, k_idx: int, m_idx: int) -> int:
        res = self.instance.resources[r_idx]
        mode = self.instance.kernels[k_idx].modes[m_idx]
        return scaled(mode.demands.get(res.name, 0.0), self.resource_scales[r_idx])


def _power_scale(instance: Instance) -> int | None:
    """The power scale, when a power cap or the energy objective reads powers."""
    needs_power = instance.power_cap_w is not None or any(
        part.type == "energy" for part in instance.objective.parts
    )
    if not needs_power:
        return None
    values = [dev.idle_power_w for dev in instance.devices]
    values += [m.power_w for k in instance.kernels for m in k.modes]
    if instance.power_cap_w is not None:
        values.append(instance.power_cap_w)
    return require_scale(values, POWER_SCALES, "the powers (power cap or energy objective)")


def _work_subsets(instance: Instance) -> list[frozenset[int]]:
    work = bounds.work_bounds(instance)
    everything = frozenset(range(instance.num_devices))
    basic = [frozenset({d_idx}) for d_idx in range(instance.num_devices)]
    if everything not in basic:
        basic.append(everything)
    best_basic = max(work.get(subset, 0) for subset in basic)
    return basic + [s for s, value in work.items() if value > best_basic and s not in basic]


def _unit_slots(instance: Instance, devices: list[frozenset[int]]) -> list[dict[int, int]]:
    """Per device: kernel index -> how many of the device's units it may use (see ModelData)."""
    out: list[dict[int, int]] = [{} for _ in instance.devices]
    for k_idx, devs in enumerate(devices):
        for d_idx in devs:
            slots = out[d_idx]
            slots[k_idx] = min(instance.devices[d_idx].units, len(slots) + 1)
    return out


def _resume_terms(instance: Instance, contig_edges: set[int]) -> list[ResumeTerm | None]:
    out: list[ResumeTerm | None] = []
    for k_idx in range(instance.num_kernels):
        costs = [
            (instance.edges[e_idx].resume_cost, e_idx)
            for e_idx in instance.in_edges[k_idx]
            if instance.edges[e_idx].resume_cost
        ]
        if not costs:
            out.append(None)
            continue
        always = max((c for c, e_idx in costs if e_idx not in contig_edges), default=0)
        choices = sorted(((c, e_idx) for c, e_idx in costs if e_idx in contig_edges), reverse=True)
        if not choices or always >= choices[0][0]:
            out.append(ResumeTerm(None, always, always))
            continue
        high, edge = choices[0]
        low = max(always, choices[1][0] if len(choices) > 1 else 0)
        out.append(ResumeTerm(edge, high, low))
    return out
