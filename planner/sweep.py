"""Sweeps: a grid of platforms, scenarios, seeds, solvers and policies, run on Dask distributed.

A *grid* (a YAML file, documented in ``docs/sweeps.md``) expands into *cells*; each cell is one
solver or one online policy on one problem (platform, power mode, scenario, load scale, seed,
horizon), and becomes one row of a tidy :class:`pandas.DataFrame` (the columns are
:data:`COLUMNS`). The cells run on a Dask distributed cluster -- a
:class:`distributed.LocalCluster` by default, or an existing one by scheduler address -- and their
rows stream into one Parquet or CSV file, rewritten atomically as rows arrive, so an interrupted
sweep loses only the cells in flight; running it again skips the cells already in the file. The
grid, the package versions and the seeds are stored with the results (Parquet metadata, or a
``.meta.json`` file next to a CSV).

Within a cell
-------------
* The problem is the clairvoyant :class:`xpuplan.models.Instance` of the scenario
  (``include_unknown``, the default: every arrival the seed samples over the horizon;
  without it, the known tasks over the planner's horizon). A solver cell
  solves it (:func:`xpuplan.solvers.solve`); a policy cell runs the online policy on its jobs
  (:func:`xpuplan.planner.online.run_on_instance`). Either way the schedule goes through
  :func:`xpuplan.models.check_schedule` (``valid``, ``violations``) and is measured on the instance
  (``objective``, deadline violation rate, energy, job latencies).
* With ``simulate`` (the default), a policy cell also simulates the scenario itself for
  ``duration_s`` with the runtime's full behaviour (decode batching, freezing, the power governor,
  bandwidth contention); those measurements are the ``sim_*`` columns.
* ``best_bound`` is the largest lower bound known for the cell's instance -- the cheap and LP
  bounds of :func:`xpuplan.solvers.bounds.lower_bound`, and every valid solver's proven bound in
  the table -- and ``gap`` the distance of a valid objective from it
  (:func:`xpuplan.planner.compare.gap_to`); both are recomputed over the whole table whenever it
  is written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import platform as host_platform
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xpuplan.models import Instance, InvalidInput, Schedule, check_schedule, evaluate
from xpuplan.models.objectives import dynamic_energy, job_completions
from xpuplan.models.presets import resolve_platform
from xpuplan.models.presets.scenarios import resolve_scenario
from xpuplan.models.schedule import ObjectiveValue
from xpuplan.models.workload import CompileOptions, compile_workload
from xpuplan.planner.sweep_grid import Cell, Grid, cell_from_spec, load_grid, scaled_scenario
from xpuplan.planner.unroll import PlanningOptions, build_instance

__all__ = [
    "COLUMNS",
    "Cell",
    "Grid",
    "Progress",
    "cell_from_spec",
    "cell_instance",
    "cell_schedule",
    "finalize",
    "load_grid",
    "read_results",
    "run_cell",
    "scaled_scenario",
    "sweep",
    "write_results",
]

SWEEP_FORMAT = "xpuplan.sweep/1"
META_KEY = b"xpuplan.sweep"
#: Quantiles of the job latency stored per row (``latency_q_ms``): 0 %, 5 %, ..., 100 %.
LATENCY_QUANTILES = tuple(range(0, 101, 5))

#: The columns of a sweep's table, in order (documented in ``docs/sweeps.md``).
COLUMNS = (
    "cell",
    "grid",
    "platform",
    "power_mode",
    "power_cap_w",
    "scenario",
    "load_scale",
    "seed",
    "horizon_s",
    "duration_s",
    "time_limit_s",
    "kind",
    "name",
    "status",
    "objective_type",
    "objective",
    "lower_bound",
    "best_bound",
    "gap",
    "objective_parts",
    "lower_bound_parts",
    "best_bound_parts",
    "instance_bound_parts",
    "valid",
    "violations",
    "violation_rules",
    "notes",
    "error",
    "seconds",
    "solve_seconds",
    "num_jobs",
    "num_kernels",
    "late_jobs",
    "deadline_violation_rate",
    "energy_j",
    "makespan_ms",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "latency_mean_ms",
    "latency_q_ms",
    "sim_deadline_violation_rate",
    "sim_energy_j",
    "sim_avg_power_w",
    "sim_peak_power_w",
    "sim_time_over_budget_s",
    "sim_latency_p50_ms",
    "sim_latency_p90_ms",
    "sim_latency_p99_ms",
    "sim_latency_mean_ms",
    "sim_latency_q_ms",
    "sim_reactive_mean_latency_ms",
    "sim_proactive_rpm",
    "sim_ttft_mean_ms",
    "sim_tps",
    "sim_completed",
    "sim_arrived",
    "sim_freezes",
    "worker",
    "spec",
)

# One worker process runs many cells of the same problem: build each instance (and its cheap
# bound) once.
_INSTANCE_CACHE: dict[tuple[Any, ...], tuple[Instance, ObjectiveValue]] = {}
_INSTANCE_CACHE_SIZE = 8


def cell_instance(cell: Cell) -> tuple[Instance, ObjectiveValue]:
    """The cell's clairvoyant instance and its cheap lower bound (cached per process)."""
    from xpuplan.solvers.bounds import lower_bound

    key = cell.problem
    if key not in _INSTANCE_CACHE:
        platform = resolve_platform(cell.platform, cell.power_mode)
        scenario = scaled_scenario(resolve_scenario(cell.scenario), cell.load_scale)
        options = PlanningOptions(
            power_cap_w=cell.power_cap_w if isinstance(cell.power_cap_w, float) else None,
            horizon_s=cell.horizon_s,
            seed=cell.seed,
            objective=cell.objective,
            include_unknown=cell.include_unknown,
            workload=CompileOptions(max_kernels_per_model=cell.max_kernels, levels=cell.levels),
        )
        instance = build_instance(platform, scenario, options)
        if cell.power_cap_w == "none":
            instance = dataclasses.replace(instance, power_cap_w=None)
        if not instance.jobs:
            raise InvalidInput(
                f"no job arrives within the horizon of {cell.horizon_s} s (seed {cell.seed}); "
                "lengthen horizon_s",
                field="horizon_s",
                value=cell.horizon_s,
            )
        if len(_INSTANCE_CACHE) >= _INSTANCE_CACHE_SIZE:
            _INSTANCE_CACHE.pop(next(iter(_INSTANCE_CACHE)))
        _INSTANCE_CACHE[key] = (instance, lower_bound(instance, lp=True))
    return _INSTANCE_CACHE[key]


