"""The CP-SAT backend: hand-computed optima, every rule, hints, explanations and refusals."""

from __future__ import annotations

import pytest

import xpuplan.solvers.brute_force  # noqa: F401  (registers the referee)
from tests.conftest import tiny_instance
from xpuplan.models import (
    Assignment,
    Device,
    Edge,
    Instance,
    InvalidInput,
    Job,
    Kernel,
    Mode,
    Objective,
    Resource,
    Schedule,
    Unsupported,
    check_schedule,
    evaluate,
)
from xpuplan.models.generate import Features, layered_dag_instance, random_small_instance
from xpuplan.models.objectives import value_leq, values_close
from xpuplan.solvers import solve
from xpuplan.solvers.cpsat import CpsatModel, SolverSettings
from xpuplan.solvers.cpsat.cliques import disjunctive_cliques

TIME_LIMIT = 20.0


def solved(instance: Instance, **options: object):
    """Solve with CP-SAT and check the schedule, as every test here does."""
    res = solve(
        instance, "cpsat", time_limit=options.pop("time_limit", TIME_LIMIT), workers=2, **options
    )  # type: ignore[arg-type]
    assert check_schedule(instance, res.schedule) == []
    return res


def tight(**changes: object) -> Instance:
    """:func:`tiny_instance` with deadlines A by 11 and B by 12 (A can be on time, B cannot)."""
    inst = tiny_instance(jobs=(Job("A", 0, 11), Job("B", 5, 12, 2.0)))
    return inst.replace(**changes) if changes else inst


# ---------------------------------------------------------------------- objectives by hand
def test_makespan_of_tiny():
    """a1, a2 back to back on the NPU (0-11) and b1 on a CPU from its release: 5 + 8 = 13."""
    res = solved(tiny_instance())
    assert (res.status, res.objective, res.lower_bound) == ("optimal", 13, 13)


def test_weighted_completion_of_tiny():
    """C_A >= 5 + 6 = 11 on the NPU, C_B >= 5 + 8 = 13, both at once: 1 x 11 + 2 x 13 = 37."""
    res = solved(tiny_instance(objective=Objective("weighted_completion")))
    assert (res.status, res.objective) == ("optimal", 37)


def test_late_jobs_of_tiny():
    """B cannot finish by 12 (release 5 + 8), A can by 11: one late job of weight 2."""
    res = solved(tight(objective=Objective("late_jobs")))
    assert (res.status, res.objective) == ("optimal", 2)


def test_weighted_tardiness_of_tiny():
    """B ends at 13 at best, one unit late, weight 2; A is on time."""
    res = solved(tight(objective=Objective("weighted_tardiness")))
    assert (res.status, res.objective) == ("optimal", 2)


def test_energy_of_tiny():
    """a1, a2 at NPU/hi (10 + 12 J), b1 at NPU/lo after them (12 J), makespan 23 at 1.25 W idle.

    Any faster b1 costs more dynamic energy than the 1.25 W x 10 of idle time it saves.
    """
    inst = tiny_instance(objective=Objective("energy"))
    res = solved(inst)
    assert res.status == "optimal"
    assert values_close(res.objective, 10 + 12 + 12 + 1.25 * 23)
    referee = solve(inst, "brute-force", time_limit=60)
    assert values_close(res.objective, referee.objective)


def test_lexicographic_late_jobs_then_energy():
    """B is late anyway; with A on time the least energy is the energy optimum (A ends at 11)."""
    res = solved(tight(objective=Objective.parse("late_jobs,energy")))
    assert res.status == "optimal"
    assert values_close(res.objective, (2, 62.75))
    assert values_close(res.lower_bound, (2, 62.75))


