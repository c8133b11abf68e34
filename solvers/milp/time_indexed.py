"""Time-indexed MILP: every rule of an Instance, exactly, on the integer time grid.

Variables
---------
:math:`x_{k,m,u,v,t} \\in \\{0,1\\}`: kernel :math:`k` starts at time :math:`t` in mode :math:`m`
on unit :math:`u` of the mode's device, in *variant* :math:`v`. The variant says which incoming
resumable edge (``resume_cost > 0``) is contiguous: :math:`v = \\varnothing` (none) or one edge
:math:`e` whose source shares a device with a mode of :math:`k` (at most one edge into a kernel
can be contiguous: two sources ending at the same instant on one unit would overlap). The
duration of the variable is therefore known:
:math:`D_{k,m,v} = d_{k,m} + \\max\\{c_f : f \\text{ resumable into } k, f \\ne v\\}`.
A variable exists only for :math:`t` in the kernel's window: at or after the head
:math:`h_k` (:func:`xpuplan.solvers.bounds.heads`; releases included), ending by the horizon
:math:`H` minus the tail :math:`q_k`, and by the job's deadline when deadlines are hard.

:math:`H` is a safe horizon, one some optimal schedule of every feasible instance ends by:
:func:`xpuplan.solvers.bounds.serial_upper_bound`, or less given a start schedule
(:func:`xpuplan.solvers.milp.common.objective_horizon`). With it the model is exact: an optimal
schedule ending by :math:`H` with its units renumbered (the symmetry rows below) satisfies every
row. A ``horizon`` option below the safe one shrinks the model, and then nothing is reported as
proven.

Write :math:`run_{k}(t)` for the sum of the variables of :math:`k` running at :math:`t`
(:math:`t_x \\le t < t_x + D_x`), and :math:`end_{k,d,u}(t)` for those ending exactly at :math:`t`
on unit :math:`(d,u)`.

Constraints
-----------
* once: :math:`\\sum x_{k,\\cdot} = 1`;
* units: :math:`\\sum_k run_{k,d,u}(t) \\le 1` for every unit and instant;
* power: :math:`\\sum_{x} p_{m(x)} [x \\text{ runs at } t] \\, x \\le P - P^{idle}`; every
  resource likewise with the modes' demands and its capacity;
* precedence :math:`e = (i, k)` with delay :math:`\\delta_e`, with
  :math:`S_k = \\sum t x_{k,\\cdot}`, :math:`E_i = \\sum (t + D) x_{i,\\cdot}` and
  :math:`on_{k,d}` the sum of :math:`k`'s variables on device :math:`d`:
  :math:`S_k - E_i \\ge \\delta_e (on_{k,d} - on_{i,d})` for every device :math:`d` of :math:`k`
  (the one :math:`k` runs on gives :math:`\\delta_e` exactly when :math:`i` runs elsewhere, the
  others are implied by :math:`S_k \\ge E_i`); a single :math:`S_k \\ge E_i` when
  :math:`\\delta_e = 0`;
* contiguity of a resumable edge :math:`e = (i, k)`, for every unit :math:`(d, u)` and instant
  :math:`t`: :math:`start^{v=e}_{k,d,u}(t) \\le end_{i,d,u}(t)` (variant :math:`e` only when
  :math:`i` ends right there) and :math:`start^{v \\ne e}_{k,d,u}(t) + end_{i,d,u}(t) \\le 1`
  (any other variant only when it does not), so each variant's duration is the exact one;
* conflict cliques: sets of (kernel, mode) pairs that pairwise cannot run together (one kernel,
  one single-unit device, or power or a resource over its cap), at most one running per instant
  (:func:`conflict_cliques`; implied, but strong in the LP relaxation);
* symmetry: units of a device are numbered by their lowest-index kernel (see
  :meth:`TimeIndexedModel._add_unit_symmetry`);
* per-device DVFS: one level binary :math:`\\lambda_{d,l}` per device, :math:`\\sum_l
  \\lambda_{d,l} = 1`, :math:`\\sum x_{k,m,\\cdot} \\le \\lambda_{d(m),l(m)}`.

Objectives
----------
With :math:`E_k = \\sum (t + D) x_{k,\\cdot}`: :math:`C_j \\ge E_k` for :math:`k \\in j`,
:math:`C_{max} \\ge E_k`, :math:`T_j \\ge C_j - d_j`, :math:`T_j \\ge 0`; late jobs
:math:`L_j \\ge \\sum \\{x_{k,\\cdot} : t + D > d_j\\}` for :math:`k \\in j`; energy
:math:`\\sum p_m D x + P^{idle} C_{max}`. Each variable is pushed onto its bound by the
minimisation, and every objective is one of these linear expressions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import pulp

from xpuplan.models import Instance, Unsupported
from xpuplan.models.schedule import Assignment, decoded_assignments
from xpuplan.solvers.bounds import serial_upper_bound
from xpuplan.solvers.exact import Deadline
from xpuplan.solvers.milp.data import (
    conflict_cliques,
    contiguous_in_edge,
    count_time_indexed_starts,
    mode_variants,
    start_windows,
)
from xpuplan.solvers.milp.objective import ObjectiveParts, Terms
from xpuplan.solvers.milp.variables import (
    CHOSEN,
    add_dvfs_levels,
    affine,
    level_values,
    new_var,
)

# Refuse models with more start variables than this unless told otherwise.
MAX_VARIABLES = 200_000
# Conflict cliques added at most (each is a row per instant).
MAX_CLIQUES = 64
# Refuse models whose unit rows would hold more nonzeros than this (each start variable appears
# in one row per instant it runs: the model's memory grows with starts x durations).
MAX_NONZEROS = 5_000_000
# Model building checks the time limit every TICK start variables.
TICK = 1024


@dataclass(frozen=True)
class _Start:
    """One start variable's meaning: kernel, mode, device, unit, variant edge, time, duration."""

    kernel: int
    mode: int
    device: int
    unit: int
    variant: int | None
    time: int
    duration: int

    @property
    def end(self) -> int:
        return self.time + self.duration


