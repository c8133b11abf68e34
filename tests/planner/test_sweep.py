"""Sweeps on a real Dask cluster: the rows, resuming, a scheduler by address, failures, reports."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from xpuplan.models import InvalidInput, check_schedule
from xpuplan.planner.cli import main
from xpuplan.planner.report_figures import write_report
from xpuplan.planner.sweep import (
    COLUMNS,
    META_KEY,
    Grid,
    cell_from_spec,
    cell_instance,
    cell_schedule,
    load_grid,
    read_results,
    sweep,
)

ROOT = Path(__file__).resolve().parents[2]
DOORBELL = str(ROOT / "examples" / "scenarios" / "doorbell.yaml")

# Cells of a few tenths of a second: 5 jobs of a small detector and an LLM over 0.3 s.
GRID: dict[str, Any] = {
    "name": "test",
    "platforms": "jetson-orin-nx-16gb",
    "scenarios": [DOORBELL],
    "seeds": [0, 1],
    "horizon_s": 0.3,
    "duration_s": 1.0,
    "time_limit_s": 2,
    "solvers": ["heft"],
    "policies": ["edf", "twill"],
    "simulate": False,
}


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test grid swept on a LocalCluster of 2 workers, interrupted after 2 cells, resumed.

    The workers are threads here (a cluster of processes starts in seconds, not milliseconds;
    test_failing_cell_is_recorded runs one).
    """
    path = tmp_path_factory.mktemp("sweep") / "results.parquet"
    frame, done = sweep(GRID, path, workers=2, processes=False, max_cells=2, progress=False)
    assert (len(frame), done.done, done.skipped) == (2, 2, 0)
    first = dict(zip(frame["cell"], frame["seconds"], strict=True))
    frame, done = sweep(GRID, path, workers=2, processes=False, progress=False)
    assert (len(frame), done.done, done.skipped) == (6, 4, 2)
    # The resumed run kept the first run's rows (same measured seconds), and ran no cell twice.
    assert frame["cell"].is_unique
    again = dict(zip(frame["cell"], frame["seconds"], strict=True))
    assert all(again[cell] == seconds for cell, seconds in first.items())
    return path


def test_grid_rows_and_columns(swept: Path) -> None:
    """One row per (seed, solver or policy), every documented column, valid checked schedules."""
    frame, meta = read_results(swept)
    assert list(frame.columns) == list(COLUMNS)
    assert sorted(zip(frame["seed"], frame["kind"], frame["name"], strict=True)) == [
        (seed, kind, name)
        for seed in (0, 1)
        for kind, name in (("policy", "edf"), ("policy", "twill"), ("solver", "heft"))
    ]
    assert (frame["status"] != "error").all()
    assert frame["worker"].nunique() >= 1
    for _, row in frame.iterrows():
        # The recorded validity is the checker's verdict on the cell's schedule, run again.
        instance, schedule = cell_schedule(cell_from_spec(row["spec"]))
        assert bool(row["valid"]) == (not check_schedule(instance, schedule))
        assert row["num_jobs"] == instance.num_jobs
        if row["valid"]:
            assert row["gap"] >= 0.0
            assert json.loads(row["objective_parts"]) >= json.loads(row["best_bound_parts"])
        else:
            assert row["violations"] > 0 and row["gap"] != row["gap"]
    twill = frame[frame["name"] == "twill"]
    assert twill["notes"].str.contains("freezing off").all()
    assert meta["grid"]["name"] == "test" and meta["seeds"] == [0, 1]
    assert {"dask", "distributed", "pyarrow", "ortools"} <= set(meta["versions"])
    assert len(meta["runs"]) == 2


def test_existing_scheduler_by_address(tmp_path: Path) -> None:
    """The same grid on a cluster started separately, reached by its address, as CSV."""
    from distributed import LocalCluster

    grid = {**GRID, "seeds": [0], "policies": ["edf"], "simulate": True}
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    ) as cluster:
        _, done = sweep(grid, tmp_path / "r.csv", scheduler=cluster.scheduler_address)
    assert done.done == 2 and not done.failed
    stored, meta = read_results(tmp_path / "r.csv")
    assert (tmp_path / "r.csv.meta.json").exists() and meta["grid"]["seeds"] == [0]
    assert sorted(stored["name"]) == ["edf", "heft"]
    edf = stored[stored["name"] == "edf"].iloc[0]
    # The policy's own simulation of the scenario ran too (simulate: true).
    assert edf["sim_arrived"] > 0 and edf["sim_energy_j"] > 0
    assert len(json.loads(edf["sim_latency_q_ms"])) == 21


def test_failing_cell_is_recorded(tmp_path: Path) -> None:
    """A cell that raises becomes an error row; the other cells still run (worker processes)."""
    missing = str(tmp_path / "missing.yaml")
    grid = {**GRID, "seeds": [0], "policies": [], "scenarios": [DOORBELL, missing]}
    frame, done = sweep(grid, tmp_path / "r.parquet", workers=1, progress=False)
    assert done.failed == 1
    bad = frame[frame["scenario"] == missing].iloc[0]
    assert bad["status"] == "error" and "no such file" in bad["error"]
    good = frame[frame["scenario"] == DOORBELL].iloc[0]
    assert good["status"] == "feasible" and bool(good["valid"])