# ---------------------------------------------------------------------- preemption
def preemption_instance(resume_cost: int) -> Instance:
    """A long job L (l1 -> l2, due at 9, weight 2) and an urgent one-unit job U (3 to 4)."""
    return Instance(
        "preempt",
        devices=(Device("npu"),),
        jobs=(Job("L", 0, 9, 2.0), Job("U", 3, 4, 1.0)),
        kernels=(
            Kernel("l1", "L", (Mode("npu", "-", 3),)),
            Kernel("l2", "L", (Mode("npu", "-", 3),)),
            Kernel("u", "U", (Mode("npu", "-", 1),)),
        ),
        edges=(Edge("l1", "l2", resume_cost=resume_cost),),
        objective=Objective("late_jobs"),
        time_unit="unit",
    )


def test_preemption_chosen_when_worth_it():
    """Breaking l1 -> l2 for u costs 1 and L still ends at 8 <= 9: nobody is late."""
    res = solved(preemption_instance(resume_cost=1))
    assert (res.status, res.objective) == ("optimal", 0)
    assert res.schedule.preemptions == (("l1", "l2"),)
    l2 = res.schedule.by_kernel()["l2"]
    assert l2.end - l2.start == 3 + 1


def test_preemption_refused_when_resume_costs_too_much():
    """With a resume cost of 5 L would end at 12: keep L whole and let U (weight 1) be late."""
    res = solved(preemption_instance(resume_cost=5))
    assert (res.status, res.objective) == ("optimal", 1)
    assert res.schedule.preemptions == ()


def test_chain_kept_whole_under_makespan():
    """Without deadlines nothing is urgent: l1, l2 back to back, then u (7); breaking the chain for
    u would end at 3 + 1 + (3 + 1) = 8."""
    inst = preemption_instance(resume_cost=1).replace(
        objective=Objective("makespan"), jobs=(Job("L"), Job("U", 3))
    )
    res = solved(inst)
    assert (res.status, res.objective) == ("optimal", 7)
    assert res.schedule.preemptions == ()


# ---------------------------------------------------------------------- DVFS, power, resources
def dvfs_instance(dvfs: str) -> Instance:
    """k1: hi 2 x 4 W or lo 4 x 1 W; k2: hi 2 x 1 W or lo 5 x 1 W; one NPU, energy."""
    return Instance(
        "dvfs",
        devices=(Device("npu"),),
        jobs=(Job("j"),),
        kernels=(
            Kernel("k1", "j", (Mode("npu", "hi", 2, 4.0), Mode("npu", "lo", 4, 1.0))),
            Kernel("k2", "j", (Mode("npu", "hi", 2, 1.0), Mode("npu", "lo", 5, 1.0))),
        ),
        objective=Objective("energy"),
        dvfs=dvfs,
        time_unit="unit",
    )


def test_per_kernel_dvfs_mixes_levels():
    """Per kernel: k1 at lo (4 J), k2 at hi (2 J)."""
    res = solved(dvfs_instance("per-kernel"))
    assert (res.status, res.objective) == ("optimal", 6)


def test_per_device_dvfs_uses_one_level():
    """Per device: both at lo (4 + 5 J) beats both at hi (8 + 2 J)."""
    res = solved(dvfs_instance("per-device"))
    assert (res.status, res.objective) == ("optimal", 9)
    assert {asg.level for asg in res.schedule.assignments} == {"lo"}


def two_parallel_kernels(**changes: object) -> Instance:
    """Two independent 4-long kernels of 5 W each, one per device (1 W idle each)."""
    inst = Instance(
        "parallel",
        devices=(Device("gpu", 1, 1.0), Device("npu", 1, 1.0)),
        jobs=(Job("j"),),
        kernels=(
            Kernel("g", "j", (Mode("gpu", "-", 4, 5.0, {"bw": 6.0}),)),
            Kernel("n", "j", (Mode("npu", "-", 4, 5.0, {"bw": 6.0}),)),
        ),
        resources=(Resource("bw", 12.0),),
        time_unit="unit",
    )
    return inst.replace(**changes) if changes else inst


