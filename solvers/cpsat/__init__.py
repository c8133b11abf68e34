"""The CP-SAT backend (OR-Tools), registered as solver ``"cpsat"``.

Modules, one concern each (the shape of PyJobShop's OR-Tools backend): ``data`` (what the model
derives from an instance: horizon, scales, unit layout), ``variables`` (every variable and the
warm start), ``constraints`` (one method per rule), ``objective`` (exact integer objectives),
``model`` (the model and one solve), ``solution`` (values -> assignments), ``callback``
(progress), ``explain`` (why an instance is infeasible) and ``solve`` (the registered entry point).
"""

from xpuplan.solvers.cpsat.lns import solve_cpsat_lns
from xpuplan.solvers.cpsat.model import CpsatModel, SolverSettings
from xpuplan.solvers.cpsat.solve import default_workers, solve_cpsat
from xpuplan.solvers.registry import register

register(
    "cpsat",
    kind="exact",
    description="OR-Tools CP-SAT: optimal schedules or proven bounds under every rule",
)(solve_cpsat)

register(
    "cpsat-lns",
    kind="exact",
    description="CP-SAT window by window over periodic jobs (large instances), cheap bounds",
)(solve_cpsat_lns)

__all__ = ["CpsatModel", "SolverSettings", "default_workers", "solve_cpsat", "solve_cpsat_lns"]
