"""Run registered solvers on public benchmark sets and compare them with the published optima.

Usage (see benchmarks/README.md)::

    python benchmarks/run_solvers.py --bench-dir ../shared/benchmarks --family stg \\
        --sizes 50 --m 2,4 --sample 20 --seed 1 --solvers cpsat --time-limit 10 \\
        --out benchmarks/results/stg-sample.csv

For every instance of the chosen family the harness converts the file with
:mod:`xpuplan.models.formats`, runs each solver through :func:`xpuplan.solvers.solve` with the time
limit, verifies every schedule with
:func:`xpuplan.models.check_schedule` (a violation is a failure in the table, never ignored),
recomputes the objective with :func:`xpuplan.models.evaluate`, compares it with the known optimum or
bounds, and writes a CSV (one row per instance x solver, flushed as it goes) and a markdown summary
next to it.

Each solve runs in a separate worker process with a guard timeout (time limit x 2 + 30 s by
default): a solver that hangs or crashes is killed and recorded as a failure, and the run goes on.
Instances run one after the other, so timings are not distorted by solves competing for the cores;
the worker is reused between solves, so the process start is paid once (and again after a kill).

``--peer pyjobshop`` (FJSP only) also solves each instance with PyJobShop's CP-SAT backend through
its Model API, with the same time limit and number of workers; its schedule is mapped back and
verified like ours. PyJobShop is a benchmark-only dependency: ``pip install pyjobshop``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import fnmatch
import importlib.metadata
import math
import multiprocessing
import os
import platform
import random
import re
import shlex
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from xpuplan import solvers
from xpuplan.models import (
    Assignment,
    Instance,
    InvalidInput,
    Schedule,
    Unsupported,
    XpuplanError,
    check_schedule,
    evaluate,
    instance_from_json,
    instance_to_json,
    schedule_from_json,
    schedule_to_json,
)
from xpuplan.models.formats import (
    dnn_graph_to_instance,
    fjsp_bks,
    fjsp_name,
    fjsp_to_instance,
    psplib_optima,
    psplib_to_instance,
    stg_optima,
    stg_to_instance,
)

FAMILIES = ("stg", "fjsp", "psplib", "dnn")
PEERS = ("pyjobshop",)
COLUMNS = (
    "family",
    "set",
    "instance",
    "m",
    "known_lb",
    "known_ub",
    "known_opt",
    "solver",
    "status",
    "objective",
    "bound",
    "gap",
    "seconds",
    "valid",
    "matched_known",
    "reached_ub",
    "proved",
    "closed_open_row",
    "failure",
)
# Rows listed one by one in the markdown summary only up to this many (the CSV has them all).
MAX_LISTED_ROWS = 300


@dataclass(frozen=True)
class Case:
    """One instance to solve: where it comes from and what is known about its optimum."""

    family: str
    set: str
    instance: str
    path: Path
    m: int | None = None
    known_lb: int | None = None
    known_ub: int | None = None

    @property
    def known_opt(self) -> int | None:
        """The published optimum when it is known (lower bound == upper bound)."""
        closed = self.known_lb is not None and self.known_lb == self.known_ub
        return self.known_lb if closed else None


# ---------------------------------------------------------------------- the instance sets
def stg_cases(bench_dir: Path, sizes: Sequence[int], ms: Sequence[int]) -> list[Case]:
    """STG rows ``(file, m)`` with the published optimum or bounds (from the tables)."""
    cases = []
    for size in sizes:
        known = stg_optima(bench_dir, size)
        for path in sorted((bench_dir / "stg" / str(size)).glob("*.stg")):
            rel = f"{size}/{path.name}"
            for m in ms:
                lb, ub = known.get((rel, m), (None, None))
                cases.append(Case("stg", str(size), rel, path, m, lb, ub))
    return cases


def fjsp_cases(bench_dir: Path) -> list[Case]:
    """Brandimarte and Hurink instances with the best-known bounds of ``fjsp/bks.json``."""
    known = fjsp_bks(bench_dir)
    root = bench_dir / "fjsp"
    paths = sorted((root / "brandimarte").glob("*.txt")) + sorted((root / "hurink").glob("*/*.txt"))
    cases = []
    for path in paths:
        name = fjsp_name(path)
        lb, ub, _ = known.get(name, (None, None, ""))
        group = path.parent.name
        cases.append(Case("fjsp", group, name, path, None, lb, ub))
    return cases


def psplib_cases(bench_dir: Path) -> list[Case]:
    """PSPLIB j30 instances with their proven optima."""
    known = psplib_optima(bench_dir)
    return [
        Case("psplib", "j30", path.stem, path, None, known.get(path.stem), known.get(path.stem))
        for path in sorted(
            (bench_dir / "psplib" / "j30").glob("*.sm"), key=lambda p: _natural_key(p.stem)
        )
    ]


def dnn_cases(bench_dir: Path) -> list[Case]:
    """Profiled DNN graphs (no known optimum)."""
    return [
        Case("dnn", path.parent.name, f"{path.parent.name}/{path.stem}", path)
        for path in sorted((bench_dir / "dnn-graphs").glob("*/*.json"))
    ]


def build_instance(case: Case, args: argparse.Namespace) -> Instance:
    """Convert the case's file with the family's converter."""
    if case.family == "stg":
        if case.m is None:
            raise InvalidInput("an STG case needs its processor count", field="m", value=None)
        return stg_to_instance(case.path, case.m)
    if case.family == "fjsp":
        return fjsp_to_instance(case.path)
    if case.family == "psplib":
        return psplib_to_instance(case.path)
    return dnn_graph_to_instance(
        case.path,
        num_inferences=args.inferences,
        period_us=args.period_us,
        deadline_us=args.deadline_us,
        cpu_units=args.cpu_units,
        accel_units=args.accel_units,
    )


def select_cases(args: argparse.Namespace) -> list[Case]:
    """The family's cases, filtered by ``--instances`` and sampled by ``--sample``/``--seed``."""
    bench_dir = Path(args.bench_dir)
    if args.family == "stg":
        cases = stg_cases(bench_dir, args.sizes, args.m)
    elif args.family == "fjsp":
        cases = fjsp_cases(bench_dir)
    elif args.family == "psplib":
        cases = psplib_cases(bench_dir)
    else:
        cases = dnn_cases(bench_dir)
    if args.instances:
        patterns = [p.strip() for p in args.instances.split(",") if p.strip()]
        cases = [
            case
            for case in cases
            if any(
                fnmatch.fnmatch(case.instance, p) or fnmatch.fnmatch(case.path.stem, p)
                for p in patterns
            )
        ]
    if args.sample is not None and args.sample < len(cases):
        keep = set(random.Random(args.seed).sample(range(len(cases)), args.sample))
        cases = [case for c_idx, case in enumerate(cases) if c_idx in keep]
    return cases


