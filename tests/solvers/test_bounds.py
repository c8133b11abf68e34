"""Fast lower bounds and the horizon: hand-computed values, and never above an optimum."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xpuplan.solvers.brute_force  # noqa: F401  (registers the referee)
from tests.conftest import tiny_instance
from xpuplan.models import (
    Device,
    Edge,
    Instance,
    Job,
    Kernel,
    Mode,
    Objective,
    Resource,
    check_schedule,
)
from xpuplan.models.generate import random_small_instance
from xpuplan.models.objectives import evaluate_part, value_leq
from xpuplan.solvers import solve
from xpuplan.solvers.bounds import (
    assignment_lp_bound,
    dynamic_energy_lower_bound,
    heads,
    job_completion_bounds,
    lower_bound,
    makespan_lower_bound,
    part_lower_bound,
    serial_upper_bound,
    tails,
)


def chain(**changes: object) -> Instance:
    """k0 (cpu 4 or npu 2) -> k1 (npu only, 3), delay 5 across devices; k2 (cpu 6) alone."""
    inst = Instance(
        "chain",
        devices=(Device("cpu"), Device("npu")),
        jobs=(Job("j", 1), Job("i")),
        kernels=(
            Kernel("k0", "j", (Mode("cpu", "-", 4, 1.0), Mode("npu", "-", 2, 3.0))),
            Kernel("k1", "j", (Mode("npu", "-", 3, 2.0),)),
            Kernel("k2", "i", (Mode("cpu", "-", 6, 0.5),)),
        ),
        edges=(Edge("k0", "k1", cross_device_delay=5),),
        time_unit="unit",
    )
    return inst.replace(**changes) if changes else inst


def test_heads_count_delays_only_where_devices_must_differ():
    """k1 starts at >= 1 + min(cpu 4 + delay 5, npu 2) = 3: the delay counts on the CPU only."""
    assert heads(chain()) == [1, 3, 0]
    assert tails(chain()) == [3, 0, 0]


def test_makespan_bound_takes_the_strongest_argument():
    """Critical path 1 + 2 + 3 = 6, the CPU alone holds k2 (6); a second 6 on the CPU makes 12."""
    assert makespan_lower_bound(chain()) == 6
    two_k2 = chain(kernels=(*chain().kernels, Kernel("k3", "i", (Mode("cpu", "-", 6, 0.5),))))
    assert makespan_lower_bound(two_k2) == 12


def test_power_area_bound():
    """The least energies are 4 + 6 + 3 = 13 J: under a 3 W cap >= 5 units, under 2 W >= 7."""
    inst = chain(power_cap_w=3.0)
    assert dynamic_energy_lower_bound(inst) == 4 + 6 + 3
    assert makespan_lower_bound(inst) == 6  # 13 / 3 -> 5, below the critical path
    tight = chain(power_cap_w=2.0)
    assert makespan_lower_bound(tight) == 7  # 13 / 2 = 6.5 -> 7


def test_resource_area_bound():
    """Demands x durations 4 x 6 + ... over a capacity of 2 bound the makespan."""
    kernels = tuple(
        Kernel(f"k{i}", "i", (Mode("cpu", "-", 3, 0.0, {"bw": 2.0}),)) for i in range(4)
    )
    inst = Instance(
        "res",
        devices=(Device("cpu", 4),),
        jobs=(Job("i"),),
        kernels=kernels,
        resources=(Resource("bw", 3.0),),
        time_unit="unit",
    )
    assert makespan_lower_bound(inst) == 8  # 4 x 3 x 2 = 24 over 3 -> 8


def test_assignment_lp_sees_that_not_every_kernel_gets_its_fastest_device():
    """Three kernels of 2 on ``a`` or 10 on ``b``: the work bound says 6 / 2 = 3; the LP puts a
    share y on ``a`` with 2y = 10 (3 - y), so y = 2.5 and the load is 5 (the optimum is 6)."""
    inst = Instance(
        "skewed",
        devices=(Device("a"), Device("b")),
        jobs=(Job("j"),),
        kernels=tuple(
            Kernel(f"k{i}", "j", (Mode("a", "-", 2), Mode("b", "-", 10))) for i in range(3)
        ),
        time_unit="unit",
    )
    assert makespan_lower_bound(inst) == 3
    assert assignment_lp_bound(inst) == 5
    res = solve(inst, "brute-force")
    assert check_schedule(inst, res.schedule) == []
    assert res.objective == 6


def test_objective_bounds_of_tiny():
    """Tiny: C_A >= 11 and C_B >= 13; the energy bound is the cheapest modes plus idle x 13."""
    inst = tiny_instance()
    assert job_completion_bounds(inst) == [11, 13]
    assert part_lower_bound(inst, Objective("weighted_completion")) == 11 + 2 * 13
    assert part_lower_bound(inst, Objective("energy")) == 10 + 9 + 12 + 1.25 * 13
    lex = inst.with_objective(Objective.parse("makespan,weighted_completion"))
    assert lower_bound(lex) == (13, 37)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6))
def test_bounds_never_exceed_the_optimum(seed):
    """lower_bound <= the brute-force optimum, and the optimum's makespan <= the horizon."""
    inst = random_small_instance(seed, max_kernels=5)
    res = solve(inst, "brute-force", time_limit=60)
    assert check_schedule(inst, res.schedule) == []
    if res.status != "optimal":
        return
    assert value_leq(lower_bound(inst), res.objective)
    for part in (Objective(t) for t in ("makespan", "energy", "weighted_completion")):
        assert value_leq(
            part_lower_bound(inst, part), evaluate_part(inst, part, res.schedule.assignments)
        )
    assert res.schedule.makespan <= serial_upper_bound(inst)
    assert assignment_lp_bound(inst) <= res.schedule.makespan


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6))
def test_bounds_never_exceed_cpsat_optima_of_larger_instances(seed):
    """On instances too large for brute force, the bounds stay below CP-SAT's proven optimum."""
    inst = random_small_instance(seed, max_kernels=10, max_devices=4)
    res = solve(inst, "cpsat", time_limit=10, workers=2)
    assert check_schedule(inst, res.schedule) == []
    if res.status == "optimal":
        assert value_leq(lower_bound(inst), res.objective)