def cell_schedule(cell: Cell) -> tuple[Instance, Schedule]:
    """Re-run a cell and return its instance and schedule (for pictures of one cell)."""
    instance, _ = cell_instance(cell)
    if cell.kind == "solver":
        from xpuplan.solvers import solve

        result = solve(
            instance,
            cell.name,
            time_limit=cell.time_limit_s,
            workers=cell.threads,
            seed=cell.seed,
            **dict(cell.options),
        )
        return instance, result.schedule
    from xpuplan.planner.online import run_on_instance

    return instance, run_on_instance(instance, cell.name, cell.options).schedule


def run_cell(cell: Cell) -> dict[str, Any]:
    """Run one cell and return its row; an exception becomes a row with ``status`` ``error``."""
    started = time.perf_counter()
    row = _identity(cell)
    try:
        row.update(_run(cell))
    except Exception as exc:  # a failed cell is a row, the sweep goes on
        row.update(
            status="error",
            error=f"{type(exc).__name__}: {exc}",
            notes=traceback.format_exc(limit=-3).strip().splitlines()[-1],
        )
    row["seconds"] = round(time.perf_counter() - started, 4)
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return row


def _identity(cell: Cell) -> dict[str, Any]:
    return {
        "spec": json.dumps(dataclasses.asdict(cell), sort_keys=True, default=str),
        "cell": cell.cell_id,
        "grid": cell.grid,
        "platform": cell.platform,
        "power_mode": cell.power_mode,
        "power_cap_w": None if cell.power_cap_w is None else str(cell.power_cap_w),
        "scenario": cell.scenario,
        "load_scale": cell.load_scale,
        "seed": cell.seed,
        "horizon_s": cell.horizon_s,
        "duration_s": cell.duration_s,
        "time_limit_s": cell.time_limit_s,
        "kind": cell.kind,
        "name": cell.name,
    }


