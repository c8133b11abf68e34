"""CP-SAT reaches and proves published optima of STG, Brandimarte FJSP and PSPLIB j30 instances.

The instances are read from ``../shared/benchmarks`` (skipped when absent); each one here is
proven within a second or two on 2 cores, the time limit only guards a regression.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xpuplan.models import check_schedule
from xpuplan.models.formats import (
    fjsp_bks,
    fjsp_to_instance,
    psplib_optima,
    psplib_to_instance,
    stg_optima,
    stg_to_instance,
)
from xpuplan.solvers import solve

TIME_LIMIT = 60.0


def proven(instance, expected: int) -> None:
    res = solve(instance, "cpsat", time_limit=TIME_LIMIT, workers=2)
    assert check_schedule(instance, res.schedule) == []
    assert (res.status, res.objective, res.lower_bound) == ("optimal", expected, expected)


@pytest.mark.parametrize(
    ("path", "m"),
    [("50/rand0000.stg", 2), ("50/rand0100.stg", 8), ("100/rand0010.stg", 16)],
)
def test_stg_optimum(benchmarks_dir: Path, path: str, m: int):
    """P|prec|Cmax on m identical processors: the published optimum."""
    size = int(path.split("/")[0])
    lb, ub = stg_optima(benchmarks_dir, size)[(path, m)]
    assert lb == ub
    proven(stg_to_instance(benchmarks_dir / "stg" / path, m), lb)


def test_stg_open_row_closed(benchmarks_dir: Path):
    """50/rand0009 on 4 processors is open in the table (132, 134); 134 is proven optimal."""
    assert stg_optima(benchmarks_dir, 50)[("50/rand0009.stg", 4)] == (132, 134)
    proven(stg_to_instance(benchmarks_dir / "stg" / "50" / "rand0009.stg", 4), 134)


@pytest.mark.parametrize("name", ["mk01", "mk03", "mk08"])
def test_brandimarte_optimum(benchmarks_dir: Path, name: str):
    """Flexible job shop: the closed best-known makespan."""
    lb, ub, status = fjsp_bks(benchmarks_dir)[name]
    assert (lb, status) == (ub, "closed")
    proven(fjsp_to_instance(benchmarks_dir / "fjsp" / "brandimarte" / f"{name}.txt"), lb)


@pytest.mark.parametrize("name", ["j301_1", "j3010_1", "j3037_3"])
def test_psplib_j30_optimum(benchmarks_dir: Path, name: str):
    """RCPSP with four renewable resources: the published optimum."""
    optimum = psplib_optima(benchmarks_dir)[name]
    proven(psplib_to_instance(benchmarks_dir / "psplib" / "j30" / f"{name}.sm"), optimum)
