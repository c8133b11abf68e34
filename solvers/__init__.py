"""Exact solvers (CP-SAT, MILP), heuristics and bounds behind one entry point, :func:`solve`.

Imports only :mod:`models` of the project.
"""

# Importing a backend registers its solvers: the brute-force referee, CP-SAT, the list-scheduling
# heuristics, and the MILP backends milp-ti and milp.
import xpuplan.solvers.brute_force
import xpuplan.solvers.cpsat
import xpuplan.solvers.heuristics
import xpuplan.solvers.milp  # noqa: F401  (imported for registration only, as the three above)
from xpuplan.solvers.registry import SolverInfo, register, solve, solver_info, solver_names
from xpuplan.solvers.result import Result

__all__ = ["Result", "SolverInfo", "register", "solve", "solver_info", "solver_names"]
