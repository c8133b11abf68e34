"""MCT, MET and OLB: the immediate-mode mapping heuristics.

R. Armstrong, D. Hensgen, T. Kidd, "The relative performance of various mapping algorithms is
independent of sizable variances in run-time predictions", HCW 1998; M. Maheswaran, S. Ali,
H. J. Siegel, D. Hensgen, R. F. Freund, "Dynamic mapping of a class of independent tasks onto
heterogeneous computing systems", JPDC 59(2), 1999; T. D. Braun et al., "A comparison of eleven
static heuristics for mapping a class of independent tasks onto heterogeneous distributed
computing systems", JPDC 61(6), 2001.

Each maps tasks one at a time in arrival order onto machines, appending to a machine's queue:

* MCT (minimum completion time): the machine where the task completes first;
* MET (minimum execution time): the machine that runs it fastest, whatever its load;
* OLB (opportunistic load balancing): the machine that becomes available first, whatever the
  task's execution time there.

Extensions to DAGs and to the Instance: a machine is a (mode, unit); tasks *arrive* in the order of
their jobs' releases, a kernel when all its predecessors are mapped (ties by kernel index); a
kernel is appended after its unit's last kernel (no insertion, as in the papers) and starts when
its data, its release, the power cap and the resources allow (see
:mod:`xpuplan.solvers.heuristics.timeline`).
"""

from __future__ import annotations

from xpuplan.models import Instance, Schedule
from xpuplan.solvers.heuristics.list_scheduler import Select, run, schedule_by_priority
from xpuplan.solvers.heuristics.problem import Problem, build_problem
from xpuplan.solvers.heuristics.timeline import Placement, Timeline


def mct(instance: Instance, *, problem: Problem | None = None) -> Schedule:
    """Minimum completion time, in arrival order (see the module docstring)."""
    return _in_arrival_order(instance, problem, _mct)


def met(instance: Instance, *, problem: Problem | None = None) -> Schedule:
    """Minimum execution time, in arrival order: the fastest mode, then its earliest unit."""
    return _in_arrival_order(instance, problem, _met)


def olb(instance: Instance, *, problem: Problem | None = None) -> Schedule:
    """Opportunistic load balancing, in arrival order: the earliest start, ties by finish."""
    return _in_arrival_order(instance, problem, _olb)


def _in_arrival_order(instance: Instance, problem: Problem | None, select: Select) -> Schedule:
    prob = build_problem(instance) if problem is None else problem
    return run(prob, lambda p: schedule_by_priority(p, p.release, select))


def _mct(timeline: Timeline, k_idx: int, modes: list[int]) -> Placement | None:
    return timeline.earliest_finish(k_idx, modes, insertion=False)


def _met(timeline: Timeline, k_idx: int, modes: list[int]) -> Placement | None:
    if not modes:
        return None
    duration = timeline.problem.mode_duration
    fastest = min(duration[m_idx] for m_idx in modes)
    return timeline.earliest_finish(
        k_idx, [m_idx for m_idx in modes if duration[m_idx] == fastest], insertion=False
    )


def _olb(timeline: Timeline, k_idx: int, modes: list[int]) -> Placement | None:
    opts = timeline.options(k_idx, modes, insertion=False)
    return min(opts, key=lambda opt: (opt.start, opt.end)) if opts else None