def test_power_cap_binding():
    """12 W - 2 W idle fits both kernels at once (makespan 4); 11.5 W - 2 W does not (8)."""
    assert solved(two_parallel_kernels(power_cap_w=12.0)).objective == 4
    res = solved(two_parallel_kernels(power_cap_w=11.5))
    assert (res.status, res.objective) == ("optimal", 8)


def test_resource_binding():
    """Demands 6 + 6 fit a capacity of 12 (makespan 4) but not of 11 (8)."""
    assert solved(two_parallel_kernels()).objective == 4
    res = solved(two_parallel_kernels(resources=(Resource("bw", 11.0),)))
    assert (res.status, res.objective) == ("optimal", 8)


def test_fractional_watts_scale_exactly():
    """Powers in mW: 4.999 + 5.001 W fit a 12 W cap with 2 W idle exactly; 11.999 W do not."""
    kernels = (
        Kernel("g", "j", (Mode("gpu", "-", 4, 4.999),)),
        Kernel("n", "j", (Mode("npu", "-", 4, 5.001),)),
    )
    assert (
        solved(two_parallel_kernels(kernels=kernels, resources=(), power_cap_w=12.0)).objective == 4
    )
    assert (
        solved(two_parallel_kernels(kernels=kernels, resources=(), power_cap_w=11.999)).objective
        == 8
    )


def test_unsupported_powers_are_refused():
    """A power that is no multiple of 1 uW cannot be scaled exactly: refused, not rounded."""
    kernels = (
        Kernel("g", "j", (Mode("gpu", "-", 4, 5.0000001),)),
        Kernel("n", "j", (Mode("npu", "-", 4, 5.0),)),
    )
    inst = two_parallel_kernels(kernels=kernels, resources=(), power_cap_w=12.0)
    with pytest.raises(Unsupported, match="powers"):
        solve(inst, "cpsat", time_limit=5)
    # Without a cap and an energy objective the powers are never read.
    assert solved(inst.replace(power_cap_w=None)).objective == 4


def test_unsupported_demands_and_weights_are_refused():
    """Resource demands and job weights must scale to integers exactly too."""
    kernels = (Kernel("g", "j", (Mode("gpu", "-", 4, 5.0, {"bw": 1e-7}),)),)
    with pytest.raises(Unsupported, match="bw"):
        solve(two_parallel_kernels(kernels=kernels), "cpsat", time_limit=5)
    third = tiny_instance(
        jobs=(Job("A", 0, 100, 1 / 3), Job("B", 5, 50)), objective=Objective("weighted_completion")
    )
    with pytest.raises(Unsupported, match="weights"):
        solve(third, "cpsat", time_limit=5)


# ---------------------------------------------------------------------- infeasibility
def three_jobs(**changes: object) -> Instance:
    """Three 5-long jobs on one NPU: A due 5, B due 6, C due 100. A and B cannot both make it."""
    inst = Instance(
        "clash",
        devices=(Device("npu", 1, 0.5), Device("gpu", 1, 0.5)),
        jobs=(Job("A", 0, 5), Job("B", 0, 6), Job("C", 0, 100)),
        kernels=(
            Kernel("a", "A", (Mode("npu", "-", 5, 5.0),)),
            Kernel("b", "B", (Mode("npu", "-", 5, 5.0),)),
            Kernel("c", "C", (Mode("npu", "-", 5, 5.0),)),
        ),
        time_unit="unit",
    )
    return inst.replace(**changes) if changes else inst


def test_infeasible_deadlines_are_named():
    """The explanation names A and B, whose deadlines clash, and not C."""
    res = solved(three_jobs())
    assert res.status == "infeasible"
    message = res.schedule.message
    assert "'A'" in message and "'B'" in message and "'C'" not in message
    assert "power cap" not in message