def _natural_key(text: str) -> tuple[tuple[int, ...], str]:
    """``j309_10`` before ``j3010_1``: the numbers in a name compare as numbers."""
    return tuple(int(digits) for digits in re.findall(r"\d+", text)), text


# ---------------------------------------------------------------------- solving (worker side)
def solve_task(task: dict[str, Any]) -> dict[str, Any]:
    """Solve one instance in the worker: ``{"schedule": ..., "seconds": ...}`` or ``{"error"}``."""
    try:
        instance = instance_from_json(task["instance"])
        began = time.perf_counter()
        if task["solver"] == "pyjobshop":
            schedule = solve_with_pyjobshop(instance, task["time_limit"], task["workers"])
        else:
            result = solvers.solve(
                instance,
                task["solver"],
                time_limit=task["time_limit"],
                workers=task["workers"],
                seed=task["seed"],
            )
            schedule = result.schedule
        seconds = time.perf_counter() - began
        return {"schedule": schedule_to_json(schedule), "seconds": seconds}
    except XpuplanError as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    except Exception as exc:  # a crashing solver is a row of the table, not the end of the run
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return {
            "error": f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}: {exc}"
        }


def solve_with_pyjobshop(instance: Instance, time_limit: float, workers: int) -> Schedule:
    """The same instance through PyJobShop's Model API and its CP-SAT backend.

    Only what a flexible job shop needs is translated (single-unit machines, modes, plain
    precedence, makespan); anything else is refused with :class:`xpuplan.models.Unsupported`.
    """
    import pyjobshop  # optional benchmark dependency, needed only with --peer pyjobshop

    problems = []
    if any(dev.units != 1 for dev in instance.devices):
        problems.append("devices with more than one unit")
    if instance.resources or instance.power_cap_w is not None:
        problems.append("resources or a power cap")
    if any(edge.cross_device_delay or edge.resume_cost for edge in instance.edges):
        problems.append("edge delays")
    if any(job.release or job.deadline is not None for job in instance.jobs):
        problems.append("releases or deadlines")
    if instance.objective.type != "makespan":
        problems.append(f"objective {instance.objective.type}")
    if problems:
        raise Unsupported(f"the PyJobShop peer does not translate {', '.join(problems)}")

    model = pyjobshop.Model()
    machines = {dev.name: model.add_machine(name=dev.name) for dev in instance.devices}
    jobs = {job.name: model.add_job(name=job.name) for job in instance.jobs}
    tasks = {ker.name: model.add_task(jobs[ker.job], name=ker.name) for ker in instance.kernels}
    mode_keys = []
    for ker in instance.kernels:
        for mode in ker.modes:
            model.add_mode(tasks[ker.name], machines[mode.device], mode.duration)
            mode_keys.append((mode.device, mode.level))
    for edge in instance.edges:
        model.add_end_before_start(tasks[edge.src], tasks[edge.dst])
    model.set_objective(weight_makespan=1)
    result = model.solve("ortools", time_limit=time_limit, display=False, num_workers=workers)

    found = math.isfinite(result.objective)
    status = {
        pyjobshop.SolveStatus.OPTIMAL: "optimal",
        pyjobshop.SolveStatus.FEASIBLE: "feasible",
        pyjobshop.SolveStatus.INFEASIBLE: "infeasible",
    }.get(result.status, "feasible" if found else "unknown")
    assignments = []
    if found:
        for ker, sched in zip(instance.kernels, result.best.tasks, strict=True):
            device, level = mode_keys[sched.mode]
            assignments.append(Assignment(ker.name, device, 0, level, sched.start, sched.end))
    bound = result.lower_bound
    return Schedule(
        instance.name,
        tuple(assignments),
        solver="pyjobshop",
        status=status,
        lower_bound=int(bound) if float(bound).is_integer() else bound,
    )


