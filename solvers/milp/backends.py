"""The MILP solvers PuLP drives: CBC (bundled), HiGHS (through highspy), Gurobi, CPLEX."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import highspy
import pulp

from xpuplan.models import InvalidInput, Unsupported

BACKENDS = ("cbc", "highs", "gurobi", "cplex")
# Below this many variables the MIP presolve is off by default: on the cross-check instances
# (a few hundred binaries in long clique rows) HiGHS's presolve and CBC's preprocessing took
# 80-95% of the solve time and the search itself well under a second.
PRESOLVE_MIN_VARIABLES = 5000


@dataclass(frozen=True)
class MilpSettings:
    """How to run the MILP solver: ``backend`` is one of :data:`BACKENDS`.

    ``presolve`` switches the backend's MIP presolve (CBC's preprocessing) on or off; ``None``
    lets the solve decide by the model size (see :data:`PRESOLVE_MIN_VARIABLES`).
    """

    backend: str = "cbc"
    time_limit: float | None = None
    workers: int | None = None
    seed: int = 0
    presolve: bool | None = None


def check_backend(settings: MilpSettings) -> None:
    """Refuse an unknown or unavailable backend before building a model."""
    if settings.backend not in BACKENDS:
        raise InvalidInput(
            f"must be one of {', '.join(BACKENDS)}", field="backend", value=settings.backend
        )
    if not make_solver(settings, None).available():
        raise Unsupported(
            f"MILP backend {settings.backend!r} is not available here (PuLP cannot find or "
            "license it); use backend='cbc' or backend='highs'"
        )


class _HiGHSWithStart(pulp.HiGHS):
    """PuLP's HiGHS interface with a MIP start and a thread count that can change between solves.

    PuLP passes no start to HiGHS; this hands it the variables' current values (HiGHS checks the
    start and ignores it if infeasible). HiGHS fixes its thread pool for the whole process at its
    first solve, and a later solve asking for another size fails, so the pool is rebuilt first.
    """

    def __init__(self, *, warm_start: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.warm_start = warm_start

    def callSolver(self, lp: pulp.LpProblem) -> None:
        if self.threads is not None:
            highspy.Highs.resetGlobalScheduler(True)
        if self.warm_start:
            values = [0.0] * lp.solverModel.getNumCol()
            for var in lp.variables():
                values[var.index] = float(var.varValue or 0.0)
            start = highspy.HighsSolution()
            start.col_value = values
            start.value_valid = True
            lp.solverModel.setSolution(start)
        super().callSolver(lp)


def make_solver(
    settings: MilpSettings, time_limit: float | None, mip: bool = True, warm_start: bool = False
) -> Any:
    """The PuLP solver object for ``settings``, silent, with zero optimality gap.

    With ``warm_start`` the variables' current values are passed as a MIP start.
    """
    threads = settings.workers
    presolve_off = settings.presolve is False
    if settings.backend == "cbc":
        bundled = pulp.PULP_CBC_CMD.pulp_cbc_path
        # COIN_CMD on the CBC binary bundled with PuLP: the same solver as PULP_CBC_CMD without
        # its deprecation warning; a system CBC when PuLP no longer bundles one.
        path = bundled if pulp.COIN_CMD(path=bundled, msg=False).available() else None
        return pulp.COIN_CMD(
            path=path,
            mip=mip,
            msg=False,
            timeLimit=time_limit,
            gapRel=0.0,
            gapAbs=0.0,
            threads=threads,
            options=[f"randomCbcSeed {settings.seed}"] * bool(settings.seed)
            + ["preprocess off"] * presolve_off,
            warmStart=warm_start,
        )
    if settings.backend == "highs":
        return _HiGHSWithStart(
            warm_start=warm_start,
            mip=mip,
            msg=False,
            timeLimit=time_limit,
            gapRel=0.0,
            gapAbs=0.0,
            threads=threads,
            random_seed=settings.seed,
            **({"presolve": "off"} if presolve_off else {}),
        )
    common = {"mip": mip, "msg": False, "timeLimit": time_limit, "gapRel": 0.0, "threads": threads}
    if settings.backend == "gurobi":
        return pulp.GUROBI(warmStart=warm_start, **common)
    return pulp.CPLEX_PY(warmStart=warm_start, **common)