def test_infeasible_power_cap_is_named():
    """With b on the GPU, A and B fit in parallel unless the 9 W cap (8 W dynamic) forbids it."""
    kernels = (
        Kernel("a", "A", (Mode("npu", "-", 5, 5.0),)),
        Kernel("b", "B", (Mode("gpu", "-", 5, 5.0),)),
        Kernel("c", "C", (Mode("npu", "-", 5, 5.0),)),
    )
    assert solved(three_jobs(kernels=kernels)).status == "optimal"
    res = solved(three_jobs(kernels=kernels, power_cap_w=9.0))
    assert res.status == "infeasible"
    message = res.schedule.message
    assert "power cap of 9 W" in message
    assert "'A'" in message and "'B'" in message and "'C'" not in message


# ---------------------------------------------------------------------- hints and limits
def test_time_limit_returns_best_schedule_found():
    """A 300-kernel DAG on 4 devices is not proven in 1 s: the warm start or better comes back."""
    inst = layered_dag_instance(7, 300)
    res = solved(inst, time_limit=1.0)
    assert res.status in ("feasible", "unknown")
    assert res.status == "feasible"  # the warm start is always there for a DAG without deadlines


def test_never_worse_than_the_hint():
    """Given a good hint and almost no time, the result is the hint or better."""
    inst = layered_dag_instance(3, 60)
    hint = solve(inst, "cpsat", time_limit=1, workers=2).schedule
    res = solved(inst, time_limit=0.01, hint=hint, warm_start=False)
    assert value_leq(res.objective, evaluate(inst, hint))


def test_invalid_hint_is_rejected():
    """A hint that breaks the instance's rules is bad input, named as such."""
    bad = Schedule("tiny", (Assignment("a1", "npu", 0, "hi", 0, 1),))
    with pytest.raises(InvalidInput, match="hint"):
        solve(tiny_instance(), "cpsat", time_limit=5, hint=bad)


def hint_values(cpm: CpsatModel) -> dict[int, int]:
    hint = cpm.model.proto.solution_hint
    return dict(zip(hint.vars, hint.values, strict=True))


def test_hints_are_replaced_between_solves():
    """A second solve on the same model carries exactly its own hint, none of the first one's."""
    inst = tiny_instance()
    first = Schedule(
        "tiny",
        (
            Assignment("a1", "npu", 0, "hi", 0, 5),
            Assignment("a2", "npu", 0, "hi", 5, 11),
            Assignment("b1", "cpu", 1, "hi", 5, 13),
        ),
    )
    second = Schedule(
        "tiny",
        (
            Assignment("a1", "cpu", 0, "hi", 0, 10),
            Assignment("a2", "cpu", 0, "hi", 10, 20),
            Assignment("b1", "npu", 0, "lo", 5, 17),
        ),
    )
    assert check_schedule(inst, first) == [] and check_schedule(inst, second) == []
    settings = SolverSettings(workers=1)
    cpm = CpsatModel(inst)
    start_a1 = cpm.variables.kernel_vars[0].start_var.index
    cpm.solve_stage(0, settings, time_limit=5, hint=first)
    after_first = hint_values(cpm)
    cpm.solve_stage(0, settings, time_limit=5, hint=second)
    after_second = hint_values(cpm)
    fresh = CpsatModel(inst)
    fresh.variables.warmstart(second)
    assert after_second == hint_values(fresh)
    assert after_first != after_second
    assert after_second[start_a1] == 0
    assert after_second[cpm.variables.kernel_vars[1].start_var.index] == 10
    cpm.solve_stage(0, settings, time_limit=5, hint=None)
    assert hint_values(cpm) == {}


def test_progress_callback_reports_improvements():
    """The callback sees incumbents no better than the final objective, and bounds below it."""
    seen: list[tuple[object, object, float]] = []
    inst = layered_dag_instance(5, 20)
    res = solved(
        inst, callback=lambda obj, bound, secs: seen.append((obj, bound, secs)), warm_start=False
    )
    assert res.status == "optimal"
    objectives = [obj for obj, _, _ in seen if obj is not None]
    assert objectives and objectives[-1] == res.objective
    assert all(value_leq(res.objective, obj) for obj in objectives)
    assert all(value_leq(bound, res.objective) for _, bound, _ in seen if bound is not None)


