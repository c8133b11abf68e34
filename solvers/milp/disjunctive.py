"""Disjunctive (big-M) MILP: start times, choice binaries and pairwise order binaries.

It models every rule of an Instance except the cumulative ones, and refuses (``Unsupported``)
instances with a power cap or a resource some mode demands, since those need a profile over time
(use the time-indexed model or CP-SAT). Its size does not grow with the horizon.

Variables
---------
* :math:`a_{k,m,u,v} \\in \\{0,1\\}`: kernel :math:`k` runs in mode :math:`m` on unit :math:`u` of
  the mode's device in variant :math:`v` (the contiguous resumable in-edge, or none; see
  :mod:`xpuplan.solvers.milp.time_indexed`), with duration :math:`D_{k,m,v}`;
  :math:`\\sum a_{k,\\cdot} = 1`. Write :math:`on_{k,d,u} = \\sum_{m \\in d, v} a_{k,m,u,v}` and
  :math:`on_{k,d}` its sum over units.
* :math:`S_k \\in \\mathbb{Z}_{\\ge 0}` the start and :math:`E_k = S_k + \\sum D a_{k,\\cdot}`;
* :math:`o_{k,k'} \\in \\{0,1\\}` for every pair that may share a unit and is not ordered by a
  path of edges: 1 when :math:`k` runs first.

Constraints (with :math:`M = H`, the horizon of :func:`xpuplan.solvers.bounds.serial_upper_bound`,
and
:math:`E_k \\le H`)
-----------------------------------------------------------------------------------------------
* units: for every shared unit :math:`(d,u)`:
  :math:`S_{k'} \\ge E_k - M(1 - o_{k,k'}) - M(2 - on_{k,d,u} - on_{k',d,u})` and
  :math:`S_k \\ge E_{k'} - M o_{k,k'} - M(2 - on_{k,d,u} - on_{k',d,u})`;
* precedence :math:`e = (i,k)`: :math:`S_k \\ge E_i + \\delta_e \\Delta_e` with
  :math:`\\Delta_e \\ge on_{k,d} - on_{i,d}` for every device :math:`d` (devices differ);
* release :math:`S_k \\ge r_j`, hard deadline :math:`E_k \\le d_j`;
* contiguity of a resumable edge :math:`e = (i,k)` with :math:`z_e = \\sum_{m,u} a_{k,m,u,e}`:
  variant :math:`e` needs the same unit, :math:`\\sum_m a_{k,m,u,e} \\le on_{i,d,u}`, and
  :math:`S_k \\le E_i + M(1 - z_e)`; any other variant needs the edge broken: a binary
  :math:`g_e` with :math:`S_k \\ge E_i + 1 - M(1 - g_e)` (a gap) and
  :math:`on_{k,d,u} + on_{i,d,u} \\le 1 + g_e + z_e` (else another unit);
* per-device DVFS with level binaries as in the time-indexed model.

Objectives: :math:`C_j \\ge E_k`, :math:`C_{max} \\ge E_k`, :math:`T_j \\ge C_j - d_j`, late
binaries :math:`E_k \\le d_j + (H - d_j) L_j`, energy :math:`\\sum p_m D a + P^{idle} C_{max}`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import networkx as nx
import pulp

from xpuplan.models import Instance, Unsupported
from xpuplan.models.schedule import Assignment, decoded_assignments
from xpuplan.solvers.bounds import serial_upper_bound
from xpuplan.solvers.exact import Deadline
from xpuplan.solvers.milp.data import contiguous_in_edge, mode_variants
from xpuplan.solvers.milp.objective import ObjectiveParts, Terms
from xpuplan.solvers.milp.variables import (
    CHOSEN,
    add_dvfs_levels,
    affine,
    level_values,
    new_var,
)

# Model building checks the time limit every TICK kernel pairs.
TICK = 256


def refusal(instance: Instance) -> str | None:
    """Why the disjunctive model cannot take ``instance`` (None when it can)."""
    if instance.power_cap_w is not None:
        return (
            f"the disjunctive MILP cannot model the power cap ({instance.power_cap_w:g} W), a "
            "cumulative constraint over time; use solver 'milp-ti' or 'cpsat'"
        )
    for res in instance.resources:
        if any(m.demands.get(res.name, 0.0) > 0 for k in instance.kernels for m in k.modes):
            return (
                f"the disjunctive MILP cannot model resource {res.name!r}, a cumulative "
                "constraint over time; use solver 'milp-ti' or 'cpsat'"
            )
    return None


class DisjunctiveModel(ObjectiveParts):
    """The big-M MILP of one instance (see the module docstring)."""

    def __init__(
        self, instance: Instance, *, horizon: int | None = None, deadline: Deadline | None = None
    ) -> None:
        reason = refusal(instance)
        if reason is not None:
            raise Unsupported(reason)
        self.inst = instance
        self.deadline = Deadline(None) if deadline is None else deadline
        self.horizon = serial_upper_bound(instance) if horizon is None else horizon
        self.prob = pulp.LpProblem(f"disj_{instance.name}", pulp.LpMinimize)
        # choices[k]: (mode, device index, unit, variant edge, duration, variable)
        self.choices: list[list[tuple[int, int, int, int | None, int, pulp.LpVariable]]] = []
        self.start_vars: list[pulp.LpVariable] = []
        self._init_objective_parts()
        self.order_vars: dict[tuple[int, int], pulp.LpVariable] = {}
        self.apart_vars: dict[int, pulp.LpVariable] = {}
        self.gap_vars: dict[int, pulp.LpVariable] = {}
        for add in (
            self._add_variables,
            self._add_units,
            self._add_precedences,
            self._add_contiguity,
        ):
            self.deadline.check()
            add()
        self.deadline.check()
        self.level_vars = add_dvfs_levels(self.prob, self.inst, self._mode_terms)

    # ------------------------------------------------------------------ helpers
    def on(self, k_idx: int, d_idx: int, unit: int | None = None) -> Terms:
        """Terms of :math:`on_{k,d,u}` (or :math:`on_{k,d}` when ``unit`` is None)."""
        return [
            (var, 1.0)
            for _, dev, u, _, _, var in self.choices[k_idx]
            if dev == d_idx and (unit is None or u == unit)
        ]

    def end_terms(self, k_idx: int) -> Terms:
        """Terms of :math:`E_k = S_k + \\sum D a`."""
        return [(self.start_vars[k_idx], 1.0)] + [
            (var, float(dur)) for *_, dur, var in self.choices[k_idx]
        ]

    # ------------------------------------------------------------------ constraints
    def _add_variables(self) -> None:
        inst = self.inst
        soft = inst.soft_deadlines
        for k_idx in range(inst.num_kernels):
            job = inst.jobs[inst.kernel2job[k_idx]]
            latest = self.horizon
            if not soft and job.deadline is not None:
                latest = min(latest, job.deadline)
            items = []
            for m_idx, d_idx, variant, duration in mode_variants(inst, k_idx):
                for unit in range(inst.devices[d_idx].units):
                    name = f"a_{k_idx}_{m_idx}_{unit}_{'n' if variant is None else variant}"
                    var = new_var(self.prob, name, 0, 1, pulp.LpBinary)
                    items.append((m_idx, d_idx, unit, variant, duration, var))
            self.choices.append(items)
            self.start_vars.append(
                new_var(self.prob, f"start_{k_idx}", job.release, self.horizon, pulp.LpInteger)
            )
            self.prob += affine([(var, 1.0) for *_, var in items]) == 1, f"once_{k_idx}"
            self.prob += affine(self.end_terms(k_idx)) <= latest, f"latest_{k_idx}"

    def _add_units(self) -> None:
        inst = self.inst
        big = float(self.horizon)
        graph = nx.DiGraph()
        graph.add_nodes_from(range(inst.num_kernels))
        graph.add_edges_from(inst.edge_endpoints)
        closure = nx.transitive_closure_dag(graph)
        for p_idx, (first, second) in enumerate(itertools.combinations(range(inst.num_kernels), 2)):
            if p_idx % TICK == 0:
                self.deadline.check()
            if closure.has_edge(first, second) or closure.has_edge(second, first):
                continue  # a path of edges already orders them
            shared = {(d, u) for _, d, u, *_ in self.choices[first]} & {
                (d, u) for _, d, u, *_ in self.choices[second]
            }
            if not shared:
                continue
            order = new_var(self.prob, f"order_{first}_{second}", 0, 1, pulp.LpBinary)
            self.order_vars[(first, second)] = order
            for d_idx, unit in sorted(shared):
                both = [
                    (var, big * coef)
                    for var, coef in self.on(first, d_idx, unit) + self.on(second, d_idx, unit)
                ]
                tag = f"{first}_{second}_{d_idx}_{unit}"
                # second after first: S_2 - E_1 + M(1 - o) + M(2 - on_1 - on_2) >= 0
                terms = [(self.start_vars[second], 1.0)]
                terms += [(var, -coef) for var, coef in self.end_terms(first)]
                terms += [(order, -big), *[(var, -coef) for var, coef in both]]
                self.prob += affine(terms, 3 * big) >= 0, f"after_{tag}"
                # first after second: S_1 - E_2 + M o + M(2 - on_1 - on_2) >= 0
                terms = [(self.start_vars[first], 1.0)]
                terms += [(var, -coef) for var, coef in self.end_terms(second)]
                terms += [(order, big), *[(var, -coef) for var, coef in both]]
                self.prob += affine(terms, 2 * big) >= 0, f"before_{tag}"

    def _add_precedences(self) -> None:
        inst = self.inst
        for e_idx, (src, dst) in enumerate(inst.edge_endpoints):
            delay = inst.edges[e_idx].cross_device_delay
            terms = [(self.start_vars[dst], 1.0)]
            terms += [(var, -coef) for var, coef in self.end_terms(src)]
            devices = {d for _, d, *_ in self.choices[src]} | {d for _, d, *_ in self.choices[dst]}
            if delay and len(devices) > 1:
                apart = new_var(self.prob, f"apart_{e_idx}", 0, 1, pulp.LpContinuous)
                self.apart_vars[e_idx] = apart
                terms.append((apart, -float(delay)))
                for d_idx in sorted(devices):
                    diff = [(apart, 1.0), *[(v, -c) for v, c in self.on(dst, d_idx)]]
                    diff += self.on(src, d_idx)
                    self.prob += affine(diff) >= 0, f"apart_{e_idx}_{d_idx}"
            self.prob += affine(terms) >= 0, f"prec_{e_idx}"

    def _add_contiguity(self) -> None:
        inst = self.inst
        big = float(self.horizon)
        for e_idx, (src, dst) in enumerate(inst.edge_endpoints):
            if not inst.edges[e_idx].resume_cost:
                continue
            chosen = [(var, 1.0) for *_, variant, _, var in self.choices[dst] if variant == e_idx]
            units = {(d, u) for _, d, u, *_ in self.choices[src]} & {
                (d, u) for _, d, u, *_ in self.choices[dst]
            }
            gap_src = [(var, -coef) for var, coef in self.end_terms(src)]
            if chosen:
                for d_idx, unit in sorted(units):
                    same = [
                        (var, 1.0)
                        for _, d, u, variant, _, var in self.choices[dst]
                        if (d, u) == (d_idx, unit) and variant == e_idx
                    ]
                    neg = [(var, -1.0) for var, _ in self.on(src, d_idx, unit)]
                    self.prob += affine(same + neg) <= 0, f"contig_unit_{e_idx}_{d_idx}_{unit}"
                # S_dst <= E_src + M (1 - z)
                terms = [(self.start_vars[dst], 1.0), *gap_src, *[(v, big) for v, _ in chosen]]
                self.prob += affine(terms) <= big, f"contig_time_{e_idx}"
            if not units:
                continue  # never on one unit, so always broken
            gap = new_var(self.prob, f"gap_{e_idx}", 0, 1, pulp.LpBinary)
            self.gap_vars[e_idx] = gap
            # S_dst >= E_src + 1 - M (1 - g)
            terms = [(self.start_vars[dst], 1.0), *gap_src, (gap, -big)]
            self.prob += affine(terms) >= 1 - big, f"broken_gap_{e_idx}"
            for d_idx, unit in sorted(units):
                terms = self.on(dst, d_idx, unit) + self.on(src, d_idx, unit)
                terms += [(gap, -1.0), *[(v, -1.0) for v, _ in chosen]]
                self.prob += affine(terms) <= 1, f"broken_unit_{e_idx}_{d_idx}_{unit}"

    def _mode_terms(self, k_idx: int, m_idx: int) -> Terms:
        """The choice variables of mode ``m_idx`` of kernel ``k_idx``."""
        return [(var, 1.0) for m, *_, var in self.choices[k_idx] if m == m_idx]

    # ------------------------------------------------------------------ objectives
    def energy_terms(self) -> Terms:
        return [
            (var, self.inst.kernels[k_idx].modes[m_idx].power_w * dur)
            for k_idx, items in enumerate(self.choices)
            for m_idx, _, _, _, dur, var in items
        ]

    def late_terms(self) -> Terms:
        """:math:`w_j L_j` with :math:`E_k \\le d_j + (H - d_j) L_j` for every kernel of job j."""
        terms = []
        for j_idx, job in enumerate(self.inst.jobs):
            if job.deadline is None or not job.weight:
                continue
            var = new_var(self.prob, f"late_{j_idx}", 0, 1, pulp.LpBinary)
            self.late_vars[j_idx] = var
            slack = float(max(0, self.horizon - job.deadline))
            for k_idx in self.inst.job2kernels[j_idx]:
                self.prob += (
                    affine([*self.end_terms(k_idx), (var, -slack)]) <= job.deadline,
                    f"late_{j_idx}_{k_idx}",
                )
            terms.append((var, job.weight))
        return terms

    # ------------------------------------------------------------------ solution
    def start_values(
        self, assignments: Sequence[Assignment]
    ) -> dict[pulp.LpVariable, float] | None:
        """The variables' values at a schedule, or None when it lies outside the model."""
        inst = self.inst
        by_index = list(assignments)
        values: dict[pulp.LpVariable, float] = {}
        for k_idx, asg in enumerate(by_index):
            variant = contiguous_in_edge(inst, k_idx, by_index)
            modes = inst.kernels[k_idx].modes
            for m_idx, _, unit, var_variant, _, var in self.choices[k_idx]:
                mode = modes[m_idx]
                hit = (mode.device, mode.level, unit, var_variant) == (
                    asg.device,
                    asg.level,
                    asg.unit,
                    variant,
                )
                values[var] = float(hit)
            if asg.end > self.horizon:
                return None
            values[self.start_vars[k_idx]] = float(asg.start)
        for (first, second), var in self.order_vars.items():
            values[var] = float(by_index[first].start <= by_index[second].start)
        for e_idx, var in self.apart_vars.items():
            src, dst = (by_index[k] for k in inst.edge_endpoints[e_idx])
            values[var] = float(src.device != dst.device)
        for e_idx, var in self.gap_vars.items():
            src, dst = (by_index[k] for k in inst.edge_endpoints[e_idx])
            values[var] = float(dst.start >= src.end + 1)
        values.update(level_values(inst, self.level_vars, by_index))
        values.update(self.objective_start_values(by_index))
        return values

    def decode(self) -> list[Assignment]:
        inst = self.inst
        modes, units, starts, ends = [], [], [], []
        for k_idx, items in enumerate(self.choices):
            pick = next((item for item in items if (item[-1].varValue or 0.0) > CHOSEN), None)
            if pick is None:
                raise RuntimeError(f"disjunctive MILP of {inst.name}: kernel {k_idx} has no choice")
            start = round(self.start_vars[k_idx].varValue or 0.0)
            modes.append(pick[0])
            units.append(pick[2])
            starts.append(start)
            ends.append(start + pick[4])
        return decoded_assignments(
            inst, modes, units, starts, ends, f"the disjunctive MILP of {inst.name}"
        )