def _run(cell: Cell) -> dict[str, Any]:
    from xpuplan.planner.online import run_on_instance

    instance, bound = cell_instance(cell)
    row: dict[str, Any] = {
        "objective_type": ",".join(p.type for p in instance.objective.parts),
        "instance_bound_parts": _parts_json(bound),
        "num_jobs": instance.num_jobs,
        "num_kernels": instance.num_kernels,
    }
    notes: list[str] = []
    own_bound: ObjectiveValue | None = None
    if cell.kind == "solver":
        from xpuplan.solvers import solve

        result = solve(
            instance,
            cell.name,
            time_limit=cell.time_limit_s,
            workers=cell.threads,
            seed=cell.seed,
            **dict(cell.options),
        )
        schedule, status, solve_s = result.schedule, result.status, result.runtime
        own_bound = result.lower_bound
        if schedule.message:
            notes.append(schedule.message)
    else:
        run = run_on_instance(instance, cell.name, cell.options)
        schedule, solve_s = run.schedule, run.seconds
        status = "feasible" if schedule.objective is not None else "unknown"
        notes.extend(run.notes)
    violations = check_schedule(instance, schedule) if schedule.is_solution else []
    valid = schedule.is_solution and not violations
    objective = evaluate(instance, schedule) if schedule.is_solution else None
    row.update(
        status=status,
        objective_parts=_parts_json(objective),
        lower_bound_parts=_parts_json(own_bound if valid else None),
        valid=bool(valid),
        violations=len(violations),
        violation_rules=",".join(sorted({v.rule for v in violations})) or None,
        solve_seconds=round(solve_s, 4),
    )
    if violations:
        notes.append(f"first violation: {violations[0]}")
    if schedule.is_solution:
        row.update(_schedule_metrics(instance, schedule))
    if cell.kind == "policy" and cell.simulate:
        row.update(_simulation_metrics(cell))
    row["notes"] = "; ".join(notes) or None
    return row


def _parts_json(value: ObjectiveValue | None) -> str | None:
    if value is None:
        return None
    return json.dumps([float(v) for v in (value if isinstance(value, tuple) else (value,))])


def _parts(text: Any) -> tuple[float, ...] | None:
    if not isinstance(text, str):
        return None
    return tuple(float(v) for v in json.loads(text))


def _quantiles_ms(values_us: Sequence[float]) -> dict[str, Any]:
    if not len(values_us):
        return {}
    arr = np.asarray(values_us, dtype=float) / 1000.0
    q = np.percentile(arr, LATENCY_QUANTILES)
    return {
        "p50": float(np.percentile(arr, 50)),
        "p90": float(np.percentile(arr, 90)),
        "p99": float(np.percentile(arr, 99)),
        "mean": float(arr.mean()),
        "q": json.dumps([round(float(v), 4) for v in q]),
    }


def _schedule_metrics(instance: Instance, schedule: Schedule) -> dict[str, Any]:
    """Deadline violation rate, energy, makespan and job latencies of a schedule."""
    completions = job_completions(instance, schedule.assignments)
    with_deadline = [j for j, job in enumerate(instance.jobs) if job.deadline is not None]
    late = [j for j in with_deadline if completions[j] > (instance.jobs[j].deadline or 0)]
    makespan = max((a.end for a in schedule.assignments), default=0)
    scale = 1e-6 if instance.time_unit == "us" else 1e-3 if instance.time_unit == "ms" else 1.0
    energy = dynamic_energy(instance, schedule.assignments) + instance.idle_power_w * makespan
    lat = _quantiles_ms(
        [(completions[j] - job.release) * scale * 1e6 for j, job in enumerate(instance.jobs)]
    )
    return {
        "late_jobs": len(late),
        "deadline_violation_rate": len(late) / len(with_deadline) if with_deadline else None,
        "energy_j": energy * scale,
        "makespan_ms": makespan * scale * 1e3,
        "latency_p50_ms": lat.get("p50"),
        "latency_p90_ms": lat.get("p90"),
        "latency_p99_ms": lat.get("p99"),
        "latency_mean_ms": lat.get("mean"),
        "latency_q_ms": lat.get("q"),
    }


