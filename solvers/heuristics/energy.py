"""Energy-aware deadline list scheduling: each kernel in its cheapest mode that keeps the deadlines.

The time-driven list schedulers (HEFT, PEFT, EDF...) place every kernel where it *finishes first*,
which on a heterogeneous chip usually means the fastest, most power-hungry device at its top DVFS
level; the DVFS post-pass (:func:`~xpuplan.solvers.heuristics.dvfs.lower_levels`) can then only
lower levels on the device already chosen. On periodic workloads with slack (video-call: frames
every 20-33 ms, kernels of 0.1-2 ms) that leaves most of the dynamic energy on the table: at 2,020
kernels the best of them spends 2.7x the dynamic energy of every kernel in its cheapest mode
(benchmarks/results/scale.md). This one chooses the *mode* for energy, as energy-aware list
schedulers for deadline-constrained DAGs on heterogeneous processors with DVFS do (a survey of the
family: G. Xie et al., IEEE TPDS 28(12), 2017), and keeps the deadlines with two budgets per kernel:

* :math:`d^e_k`, the latest end that leaves every successor time to run in *its* cheapest mode
  before the job's deadline (the deadlines of :func:`~xpuplan.solvers.heuristics.deadline.
  modified_deadlines` with cheapest instead of shortest durations), and
* :math:`d^*_k`, the latest end that leaves every successor time to run in its *fastest* mode.

Ready kernels go in increasing :math:`d^*_k` (EDF, ties by HEFT upward rank). A kernel takes, among
its earliest placements on every unit of every mode (insertion-based, every Instance rule
honoured), the one of least cost that ends by :math:`d^e_k`; if none does, the least costly one
that ends by :math:`d^*_k`; if none does, the one that ends first. The cost is the mode's dynamic
energy :math:`p_m (end - start)` (resume time included, as the objective counts it) plus the idle
energy a later makespan adds, :math:`P^{idle} \\max(0, end - M)` with :math:`M` the makespan so far.
Without deadlines every kernel simply runs in its cheapest placement.
"""

from __future__ import annotations

import math

from xpuplan.models import Instance, Schedule
from xpuplan.solvers.heuristics.deadline import folded_deadlines, modified_deadlines
from xpuplan.solvers.heuristics.list_scheduler import run, schedule_by_priority
from xpuplan.solvers.heuristics.problem import Problem, build_problem
from xpuplan.solvers.heuristics.ranks import upward_ranks
from xpuplan.solvers.heuristics.timeline import Placement, Timeline


def cheap_deadlines(prob: Problem) -> list[float]:
    """:math:`d^e_k`: deadlines folded back along successors at their least-energy durations."""
    cheapest_energy = [math.inf] * prob.num_kernels
    cheap = [0] * prob.num_kernels
    for m_idx, k_idx in enumerate(prob.mode_kernel):
        energy = prob.mode_power[m_idx] * prob.mode_duration[m_idx]
        if energy < cheapest_energy[k_idx]:
            cheapest_energy[k_idx] = energy
            cheap[k_idx] = prob.mode_duration[m_idx]
    return folded_deadlines(prob, cheap)


def edf_energy(instance: Instance, *, problem: Problem | None = None) -> Schedule:
    """EDF order, each kernel in its least-energy placement that keeps the deadlines.

    See the module docstring for the two deadline budgets and the cost.
    """
    prob = build_problem(instance) if problem is None else problem
    due = modified_deadlines(prob)
    relaxed = cheap_deadlines(prob)
    rank = upward_ranks(prob, prob.mean_durations())
    key = [(due[k_idx], -rank[k_idx]) for k_idx in range(prob.num_kernels)]
    idle_power = instance.idle_power_w
    power = prob.mode_power
    makespan = 0  # the latest end placed so far

    def cheapest(timeline: Timeline, k_idx: int, modes: list[int]) -> Placement | None:
        nonlocal makespan
        opts = timeline.options(k_idx, modes)
        if not opts:
            return None
        span = makespan

        def cost(opt: Placement) -> tuple[float, int]:
            late = opt.end - span if opt.end > span else 0
            return (power[opt.mode] * (opt.end - opt.start) + idle_power * late, opt.end)

        choice = None
        for budget in (relaxed[k_idx], due[k_idx]):
            fitting = [opt for opt in opts if opt.end <= budget]
            if fitting:
                choice = min(fitting, key=cost)
                break
        if choice is None:
            choice = min(opts, key=lambda opt: (opt.end, cost(opt)))
        if choice.end > span:
            makespan = choice.end
        return choice

    return run(prob, lambda p: schedule_by_priority(p, key, cheapest))
