"""The objective parts both MILP formulations share, written once over their end expressions.

A formulation provides :meth:`ObjectiveParts.end_terms` (kernel :math:`k`'s end as a linear
expression), :meth:`ObjectiveParts.energy_terms` (the dynamic energy of every choice) and
:meth:`ObjectiveParts.late_terms` (its own encoding of :math:`L_j`); this class builds
:math:`C_{max}`, :math:`C_j`, :math:`T_j` and each simple objective from them, once per type.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulp

from xpuplan.models import Instance, Objective
from xpuplan.models.schedule import Assignment
from xpuplan.solvers.milp.data import objective_values
from xpuplan.solvers.milp.variables import affine, new_var

Terms = list[tuple[pulp.LpVariable, float]]


class ObjectiveParts:
    """Mixin: makespan, completions, tardiness and the simple objectives of a formulation."""

    inst: Instance
    prob: pulp.LpProblem
    horizon: int

    def _init_objective_parts(self) -> None:
        self._makespan_var: pulp.LpVariable | None = None
        self._completion_vars: list[pulp.LpVariable] | None = None
        self._part_exprs: dict[str, pulp.LpAffineExpression] = {}
        self.tardiness_vars: dict[int, pulp.LpVariable] = {}
        self.late_vars: dict[int, pulp.LpVariable] = {}

    def end_terms(self, k_idx: int) -> Terms:
        """Kernel ``k_idx``'s end :math:`E_k` as a linear expression."""
        raise NotImplementedError

    def energy_terms(self) -> Terms:
        """:math:`\\sum_k p_k (E_k - S_k)` over the formulation's choices."""
        raise NotImplementedError

    def late_terms(self) -> Terms:
        """:math:`w_j L_j` with the formulation's link of :math:`L_j` to the job's ends."""
        raise NotImplementedError

    def objective_start_values(
        self, assignments: Sequence[Assignment]
    ) -> dict[pulp.LpVariable, float]:
        """The values of the objective variables built so far at a schedule (for a MIP start)."""
        makespan, completions, tardiness, late = objective_values(self.inst, assignments)
        values: dict[pulp.LpVariable, float] = {}
        if self._makespan_var is not None:
            values[self._makespan_var] = float(makespan)
        for var, value in zip(self._completion_vars or [], completions, strict=False):
            values[var] = float(value)
        for j_idx, var in self.tardiness_vars.items():
            values[var] = float(tardiness[j_idx])
        for j_idx, var in self.late_vars.items():
            values[var] = float(late[j_idx])
        return values

    def makespan_var(self) -> pulp.LpVariable:
        """:math:`C_{max} \\ge E_k` for every kernel (built on first use)."""
        if self._makespan_var is None:
            var = new_var(self.prob, "makespan", 0, None, pulp.LpContinuous)
            for k_idx in range(self.inst.num_kernels):
                self.prob += affine([*self.end_terms(k_idx), (var, -1.0)]) <= 0, f"cmax_{k_idx}"
            self._makespan_var = var
        return self._makespan_var

    def completion_vars(self) -> list[pulp.LpVariable]:
        """:math:`C_j \\ge E_k` for every kernel of job :math:`j` (built on first use)."""
        if self._completion_vars is None:
            out = []
            for j_idx, k_idcs in enumerate(self.inst.job2kernels):
                var = new_var(self.prob, f"completion_{j_idx}", 0, None, pulp.LpContinuous)
                for k_idx in k_idcs:
                    self.prob += (
                        affine([*self.end_terms(k_idx), (var, -1.0)]) <= 0,
                        f"cj_{j_idx}_{k_idx}",
                    )
                out.append(var)
            self._completion_vars = out
        return self._completion_vars

    def part_expr(self, part: Objective) -> pulp.LpAffineExpression:
        """The linear expression of one simple objective (built once per type)."""
        if part.type not in self._part_exprs:
            self._part_exprs[part.type] = self._build_part_expr(part)
        return self._part_exprs[part.type]

    def _build_part_expr(self, part: Objective) -> pulp.LpAffineExpression:
        inst = self.inst
        if part.type == "makespan":
            return affine([(self.makespan_var(), 1.0)])
        if part.type == "energy":
            terms = self.energy_terms()
            if inst.idle_power_w:
                terms.append((self.makespan_var(), inst.idle_power_w))
            return affine(terms)
        if part.type == "weighted_completion":
            pairs = zip(self.completion_vars(), inst.jobs, strict=True)
            return affine([(var, job.weight) for var, job in pairs])
        if part.type == "weighted_tardiness":
            return affine(self._tardiness_terms())
        if part.type == "late_jobs":
            return affine(self.late_terms())
        raise ValueError(f"not a simple objective: {part.type}")

    def _tardiness_terms(self) -> Terms:
        """:math:`w_j T_j` with :math:`T_j \\ge C_j - d_j`, :math:`T_j \\ge 0`."""
        terms = []
        completions = self.completion_vars()
        for j_idx, job in enumerate(self.inst.jobs):
            if job.deadline is None or not job.weight:
                continue
            var = new_var(self.prob, f"tardiness_{j_idx}", 0, None, pulp.LpContinuous)
            self.tardiness_vars[j_idx] = var
            self.prob += (
                affine([(var, 1.0), (completions[j_idx], -1.0)]) >= -job.deadline,
                f"tardy_{j_idx}",
            )
            terms.append((var, job.weight))
        return terms
