"""The objectives as exact integer CP-SAT expressions.

Each simple objective becomes an :class:`ObjectiveTerm`: an integer expression and the scale that
turns its value back into the instance's units (``value / scale``). Weights are scaled by the
first power of ten (up to 10^6) that makes all of them integers, powers by the model's power scale;
anything else is refused with :class:`xpuplan.models.Unsupported`.

* makespan: :math:`C_{max}`.
* weighted_completion: :math:`\\sum_j w_j C_j`.
* weighted_tardiness: :math:`\\sum_j w_j T_j`, :math:`T_j \\ge \\max(0, C_j - d_j)`.
* late_jobs: :math:`\\sum_j w_j L_j`, :math:`\\neg L_j \\Rightarrow C_j \\le d_j`.
* energy: :math:`\\sum_{k,m} p_{k,m} \\big((d_{k,m} + \\bar c_k) x_{k,m} - (\\bar c_k -
  \\underline c_k) z_{k,m}\\big) + C_{max} \\sum_d u_d p^{idle}_d`, where the resume time of kernel
  :math:`k` is :math:`\\bar c_k - (\\bar c_k - \\underline c_k) c_e` and
  :math:`z_{k,m} = c_e \\wedge x_{k,m}` (see :class:`xpuplan.solvers.cpsat.data.ResumeTerm`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ortools.sat.python.cp_model import IntVar, LinearExpr, LinearExprT

from xpuplan.models import Objective, Unsupported
from xpuplan.solvers.cpsat.data import ModelData
from xpuplan.solvers.cpsat.scaling import WEIGHT_SCALES, require_scale, scaled
from xpuplan.solvers.cpsat.variables import Variables

# CP-SAT's objective must stay well inside 64-bit integers.
MAX_OBJECTIVE = 2**60


@dataclass(frozen=True)
class ObjectiveTerm:
    """One simple objective: ``expr`` in integers; the instance's value is ``expr / scale``."""

    part: Objective
    expr: LinearExprT
    scale: int

    def to_instance(self, value: int) -> int | float:
        """An integer value of ``expr`` in the instance's units (exact when it divides)."""
        return value // self.scale if value % self.scale == 0 else value / self.scale

    def bound_to_instance(self, bound: float) -> int | float:
        """CP-SAT's best objective bound, rounded up to the integer it proves, in instance units."""
        return self.to_instance(math.ceil(bound - 1e-9 * max(1.0, abs(bound))))


def objective_term(data: ModelData, variables: Variables, part: Objective) -> ObjectiveTerm:
    """The :class:`ObjectiveTerm` of one simple objective.

    Raises
    ------
    Unsupported
        When weights or powers cannot be scaled to integers exactly, or the objective would not
        fit CP-SAT's integers.
    """
    inst = data.instance
    if part.type == "makespan":
        term, largest = ObjectiveTerm(part, _required(variables.makespan_var), 1), data.horizon
    elif part.type == "energy":
        term, largest = _energy(data, variables, part)
    else:
        weighted: dict[int, IntVar] = {  # job index -> its variable
            "weighted_completion": variables.completion_vars,
            "weighted_tardiness": variables.tardiness_vars,
            "late_jobs": variables.late_vars,
        }[part.type]
        scale = require_scale(
            [inst.jobs[j_idx].weight for j_idx in weighted],
            WEIGHT_SCALES,
            f"the {part.type} weights",
        )
        coeffs = [scaled(inst.jobs[j_idx].weight, scale) for j_idx in weighted]
        term = ObjectiveTerm(part, LinearExpr.weighted_sum(list(weighted.values()), coeffs), scale)
        largest = sum(coeffs) * data.horizon
    if largest >= MAX_OBJECTIVE:
        raise Unsupported(f"cpsat cannot model the {part.type} objective: its values exceed 2^60")
    return term


def _energy(data: ModelData, variables: Variables, part: Objective) -> tuple[ObjectiveTerm, int]:
    """The energy term and an upper bound on its value."""
    inst = data.instance
    exprs: list[LinearExprT] = []
    coeffs: list[int] = []
    for k_idx, ker in enumerate(inst.kernels):
        kv = variables.kernel_vars[k_idx]
        resume = data.resume[k_idx]
        high = 0 if resume is None else resume.high
        for m_idx, mode in enumerate(ker.modes):
            power = data.scaled_power(mode.power_w)
            if power == 0:
                continue
            exprs.append(kv.mode_vars[m_idx])
            coeffs.append(power * (mode.duration + high))
            z = variables.resume_mode_vars.get((k_idx, m_idx))
            if z is not None and resume is not None:
                exprs.append(z)
                coeffs.append(-power * (resume.high - resume.low))
    largest = sum(max(c, 0) for c in coeffs)
    idle = sum(dev.units * data.scaled_power(dev.idle_power_w) for dev in inst.devices)
    if idle:
        exprs.append(_required(variables.makespan_var))
        coeffs.append(idle)
        largest += idle * data.horizon
    term = ObjectiveTerm(part, LinearExpr.weighted_sum(exprs, coeffs), _required_scale(data))
    return term, largest


def _required(var: IntVar | None) -> IntVar:
    if var is None:
        raise ValueError("the model was built without the variable this objective needs")
    return var


def _required_scale(data: ModelData) -> int:
    if data.power_scale is None:
        raise ValueError("the model was built without a power scale")
    return data.power_scale
