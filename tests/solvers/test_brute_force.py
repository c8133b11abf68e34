"""The brute-force referee: hand-computed optima, its two methods against each other, refusals."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import TINY_OPTIMA, tiny_instance
from xpuplan.models import (
    Device,
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
from xpuplan.models.generate import Features, random_small_instance
from xpuplan.models.objectives import value_leq, values_close
from xpuplan.solvers import solve

# Every rule drawn often, on one or two devices, so the grid method stays quick.
DENSE = Features(
    cross_delay=0.7,
    resume_cost=0.9,
    power_cap=0.7,
    resources=0.5,
    multi_unit=0.6,
    per_device_dvfs=0.4,
    deadlines=0.4,
    releases=0.6,
)


def solved(instance: Instance, **options: object):
    """Brute force on ``instance``; its schedule must pass the checker."""
    res = solve(instance, "brute-force", **options)
    assert check_schedule(instance, res.schedule) == []
    return res


@pytest.mark.parametrize("objective", sorted(TINY_OPTIMA))
def test_tiny_optima(objective):
    """Brute force finds the hand-computed optimum of the tiny instance for every objective."""
    res = solved(tiny_instance(objective=Objective.parse(objective)))
    assert res.status == "optimal"
    assert values_close(res.objective, TINY_OPTIMA[objective])
    assert res.lower_bound == res.objective


def test_tiny_per_device_dvfs_energy():
    """One NPU level for all kernels: hi keeps a1 on the NPU, b1 moves to the CPU (70.25)."""
    res = solved(tiny_instance(objective=Objective("energy"), dvfs="per-device"))
    assert res.status == "optimal" and values_close(res.objective, 70.25)


def test_tiny_infeasible_deadline():
    """Job B is released at 5 and needs at least 8, so a hard deadline of 10 is infeasible."""
    inst = tiny_instance(jobs=(Job("A", 0, 100), Job("B", 5, 10, 2.0)))
    res = solved(inst)
    assert res.status == "infeasible" and res.schedule.assignments == ()


def right_justified_instance() -> Instance:
    """A chain k -> b (resume cost 5) that must start so that b begins exactly when x ends.

    x (power 5) runs on device B over [0, 4); b (power 5) cannot overlap it under the 6 W cap, and
    b runs back to back after k (power 1) only if k starts at 2 = end of x - duration of k: a start
    that is neither a release nor an end of another kernel.
    """
    return Instance(
        name="right-justified",
        devices=(Device("A"), Device("B")),
        jobs=(Job("J"), Job("X")),
        kernels=(
            Kernel("k", "J", (Mode("A", "-", 2, 1.0),)),
            Kernel("b", "J", (Mode("A", "-", 2, 5.0),)),
            Kernel("x", "X", (Mode("B", "-", 4, 5.0),)),
        ),
        edges=(Edge("k", "b", resume_cost=5),),
        power_cap_w=6.0,
        objective=Objective("makespan"),
        time_unit="unit",
    )


@pytest.mark.parametrize("method", ["anchored", "grid"])
def test_block_anchored_by_its_second_member(method):
    """Both methods find makespan 6, which needs k to start at 2 (left-justified starts give 8)."""
    inst = right_justified_instance()
    res = solved(inst, method=method)
    assert res.status == "optimal" and res.objective == 6
    starts = {asg.kernel: asg.start for asg in res.schedule.assignments}
    assert starts == {"k": 2, "b": 4, "x": 0}


@pytest.mark.parametrize("seed", range(40))
def test_anchored_matches_grid(seed):
    """The anchored enumeration agrees with trying every integer start time (dense features)."""
    inst = random_small_instance(seed, max_kernels=3, max_devices=2, features=DENSE)
    anchored = solved(inst)
    grid = solved(inst, method="grid")
    assert anchored.status == grid.status
    assert values_close(anchored.objective, grid.objective)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10**9))
def test_anchored_matches_grid_drawn(seed):
    """Same agreement on instances drawn by hypothesis, with the default features."""
    inst = random_small_instance(seed, max_kernels=3, max_devices=2)
    assert values_close(solved(inst).objective, solved(inst, method="grid").objective)


def test_refuses_large_instances():
    """More kernels than the method allows are refused with Unsupported naming the count."""
    inst = random_small_instance(1, max_kernels=6)
    assert inst.num_kernels == 5
    with pytest.raises(Unsupported, match=r"at most 4 kernels.*has 5"):
        solve(inst, "brute-force", max_kernels=4)
    with pytest.raises(Unsupported, match="grid"):
        solve(inst, "brute-force", method="grid")


def test_bad_options():
    """An unknown method or option is bad input naming the field."""
    inst = tiny_instance()
    with pytest.raises(InvalidInput, match="method"):
        solve(inst, "brute-force", method="random")
    with pytest.raises(InvalidInput, match="colour"):
        solve(inst, "brute-force", colour="red")


def test_time_limit_returns_best_so_far():
    """A search cut short reports feasible (or unknown) with a bound below its objective."""
    inst = random_small_instance(4, max_kernels=6)
    assert inst.num_kernels == 6
    res = solve(inst, "brute-force", time_limit=0.001)
    assert res.status in ("feasible", "unknown")
    assert check_schedule(inst, res.schedule) == []
    if res.status == "feasible":
        assert value_leq(res.lower_bound, res.objective)
