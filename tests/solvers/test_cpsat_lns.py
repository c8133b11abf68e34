"""``cpsat-lns``: CP-SAT window by window; every schedule checked, bounds under the optimum."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xpuplan.solvers.cpsat.lns as lns_module
from xpuplan.models import (
    Device,
    Instance,
    InvalidInput,
    Job,
    Kernel,
    Mode,
    Objective,
    Schedule,
    check_schedule,
)
from xpuplan.models.generate import random_small_instance
from xpuplan.models.instance import Edge
from xpuplan.models.objectives import evaluate_part, value_leq, values_close
from xpuplan.solvers import solve
from xpuplan.solvers.cpsat.lns import job_windows, window_instance
from xpuplan.solvers.heuristics import best_heuristic_schedule


def periodic(frames: int, objective: str = "energy") -> Instance:
    """``frames`` jobs of a 3-kernel chain every 10 time units, due 10 later, on two devices
    with a fast hungry mode and a slow frugal one each (plus a long job spanning them all)."""
    devices = (Device("a", idle_power_w=0.5), Device("b"))
    jobs = [Job(f"f{i}", release=10 * i, deadline=10 * i + 10, weight=1.0) for i in range(frames)]
    kernels = []
    edges = []
    for i in range(frames):
        for s in range(3):
            modes = (
                Mode("a", "hi", 2, 6.0),
                Mode("a", "lo", 3, 2.0),
                Mode("b", "hi", 2, 5.0),
                Mode("b", "lo", 4, 1.0),
            )
            kernels.append(Kernel(f"f{i}k{s}", f"f{i}", modes))
            if s:
                edges.append((f"f{i}k{s - 1}", f"f{i}k{s}"))
    jobs.append(Job("long", release=0, deadline=10 * frames + 10, weight=1.0))
    kernels.append(Kernel("long0", "long", (Mode("b", "lo", 3, 1.0), Mode("a", "hi", 1, 9.0))))
    return Instance(
        "periodic",
        devices=devices,
        jobs=tuple(jobs),
        kernels=tuple(kernels),
        edges=tuple(Edge(a, b, cross_device_delay=1) for a, b in edges),
        objective=Objective.parse(objective),
    )


def test_windows_cover_every_short_job_and_overlap():
    inst = periodic(8)
    windows = job_windows(inst, 6)
    short = {k for k in range(inst.num_kernels) if inst.kernels[k].job != "long"}
    assert set().union(*map(set, windows)) == short
    assert len(windows) >= 3
    assert all(inst.kernel_idx["long0"] not in w for w in windows)
    # The straddling windows share kernels with the disjoint ones.
    assert any(set(a) & set(b) for a in windows for b in windows if a is not b)


def test_a_window_instance_accepts_the_schedule_it_comes_from():
    inst = periodic(6)
    start = best_heuristic_schedule(inst, seed=0, names=["heft"])
    assert start is not None and check_schedule(inst, start) == []
    for window in job_windows(inst, 6):
        sub = window_instance(inst, inst.objective, set(window), list(start.assignments))
        hint = Schedule(sub.name, tuple(a for a in start.assignments if a.kernel in sub.kernel_idx))
        assert check_schedule(sub, hint) == []


@pytest.mark.parametrize("objective", ["energy", "late_jobs,energy"])
def test_lns_improves_the_heuristic_and_stays_above_the_optimum(objective, monkeypatch):
    inst = periodic(6, objective)
    heft = solve(inst, "heft")
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return window_instance(*args, **kwargs)

    monkeypatch.setattr(lns_module, "window_instance", counted)
    lns = solve(inst, "cpsat-lns", time_limit=20, workers=1, window_kernels=6)
    assert calls, "the windows were not used"
    exact = solve(inst, "cpsat", time_limit=20, workers=1)
    assert check_schedule(inst, lns.schedule) == []
    assert check_schedule(inst, exact.schedule) == []
    assert exact.status == "optimal"
    assert value_leq(lns.objective, heft.objective)
    assert value_leq(exact.objective, lns.objective)
    assert value_leq(lns.lower_bound, exact.objective)
    # Windows of two frames on this instance reach the optimum of the energy part.
    last = inst.objective.parts[-1]
    assert values_close(
        evaluate_part(inst, last, lns.schedule.assignments),
        evaluate_part(inst, last, exact.schedule.assignments),
    )


def test_soft_deadlines_alone_use_the_whole_model():
    # late_jobs as the only part: windows with hard deadlines would not be exact.
    inst = periodic(4, "late_jobs")
    res = solve(inst, "cpsat-lns", time_limit=10, workers=1, window_kernels=3)
    ref = solve(inst, "cpsat", time_limit=10, workers=1)
    assert res.status == ref.status == "optimal"
    assert res.objective == ref.objective
    assert check_schedule(inst, res.schedule) == []


def test_bad_options_are_refused():
    inst = periodic(2)
    with pytest.raises(InvalidInput, match="window_kernels"):
        solve(inst, "cpsat-lns", time_limit=5, window_kernels=0)
    with pytest.raises(InvalidInput, match="window_seconds"):
        solve(inst, "cpsat-lns", time_limit=5, window_seconds=-1)
    with pytest.raises(InvalidInput, match="not an option"):
        solve(inst, "cpsat-lns", time_limit=5, windows=3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), window=st.integers(1, 4))
def test_never_below_brute_force(seed, window):
    """On random small instances (every rule of the format), cpsat-lns with tiny windows is
    valid, never better than brute force's optimum, and its bound never exceeds that optimum."""
    inst = random_small_instance(seed, max_kernels=5)
    ref = solve(inst, "brute-force", time_limit=10)
    res = solve(inst, "cpsat-lns", time_limit=10, workers=1, window_kernels=window)
    if ref.status == "infeasible":
        assert res.status in ("infeasible", "unknown")
        return
    assert ref.status == "optimal"
    assert res.schedule.is_solution, res.status
    assert check_schedule(inst, res.schedule) == []
    assert value_leq(ref.objective, res.objective)
    assert res.lower_bound is not None and value_leq(res.lower_bound, ref.objective)
    if res.status == "optimal":
        assert values_close(res.objective, ref.objective)
