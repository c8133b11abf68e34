"""The MILP backends on hand-computed optima, their refusals, backends, limits and bounds.

Optima of tests/conftest.py's tiny instance (a1 -> a2 with delay 3 and resume cost 2; b1 released
at 5; idle power 1.25 W):

* makespan 13: b1 cannot end before 5 + 8, and a1, a2 on the NPU [0, 5), [5, 11) with b1 on the
  CPU [5, 13) reach it;
* weighted completion 37 = 1 x 11 + 2 x 13: a chain a1 -> a2 ends at 11 at best (5 + 6 on the
  NPU; on the CPU 10 + 10), b1 at 13, and the schedule above has both;
* weighted tardiness and late jobs 0 (deadlines 100 and 50);
* energy 62.75: a1 NPU (10 J), a2 NPU hi contiguous (12 J), b1 NPU lo after (12 J) gives dynamic
  34 J and makespan 23, 34 + 1.25 x 23; a2 at lo instead (9 J) pushes the makespan to 26 (63.5),
  b1 on the CPU costs 32 J (at least 51 + 1.25 x 13 = 67.25);
* makespan then energy (13, 70.25): makespan 13 needs b1 on the CPU (32 J) and a2 at hi on the NPU
  (at lo it would end at 14), so 10 + 12 + 32 + 1.25 x 13;
* per-device DVFS: NPU at hi (b1 then runs on the CPU): 10 + 12 + 32 + 1.25 x 13 = 70.25; NPU at lo
  puts a1 on the CPU and costs more.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.conftest import TINY_OPTIMA, tiny_instance
from xpuplan.models import (
    Edge,
    Instance,
    InvalidInput,
    Job,
    Kernel,
    Mode,
    Objective,
    Unsupported,
    check_schedule,
)
from xpuplan.models.generate import layered_dag_instance, random_small_instance
from xpuplan.models.objectives import value_leq, values_close
from xpuplan.solvers import solve
from xpuplan.solvers.bounds import lower_bound
from xpuplan.solvers.milp.backends import BACKENDS, MilpSettings, make_solver
from xpuplan.solvers.milp.disjunctive import refusal

RUNS = [
    ("milp-ti", "cbc"),
    ("milp-ti", "highs"),
    ("milp", "cbc"),
    ("milp", "highs"),
]


def uncapped(instance: Instance) -> Instance:
    """The instance without its power cap, resources and demands (for the disjunctive model)."""
    kernels = tuple(
        Kernel(
            k.name,
            k.job,
            tuple(Mode(m.device, m.level, m.duration, m.power_w) for m in k.modes),
        )
        for k in instance.kernels
    )
    return instance.replace(kernels=kernels, resources=(), power_cap_w=None)


def tiny_for(solver: str, **changes: object) -> Instance:
    inst = tiny_instance(**changes)
    return uncapped(inst) if solver == "milp" else inst


def solved(instance: Instance, solver: str, backend: str, **options: object):
    """Solve; the schedule (whatever its status) must pass the checker."""
    res = solve(instance, solver, backend=backend, workers=1, **options)
    assert check_schedule(instance, res.schedule) == []
    return res


@pytest.mark.parametrize(("solver", "backend"), RUNS)
@pytest.mark.parametrize("objective", sorted(TINY_OPTIMA))
def test_tiny_optima(solver, backend, objective):
    """Each formulation and backend proves the hand-computed optimum of every objective."""
    inst = tiny_for(solver, objective=Objective.parse(objective))
    res = solved(inst, solver, backend)
    assert res.status == "optimal"
    assert values_close(res.objective, TINY_OPTIMA[objective])
    assert res.lower_bound == res.objective


@pytest.mark.parametrize(("solver", "backend"), RUNS)
def test_tiny_per_device_dvfs(solver, backend):
    """One NPU level for every kernel: the energy optimum rises from 62.75 to 70.25."""
    inst = tiny_for(solver, objective=Objective("energy"), dvfs="per-device")
    res = solved(inst, solver, backend)
    assert res.status == "optimal" and values_close(res.objective, 70.25)
    npu_levels = {a.level for a in res.schedule.assignments if a.device == "npu"}
    assert len(npu_levels) == 1


@pytest.mark.parametrize(("solver", "backend"), RUNS)
def test_tiny_soft_and_hard_deadlines(solver, backend):
    """B's deadline 10 is unreachable: infeasible when hard, 2 late / tardiness 6 when soft."""
    jobs = (Job("A", 0, 100), Job("B", 5, 10, 2.0))
    assert solved(tiny_for(solver, jobs=jobs), solver, backend).status == "infeasible"
    late = solved(tiny_for(solver, jobs=jobs, objective=Objective("late_jobs")), solver, backend)
    assert late.status == "optimal" and late.objective == 2
    tardy = tiny_for(solver, jobs=jobs, objective=Objective("weighted_tardiness"))
    res = solved(tardy, solver, backend)
    assert res.status == "optimal" and res.objective == 6


@pytest.mark.parametrize(("solver", "backend"), RUNS)
def test_resume_cost_decides_the_preemption(solver, backend):
    """a2 only on the CPU, resume cost 4: keeping a1 -> a2 contiguous on one CPU unit wins."""
    inst = tiny_for(solver)
    a1, a2, b1 = inst.kernels
    cpu_only = Kernel("a2", "A", (a2.modes[0],))
    inst = inst.replace(kernels=(a1, cpu_only, b1), edges=(Edge("a1", "a2", 3, 4),))
    res = solved(inst, solver, backend)
    # a1 on the CPU [0, 10), a2 right after on the same unit: 20. a1 on the NPU [0, 5) and a2 on
    # the CPU from 5 + 3 for 10 + 4 ends at 22; a2 on the other CPU unit also pays 4.
    assert res.status == "optimal" and res.objective == 20
    assert res.schedule.preemptions == ()
    first, second = res.schedule.assignments[:2]
    assert (first.device, first.unit, first.end) == (second.device, second.unit, second.start)


