"""The constraints of the CP-SAT model, one small method per rule of an Instance.

Notation as in :mod:`xpuplan.solvers.cpsat.variables`: :math:`S_k, E_k` start and end,
:math:`x_{k,m}` mode literals, :math:`y_{k,d}` device literals, :math:`o_{k,d,u}` unit literals,
:math:`c_e` contiguity and :math:`s_e` same-device literals, :math:`\\rho_k` resume times.
"""

from __future__ import annotations

from collections.abc import Callable

from ortools.sat.python.cp_model import CpModel, IntervalVar, IntVar, LinearExpr

from xpuplan.solvers.cpsat.cliques import disjunctive_cliques
from xpuplan.solvers.cpsat.data import ModelData
from xpuplan.solvers.cpsat.variables import Variables


class Constraints:
    """Adds every constraint family to ``model`` (see :meth:`add_constraints`)."""

    def __init__(
        self,
        model: CpModel,
        data: ModelData,
        variables: Variables,
        check: Callable[[], None] | None = None,
    ) -> None:
        self.model = model
        self.check = check if check is not None else (lambda: None)
        self.redundant_cliques = True  # False: skip the redundant clique no-overlaps (LNS windows)
        self.data = data
        self.vars = variables
        inst = data.instance
        kernel2job = inst.kernel2job
        self.sinks = [k_idx for k_idx in range(inst.num_kernels) if not inst.out_edges[k_idx]]
        self.job_sinks: list[list[int]] = [[] for _ in inst.jobs]
        for k_idx, j_idx in enumerate(kernel2job):
            succs = (inst.edge_endpoints[e_idx][1] for e_idx in inst.out_edges[k_idx])
            if all(kernel2job[dst] != j_idx for dst in succs):
                self.job_sinks[j_idx].append(k_idx)

    def add_constraints(self) -> None:
        """Every rule of the instance, then the redundant constraints that give strong bounds.

        ``check`` (given to the constructor) runs between families: a time budget raises there.
        """
        families = [
            self._select_modes,
            self._device_capacity,
            self._precedences,
            self._contiguity,
            self._resume_energy_links,
            self._hard_deadlines,
            self._makespan,
            self._job_completions,
            self._soft_deadlines,
            self._power_cap,
            self._resources,
            self._per_device_dvfs,
            self._work_bounds,
            self._disjunctive_cliques,
        ]
        if not self.redundant_cliques:
            families.remove(self._disjunctive_cliques)
        for add in families:
            self.check()
            add()

    # ------------------------------------------------------------------ placement
    def _select_modes(self) -> None:
        """:math:`\\sum_m x_{k,m} = 1`; device and unit literals are sums of the finer ones."""
        model, inst = self.model, self.data.instance
        for k_idx, kv in enumerate(self.vars.kernel_vars):
            model.add_exactly_one(kv.mode_vars)
            modes = inst.kernels[k_idx].modes
            for d_idx, lit in kv.device_vars.items():
                on_device = [
                    kv.mode_vars[m_idx]
                    for m_idx, mode in enumerate(modes)
                    if inst.device_idx[mode.device] == d_idx
                ]
                if len(on_device) > 1:
                    model.add(lit == LinearExpr.sum(on_device))
            slots: dict[int, list[int]] = {}
            for m_idx, unit in kv.unit_vars:
                slots.setdefault(m_idx, []).append(unit)
            for m_idx, units in slots.items():
                if len(units) > 1:
                    model.add(
                        kv.mode_vars[m_idx]
                        == LinearExpr.sum([kv.unit_vars[m_idx, u] for u in units])
                    )
            for (d_idx, unit), lit in kv.device_unit_vars.items():
                parts = [
                    kv.unit_vars[m_idx, unit]
                    for m_idx, mode in enumerate(modes)
                    if inst.device_idx[mode.device] == d_idx
                ]
                if len(parts) > 1:
                    model.add(lit == LinearExpr.sum(parts))

    def _device_capacity(self) -> None:
        """No overlap per unit; a cumulative of capacity ``units`` per device with several.

        Pooled devices get the cumulative alone (exact, units are assigned after the solve);
        devices modelled unit by unit get it as a redundant constraint.
        """
        model, inst = self.model, self.data.instance
        on_device: list[list[IntervalVar]] = [[] for _ in inst.devices]
        on_unit: dict[tuple[int, int], list[IntervalVar]] = {}
        for k_idx, kv in enumerate(self.vars.kernel_vars):
            for m_idx, mode in enumerate(inst.kernels[k_idx].modes):
                on_device[inst.device_idx[mode.device]].append(kv.mode_intervals[m_idx])
            for (m_idx, unit), interval in kv.unit_intervals.items():
                d_idx = inst.device_idx[inst.kernels[k_idx].modes[m_idx].device]
                on_unit.setdefault((d_idx, unit), []).append(interval)
        for d_idx, intervals in enumerate(on_device):
            units = inst.devices[d_idx].units
            if len(intervals) <= 1:
                continue
            if units == 1:
                model.add_no_overlap(intervals)
            elif len(intervals) > units:
                model.add_cumulative(intervals, [1] * len(intervals), units)
        for intervals in on_unit.values():
            if len(intervals) > 1:
                model.add_no_overlap(intervals)

    # ------------------------------------------------------------------ edges
    def _precedences(self) -> None:
        """:math:`S_v \\ge E_u + \\delta_e (1 - s_e)`, with :math:`s_e \\Rightarrow` same device.

        When the two kernels share no device the delay always applies; when both can only run
        on one and the same device, it never does.
        """
        model, inst = self.model, self.data.instance
        devices = self.data.kernel_devices
        kernel_vars = self.vars.kernel_vars
        for e_idx, (src, dst) in enumerate(inst.edge_endpoints):
            delay = inst.edges[e_idx].cross_device_delay
            end, start = kernel_vars[src].end_var, kernel_vars[dst].start_var
            same = self.vars.same_device_vars.get(e_idx)
            if same is not None:
                model.add(start >= end + delay - delay * same)
                self._implies_same_device(same, src, dst)
            elif devices[src] & devices[dst]:
                model.add(start >= end)
            else:
                model.add(start >= end + delay)

    def _implies_same_device(self, lit: IntVar, src: int, dst: int) -> None:
        """``lit`` => kernels ``src`` and ``dst`` run on one device."""
        src_devices = self.vars.kernel_vars[src].device_vars
        dst_devices = self.vars.kernel_vars[dst].device_vars
        for d_idx in src_devices.keys() | dst_devices.keys():
            self._implies_equal(lit, src_devices.get(d_idx), dst_devices.get(d_idx))

    def _implies_equal(self, lit: IntVar, on_src: IntVar | None, on_dst: IntVar | None) -> None:
        """``lit`` => ``on_src == on_dst``, where a missing literal is false."""
        model = self.model
        if on_src is not None and on_dst is not None:
            model.add_bool_or([~lit, ~on_src, on_dst])
            model.add_bool_or([~lit, ~on_dst, on_src])
        elif on_src is not None:
            model.add_implication(lit, ~on_src)
        elif on_dst is not None:
            model.add_implication(lit, ~on_dst)

    def _contiguity(self) -> None:
        """:math:`c_e \\Leftrightarrow` same device, same unit and :math:`S_v = E_u`.

        The forward direction is three implications. The backward one says a broken edge between
        two kernels on one unit leaves a gap: :math:`\\neg c_e \\wedge o_{u,d,i} \\wedge o_{v,d,i}
        \\Rightarrow S_v \\ge E_u + 1`, so a schedule never becomes contiguous by accident (the
        resume time the model charged would then be wrong). A kernel has at most one contiguous
        successor and one contiguous predecessor.
        """
        model, inst = self.model, self.data.instance
        kernel_vars = self.vars.kernel_vars
        contig_out: dict[int, list[IntVar]] = {}
        contig_in: dict[int, list[IntVar]] = {}
        for e_idx, lit in self.vars.contig_vars.items():
            src, dst = inst.edge_endpoints[e_idx]
            contig_out.setdefault(src, []).append(lit)
            contig_in.setdefault(dst, []).append(lit)
            ks, kd = kernel_vars[src], kernel_vars[dst]
            model.add(kd.start_var == ks.end_var).only_enforce_if(lit)
            same = self.vars.same_device_vars.get(e_idx)
            if same is not None:
                model.add_implication(lit, same)
            self._implies_same_device(lit, src, dst)
            gap = kd.start_var >= ks.end_var + 1
            for d_idx in self.data.kernel_devices[src] & self.data.kernel_devices[dst]:
                if not self.data.per_unit[d_idx]:
                    model.add(gap).only_enforce_if(
                        [~lit, ks.device_vars[d_idx], kd.device_vars[d_idx]]
                    )
                    continue
                units = {u for (d, u) in ks.device_unit_vars if d == d_idx}
                units |= {u for (d, u) in kd.device_unit_vars if d == d_idx}
                for unit in sorted(units):
                    on_src = ks.device_unit_vars.get((d_idx, unit))
                    on_dst = kd.device_unit_vars.get((d_idx, unit))
                    self._implies_equal(lit, on_src, on_dst)
                    if on_src is not None and on_dst is not None:
                        model.add(gap).only_enforce_if([~lit, on_src, on_dst])
        for lits in (*contig_out.values(), *contig_in.values()):
            if len(lits) > 1:
                model.add_at_most_one(lits)

    def _resume_energy_links(self) -> None:
        """:math:`z_{k,m} = c_e \\wedge x_{k,m}` (the energy objective's resume terms)."""
        model = self.model
        for (k_idx, m_idx), lit in self.vars.resume_mode_vars.items():
            contig = self.vars.contig_vars[self.data.resume_edge(k_idx)]
            mode = self.vars.kernel_vars[k_idx].mode_vars[m_idx]
            model.add_implication(lit, contig)
            model.add_implication(lit, mode)
            model.add_bool_or([~contig, ~mode, lit])

    # ------------------------------------------------------------------ time rules
    def _hard_deadlines(self) -> None:
        """:math:`E_k \\le d_j` for the last kernels of every job with a hard deadline.

        When explaining infeasibility each job's deadline holds only under its assumption literal.
        """
        inst = self.data.instance
        if inst.soft_deadlines:
            return
        for j_idx, job in enumerate(inst.jobs):
            if job.deadline is None:
                continue
            lit = self.vars.deadline_vars.get(j_idx)
            for k_idx in self.job_sinks[j_idx]:
                cons = self.model.add(self.vars.kernel_vars[k_idx].end_var <= job.deadline)
                if lit is not None:
                    cons.only_enforce_if(lit)

    def _makespan(self) -> None:
        """:math:`C_{max} \\ge E_k` for every kernel without a successor."""
        if self.vars.makespan_var is None:
            return
        for k_idx in self.sinks:
            self.model.add(self.vars.makespan_var >= self.vars.kernel_vars[k_idx].end_var)

    def _job_completions(self) -> None:
        """:math:`C_j \\ge E_k` for the last kernels of each job."""
        for j_idx, var in self.vars.completion_vars.items():
            for k_idx in self.job_sinks[j_idx]:
                self.model.add(var >= self.vars.kernel_vars[k_idx].end_var)

    def _soft_deadlines(self) -> None:
        """Soft deadlines.

        Lateness :math:`\\neg L_j \\Rightarrow E_k \\le d_j`; tardiness :math:`T_j \\ge E_k - d_j`.
        """
        model, inst = self.model, self.data.instance
        for j_idx, lit in self.vars.late_vars.items():
            deadline = inst.jobs[j_idx].deadline
            for k_idx in self.job_sinks[j_idx]:
                model.add(self.vars.kernel_vars[k_idx].end_var <= deadline).only_enforce_if(~lit)
        for j_idx, var in self.vars.tardiness_vars.items():
            deadline = inst.jobs[j_idx].deadline
            for k_idx in self.job_sinks[j_idx]:
                model.add(var >= self.vars.kernel_vars[k_idx].end_var - deadline)  # type: ignore[operator]

    # ------------------------------------------------------------------ shared capacities
    def _power_cap(self) -> None:
        """The power cap as a cumulative in mW or uW.

        :math:`\\sum_{running} p_{k,m} \\le P - \\sum_d u_d p^{idle}_d`.
        """
        cap = self.data.scaled_dynamic_cap
        if cap is None:
            return
        inst = self.data.instance
        demands = [
            [self.data.scaled_power(mode.power_w) for mode in ker.modes] for ker in inst.kernels
        ]
        self._cumulative(demands, cap, self.vars.power_cap_var)

    def _resources(self) -> None:
        """:math:`\\sum_{running} a_{k,m,r} \\le A_r` for every renewable resource."""
        inst = self.data.instance
        for r_idx in range(len(inst.resources)):
            demands = [
                [self.data.resource_demand(r_idx, k_idx, m_idx) for m_idx in range(len(ker.modes))]
                for k_idx, ker in enumerate(inst.kernels)
            ]
            capacity = self.data.resource_capacity(r_idx)
            self._cumulative(demands, capacity, self.vars.resource_vars.get(r_idx))

    def _cumulative(self, demands: list[list[int]], capacity: int, lit: IntVar | None) -> None:
        """A cumulative over the mode intervals with ``demands[k][m]``.

        Under an assumption literal the capacity is ``total - (total - capacity) * lit``, where
        ``total`` (every kernel at its largest demand) can never be exceeded.
        """
        total = sum(max(row) for row in demands)
        if total <= capacity:
            return
        intervals, amounts = [], []
        for kv, row in zip(self.vars.kernel_vars, demands, strict=True):
            for interval, amount in zip(kv.mode_intervals, row, strict=True):
                if amount > 0:
                    intervals.append(interval)
                    amounts.append(amount)
        if lit is None:
            self.model.add_cumulative(intervals, amounts, capacity)
        else:
            self.model.add_cumulative(intervals, amounts, total - (total - capacity) * lit)

    def _per_device_dvfs(self) -> None:
        """One level per device: :math:`x_{k,m} \\Rightarrow \\ell_{d(m),l(m)}`,
        :math:`\\sum_l \\ell_{d,l} \\le 1`."""
        model, inst = self.model, self.data.instance
        level_vars = self.vars.level_vars
        if not level_vars:
            return
        for k_idx, kv in enumerate(self.vars.kernel_vars):
            for m_idx, mode in enumerate(inst.kernels[k_idx].modes):
                lvl = level_vars.get((inst.device_idx[mode.device], mode.level))
                if lvl is not None:
                    model.add_implication(kv.mode_vars[m_idx], lvl)
        per_device: dict[int, list[IntVar]] = {}
        for (d_idx, _), lit in level_vars.items():
            per_device.setdefault(d_idx, []).append(lit)
        for lits in per_device.values():
            if self.vars.dvfs_var is None:
                model.add_at_most_one(lits)
            else:
                model.add(LinearExpr.sum(lits) <= 1).only_enforce_if(self.vars.dvfs_var)

    # ------------------------------------------------------------------ redundant
    def _work_bounds(self) -> None:
        """Load of a device set within the window its kernels can run in.

        For every set :math:`S` in ``data.work_subsets`` with :math:`U_S` units, kernels that can
        touch it start no earlier than :math:`h_S = \\min h_k` and leave at least
        :math:`q_S = \\min q_k` before the makespan, so
        :math:`\\sum_{k,\\ m: dev(m) \\in S} d_{k,m} x_{k,m} \\le U_S (C_{max} - h_S - q_S)`.
        Implied by the no-overlap and cumulative constraints, but it gives the LP relaxation the
        work bound (:math:`m C_{max} \\ge \\sum p` on identical processors).
        """
        makespan = self.vars.makespan_var
        if makespan is None:
            return
        inst, data = self.data.instance, self.data
        for subset in data.work_subsets:
            durations: list[int] = []
            literals: list[IntVar] = []
            members = []
            for k_idx, kv in enumerate(self.vars.kernel_vars):
                found = False
                for m_idx, mode in enumerate(inst.kernels[k_idx].modes):
                    if inst.device_idx[mode.device] in subset:
                        durations.append(mode.duration)
                        literals.append(kv.mode_vars[m_idx])
                        found = True
                if found:
                    members.append(k_idx)
            if len(members) < 2:  # one kernel's window is already implied by its start and end
                continue
            units = sum(inst.devices[d_idx].units for d_idx in subset)
            window = min(data.heads[k] for k in members) + min(data.tails[k] for k in members)
            load = LinearExpr.weighted_sum(literals, durations)
            self.model.add(load <= units * (makespan - window))

    def _disjunctive_cliques(self) -> None:
        """No overlap among modes that pairwise can never run together (:mod:`.cliques`).

        Redundant; under an assumption literal for the power cap or a resource (explaining an
        infeasible instance) the conflicts they imply may not hold, so none are added then.
        """
        data = self.data
        inst = data.instance
        if self.vars.explain:
            return
        power = None
        if data.scaled_dynamic_cap is not None:
            power = [[data.scaled_power(m.power_w) for m in ker.modes] for ker in inst.kernels]
        demands = [
            [
                [data.resource_demand(r_idx, k_idx, m_idx) for m_idx in range(len(ker.modes))]
                for k_idx, ker in enumerate(inst.kernels)
            ]
            for r_idx in range(len(inst.resources))
        ]
        capacities = [data.resource_capacity(r_idx) for r_idx in range(len(inst.resources))]
        for clique in disjunctive_cliques(
            inst, power, data.scaled_dynamic_cap, demands, capacities
        ):
            self.model.add_no_overlap(
                [self.vars.kernel_vars[k_idx].mode_intervals[m_idx] for k_idx, m_idx in clique]
            )