class _LatencyRecorder:
    """A policy that delegates every hook to ``inner`` and records each completed job's latency
    (completion minus arrival, in us) through the dispatch API's clock."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.uses_plan = inner.uses_plan
        self.plan_only = getattr(inner, "plan_only", False)
        self.latencies_us: list[float] = []

    def bind(self, api: Any) -> None:
        self.api = api
        self.inner.bind(api)

    def on_arrival(self, job: Any) -> None:
        self.inner.on_arrival(job)

    def on_ready(self, item: Any) -> None:
        self.inner.on_ready(item)

    def on_end(self, run: Any) -> None:
        self.inner.on_end(run)

    def on_job_done(self, job: Any) -> None:
        self.latencies_us.append(self.api.now - job.arrival)
        self.inner.on_job_done(job)

    def decide(self) -> None:
        self.inner.decide()


def _simulation_metrics(cell: Cell) -> dict[str, Any]:
    """The policy on the scenario itself, for ``duration_s``, with the runtime's full behaviour."""
    from xpuplan.runtime.api import simulate
    from xpuplan.runtime.policies import get_policy

    platform = resolve_platform(cell.platform, cell.power_mode)
    scenario = scaled_scenario(resolve_scenario(cell.scenario), cell.load_scale)
    # The policy, wrapped to record every completed job's latency (the result keeps percentiles
    # per task only; the report's CDFs need the pooled distribution).
    policy = _LatencyRecorder(get_policy(cell.name, **dict(cell.options)))
    from xpuplan.runtime.simulator import SimConfig

    cap = cell.power_cap_w
    # The same kernels as the cell's instance (its max_kernels and levels), so that the policy
    # and the solvers of one problem schedule one workload.
    workload = compile_workload(
        platform,
        scenario,
        CompileOptions(max_kernels_per_model=cell.max_kernels, levels=cell.levels),
        power_budget_w=cap if isinstance(cap, float) else None,
    )
    # Without a cap the governor is off; the time over the platform's budget is still measured.
    config = SimConfig(governor=cap != "none")
    result = simulate(
        platform,
        scenario,
        policy,
        duration_s=cell.duration_s,
        seed=cell.seed,
        workload=workload,
        config=config,
    )
    lat = _quantiles_ms(policy.latencies_us)
    late = sum(tm.late for tm in result.tasks.values())
    decided = sum(tm.decided for tm in result.tasks.values())
    ttfts = [tm.ttft_ms.mean for tm in result.tasks.values() if tm.ttft_ms is not None]
    tps = [tm.tps for tm in result.tasks.values() if tm.tps]
    return {
        "sim_deadline_violation_rate": late / decided if decided else None,
        "sim_energy_j": result.energy_j,
        "sim_avg_power_w": result.avg_power_w,
        "sim_peak_power_w": result.peak_power_w,
        "sim_time_over_budget_s": result.time_over_budget_s,
        "sim_latency_p50_ms": lat.get("p50"),
        "sim_latency_p90_ms": lat.get("p90"),
        "sim_latency_p99_ms": lat.get("p99"),
        "sim_latency_mean_ms": lat.get("mean"),
        "sim_latency_q_ms": lat.get("q"),
        "sim_reactive_mean_latency_ms": (result.reactive or {}).get("mean_latency_ms"),
        "sim_proactive_rpm": (result.proactive or {}).get("throughput_rpm"),
        "sim_ttft_mean_ms": float(np.mean(ttfts)) if ttfts else None,
        "sim_tps": float(np.mean(tps)) if tps else None,
        "sim_completed": result.conservation["completed"],
        "sim_arrived": result.conservation["arrived"],
        "sim_freezes": result.freezes,
    }