def test_disjunctive_refuses_cumulative_constraints():
    """The disjunctive model names the power cap, then the resource, that it cannot model."""
    inst = tiny_instance()
    with pytest.raises(Unsupported, match="power cap"):
        solve(inst, "milp")
    with pytest.raises(Unsupported, match="resource 'bw'"):
        solve(inst.replace(power_cap_w=None), "milp")
    assert refusal(uncapped(inst)) is None


def test_time_indexed_refuses_large_models():
    """Above max_variables the time-indexed model is refused with its size in the message."""
    with pytest.raises(Unsupported, match=r"needs \d+ start variables.*max_variables=10"):
        solve(tiny_instance(), "milp-ti", max_variables=10, warm_start=False)


def test_bad_backend_and_options():
    """An unknown backend or option is bad input naming the field."""
    with pytest.raises(InvalidInput, match="backend"):
        solve(tiny_instance(), "milp-ti", backend="glpk")
    with pytest.raises(InvalidInput, match="colour"):
        solve(tiny_instance(), "milp", colour="red")
    with pytest.raises(InvalidInput, match="horizon"):
        solve(tiny_instance(), "milp-ti", horizon=0)


@pytest.mark.parametrize("backend", ["gurobi", "cplex"])
def test_unlicensed_backend_is_refused(backend):
    """A commercial backend PuLP cannot find is refused with Unsupported, not a crash."""
    if make_solver(MilpSettings(backend), None).available():
        pytest.skip(f"{backend} is available here")
    with pytest.raises(Unsupported, match=backend):
        solve(tiny_instance(), "milp-ti", backend=backend)


def test_highs_thread_count_can_change_between_solves():
    """HiGHS keeps one thread pool per process; asking for another size must still solve."""
    inst = random_small_instance(6, max_kernels=5)
    runs = [solve(inst, "milp-ti", backend="highs", workers=w) for w in (2, 1, 2)]
    assert all(check_schedule(inst, res.schedule) == [] for res in runs)
    assert [(res.status, res.objective) for res in runs] == [("optimal", 80)] * 3


def test_backends_listed():
    """The documented backends are the ones accepted."""
    assert BACKENDS == ("cbc", "highs", "gurobi", "cplex")


@pytest.mark.parametrize("seed", [3, 7, 11, 21, 42])
def test_cbc_and_highs_agree(seed):
    """Both backends of each formulation reach the same optimum on random instances."""
    inst = random_small_instance(seed, max_kernels=5)
    names = ["milp-ti"] + (["milp"] if refusal(inst) is None else [])
    for name in names:
        cbc = solved(inst, name, "cbc")
        highs = solved(inst, name, "highs")
        assert cbc.status == highs.status
        assert values_close(cbc.objective, highs.objective)


@pytest.mark.parametrize("seed", [1, 4, 9, 16, 25])
def test_cold_start_agrees_with_brute_force(seed):
    """Without a start (serial horizon, no MIP start) both formulations still reach the optimum."""
    inst = random_small_instance(seed, max_kernels=5)
    ref = solve(inst, "brute-force")
    names = ["milp-ti"] + (["milp"] if refusal(inst) is None else [])
    for name in names:
        res = solved(inst, name, "highs", warm_start=False)
        assert res.status == ref.status
        assert values_close(res.objective, ref.objective)


def test_small_horizon_is_never_reported_proven():
    """A horizon below the safe one gives a schedule, but not a proven optimum or infeasibility."""
    cold = {"warm_start": False}  # safe horizon: serial_upper_bound, far above 13
    res = solved(tiny_instance(), "milp-ti", "highs", horizon=13, **cold)
    assert res.status == "feasible" and res.objective == 13
    assert value_leq(res.lower_bound, res.objective)
    short = solved(tiny_instance(), "milp-ti", "highs", horizon=12, **cold)
    assert short.status == "unknown"


def test_warm_start_tightens_the_safe_horizon():
    """A start of makespan 13 proves every optimal schedule ends by 13, so that horizon is safe."""
    res = solved(tiny_instance(), "milp-ti", "highs", horizon=13)
    assert res.status == "optimal" and res.objective == 13


@pytest.mark.parametrize(("solver", "backend"), RUNS)
def test_hint_is_checked_and_used(solver, backend):
    """A valid hint starts the search (same optimum); one the checker rejects is bad input."""
    inst = tiny_for(solver, objective=Objective("weighted_completion"))
    good = solve(inst, "brute-force").schedule
    res = solved(inst, solver, backend, hint=good)
    assert res.status == "optimal" and res.objective == 37
    shifted = tuple(replace(a, start=a.start + 1) for a in good.assignments)
    with pytest.raises(InvalidInput, match="hint"):
        solve(inst, solver, backend=backend, hint=good.replace(assignments=shifted))


@pytest.mark.parametrize("backend", ["cbc", "highs"])
def test_time_limit_gives_a_bound(backend):
    """On a 30-kernel DAG with a 1 s limit the answer is unproven, checked, and bounded below."""
    inst = layered_dag_instance(7, 30, num_devices=4)
    res = solved(inst, "milp", backend, time_limit=1)
    assert res.status in ("feasible", "unknown")
    assert res.lower_bound is not None
    assert value_leq(lower_bound(inst), res.lower_bound)
    if res.status == "feasible":
        assert value_leq(res.lower_bound, res.objective)