def test_report_writes_figures(swept: Path, tmp_path: Path) -> None:
    """Every standard figure is a PNG, the chosen cell's too, and index.html shows them."""
    frame, meta = read_results(swept)
    written = write_report(frame, tmp_path, cell="seed=0,name=twill", meta=meta)
    names = {p.name for p in written}
    assert {"gaps.png", "latency_cdf.png", "energy_latency.png", "cell.png"} <= names
    for path in written:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    page = (tmp_path / "index.html").read_text()
    assert all(f"src='{name}'" in page for name in names)


def test_cli_sweep_and_report(swept: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The commands: a finished sweep is all skipped; report prints its files; bad input exits 2."""
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps(GRID))
    assert main(["sweep", str(grid), "-o", str(swept), "--no-progress"]) == 0
    assert "6 already done" in capsys.readouterr().out
    assert main(["report", str(swept), "-o", str(tmp_path / "rep")]) == 0
    assert "index.html" in capsys.readouterr().out
    grid.write_text(json.dumps({**GRID, "policies": ["nope"]}))
    assert main(["sweep", str(grid), "-o", str(tmp_path / "x.parquet")]) == 2
    assert "policies[0]" in capsys.readouterr().err
    assert main(["report", str(swept), "-o", str(tmp_path / "r2"), "--cell", "seed=0"]) == 2


def test_grid_validation() -> None:
    """Grid errors name the key and the value; 'all' expands to every online policy."""
    with pytest.raises(InvalidInput, match="seeds"):
        Grid.from_dict({**GRID, "seeds": [-1]})
    with pytest.raises(InvalidInput, match="not a grid key"):
        Grid.from_dict({**GRID, "seed": 1})
    with pytest.raises(InvalidInput, match="solvers"):
        Grid.from_dict({**GRID, "solvers": [], "policies": []})
    grid = Grid.from_dict({**GRID, "policies": "all", "power_modes": ["15W", "MAXN"]})
    assert "twill" in grid.policies and "hybrid" not in grid.policies
    assert len(grid.cells()) == 2 * 2 * (1 + len(grid.policies))
    assert len({c.cell_id for c in grid.cells()}) == len(grid.cells())


def test_example_grids_load() -> None:
    """Every grid in examples/sweeps is valid."""
    paths = sorted((ROOT / "examples" / "sweeps").glob("*.yaml"))
    assert paths
    for path in paths:
        assert load_grid(path).cells()


def test_parquet_metadata(swept: Path) -> None:
    """The grid and versions are in the Parquet file's own metadata."""
    import pyarrow.parquet as pq

    meta = json.loads(pq.read_schema(swept).metadata[META_KEY])
    assert meta["format"] == "xpuplan.sweep/1" and meta["grid"]["solvers"] == ["heft"]


def test_power_cap_axis() -> None:
    """power_cap_w: the default cap, a cap in watts, or none, each its own problem."""
    grid = Grid.from_dict({**GRID, "seeds": [0], "policies": [], "power_cap_w": [None, 9, "none"]})
    caps = [cell_instance(cell)[0].power_cap_w for cell in grid.cells()]
    assert caps[0] is not None and caps[1:] == [9.0, None]
    assert len({cell.problem for cell in grid.cells()}) == 3
    with pytest.raises(InvalidInput, match="power_cap_w"):
        Grid.from_dict({**GRID, "power_cap_w": ["off"]})


def test_policy_cells_simulate_the_cells_kernels() -> None:
    """A policy cell simulates the workload of its own max_kernels, as its instance has it."""
    from xpuplan.models.workload import CompileOptions, compile_workload
    from xpuplan.planner.sweep import _simulation_metrics, resolve_platform, resolve_scenario
    from xpuplan.runtime.api import simulate
    from xpuplan.runtime.simulator import SimConfig

    rows = {}
    for max_kernels in (2, 6):
        grid = Grid.from_dict(
            {**GRID, "seeds": [0], "solvers": [], "policies": ["edf"], "max_kernels": max_kernels}
        )
        (cell,) = [c for c in grid.cells() if c.kind == "policy"]
        rows[max_kernels] = _simulation_metrics(cell)
        # The same run by hand, on the workload of that coarsening.
        platform = resolve_platform("jetson-orin-nx-16gb", None)
        scenario = resolve_scenario(DOORBELL)
        workload = compile_workload(
            platform, scenario, CompileOptions(max_kernels_per_model=max_kernels)
        )
        by_hand = simulate(
            platform,
            scenario,
            "edf",
            duration_s=cell.duration_s,
            seed=cell.seed,
            workload=workload,
            config=SimConfig(),
        )
        assert rows[max_kernels]["sim_energy_j"] == pytest.approx(by_hand.energy_j)
    assert rows[2]["sim_energy_j"] != pytest.approx(rows[6]["sim_energy_j"])
