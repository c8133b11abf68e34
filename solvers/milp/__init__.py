"""MILP backends through PuLP, registered as two solvers.

* ``"milp-ti"``: the time-indexed model (:mod:`xpuplan.solvers.milp.time_indexed`), exact for every
  rule of an Instance (power cap and resources included) on the integer grid; its size grows with
  the horizon, so it refuses models above ``max_variables`` start variables, counted before
  anything is built.
* ``"milp"``: the disjunctive big-M model (:mod:`xpuplan.solvers.milp.disjunctive`), whose size does
  not depend on the horizon; it refuses instances with a power cap or resource demands.

Both take ``backend="cbc"`` (the CBC bundled with PuLP, the default), ``"highs"`` (HiGHS through
highspy), or ``"gurobi"`` / ``"cplex"`` when PuLP finds them licensed. They exist to cross-check
CP-SAT and for users with a commercial MILP solver.

Modules, one concern each, as in :mod:`xpuplan.solvers.cpsat`: ``data`` (what the models derive
from an instance before any is built: variants, horizons, sizes), ``variables`` (PuLP variables,
affine sums, DVFS levels), ``time_indexed`` and ``disjunctive`` (each formulation's variables and
constraints), ``objective`` (the objective parts both share), ``backends`` (the MILP solvers PuLP
drives) and ``solve`` (the entry points, one stage of the shared lexicographic driver
:func:`xpuplan.solvers.exact.lexicographic`, status and bounds).

Examples
--------
>>> from models import Instance, Device, Job, Kernel, Mode
>>> from solvers import solve
>>> inst = Instance("pair", devices=(Device("cpu"), Device("npu")), jobs=(Job("j"),),
...                 kernels=(Kernel("a", "j", (Mode("cpu", "-", 4), Mode("npu", "-", 2))),
...                          Kernel("b", "j", (Mode("cpu", "-", 3), Mode("npu", "-", 3)))))
>>> res = solve(inst, "milp-ti", backend="highs")
>>> res.status, res.objective
('optimal', 3)
"""

from __future__ import annotations

from xpuplan.solvers.milp.backends import BACKENDS
from xpuplan.solvers.milp.solve import solve_disjunctive, solve_time_indexed
from xpuplan.solvers.milp.time_indexed import MAX_VARIABLES
from xpuplan.solvers.registry import register

register(
    "milp-ti",
    kind="exact",
    description="time-indexed MILP (PuLP with CBC or HiGHS): every rule, small horizons",
)(solve_time_indexed)
register(
    "milp",
    kind="exact",
    description="disjunctive big-M MILP (PuLP with CBC or HiGHS): no power cap or resources",
)(solve_disjunctive)

__all__ = ["BACKENDS", "MAX_VARIABLES", "solve_disjunctive", "solve_time_indexed"]