def _serve(conn: Connection) -> None:
    """The worker's loop: one task in, one answer out, until told to stop."""
    while True:
        task = conn.recv()
        if task is None:
            return
        conn.send(solve_task(task))


class Worker:
    """A solver process with a guard timeout; killed and restarted when a solve overruns."""

    def __init__(self) -> None:
        self._ctx = multiprocessing.get_context("spawn")
        self._proc: Any = None
        self._conn: Connection | None = None

    def _start(self) -> Connection:
        parent, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(target=_serve, args=(child,), daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent
        return parent

    def run(self, task: dict[str, Any], guard_s: float) -> dict[str, Any]:
        conn = self._conn
        if conn is None or not self._proc.is_alive():
            self.stop()
            conn = self._start()
        conn.send(task)
        if conn.poll(guard_s):
            try:
                return conn.recv()
            except EOFError:
                self.stop()
                return {"error": "the solver process died (out of memory or a native crash)"}
        self.stop()
        return {"error": f"killed by the guard timeout after {guard_s:g} s"}

    def stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.is_alive() and self._conn is not None:
            with contextlib.suppress(BrokenPipeError, OSError):
                self._conn.send(None)
        self._proc.join(timeout=2)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self._proc, self._conn = None, None


# ---------------------------------------------------------------------- verdicts (parent side)
def verdict(
    case: Case, instance: Instance | None, solver: str, answer: dict[str, Any]
) -> dict[str, Any]:
    """One table row: the schedule verified, its objective recomputed, compared with the known."""
    row: dict[str, Any] = {
        "family": case.family,
        "set": case.set,
        "instance": case.instance,
        "m": case.m,
        "known_lb": case.known_lb,
        "known_ub": case.known_ub,
        "known_opt": case.known_opt,
        "solver": solver,
        "status": "error",
        "objective": None,
        "bound": None,
        "gap": None,
        "seconds": None,
        "valid": None,
        "matched_known": None,
        "reached_ub": None,
        "proved": False,
        "closed_open_row": None,
        "failure": "",
    }
    if "error" in answer or instance is None:
        row["failure"] = answer.get("error", "no instance")
        return row
    try:
        schedule = schedule_from_json(answer["schedule"])
    except InvalidInput as exc:
        row["failure"] = f"unreadable schedule: {exc}"
        return row
    row["status"] = schedule.status
    row["seconds"] = round(answer["seconds"], 3)
    row["bound"] = schedule.lower_bound
    failures = []
    try:
        violations = check_schedule(instance, schedule)
    except InvalidInput as exc:
        violations = []
        failures.append(f"schedule for another instance: {exc}")
    if violations:
        shown = "; ".join(str(v) for v in violations[:3])
        failures.append(f"{len(violations)} violation(s): {shown}")
    if schedule.is_solution:
        objective = evaluate(instance, schedule)
        row["objective"] = objective
        row["valid"] = not failures
        if isinstance(objective, int | float) and isinstance(schedule.lower_bound, int | float):
            gap = (objective - schedule.lower_bound) / objective if objective else 0.0
            row["gap"] = round(max(0.0, gap), 6)
        failures.extend(_inconsistencies(case, objective, schedule))
        # Only a verified schedule whose claims agree with the ground truth counts for anything.
        if not failures and isinstance(objective, int | float):
            row["proved"] = schedule.status == "optimal"
            if case.known_opt is not None:
                row["matched_known"] = objective == case.known_opt
            if case.known_ub is not None:
                row["reached_ub"] = objective <= case.known_ub
            if row["proved"] and case.known_opt is None and case.known_ub is not None:
                row["closed_open_row"] = objective
    elif schedule.status == "infeasible" and case.known_ub is not None:
        failures.append(f"claims infeasible, but a schedule of value {case.known_ub} is known")
    elif schedule.status == "infeasible":
        row["proved"] = True
    row["failure"] = " | ".join(failures)
    return row


def _inconsistencies(case: Case, objective: Any, schedule: Schedule) -> list[str]:
    """Claims that contradict the published ground truth (or the checker's objective)."""
    out: list[str] = []
    if not isinstance(objective, int | float):
        return out
    bound = schedule.lower_bound
    if case.known_lb is not None and objective < case.known_lb:
        out.append(f"objective {objective} below the published lower bound {case.known_lb}")
    if isinstance(bound, int | float):
        if bound > objective + 1e-9:
            out.append(f"bound {bound} above the schedule's objective {objective}")
        if case.known_ub is not None and bound > case.known_ub + 1e-9:
            out.append(f"bound {bound} above the best known value {case.known_ub}")
    if schedule.status == "optimal" and case.known_opt is not None and objective != case.known_opt:
        out.append(f"claims optimal {objective}, the published optimum is {case.known_opt}")
    return out


# ---------------------------------------------------------------------- output
def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "/".join(_cell(v) for v in value)
    return str(value)


def write_summary(
    path: Path,
    rows: list[dict[str, Any]],
    args: argparse.Namespace,
    command: str,
    started: str,
    wall_s: float,
) -> None:
    """The markdown summary: set-up, per-group counts, open rows closed, failures, rows."""
    lines = [
        f"# Solver benchmark: {args.family}",
        "",
        f"Command: `{command}`",
        "",
        f"Started {started}, {wall_s:.0f} s wall; {_machine()}; time limit {args.time_limit:g} s, "
        f"{args.workers} worker(s), solver seed {args.solver_seed}. "
        f"CSV: `{path.with_suffix('.csv').name}`.",
        "",
        "Every schedule was verified with `models.check_schedule`; objectives are recomputed from "
        "the schedules. *valid* = schedules that passed the checker; *matched* = objective equals "
        "the published optimum (rows where one is known); *reached ub* = objective <= best known "
        "upper bound; *proven* = status optimal within the limit, on a valid schedule that agrees "
        "with the published bounds; *failures* = checker violations, solver errors, guard kills "
        "and claims contradicting the published bounds.",
        "",
    ]
    for solver in dict.fromkeys(row["solver"] for row in rows):
        mine = [row for row in rows if row["solver"] == solver]
        lines.append(f"**{solver}**: {_counts_line(mine)}")
        lines.append("")
    lines += [
        "| set | m | solver | rows | valid | matched | reached ub | proven | failures | "
        "mean s | max s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["set"], _cell(row["m"]), row["solver"]), []).append(row)
    for (set_, m, solver), group in groups.items():
        known = [row for row in group if row["known_opt"] is not None]
        with_ub = [row for row in group if row["known_ub"] is not None]
        seconds = [row["seconds"] for row in group if row["seconds"] is not None]
        lines.append(
            f"| {set_} | {m} | {solver} | {len(group)} | "
            f"{sum(row['valid'] is True for row in group)} | "
            f"{sum(bool(row['matched_known']) for row in known)}/{len(known)} | "
            f"{sum(bool(row['reached_ub']) for row in with_ub)}/{len(with_ub)} | "
            f"{sum(bool(row['proved']) for row in group)} | "
            f"{sum(bool(row['failure']) for row in group)} | "
            f"{(sum(seconds) / len(seconds)) if seconds else 0:.2f} | "
            f"{max(seconds, default=0):.2f} |"
        )
    closed = [row for row in rows if row["closed_open_row"] is not None]
    lines += ["", "## Open rows closed (proven optimum of a row published as lb,ub)", ""]
    lines += [
        f"- {_label(row)}: {row['closed_open_row']} (published {row['known_lb']},{row['known_ub']})"
        for row in closed
    ] or ["none"]
    failed = [row for row in rows if row["failure"]]
    lines += ["", "## Failures", ""]
    lines += [f"- {_label(row)}: {row['failure']}" for row in failed] or ["none"]
    missed = [row for row in rows if row["matched_known"] is False]
    lines += ["", "## Rows with a published optimum not matched", ""]
    lines += [
        f"- {_label(row)}: {_cell(row['objective'])} vs {row['known_opt']} "
        f"(bound {_cell(row['bound'])}, {row['status']})"
        for row in missed
    ] or ["none"]
    if len(rows) <= MAX_LISTED_ROWS:
        shown = [c for c in COLUMNS if c not in ("family", "failure")]
        lines += ["", "## All rows", "", "| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
        lines += ["| " + " | ".join(_cell(row[c]) for c in shown) + " |" for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _label(row: dict[str, Any]) -> str:
    m = f" m={row['m']}" if row["m"] is not None else ""
    return f"{row['instance']}{m} ({row['solver']})"


def _counts_line(rows: list[dict[str, Any]]) -> str:
    known = [row for row in rows if row["known_opt"] is not None]
    return (
        f"rows {len(rows)}; matched {sum(bool(r['matched_known']) for r in known)}/{len(known)}; "
        f"proven optimal within the limit {sum(bool(r['proved']) for r in rows)}/{len(rows)}; "
        f"failures {sum(bool(r['failure']) for r in rows)}"
    )


def _machine() -> str:
    try:
        ortools_version = importlib.metadata.version("ortools")
    except importlib.metadata.PackageNotFoundError:
        ortools_version = "absent"
    return (
        f"{os.cpu_count()} CPU(s), {platform.machine()}, Python {platform.python_version()}, "
        f"OR-Tools {ortools_version}"
    )


# ---------------------------------------------------------------------- command line
def _int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 2,4, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Run solvers on benchmark sets, verify every schedule, compare with optima."
    )
    parser.add_argument("--bench-dir", required=True, help="e.g. ../shared/benchmarks")
    parser.add_argument("--family", required=True, choices=FAMILIES)
    parser.add_argument("--sizes", type=_int_list, default=[50, 100], help="stg: task counts")
    parser.add_argument("--m", type=_int_list, default=[2, 4, 8, 16], help="stg: processors")
    parser.add_argument("--instances", help="comma-separated patterns (fnmatch), e.g. 'mk0*,mk10'")
    parser.add_argument("--sample", type=int, help="a random sample of N instances (rows)")
    parser.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    parser.add_argument("--solvers", default="cpsat", help="comma-separated registered solvers")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per solve")
    parser.add_argument("--workers", type=int, default=2, help="solver threads (default 2)")
    parser.add_argument("--solver-seed", type=int, default=0, help="seed passed to the solvers")
    parser.add_argument("--peer", choices=PEERS, help="also run a peer tool (pyjobshop: fjsp)")
    parser.add_argument(
        "--guard-s",
        type=float,
        help="kill a solve after this many seconds (default 2 x limit + 30)",
    )
    parser.add_argument("--inferences", type=int, default=1, help="dnn: copies of each graph")
    parser.add_argument("--period-us", type=int, help="dnn: release period of the copies")
    parser.add_argument("--deadline-us", type=int, help="dnn: relative deadline of each copy")
    parser.add_argument("--cpu-units", type=int, default=1, help="dnn: CPU units")
    parser.add_argument("--accel-units", type=int, default=1, help="dnn: accelerator units")
    parser.add_argument("--out", required=True, help="the CSV to write (.md summary beside it)")
    return parser


def check_args(
    args: argparse.Namespace, parser: argparse.ArgumentParser, registered: Callable[[], list[str]]
) -> list[str]:
    """The solver names to run; exits with a message on a bad combination."""
    names = [name.strip() for name in args.solvers.split(",") if name.strip()]
    known = registered()
    unknown = [name for name in names if name not in known]
    if unknown:
        parser.error(f"unknown solver(s) {', '.join(unknown)} (registered: {', '.join(known)})")
    if args.peer == "pyjobshop":
        if args.family != "fjsp":
            parser.error("--peer pyjobshop applies to --family fjsp only")
        try:
            import pyjobshop  # noqa: F401  (only checking that it is installed)
        except ImportError:
            parser.error("--peer pyjobshop needs PyJobShop: pip install pyjobshop")
    if not args.time_limit > 0 or args.workers < 1:
        parser.error("--time-limit must be > 0 and --workers >= 1")
    if not Path(args.bench_dir).is_dir():
        parser.error(f"--bench-dir {args.bench_dir} is not a directory")
    return names


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    names = check_args(args, parser, solvers.solver_names)
    if args.peer:
        names.append(args.peer)
    command = "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])])
    cases = select_cases(args)
    if not cases:
        parser.error("no instance matches the selection")
    guard_s = args.guard_s or 2 * args.time_limit + 30
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    began = time.perf_counter()
    rows: list[dict[str, Any]] = []
    worker = Worker()
    try:
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            for c_idx, case in enumerate(cases, start=1):
                try:
                    instance = build_instance(case, args)
                except XpuplanError as exc:
                    print(
                        f"[{c_idx}/{len(cases)}] {case.instance}: cannot convert: {exc}",
                        file=sys.stderr,
                    )
                    rows.append(verdict(case, None, "convert", {"error": str(exc)}))
                    writer.writerow({c: _cell(rows[-1][c]) for c in COLUMNS})
                    continue
                doc = instance_to_json(instance)
                for name in names:
                    task = {
                        "instance": doc,
                        "solver": name,
                        "time_limit": args.time_limit,
                        "workers": args.workers,
                        "seed": args.solver_seed,
                    }
                    row = verdict(case, instance, name, worker.run(task, guard_s))
                    rows.append(row)
                    writer.writerow({c: _cell(row[c]) for c in COLUMNS})
                    handle.flush()
                    print(_progress(c_idx, len(cases), row), flush=True)
    finally:
        worker.stop()
    write_summary(out.with_suffix(".md"), rows, args, command, started, time.perf_counter() - began)
    for solver in dict.fromkeys(row["solver"] for row in rows):
        print(f"{solver}: {_counts_line([r for r in rows if r['solver'] == solver])}")
    print(f"wrote {out} and {out.with_suffix('.md')}")
    return 0


def _progress(c_idx: int, total: int, row: dict[str, Any]) -> str:
    known = f" known {row['known_lb']}..{row['known_ub']}" if row["known_ub"] is not None else ""
    if row["status"] == "error":
        return f"[{c_idx}/{total}] {_label(row)}:{known} FAILURE: {row['failure']}"
    text = (
        f"[{c_idx}/{total}] {_label(row)}: {row['status']} "
        f"{_cell(row['objective'])} (bound {_cell(row['bound'])}){known} "
        f"{_cell(row['seconds'])} s"
    )
    return text + (f"  FAILURE: {row['failure']}" if row["failure"] else "")


if __name__ == "__main__":
    sys.exit(main())