# ---------------------------------------------------------------------- formulations agree
@pytest.mark.parametrize("seed", range(12))
def test_pooled_and_per_unit_units_agree(seed):
    """Pooling identical units in a cumulative gives the same optimum as unit-by-unit intervals."""
    features = Features(multi_unit=1.0, resume_cost=0.6)
    inst = random_small_instance(1000 + seed, max_kernels=6, features=features)
    pooled = solved(inst)
    per_unit = solved(inst, unit_model="per-unit")
    assert pooled.status == per_unit.status
    if pooled.status == "optimal":
        assert values_close(pooled.objective, per_unit.objective)


@pytest.mark.parametrize("seed", range(20))
def test_agrees_with_brute_force(seed):
    """Optimum (or infeasibility) equals the brute-force referee's on random small instances."""
    inst = random_small_instance(2000 + seed, max_kernels=5)
    res = solved(inst)
    referee = solve(inst, "brute-force", time_limit=60)
    assert res.status == referee.status
    if referee.status == "optimal":
        assert values_close(res.objective, referee.objective)


def test_alternatives_do_not_share_interval_variables():
    """Regression: with one start/end variable shared by a kernel's alternative intervals, CP-SAT
    9.15 proved this feasible instance (brute force: makespan 15) infeasible at the horizon 15
    its warm start gives; each alternative now has its own start and end."""
    inst = random_small_instance(1178, max_kernels=6)
    res = solved(inst)
    assert (res.status, res.objective) == ("optimal", 15)
    assert solve(inst, "brute-force", time_limit=60).objective == 15


@pytest.mark.parametrize("seed", range(1170, 1190))
def test_agrees_with_brute_force_six_kernels(seed):
    """The same agreement on six-kernel instances around the one that exposed the bug above."""
    inst = random_small_instance(seed, max_kernels=6)
    res = solved(inst)
    referee = solve(inst, "brute-force", time_limit=60)
    assert res.status == referee.status
    if referee.status == "optimal":
        assert values_close(res.objective, referee.objective)


# ---------------------------------------------------------------------- redundant cliques
def test_conflicting_modes_form_a_clique():
    """Three kernels demanding 6 of 10 each (on three devices) pairwise exclude each other."""
    kernels = tuple(
        Kernel(f"k{i}", "j", (Mode(f"d{i}", "-", 2 + i, 0.0, {"bw": 6.0}),)) for i in range(3)
    )
    inst = Instance(
        "clique",
        devices=tuple(Device(f"d{i}") for i in range(3)),
        jobs=(Job("j"),),
        kernels=kernels,
        resources=(Resource("bw", 10.0),),
        time_unit="unit",
    )
    cliques = disjunctive_cliques(inst, None, None, [[[6], [6], [6]]], [10])
    assert cliques == [[(0, 0), (1, 0), (2, 0)]]
    assert disjunctive_cliques(inst, None, None, [[[6], [6], [6]]], [12]) == []
    res = solved(inst)
    assert (res.status, res.objective) == ("optimal", 2 + 3 + 4)


def test_precedence_joins_cliques():
    """A chain k0 -> k1 with k2 conflicting with both by power: one clique of three."""
    kernels = (
        Kernel("k0", "j", (Mode("d0", "-", 2, 3.0),)),
        Kernel("k1", "j", (Mode("d1", "-", 2, 3.0),)),
        Kernel("k2", "j", (Mode("d2", "-", 2, 3.0),)),
    )
    inst = Instance(
        "chain-clique",
        devices=tuple(Device(f"d{i}") for i in range(3)),
        jobs=(Job("j"),),
        kernels=kernels,
        edges=(Edge("k0", "k1"),),
        power_cap_w=5.0,
        time_unit="unit",
    )
    power = [[3000], [3000], [3000]]
    assert disjunctive_cliques(inst, power, 5000, [], []) == [[(0, 0), (1, 0), (2, 0)]]
    assert solved(inst).objective == 6