def check_time_indexed_size(instance: Instance, horizon: int, max_variables: int) -> None:
    """Refuse (:class:`Unsupported`) a time-indexed model above ``max_variables`` start variables.

    Counted with :func:`xpuplan.solvers.milp.data.count_time_indexed_starts` before anything is
    built, so a refusal costs nothing.
    """
    count, nonzeros = count_time_indexed_starts(instance, horizon)
    if count > max_variables:
        raise Unsupported(
            f"the time-indexed MILP of {instance.name!r} needs {count} start "
            f"variables ({instance.num_kernels} kernels x modes x units x variants over a "
            f"horizon of {horizon}), above max_variables={max_variables}; use "
            "solver 'cpsat', or raise max_variables"
        )
    if nonzeros > MAX_NONZEROS:
        raise Unsupported(
            f"the time-indexed MILP of {instance.name!r} needs {nonzeros} nonzeros in its unit "
            f"rows alone ({count} start variables, each in a row per instant it runs), above "
            f"{MAX_NONZEROS}; use solver 'cpsat' or 'milp'"
        )


class TimeIndexedModel(ObjectiveParts):
    """The time-indexed MILP of one instance (see the module docstring)."""

    def __init__(
        self,
        instance: Instance,
        *,
        horizon: int | None = None,
        max_variables: int = MAX_VARIABLES,
        deadline: Deadline | None = None,
    ) -> None:
        self.inst = instance
        self.horizon = serial_upper_bound(instance) if horizon is None else horizon
        self.deadline = Deadline(None) if deadline is None else deadline
        check_time_indexed_size(instance, self.horizon, max_variables)
        self.starts = self._enumerate_starts()
        self.prob = pulp.LpProblem(f"ti_{instance.name}", pulp.LpMinimize)
        self.x_vars = [
            new_var(self.prob, f"x_{s_idx}", 0, 1, pulp.LpBinary)
            for s_idx in range(len(self.starts))
        ]
        self.by_kernel: list[list[int]] = [[] for _ in instance.kernels]
        self.by_mode: dict[tuple[int, int], list[int]] = defaultdict(list)
        self.start_idx: dict[tuple[int, int, int, int | None, int], int] = {}
        for s_idx, start in enumerate(self.starts):
            self.by_kernel[start.kernel].append(s_idx)
            self.by_mode[start.kernel, start.mode].append(s_idx)
            key = (start.kernel, start.mode, start.unit, start.variant, start.time)
            self.start_idx[key] = s_idx
        self._init_objective_parts()
        for add in (
            self._add_once,
            self._add_units,
            self._add_unit_symmetry,
            self._add_cumulatives,
            self._add_conflict_cliques,
            self._add_precedences,
            self._add_contiguity,
        ):
            self.deadline.check()
            add()
        self.deadline.check()
        self.level_vars = add_dvfs_levels(self.prob, self.inst, self._mode_terms)

    # ------------------------------------------------------------------ variables
    def _enumerate_starts(self) -> list[_Start]:
        """Every start variable, in the order :func:`count_time_indexed_starts` counts them."""
        inst = self.inst
        out = []
        for k_idx, first, latest_end in start_windows(inst, self.horizon):
            self.deadline.check()
            for m_idx, d_idx, variant, duration in mode_variants(inst, k_idx):
                for unit in range(inst.devices[d_idx].units):
                    for t in range(first, latest_end - duration + 1):
                        out.append(_Start(k_idx, m_idx, d_idx, unit, variant, t, duration))
        return out

    # ------------------------------------------------------------------ constraints
    def _add_once(self) -> None:
        for k_idx, s_idcs in enumerate(self.by_kernel):
            self.prob += (
                affine([(self.x_vars[s], 1.0) for s in s_idcs]) == 1,
                f"once_{k_idx}",
            )

    def _add_units(self) -> None:
        running: dict[tuple[int, int, int], list[int]] = defaultdict(list)
        for s_idx, start in enumerate(self.starts):
            if s_idx % TICK == 0:
                self.deadline.check()
            for t in range(start.time, start.end):
                running[(start.device, start.unit, t)].append(s_idx)
        for (d_idx, unit, t), s_idcs in running.items():
            self.deadline.check()
            if len({self.starts[s].kernel for s in s_idcs}) > 1:
                self.prob += (
                    affine([(self.x_vars[s], 1.0) for s in s_idcs]) <= 1,
                    f"unit_{d_idx}_{unit}_{t}",
                )

    def _add_unit_symmetry(self) -> None:
        """Units of a device are interchangeable: number them by their lowest-index kernel.

        Relabelling the units of a device maps schedules to schedules of equal value, so some
        optimal schedule has its units sorted by the lowest kernel index on each; then a kernel on
        unit :math:`u \\ge 1` has a lower-index kernel on unit :math:`u - 1`:
        :math:`on_{k,d,u} \\le \\sum_{k' < k} on_{k',d,u-1}`.
        """
        on: dict[tuple[int, int, int], list[tuple[pulp.LpVariable, float]]] = defaultdict(list)
        for s_idx, start in enumerate(self.starts):
            if s_idx % TICK == 0:
                self.deadline.check()
            on[(start.kernel, start.device, start.unit)].append((self.x_vars[s_idx], 1.0))
        for d_idx, dev in enumerate(self.inst.devices):
            for unit in range(1, dev.units):
                for k_idx in range(self.inst.num_kernels):
                    terms = on.get((k_idx, d_idx, unit))
                    if not terms:
                        continue
                    lower = [
                        (var, -1.0)
                        for k_low in range(k_idx)
                        for var, _ in on.get((k_low, d_idx, unit - 1), [])
                    ]
                    self.prob += affine(terms + lower) <= 0, f"sym_{d_idx}_{unit}_{k_idx}"

    def _add_cumulatives(self) -> None:
        inst = self.inst
        profiles: list[tuple[str, float, list[list[float]]]] = []
        if inst.dynamic_power_cap_w is not None:
            profiles.append(
                (
                    "power",
                    inst.dynamic_power_cap_w,
                    [[m.power_w for m in k.modes] for k in inst.kernels],
                )
            )
        for r_idx, res in enumerate(inst.resources):
            profiles.append(
                (
                    f"res{r_idx}",
                    res.capacity,
                    [[m.demands.get(res.name, 0.0) for m in k.modes] for k in inst.kernels],
                )
            )
        for label, capacity, rates in profiles:
            # Never binding when every kernel at its hungriest mode fits together.
            if sum(max(row) for row in rates) <= capacity:
                continue
            running: dict[int, list[tuple[pulp.LpVariable, float]]] = defaultdict(list)
            for s_idx, start in enumerate(self.starts):
                if s_idx % TICK == 0:
                    self.deadline.check()
                rate = rates[start.kernel][start.mode]
                if rate > 0:
                    for t in range(start.time, start.end):
                        running[t].append((self.x_vars[s_idx], rate))
            for t, terms in running.items():
                self.deadline.check()
                if sum(rate for _, rate in terms) > capacity:
                    self.prob += affine(terms) <= capacity, f"{label}_{t}"

    def _add_conflict_cliques(self) -> None:
        """At most one (kernel, mode) of each clique of :func:`conflict_cliques` runs at a time.

        Implied by the unit, power and resource rows, but much stronger in the LP relaxation: a
        fractional solution can no longer spread two kernels that never fit together over the
        same instants.
        """
        for c_idx, clique in enumerate(conflict_cliques(self.inst, MAX_CLIQUES)):
            running: dict[int, list[int]] = defaultdict(list)
            for s_idx in sorted(s for pair in set(clique) for s in self.by_mode.get(pair, ())):
                start = self.starts[s_idx]
                for t in range(start.time, start.end):
                    running[t].append(s_idx)
            for t, s_idcs in running.items():
                self.deadline.check()
                if len({self.starts[s].kernel for s in s_idcs}) > 1:
                    terms = [(self.x_vars[s], 1.0) for s in s_idcs]
                    self.prob += affine(terms) <= 1, f"clique_{c_idx}_{t}"

    def _add_precedences(self) -> None:
        inst = self.inst
        for e_idx, (src, dst) in enumerate(inst.edge_endpoints):
            self.deadline.check()
            delay = inst.edges[e_idx].cross_device_delay
            devices = (
                sorted({self.starts[s].device for s in self.by_kernel[dst]}) if delay else [None]
            )
            for d_idx in devices:
                # S_dst - E_src >= delay * (on_d(dst) - on_d(src)): the delay counts exactly when
                # dst runs on d and src does not (the row of dst's device is the binding one).
                terms = [
                    (
                        self.x_vars[s],
                        self.starts[s].time - (delay if self.starts[s].device == d_idx else 0),
                    )
                    for s in self.by_kernel[dst]
                ]
                terms += [
                    (
                        self.x_vars[s],
                        -self.starts[s].end + (delay if self.starts[s].device == d_idx else 0),
                    )
                    for s in self.by_kernel[src]
                ]
                self.prob += affine(terms) >= 0, f"prec_{e_idx}_{d_idx}"

    def _add_contiguity(self) -> None:
        inst = self.inst
        for e_idx, (src, dst) in enumerate(inst.edge_endpoints):
            self.deadline.check()
            if not inst.edges[e_idx].resume_cost:
                continue
            ends: dict[tuple[int, int, int], list[int]] = defaultdict(list)
            for s_idx in self.by_kernel[src]:
                start = self.starts[s_idx]
                ends[(start.device, start.unit, start.end)].append(s_idx)
            begins: dict[tuple[int, int, int], list[int]] = defaultdict(list)
            for s_idx in self.by_kernel[dst]:
                start = self.starts[s_idx]
                begins[(start.device, start.unit, start.time)].append(s_idx)
            for key, dst_idcs in begins.items():
                src_terms = [(self.x_vars[s], 1.0) for s in ends.get(key, [])]
                chosen = [s for s in dst_idcs if self.starts[s].variant == e_idx]
                others = [s for s in dst_idcs if self.starts[s].variant != e_idx]
                tag = f"{e_idx}_{key[0]}_{key[1]}_{key[2]}"
                if chosen:
                    neg = [(term, -1.0) for term, _ in src_terms]
                    self.prob += (
                        affine([(self.x_vars[s], 1.0) for s in chosen] + neg) <= 0,
                        f"contig_{tag}",
                    )
                if others and src_terms:
                    self.prob += (
                        affine([(self.x_vars[s], 1.0) for s in others] + src_terms) <= 1,
                        f"broken_{tag}",
                    )

    def _mode_terms(self, k_idx: int, m_idx: int) -> Terms:
        """The start variables of mode ``m_idx`` of kernel ``k_idx``."""
        return [(self.x_vars[s], 1.0) for s in self.by_mode.get((k_idx, m_idx), ())]

    # ------------------------------------------------------------------ objectives
    def end_terms(self, k_idx: int) -> Terms:
        """:math:`E_k = \\sum_s e_s x_s` over the kernel's start variables."""
        return [(self.x_vars[s], float(self.starts[s].end)) for s in self.by_kernel[k_idx]]

    def energy_terms(self) -> Terms:
        inst = self.inst
        return [
            (
                self.x_vars[s_idx],
                inst.kernels[start.kernel].modes[start.mode].power_w * start.duration,
            )
            for s_idx, start in enumerate(self.starts)
        ]

    def late_terms(self) -> Terms:
        """:math:`w_j L_j` with :math:`L_j \\ge` every start variable of the job ending late."""
        terms = []
        for j_idx, job in enumerate(self.inst.jobs):
            if job.deadline is None or not job.weight:
                continue
            var = new_var(self.prob, f"late_{j_idx}", 0, 1, pulp.LpContinuous)
            self.late_vars[j_idx] = var
            for k_idx in self.inst.job2kernels[j_idx]:
                late = [
                    (self.x_vars[s], 1.0)
                    for s in self.by_kernel[k_idx]
                    if self.starts[s].end > job.deadline
                ]
                if late:
                    self.prob += affine([*late, (var, -1.0)]) <= 0, f"late_{j_idx}_{k_idx}"
            terms.append((var, job.weight))
        return terms

    # ------------------------------------------------------------------ solution
    def start_values(
        self, assignments: Sequence[Assignment]
    ) -> dict[pulp.LpVariable, float] | None:
        """The variables' values at a schedule, or None when it lies outside the model."""
        inst = self.inst
        by_index = list(assignments)
        values: dict[pulp.LpVariable, float] = {var: 0.0 for var in self.x_vars}
        for k_idx, asg in enumerate(by_index):
            m_idx = inst.kernels[k_idx].mode_index(asg.device, asg.level)
            variant = contiguous_in_edge(inst, k_idx, by_index)
            s_idx = (
                None
                if m_idx is None
                else self.start_idx.get((k_idx, m_idx, asg.unit, variant, asg.start))
            )
            if s_idx is None:
                return None
            values[self.x_vars[s_idx]] = 1.0
        values.update(level_values(inst, self.level_vars, by_index))
        values.update(self.objective_start_values(by_index))
        return values

    def decode(self) -> list[Assignment]:
        chosen: list[_Start | None] = [None] * self.inst.num_kernels
        for s_idx, start in enumerate(self.starts):
            value = self.x_vars[s_idx].varValue
            if value is not None and value > CHOSEN:
                chosen[start.kernel] = start
        picks = [c for c in chosen if c is not None]
        if len(picks) != self.inst.num_kernels:
            raise RuntimeError(f"time-indexed MILP of {self.inst.name}: a kernel has no start")
        return decoded_assignments(
            self.inst,
            [c.mode for c in picks],
            [c.unit for c in picks],
            [c.time for c in picks],
            [c.end for c in picks],
            f"the time-indexed MILP of {self.inst.name}",
        )