# ---------------------------------------------------------------------- the table
def finalize(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The rows as the sweep's table: :data:`COLUMNS`, with best bounds and gaps per problem.

    The best bound of a problem is the largest (as a tuple, most important part first) of its
    cells' instance bounds and of the proven bounds of its valid solver rows; ``gap`` is
    :func:`xpuplan.planner.compare.gap_to` of each valid row's objective. A valid objective below
    the best bound would be a bug; its row's notes say so.
    """
    from xpuplan.planner.compare import gap_to

    frame = pd.DataFrame(list(rows))
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    frame = frame[list(COLUMNS)].copy()
    if frame.empty:
        return frame
    # The cap's column is text ("none" or watts), derived from the spec, the cell's full record.
    frame["power_cap_w"] = [_spec_cap(text) for text in frame["spec"]]
    keys = ["platform", "power_mode", "scenario", "load_scale", "seed", "horizon_s"]
    # power_cap_w is in the spec only (older tables lack it): part of _spec_problem.
    group_keys = [
        "|".join(_key_text(v) for v in values) + _spec_problem(spec)
        for *values, spec in zip(*(frame[k] for k in keys), frame["spec"], strict=True)
    ]
    best: dict[str, tuple[float, ...]] = {}
    for key, inst_text, own_text in zip(
        group_keys, frame["instance_bound_parts"], frame["lower_bound_parts"], strict=True
    ):
        for text in (inst_text, own_text):
            parts = _parts(text)
            if parts is not None and (key not in best or parts > best[key]):
                best[key] = parts
    best_parts, best_first, gaps, firsts, lows = [], [], [], [], []
    notes = list(frame["notes"])
    for r_idx, key in enumerate(group_keys):
        bound = best.get(key)
        objective = _parts(frame["objective_parts"].iat[r_idx])
        own = _parts(frame["lower_bound_parts"].iat[r_idx])
        best_parts.append(None if bound is None else json.dumps(list(bound)))
        best_first.append(None if bound is None else _scalar(bound))
        firsts.append(None if objective is None else _scalar(objective))
        lows.append(None if own is None else _scalar(own))
        gap = None
        valid = frame["valid"].iat[r_idx]
        if (
            valid is not None
            and valid is not pd.NA
            and bool(valid)
            and objective is not None
            and bound is not None
        ):
            gap = gap_to(_value(objective), _value(bound))
            if objective < bound and gap == 0.0 and not _close(objective, bound):
                extra = "objective BELOW the best bound (a bug)"
                notes[r_idx] = f"{notes[r_idx]}; {extra}" if notes[r_idx] else extra
        gaps.append(gap)
    frame["best_bound_parts"] = best_parts
    frame["best_bound"] = best_first
    frame["objective"] = firsts
    frame["lower_bound"] = lows
    frame["gap"] = gaps
    frame["notes"] = notes
    return _typed(frame)


def _spec_cap(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    cap = json.loads(text).get("power_cap_w")
    return None if cap is None else str(cap)


def _spec_problem(text: Any) -> str:
    """The rest of what makes a cell's problem (objective, coarsening, include_unknown)."""
    if not isinstance(text, str):
        return ""
    doc = json.loads(text)
    keys = ("objective", "max_kernels", "levels", "include_unknown", "power_cap_w")
    return json.dumps([doc.get(k) for k in keys])


def _key_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(float(value)) if isinstance(value, int | float) else str(value)


def _scalar(parts: tuple[float, ...]) -> float:
    """The numeric column's value: the only part, or the last part of a lexicographic value.

    The last part is the one that separates schedules once the earlier ones tie (energy after
    late jobs); the whole value is in the ``*_parts`` columns.
    """
    return float(parts[-1])


def _value(parts: tuple[float, ...]) -> ObjectiveValue:
    return parts if len(parts) > 1 else parts[0]


def _close(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    from xpuplan.models.objectives import values_close

    return values_close(_value(a), _value(b))


_FLOAT_COLUMNS = {
    c
    for c in COLUMNS
    if c.endswith(("_ms", "_j", "_w", "_s", "_rate", "_rpm")) and not c.endswith("_q_ms")
}
_FLOAT_COLUMNS |= {"objective", "lower_bound", "best_bound", "gap", "seconds", "solve_seconds"}
_FLOAT_COLUMNS |= {"load_scale", "sim_tps"}
_FLOAT_COLUMNS.discard("power_cap_w")  # a number of watts or "none": text
_INT_COLUMNS = {
    "seed", "violations", "num_jobs", "num_kernels", "late_jobs", "sim_completed",
    "sim_arrived", "sim_freezes",
}  # fmt: skip


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Stable column types, so every write has the same schema (nullable where missing)."""
    for column in COLUMNS:
        if column in _FLOAT_COLUMNS:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        elif column in _INT_COLUMNS:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
        elif column == "valid":
            frame[column] = frame[column].astype("boolean")
        else:
            frame[column] = frame[column].astype("string")
    return frame


def versions() -> dict[str, str]:
    """Versions of Python and the packages a sweep's results depend on."""
    from importlib import metadata

    out = {"python": sys.version.split()[0], "platform": host_platform.platform()}
    for package in (
        "xpuplan",
        "ortools",
        "highspy",
        "numpy",
        "pandas",
        "networkx",
        "dask",
        "distributed",
        "pyarrow",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[package] = metadata.version(package)
    return out


def read_results(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A sweep's table and its metadata (grid, versions, seeds, runs)."""
    path = Path(path)
    if not path.exists():
        raise InvalidInput("no such file", file=str(path))
    meta: dict[str, Any] = {}
    try:
        if _is_parquet(path):
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            raw = (table.schema.metadata or {}).get(META_KEY)
            meta = json.loads(raw) if raw else {}
            frame = table.to_pandas()
        else:
            frame = pd.read_csv(path, keep_default_na=True)
            sidecar = _sidecar(path)
            if sidecar.exists():
                meta = json.loads(sidecar.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"is not a sweep's results file: {exc}", file=str(path)) from None
    if "cell" not in frame.columns:
        raise InvalidInput("is not a sweep's results file (no cell column)", file=str(path))
    plain = frame.astype(object).where(frame.notna(), None)
    return finalize(plain.to_dict("records")), meta


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".meta.json")


def write_results(path: Path, frame: pd.DataFrame, meta: Mapping[str, Any]) -> None:
    """Write the table (and its metadata) atomically: a temporary file, then a rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if _is_parquet(path):
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        schema_meta = dict(table.schema.metadata or {})
        schema_meta[META_KEY] = json.dumps(meta).encode()
        pq.write_table(table.replace_schema_metadata(schema_meta), tmp)
        os.replace(tmp, path)
        return
    frame.to_csv(tmp, index=False)
    side_tmp = tmp.with_name(tmp.name + ".meta")
    side_tmp.write_text(json.dumps(meta, indent=1))
    os.replace(side_tmp, _sidecar(path))
    os.replace(tmp, path)


# ---------------------------------------------------------------------- the sweep
@dataclass
class Progress:
    """What a sweep did: cells run now, failed now, skipped (already in the output)."""

    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    cell_seconds: list[float] = field(default_factory=list)


def sweep(
    grid: Grid | str | os.PathLike[str] | Mapping[str, Any],
    output: str | os.PathLike[str],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    processes: bool = True,
    progress: bool | None = None,
    max_cells: int | None = None,
    flush_s: float = 1.0,
    on_row: Callable[[Mapping[str, Any]], None] | None = None,
) -> tuple[pd.DataFrame, Progress]:
    """Run every cell of ``grid`` not yet in ``output`` on Dask, streaming rows into ``output``.

    Parameters
    ----------
    grid
        A :class:`Grid`, a grid file, or a grid document.
    output
        ``*.parquet`` (the metadata in the file) or ``*.csv`` (the metadata in
        ``*.csv.meta.json``). Cells already in it are skipped (resume).
    scheduler
        Address of an existing Dask scheduler (``tcp://host:8786``); default a
        :class:`distributed.LocalCluster` of ``workers`` processes with one thread each (each
        cell's solver gets the grid's ``threads_per_cell`` threads).
    workers
        Workers of the local cluster; default the CPU count over ``threads_per_cell``.
    processes
        Local workers are processes (default: cells are pure Python, so threads would share one
        core through the GIL); threads start faster, for tiny sweeps and tests.
    progress
        Show a progress bar on stderr (default: when stderr is a terminal).
    max_cells
        Run at most this many of the remaining cells (then stop, as an interruption would).
    flush_s
        Write the file at most this often while rows arrive (and always at the end).
    on_row
        Called with each new row as it arrives.

    Returns
    -------
    (pandas.DataFrame, Progress)
        The whole table (earlier rows included) and what this call did.

    Examples
    --------
    One cell (one platform, scenario, seed and solver) on a local cluster of one thread:

    >>> import tempfile
    >>> from pathlib import Path
    >>> grid = {"name": "tiny", "platforms": "jetson-orin-nx-16gb", "scenarios": "video-call",
    ...         "seeds": [0], "horizon_s": 0.1, "solvers": ["heft"], "policies": [],
    ...         "simulate": False}
    >>> out = Path(tempfile.mkdtemp()) / "tiny.csv"
    >>> frame, done = sweep(grid, out, workers=1, processes=False, progress=False)
    >>> done.done, frame[["name", "status", "valid"]].values.tolist()
    (1, [['heft', 'feasible', True]])
    >>> sweep(grid, out, workers=1, processes=False, progress=False)[1].skipped  # resumed: done
    1
    """
    from distributed import Client, LocalCluster, as_completed

    grid = _grid(grid)
    path = Path(output)
    if not (_is_parquet(path) or path.suffix.lower() == ".csv"):
        raise InvalidInput("must end in .parquet or .csv", field="output", value=str(path))
    rows: list[dict[str, Any]] = []
    meta: dict[str, Any] = {"format": SWEEP_FORMAT, "runs": []}
    if path.exists():
        previous, meta = read_results(path)
        rows = [
            dict(r)
            for r in previous.astype(object).where(previous.notna(), None).to_dict("records")
        ]
        meta.setdefault("runs", [])
    done_ids = {r["cell"] for r in rows}
    cells = grid.cells()
    todo = [c for c in cells if c.cell_id not in done_ids]
    report = Progress(total=len(cells), skipped=len(cells) - len(todo))
    if max_cells is not None:
        todo = todo[:max_cells]
    if not todo:  # nothing to run: leave the file as it is
        return finalize(rows), report
    meta.update(format=SWEEP_FORMAT, grid=grid.to_json(), seeds=list(grid.seeds))
    meta["runs"].append(
        {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "grid": grid.to_json(),
            "versions": versions(),
            "scheduler": scheduler or "LocalCluster",
            "cells": len(todo),
        }
    )
    meta["versions"] = meta["runs"][-1]["versions"]
    started = time.perf_counter()

    show = sys.stderr.isatty() if progress is None else progress
    bar = _bar(len(todo), show)
    last_write = 0.0
    with contextlib.ExitStack() as stack:
        if scheduler:
            client = stack.enter_context(Client(scheduler, timeout="20s"))
        else:
            num = workers or max(1, (os.cpu_count() or 1) // grid.threads_per_cell)
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=num,
                    threads_per_worker=1,
                    processes=processes,
                    dashboard_address=":0",
                    silence_logs=logging.ERROR,
                )
            )
            client = stack.enter_context(Client(cluster))
        futures = {
            client.submit(run_cell, cell, key=f"cell-{cell.cell_id}", pure=False): cell
            for cell in todo
        }
        try:
            for future in as_completed(futures):
                cell = futures[future]
                try:
                    row = future.result()
                except Exception as exc:  # the worker died or the row could not come back
                    row = {
                        **_identity(cell),
                        "status": "error",
                        "error": f"{type(exc).__name__}: {exc}",
                    }
                rows.append(row)
                report.done += 1
                report.failed += row.get("status") == "error"
                if row.get("seconds") is not None:
                    report.cell_seconds.append(float(row["seconds"]))
                if on_row is not None:
                    on_row(row)
                bar.update(1)
                bar.set_postfix(done=report.done - report.failed, failed=report.failed)
                if time.perf_counter() - last_write >= flush_s:
                    write_results(path, finalize(rows), meta)
                    last_write = time.perf_counter()
        finally:
            bar.close()
            for future in futures:
                future.cancel()
            frame = finalize(rows)
            write_results(path, frame, meta)
    report.seconds = time.perf_counter() - started
    return frame, report


def _grid(grid: Grid | str | os.PathLike[str] | Mapping[str, Any]) -> Grid:
    if isinstance(grid, Grid):
        return grid
    if isinstance(grid, Mapping):
        return Grid.from_dict(grid)
    return load_grid(grid)


class _NoBar:
    def update(self, n: int) -> None:
        return None

    def set_postfix(self, **values: Any) -> None:
        return None

    def close(self) -> None:
        return None


def _bar(total: int, show: bool) -> Any:
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="cell", desc="sweep", file=sys.stderr)


def run_cells_serially(cells: Sequence[Cell]) -> Iterator[dict[str, Any]]:
    """The same cells in a plain loop in this process (the baseline of the throughput benchmark)."""
    for cell in cells:
        yield run_cell(cell)
