"""``solve_cpsat_lns``: CP-SAT over windows of periodic jobs (registered as ``"cpsat-lns"``).

A large neighbourhood search that fits periodic workloads. The instance's jobs, sorted by release
(then deadline), are cut into windows of consecutive jobs of about ``window_kernels`` kernels,
each window overlapping the next by half. For each stage of the objective (the lexicographic
driver :func:`xpuplan.solvers.exact.lexicographic`, shared with ``cpsat``) the search starts
from the best schedule known (the hint or the heuristic warm start) and, window after window,
re-solves the window's kernels with CP-SAT while every other kernel keeps its start and mode
(as an instance of its own: :func:`window_instance`), keeping the result when it is better and
the whole schedule passes :func:`xpuplan.models.check_schedule`;
passes repeat until the stage's time is spent or a pass improves nothing, and then the whole
model polishes the result with the time left. Windows are used only where they model the stage
exactly (:meth:`LnsStages.windows_apply`); elsewhere the stage is the whole model's, as in
``cpsat``.

The bound is the larger of the cheap bound (:func:`xpuplan.solvers.bounds.part_lower_bound`)
and CP-SAT's from the polishing solve: windows prove nothing about the whole instance. On the
video-call instances the energy gap is the schedule's, not the bound's: a fractional relaxation with
deadlines, device capacity per release/deadline window and the power cap gives the same value as
the cheap bound (benchmarks/results/scale.md).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from xpuplan.models import (
    Instance,
    InvalidInput,
    Job,
    Kernel,
    Mode,
    Objective,
    Schedule,
    check_schedule,
)
from xpuplan.models.objectives import evaluate_part, value_leq, values_close
from xpuplan.models.schedule import Assignment
from xpuplan.solvers.bounds import part_lower_bound
from xpuplan.solvers.cpsat.callback import ProgressFn
from xpuplan.solvers.cpsat.model import CpsatModel, SolverSettings
from xpuplan.solvers.cpsat.solve import CpsatStages, default_workers, settled_stage, solve_cpsat
from xpuplan.solvers.exact import (
    Deadline,
    OutOfTime,
    StageOutcome,
    lexicographic,
    start_schedule,
    unfinished_schedule,
)

DEFAULT_WINDOW_KERNELS = 150
# A window's solve stops after this many seconds (it usually proves its optimum sooner).
WINDOW_SECONDS = 8.0
# CP-SAT parameters of a window's solve: presolve probing and symmetry detection took 60 % of the
# time a 201-kernel window of the 2,020-kernel video-call instance needs to reach its optimum.
WINDOW_PARAMS: dict[str, Any] = {"cp_model_probing_level": 0, "symmetry_level": 0}
# The whole model polishes the windows' schedule when at least this many seconds are left.
MIN_POLISH_SECONDS = 2.0
# A job whose window exceeds this many times the median job's is in no LNS window.
LONG_JOB = 4


def job_windows(instance: Instance, window_kernels: int) -> list[list[int]]:
    """Kernel indices of each window: consecutive jobs by (release, deadline), about
    ``window_kernels`` kernels each, every window overlapping the next by half of its jobs; the
    disjoint windows first (a whole pass over the schedule), then those straddling them.

    Long jobs (no deadline, or a window more than :data:`LONG_JOB` times the median job's) are
    in no window: their span would make every other kernel a blocker; they keep their placement
    from the start schedule.
    """
    spans = sorted(job.deadline - job.release for job in instance.jobs if job.deadline is not None)
    median = spans[len(spans) // 2] if spans else 0
    order = sorted(
        (
            j
            for j, job in enumerate(instance.jobs)
            if job.deadline is not None and job.deadline - job.release <= LONG_JOB * median
        ),
        key=lambda j: (instance.jobs[j].release, instance.jobs[j].deadline or 0, j),
    )
    groups: list[list[int]] = []  # consecutive job groups of about half a window
    current: list[int] = []
    size = 0
    for j_idx in order:
        current.append(j_idx)
        size += len(instance.job2kernels[j_idx])
        if 2 * size >= window_kernels:
            groups.append(current)
            current, size = [], 0
    if current:
        groups.append(current)
    if len(groups) <= 2:
        return [[k for g in groups for j in g for k in instance.job2kernels[j]]]
    pairs = list(range(0, len(groups) - 1, 2)) + list(range(1, len(groups) - 1, 2))
    return [
        [k for g in groups[i : i + 2] for j in g for k in instance.job2kernels[j]] for i in pairs
    ]


def window_instance(
    instance: Instance, part: Objective, free: set[int], placed: Sequence[Assignment]
) -> Instance:
    """The instance of one window: its kernels free, the others that could meet them fixed.

    The window's jobs keep their kernels and edges; every other kernel that runs inside the
    window's span (the earliest release to the latest deadline of its jobs), or ends last in the
    whole schedule (so that the window's makespan is the schedule's), or shares an edge with a free
    kernel, becomes a blocker: a kernel
    with the single mode it runs in, lasting its placement, in a job of its own released at its
    start and due at its end. The objective is ``part`` alone, so deadlines are hard: the caller
    uses windows only when the earlier parts are deadline parts fixed at 0 or parts that a
    changed window cannot worsen, and checks every schedule it keeps.
    """
    by_index: list[Assignment | None] = [None] * instance.num_kernels
    for one in placed:
        by_index[instance.kernel_idx[one.kernel]] = one
    jobs_in = sorted({instance.kernel2job[k] for k in free})
    lo = min(instance.jobs[j].release for j in jobs_in)
    dues = [instance.jobs[j].deadline for j in jobs_in]
    hi = None if any(d is None for d in dues) else max(d for d in dues if d is not None)
    last = max(range(instance.num_kernels), key=lambda k: _end(by_index[k]))
    adjacent = {  # kernels an edge links to a free one (a cross-job edge) stay in as blockers
        k
        for src, dst in instance.edge_endpoints
        if (src in free) != (dst in free)
        for k in (src, dst)
    }
    jobs = [instance.jobs[j] for j in jobs_in]
    kernels = [instance.kernels[k] for j in jobs_in for k in instance.job2kernels[j]]
    for k_idx, asg in enumerate(by_index):
        if k_idx in free or asg is None:
            continue
        inside = asg.end > lo and (hi is None or asg.start < hi)
        if not inside and k_idx != last and k_idx not in adjacent:
            continue
        ker = instance.kernels[k_idx]
        mode = ker.modes[ker.mode_index(asg.device, asg.level) or 0]
        name = f"{ker.name}~fixed"
        jobs.append(Job(name, release=asg.start, deadline=asg.end, weight=1.0))
        kernels.append(
            Kernel(
                ker.name,
                name,
                (Mode(asg.device, asg.level, asg.end - asg.start, mode.power_w, mode.demands),),
            )
        )
    names = {ker.name for ker in kernels}
    free_names = {instance.kernels[k].name for k in free}
    edges = [
        e
        for e in instance.edges
        if e.src in names and e.dst in names and (e.src in free_names or e.dst in free_names)
    ]
    return instance.replace(
        name=f"{instance.name}~window",
        jobs=tuple(jobs),
        kernels=tuple(kernels),
        edges=tuple(edges),
        objective=part,
    )


def _end(asg: Assignment | None) -> int:
    return -1 if asg is None else asg.end


class LnsStages:
    """A :class:`xpuplan.solvers.exact.StageSolver` that improves the start schedule window by
    window where windows model the stage exactly (:meth:`windows_apply`), and solves the stage
    with the whole CP-SAT model (:class:`CpsatStages`, built only then) elsewhere."""

    def __init__(
        self,
        instance: Instance,
        settings: SolverSettings,
        callback: ProgressFn | None,
        deadline: Deadline,
        windows: Sequence[Sequence[int]],
        horizon: int | None,
    ) -> None:
        self.instance = instance
        self.settings = settings
        self.callback = callback
        self.deadline = deadline
        self.windows = windows
        self.horizon = horizon
        self.fixed: list[int | float] = []
        self._full: CpsatStages | None = None
        self.window_seconds = WINDOW_SECONDS

    def full(self) -> CpsatStages:
        """The whole model's stages, built on first use with the parts fixed so far.

        Raises
        ------
        OutOfTime
            When the time limit runs out while building it.
        """
        if self._full is None:
            cpm = CpsatModel(self.instance, horizon=self.horizon, deadline=self.deadline)
            full = CpsatStages(cpm, self.settings, self.callback, self.deadline, False)
            for stage, value in enumerate(self.fixed):
                full.fix_stage(stage, value)
            self._full = full
        return self._full

    def fix_stage(self, stage: int, value: float) -> None:
        self.fixed.append(value)
        if self._full is not None:
            self._full.fix_stage(stage, value)

    def no_schedule(self, time_left: float | None) -> Schedule:
        return self.full().no_schedule(time_left)

    def solve_stage(
        self, stage: int, time_limit: float | None, start: Schedule | None
    ) -> StageOutcome:
        settled = settled_stage(self.instance, stage, start)
        if settled is not None:
            return settled
        if start is None or len(self.windows) < 2 or not self.windows_apply(stage):
            try:
                full = self.full()
            except OutOfTime:
                assignments = None if start is None else start.assignments
                return StageOutcome("feasible" if start else "unknown", assignments, None)
            left = self.deadline.remaining()
            if time_limit is not None and left is not None:
                time_limit = min(time_limit, left)
            return full.solve_stage(stage, time_limit, start)
        return self._windows(stage, time_limit, start)

    def _windows(self, stage: int, time_limit: float | None, start: Schedule) -> StageOutcome:
        """The stage solved window by window from ``start``."""
        instance = self.instance
        parts = instance.objective.parts
        part = parts[stage]
        best = list(start.assignments)
        value = evaluate_part(instance, part, best)
        stop = None if time_limit is None else time.perf_counter() + time_limit
        improved = True
        while improved:
            improved = False
            for window in self.windows:
                left = None if stop is None else stop - time.perf_counter()
                if left is not None and left <= 1.0:
                    return StageOutcome("feasible", best, None)
                free = set(window)
                sub = window_instance(instance, part, free, best)
                names = {instance.kernels[k].name for k in free}
                hint = Schedule(sub.name, tuple(a for a in best if a.kernel in sub.kernel_idx))
                limit = (
                    self.window_seconds if left is None else min(self.window_seconds, left - 0.5)
                )
                try:
                    result = solve_cpsat(
                        sub,
                        time_limit=limit,
                        workers=self.settings.workers,
                        seed=self.settings.seed,
                        hint=hint,
                        warm_start=False,
                        explain=False,
                        lean=True,
                        params={**WINDOW_PARAMS, **(self.settings.params or {})},
                    )
                except InvalidInput:  # the window's rules reject the schedule's own placement
                    continue
                if not result.is_solution:
                    continue
                moved = {a.kernel: a for a in result.assignments if a.kernel in names}
                found = [moved.get(a.kernel, a) for a in best]
                new = evaluate_part(instance, part, found)
                if not value_leq(new, value) or values_close(new, value):
                    continue
                if not self._keeps_earlier(stage, found) or check_schedule(
                    instance, Schedule(instance.name, tuple(found))
                ):
                    continue
                best, value, improved = found, new, True
                self._report(stage, value)
        return self._polish(stage, stop, Schedule(instance.name, tuple(best)))

    def _polish(self, stage: int, stop: float | None, best: Schedule) -> StageOutcome:
        """After a pass that improved nothing, the whole model from ``best`` for the time left
        (its bound may prove the schedule optimal); ``best`` when that finds nothing better."""
        left = None if stop is None else stop - time.perf_counter()
        if left is not None and left <= MIN_POLISH_SECONDS:
            return StageOutcome("feasible", best.assignments, None)
        try:
            full = self.full()
        except OutOfTime:
            return StageOutcome("feasible", best.assignments, None)
        left = None if stop is None else stop - time.perf_counter()
        if left is not None and left <= MIN_POLISH_SECONDS / 2:
            return StageOutcome("feasible", best.assignments, None)
        outcome = full.solve_stage(stage, left, best)
        part = self.instance.objective.parts[stage]
        if outcome.assignments is None or not value_leq(
            evaluate_part(self.instance, part, outcome.assignments),
            evaluate_part(self.instance, part, best.assignments),
        ):
            return StageOutcome(outcome.status, best.assignments, outcome.bound)
        return outcome

    def windows_apply(self, stage: int) -> bool:
        """Windows model the stage exactly when every earlier part is a deadline part fixed at
        0 (its deadlines are then hard in the window) and no job with a deadline weighs 0."""
        parts = self.instance.objective.parts
        for earlier, fixed in zip(parts[:stage], self.fixed, strict=True):
            if earlier.type not in ("late_jobs", "weighted_tardiness") or fixed != 0:
                return False
        if stage == 0 and self.instance.soft_deadlines:
            return False
        return all(job.weight > 0 for job in self.instance.jobs if job.deadline is not None)

    def _keeps_earlier(self, stage: int, found: Sequence[Assignment]) -> bool:
        parts = self.instance.objective.parts
        return all(
            value_leq(evaluate_part(self.instance, p, found), fixed)
            for p, fixed in zip(parts[:stage], self.fixed, strict=True)
        )

    def _report(self, stage: int, value: int | float) -> None:
        """Tell the progress callback of a better schedule (with the part's cheap bound)."""
        if self.callback is None:
            return
        bound = part_lower_bound(self.instance, self.instance.objective.parts[stage])
        if self.instance.objective.type == "lexicographic":
            self.callback((*self.fixed, value), (*self.fixed, bound), self.deadline.elapsed())
        else:
            self.callback(value, bound, self.deadline.elapsed())


def solve_cpsat_lns(
    instance: Instance,
    *,
    time_limit: float | None = None,
    workers: int | None = None,
    seed: int = 0,
    hint: Schedule | None = None,
    log: bool = False,
    callback: ProgressFn | None = None,
    window_kernels: int = DEFAULT_WINDOW_KERNELS,
    window_seconds: float = WINDOW_SECONDS,
    params: dict[str, Any] | None = None,
    **options: Any,
) -> Schedule:
    """Solve ``instance`` with CP-SAT window by window (see the module docstring).

    Parameters are those of :func:`xpuplan.solvers.cpsat.solve.solve_cpsat`, and
    ``window_kernels``, the size of a window in kernels (an instance with at most two half
    windows is solved whole, as ``cpsat`` does), and ``window_seconds``, the most one window's
    solve may take.

    Raises
    ------
    InvalidInput
        For a bad hint, an unknown option or a ``window_kernels`` below 1.
    """
    if options:
        name = sorted(options)[0]
        raise InvalidInput(
            "is not an option of the cpsat-lns solver", field=name, value=options[name]
        )
    if not isinstance(window_kernels, int) or window_kernels < 1:
        raise InvalidInput(
            "must be a positive integer", field="window_kernels", value=window_kernels
        )
    if not isinstance(window_seconds, int | float) or not window_seconds > 0:
        raise InvalidInput(
            "must be a positive number", field="window_seconds", value=window_seconds
        )
    deadline = Deadline(time_limit)
    settings = SolverSettings(workers or default_workers(), seed, log, params)
    start = start_schedule(instance, hint, seed=seed, use_heuristics=True, deadline=deadline)
    parts = instance.objective.parts
    horizon = start.makespan if start is not None and parts[0].type == "makespan" else None
    windows = job_windows(instance, window_kernels)
    stages = LnsStages(instance, settings, callback, deadline, windows, horizon)
    stages.window_seconds = float(window_seconds)
    if start is None or len(windows) < 2:
        try:
            stages.full()
        except OutOfTime:
            return unfinished_schedule(instance, start, "cpsat-lns")
    return lexicographic(instance, stages, solver="cpsat-lns", deadline=deadline, start=start)
