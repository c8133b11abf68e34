"""Building blocks of both MILP formulations: PuLP variables, fast affine sums, DVFS levels."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pulp

from xpuplan.models import Instance
from xpuplan.models.schedule import Assignment

# A binary counts as chosen above this value (solvers return 0.9999999 for 1).
CHOSEN = 0.5


def new_var(
    prob: pulp.LpProblem, name: str, low: float | None, up: float | None, cat: str
) -> pulp.LpVariable:
    """A variable owned by ``prob`` (PuLP >= 3.3 way; plain ``LpVariable`` before)."""
    # PuLP 3.3 deprecates building LpVariable directly; pyproject allows PuLP >= 2.8.
    if hasattr(prob, "add_variable"):
        return prob.add_variable(name, low, up, cat)
    return pulp.LpVariable(name, low, up, cat)


def affine(terms: Sequence[tuple[pulp.LpVariable, float]], constant: float = 0.0) -> Any:
    """``sum(coef * var) + constant`` built in one go (much faster than ``lpSum``).

    A variable listed twice gets the sum of its coefficients.
    """
    coefs: dict[pulp.LpVariable, float] = {}
    for var, coef in terms:
        coefs[var] = coefs.get(var, 0.0) + coef
    return pulp.LpAffineExpression(coefs, constant)


def add_dvfs_levels(
    prob: pulp.LpProblem,
    instance: Instance,
    mode_terms: Callable[[int, int], Sequence[tuple[pulp.LpVariable, float]]],
) -> dict[tuple[int, str], pulp.LpVariable]:
    """Per-device DVFS: one level per device, and a mode only at its device's level.

    With :math:`y_{d,l}` binary, :math:`\\sum_l y_{d,l} = 1` for every device with two or more
    levels and :math:`\\sum (\text{choices of mode } m) \\le y_{dev(m), lvl(m)}`, where
    ``mode_terms(k, m)`` lists the formulation's variables that choose mode ``m`` of kernel ``k``.
    Nothing when the instance's ``dvfs`` is not ``per-device``. Returns the level variables.
    """
    level_vars: dict[tuple[int, str], pulp.LpVariable] = {}
    if instance.dvfs != "per-device":
        return level_vars
    for d_idx, dev in enumerate(instance.devices):
        levels = instance.levels_by_device[dev.name]
        if len(levels) < 2:
            continue
        mine = {
            lvl: new_var(prob, f"level_{d_idx}_{l_idx}", 0, 1, pulp.LpBinary)
            for l_idx, lvl in enumerate(levels)
        }
        level_vars.update({(d_idx, lvl): var for lvl, var in mine.items()})
        prob += affine([(v, 1.0) for v in mine.values()]) == 1, f"one_level_{d_idx}"
        for k_idx, ker in enumerate(instance.kernels):
            for m_idx, mode in enumerate(ker.modes):
                if mode.device != dev.name:
                    continue
                terms = list(mode_terms(k_idx, m_idx))
                if terms:
                    prob += (
                        affine([*terms, (mine[mode.level], -1.0)]) <= 0,
                        f"dvfs_{k_idx}_{m_idx}",
                    )
    return level_vars


def level_values(
    instance: Instance,
    level_vars: dict[tuple[int, str], pulp.LpVariable],
    assignments: Sequence[Assignment],
) -> dict[pulp.LpVariable, float]:
    """Values of per-device level binaries at a schedule (an unused device: its first level)."""
    used = {(instance.device_idx[a.device], a.level) for a in assignments}
    values = {}
    for (d_idx, level), var in level_vars.items():
        levels = instance.levels_by_device[instance.devices[d_idx].name]
        chosen = next((lvl for lvl in levels if (d_idx, lvl) in used), levels[0])
        values[var] = float(level == chosen)
    return values
