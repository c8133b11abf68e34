"""Properties of every heuristic on random instances: valid, honest, and never below the optimum."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from xpuplan.models import Instance, Objective, Resource, Schedule, check_schedule, evaluate
from xpuplan.models.generate import Features, layered_dag_instance, random_small_instance
from xpuplan.models.objectives import evaluate_part, value_leq
from xpuplan.solvers import solve, solver_names
from xpuplan.solvers.bounds import lower_bound
from xpuplan.solvers.heuristics import (
    best_heuristic_schedule,
    heuristic_names,
    lower_levels,
    repair_power_cap,
    run_heuristic,
)

SEEDS = st.integers(min_value=0, max_value=2**31 - 1)
# Binding power caps and resources in every instance.
TIGHT = Features(power_cap=1.0, resources=1.0)


def reference(instance: Instance) -> Schedule | None:
    """The proven optimum (or proven infeasibility) from an exact solver, if one is registered."""
    names = solver_names()
    if "brute-force" in names:
        return solve(instance, "brute-force").schedule
    if "cpsat" in names:
        return solve(instance, "cpsat", time_limit=10, workers=1).schedule
    return None


def assert_honest(instance: Instance, schedule: Schedule) -> None:
    """A heuristic's answer is a checked schedule, or unknown with a reason and nothing placed."""
    if schedule.is_solution:
        assert check_schedule(instance, schedule) == []
    else:
        assert schedule.status == "unknown"
        assert schedule.message
        assert not schedule.assignments


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=SEEDS)
def test_heuristic_objective_at_least_optimum_at_least_bound(seed):
    """Every heuristic's objective >= the optimum >= the lower bound; none beats infeasibility."""
    inst = random_small_instance(seed, max_kernels=5)
    ref = reference(inst)
    bound = lower_bound(inst)
    for name in heuristic_names():
        sched = run_heuristic(inst, name)
        assert_honest(inst, sched)
        if not sched.is_solution:
            continue
        value = evaluate(inst, sched)
        assert value_leq(bound, value), (name, bound, value)
        if ref is not None:
            assert ref.status == "optimal", (name, ref.status)
            assert value_leq(ref.objective, value), (name, ref.objective, value)
    if ref is not None and ref.status == "optimal":
        assert value_leq(bound, ref.objective)
    if ref is not None and ref.status == "infeasible":
        assert best_heuristic_schedule(inst) is None


@settings(max_examples=25, deadline=None, derandomize=True)
@given(seed=SEEDS)
def test_every_heuristic_is_valid_on_larger_random_instances(seed):
    """Up to 14 kernels on 4 devices, any rule of the format: every answer is honest."""
    inst = random_small_instance(seed, max_kernels=14, max_devices=4)
    for name in heuristic_names():
        assert_honest(inst, run_heuristic(inst, name))


@settings(max_examples=25, deadline=None, derandomize=True)
@given(seed=SEEDS)
def test_power_cap_and_resources_are_respected(seed):
    """With a binding power cap and resource in every instance, every schedule is checked."""
    inst = random_small_instance(seed, max_kernels=10, features=TIGHT)
    for name in heuristic_names():
        assert_honest(inst, run_heuristic(inst, name))


def test_caps_bind_on_the_tight_instances():
    """The tight instances do bind: HEFT without the cap overdraws it on some of them."""
    overdrawn = 0
    for seed in range(40):
        inst = random_small_instance(seed, max_kernels=10, features=TIGHT)
        free = inst.replace(
            power_cap_w=None, resources=tuple(Resource(r.name, 1e9) for r in inst.resources)
        )
        uncapped = run_heuristic(free, "heft")
        if uncapped.is_solution:
            as_capped = uncapped.replace(preemptions=None)
            overdrawn += any(
                v.rule in ("power", "resource") for v in check_schedule(inst, as_capped)
            )
    assert overdrawn >= 5


@settings(max_examples=25, deadline=None, derandomize=True)
@given(seed=SEEDS)
def test_power_cap_repair_gives_valid_schedules(seed):
    """A schedule made without the cap is repaired into a checked one (or honestly refused)."""
    inst = random_small_instance(seed, max_kernels=10, features=replace(TIGHT, resources=0.3))
    free = inst.replace(power_cap_w=None)
    uncapped = run_heuristic(free, "heft")
    if uncapped.is_solution:
        assert_honest(inst, repair_power_cap(inst, uncapped.replace(preemptions=None)))


ENERGY = Features(objectives=("energy",), deadlines=0.6)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=SEEDS)
def test_dvfs_post_pass_never_increases_energy(seed):
    """Lowering levels keeps validity and every time-based part, and never adds energy."""
    inst = random_small_instance(seed, max_kernels=8, features=ENERGY)
    for objective in (inst.objective, Objective.parse("late_jobs,energy")):
        inst = inst.with_objective(objective)
        for name in ("heft", "edf", "min-min", "olb"):
            sched = run_heuristic(inst, name)
            if not sched.is_solution:
                continue
            lowered = lower_levels(inst, sched)
            assert check_schedule(inst, lowered) == []
            energy = Objective("energy")
            before = evaluate_part(inst, energy, sched.assignments)
            after = evaluate_part(inst, energy, lowered.assignments)
            assert after <= before + 1e-9
            for part in objective.parts:
                if part.type != "energy":
                    assert evaluate_part(inst, part, lowered.assignments) <= evaluate_part(
                        inst, part, sched.assignments
                    )


def test_dvfs_post_pass_saves_energy_somewhere():
    """On random energy instances the post-pass strictly lowers the energy of some schedules.

    (Only some: a random kernel's lower level may be on another device or draw more energy.)
    """
    saved = 0
    for seed in range(40):
        inst = random_small_instance(seed, max_kernels=8, features=replace(ENERGY, deadlines=0.0))
        sched = run_heuristic(inst, "heft")
        if sched.is_solution:
            saved += evaluate(inst, lower_levels(inst, sched)) < evaluate(inst, sched) - 1e-9
    assert saved >= 5


@settings(max_examples=15, deadline=None, derandomize=True)
@given(seed=SEEDS, size=st.sampled_from([30, 60, 120]))
def test_heuristics_on_layered_dags(seed, size):
    """Random layered DAGs on 4 heterogeneous devices: every schedule checked, all >= the bound."""
    inst = layered_dag_instance(seed, size)
    bound = lower_bound(inst)
    best = best_heuristic_schedule(inst)
    assert best is not None
    assert check_schedule(inst, best) == []
    for name in heuristic_names():
        sched = run_heuristic(inst, name)
        assert check_schedule(inst, sched) == []
        assert bound <= best.objective <= evaluate(inst, sched)
