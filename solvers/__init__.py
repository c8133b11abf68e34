"""Exact solvers (CP-SAT, MILP), heuristics and bounds behind one entry point, :func:`solve`.

Imports only :mod:`models` of the project.
"""

from solvers.registry import SolverInfo, register, solve, solver_info, solver_names
from solvers.result import Result

__all__ = ["Result", "SolverInfo", "register", "solve", "solver_info", "solver_names"]
