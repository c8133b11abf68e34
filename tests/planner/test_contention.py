"""Contention-aware plans (``--contention``): the model is exactly the runtime's no-slowdown
rule, and plans made with it run in the simulator, contention on, exactly as planned."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from xpuplan.models import (
    MEM_BW,
    Assignment,
    Device,
    Instance,
    InvalidInput,
    Job,
    Kernel,
    Mode,
    Objective,
    Resource,
    Schedule,
    check_schedule,
)
from xpuplan.models.plan import Plan, load_plan, plan_settings, plan_to_json, save_plan
from xpuplan.models.presets import get_platform, platform_names
from xpuplan.models.presets.scenarios import get_scenario
from xpuplan.planner.cli import main
from xpuplan.planner.contention import (
    EndShift,
    check_plan_contention,
    contention_kernel,
    end_shift,
    planned_capacity_gbps,
    with_traffic,
)
from xpuplan.planner.planning import make_plan
from xpuplan.planner.unroll import PlanningOptions, build_instance
from xpuplan.runtime.api import simulate, simulate_plan
from xpuplan.runtime.platform_sim import contention_capacity_gbps
from xpuplan.runtime.simulator import SimConfig
from xpuplan.solvers import solve

CAPACITY = 50.0
# Times on a 0.1 s grid: the slightest slowdown (0.001 GB/s over the capacity) then moves an end
# by more than the 1 us to which executed schedules are rounded.
GRID_US = 100_000


@pytest.mark.parametrize("name", platform_names())
def test_instance_caps_the_clipped_demands_at_the_runtime_capacity(name: str) -> None:
    """The resource is the runtime's capacity rounded down to 1e-3 GB/s; each mode's demand is
    its own rounded up to 1e-3 and clipped there, so the plan is never less careful."""
    platform = get_platform(name)
    scenario = get_scenario("gaming")
    aware = build_instance(platform, scenario, PlanningOptions(contention=True))
    raw = build_instance(platform, scenario, PlanningOptions(memory_bandwidth=True))
    exact = contention_capacity_gbps(platform)
    (resource,) = aware.resources
    assert resource.name == MEM_BW
    assert exact - 1e-3 < resource.capacity <= exact
    assert round(resource.capacity * 1000) == pytest.approx(resource.capacity * 1000, abs=1e-9)
    for ker, raw_ker in zip(aware.kernels, raw.kernels, strict=True):
        for mode, raw_mode in zip(ker.modes, raw_ker.modes, strict=True):
            demand, wanted = mode.demands[MEM_BW], raw_mode.demands[MEM_BW]
            assert demand == pytest.approx(min(wanted, resource.capacity), abs=1e-3)
            assert demand >= min(wanted, resource.capacity) - 1e-12
    both = build_instance(
        platform, scenario, PlanningOptions(contention=True, memory_bandwidth=True)
    )
    assert both.resources[0].capacity == min(platform.mem_bw_gbps, resource.capacity)
    assert not build_instance(platform, scenario).resources


def test_demands_round_up_and_clip() -> None:
    """A demand above the capacity is clipped (a lone kernel stays feasible), a fractional one
    rounds up, a missing one becomes 0 (it streams nothing)."""
    ker = Kernel(
        "k",
        "j",
        (
            Mode("a", "x", 5, 1.0, {MEM_BW: 80.0}),
            Mode("b", "x", 5, 1.0, {MEM_BW: 1.0001}),
            Mode("c", "x", 5, 1.0),
        ),
    )
    assert [m.demands[MEM_BW] for m in contention_kernel(ker, 50.576).modes] == [
        50.576,
        1.001,
        0.0,
    ]


def _run(instance: Instance, starts: list[tuple[str, str, int]]) -> tuple[Schedule, Schedule]:
    """A schedule of ``instance`` (kernel, device, start; each kernel's only mode) and its run by
    the time-triggered executor on the machine the instance describes (contention capacity: its
    bandwidth resource)."""
    by_name = {k.name: k for k in instance.kernels}
    schedule = Schedule(
        instance.name,
        tuple(
            Assignment(name, dev, 0, "x", start, start + by_name[name].modes[0].duration)
            for name, dev, start in starts
        ),
        status="feasible",
    )
    plan = Plan(instance, schedule, plan_settings(instance, schedule))
    # Time for the slowest kernel (2 s at a quarter of its rate, from 2 s on) to end.
    result = simulate_plan(plan, "time-triggered", duration_s=30.0)
    assert result.executed is not None
    return schedule, result.executed


def _streams_instance(demands: list[float], durations: list[int]) -> Instance:
    """One single-mode kernel per device, each its own job; bandwidth capacity CAPACITY."""
    kernels = tuple(
        contention_kernel(
            Kernel(f"k{i}", f"j{i}", (Mode(f"d{i}", "x", dur, 1.0, {MEM_BW: demand}),)),
            CAPACITY,
        )
        for i, (demand, dur) in enumerate(zip(demands, durations, strict=True))
    )
    return Instance(
        "streams",
        devices=tuple(Device(f"d{i}", 1, 0.1) for i in range(len(demands))),
        jobs=tuple(Job(f"j{i}") for i in range(len(demands))),
        kernels=kernels,
        resources=(Resource(MEM_BW, CAPACITY),),
        objective=Objective("makespan"),
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            # About one demand in ten is zero (streams nothing); some exceed the capacity.
            st.integers(-10_000, 90_000).map(lambda m: max(m, 0) / 1000),
            st.integers(1, 20).map(lambda n: n * GRID_US),
            st.integers(0, 20).map(lambda n: n * GRID_US),
        ),
        min_size=2,
        max_size=4,
    )
)
def test_checker_and_runtime_agree_on_every_slowdown(
    kernels: list[tuple[float, int, int]],
) -> None:
    """For any schedule, the runtime slows a kernel exactly when two streams overlap with raw
    demands summing above the capacity, and exactly then the checker rejects the schedule on the
    clipped demands: the cumulative is the runtime's rule (zero demands, lone streams above the
    capacity, touching intervals and the float tolerance included)."""
    demands = [d for d, _, _ in kernels]
    durations = [dur for _, dur, _ in kernels]
    inst = _streams_instance(demands, durations)
    starts = [(f"k{i}", f"d{i}", start) for i, (_, _, start) in enumerate(kernels)]
    schedule, executed = _run(inst, starts)
    slowed = False
    for t in {start for _, _, start in starts}:
        running = [
            demands[i]
            for i, (_, dur, start) in enumerate(kernels)
            if start <= t < start + dur and demands[i] > 0
        ]
        slowed |= len(running) >= 2 and sum(running) > CAPACITY * (1 + 1e-9)
    event("slowed" if slowed else "not slowed")
    rejected = any(v.rule == "resource" for v in check_schedule(inst, schedule))
    assert rejected == slowed
    moved = end_shift(inst, schedule, executed)
    assert (moved.max_us > 0) == slowed
    assert moved.missing == 0
    # The run as executed (durations as measured): it keeps the overlap, and only that.
    executed_rules = {v.rule for v in check_schedule(inst, executed, measured=True)}
    assert executed_rules == ({"resource"} if slowed else set())
    assert check_schedule(inst, executed) == [] or slowed


def test_small_case_blind_plan_is_late_aware_plan_is_not() -> None:
    """Two memory-bound kernels, each with a slow low-bandwidth alternative and a 150 us
    deadline: the blind optimum runs both fast side by side (planned 100 us), contention
    stretches both to 160 us and both jobs are late; the aware plan moves one to its slow mode
    and both end exactly as planned, on time."""
    kernels = tuple(
        Kernel(
            f"k{i}",
            f"j{i}",
            (
                Mode(f"acc{i}", "x", 100, 5.0, {MEM_BW: 40.0}),
                Mode("cpu", "x", 140, 5.0, {MEM_BW: 5.0}),
            ),
        )
        for i in range(2)
    )
    aware = Instance(
        "pair",
        devices=(Device("acc0", 1, 0.1), Device("acc1", 1, 0.1), Device("cpu", 1, 0.1)),
        jobs=(Job("j0", 0, 150), Job("j1", 0, 150)),
        kernels=kernels,
        resources=(Resource(MEM_BW, CAPACITY),),
        objective=Objective("makespan"),
    )
    blind = replace(
        aware,
        resources=(),
        kernels=tuple(
            Kernel(
                k.name,
                k.job,
                tuple(Mode(m.device, m.level, m.duration, m.power_w) for m in k.modes),
            )
            for k in kernels
        ),
    )
    plans = {}
    for name, inst in (("aware", aware), ("blind", blind)):
        res = solve(inst, "cpsat", time_limit=5, workers=1)
        assert res.status == "optimal" and check_schedule(inst, res.schedule) == []
        # Executed on the kernels with their demands, the runtime's capacity CAPACITY.
        plans[name] = Plan(aware, res.schedule, plan_settings(aware, res.schedule))
    assert plans["blind"].schedule.objective == 100
    assert plans["aware"].schedule.objective == 140
    shifts = {}
    for name, plan in plans.items():
        result = simulate_plan(plan, "time-triggered")
        assert result.executed is not None
        shifts[name] = end_shift(aware, plan.schedule, result.executed)
        rules = {v.rule for v in check_schedule(aware, result.executed, measured=True)}
        assert rules == ({"deadline", "resource"} if name == "blind" else set())
        assert name == "blind" or check_schedule(aware, result.executed) == []
    assert shifts["aware"] == EndShift(0, 0.0, None, 0, 0)
    # Each kernel gets half of the 50 GB/s it shares: rate 25/40, 100 us of work take 160 us.
    assert (shifts["blind"].max_us, shifts["blind"].late_jobs) == (60, 2)


@pytest.fixture(scope="module")
def gaming_plans() -> dict[str, Plan]:
    """core-ultra-125h gaming (18 kernels; contention capacity 50.6 GB/s, peak 89.6) planned by
    HEFT with and without --contention; the blind plan carries its kernels' real traffic."""
    platform, scenario = get_platform("core-ultra-125h"), get_scenario("gaming")
    aware = make_plan(platform, scenario, solver="heft", contention=True).plan
    blind = make_plan(platform, scenario, solver="heft").plan
    traffic = build_instance(platform, scenario, PlanningOptions(memory_bandwidth=True))
    with_demands = with_traffic(blind, traffic)
    for plan in (aware, blind, with_demands):
        assert check_schedule(plan.instance, plan.schedule) == []
    return {"aware": aware, "blind": with_demands}


@pytest.mark.parametrize("policy", ["time-triggered", "self-timed"])
def test_aware_plan_runs_exactly_as_planned_blind_plan_does_not(
    gaming_plans: dict[str, Plan], policy: str
) -> None:
    """On the platform with contention and the governor on (DVFS switches instant, as the
    Instance assumes), the aware plan's kernels end exactly at their planned times over two
    periods; the blind plan's kernels are slowed far beyond 2 % of their durations."""
    platform, scenario = get_platform("core-ultra-125h"), get_scenario("gaming")
    shifts = {}
    for name, plan in gaming_plans.items():
        assert plan.period_us is not None
        result = simulate(
            platform,
            scenario,
            policy,
            plan=plan,
            duration_s=2 * plan.period_us / 1e6,
            config=SimConfig(record=True, dvfs_transition_us=0.0),
        )
        assert result.executed is not None
        shifts[name] = end_shift(plan.instance, plan.schedule, result.executed)
        violations = check_schedule(plan.instance, result.executed)
        if name == "aware":
            assert violations == []
            assert sum(tm.late for tm in result.tasks.values()) == 0
            assert result.time_over_budget_s == 0
        else:
            assert "duration" in {v.rule for v in violations}
    assert shifts["aware"].max_us == 0 and shifts["aware"].missing == 0
    assert shifts["aware"].late_jobs == 0
    assert shifts["blind"].max_rel > 0.5


def test_plan_records_contention_and_old_plans_still_load(
    gaming_plans: dict[str, Plan], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The plan file records the capacity; verify reports it; a plan whose instance would allow
    more is refused naming the file and field; a plan without the record loads as before."""
    aware = gaming_plans["aware"]
    assert aware.settings["contention"] == {"capacity_gbps": 50.576}
    path = tmp_path / "aware.json"
    save_plan(path, aware)
    assert load_plan(path) == aware
    assert main(["verify", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["contention_capacity_gbps"] == 50.576
    assert main(["verify", str(path)]) == 0
    assert "contention-aware: no kernel slowed at 50.576 GB/s" in capsys.readouterr().out

    doc = plan_to_json(aware)
    doc["settings"]["contention"]["capacity_gbps"] = 10.0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    assert main(["verify", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and "settings.contention.capacity_gbps" in err

    del doc["settings"]["contention"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    assert main(["verify", str(old)]) == 0
    assert "contention-aware" not in capsys.readouterr().out


def test_cli_plan_contention_and_simulate_notes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``plan --contention`` and ``instance --contention`` build the capped instance; simulate
    says when a plan's kernels carry no traffic or were planned for a larger capacity."""
    common = ["--platform", "core-ultra-125h", "--scenario", "gaming"]
    inst_path = tmp_path / "inst.json"
    assert main(["instance", *common, "--contention", "-o", str(inst_path)]) == 0
    assert json.loads(inst_path.read_text())["resources"] == [{"name": MEM_BW, "capacity": 50.576}]
    aware, blind = tmp_path / "aware.json", tmp_path / "blind.json"
    assert main(["plan", *common, "--solver", "heft", "--contention", "-o", str(aware)]) == 0
    assert main(["plan", *common, "--solver", "heft", "-o", str(blind)]) == 0
    capsys.readouterr()
    sim = ["simulate", *common, "--policy", "time-triggered", "--duration", "0.04"]
    assert main([*sim, "--plan", str(aware)]) == 0
    assert "contention" not in capsys.readouterr().err
    assert main([*sim, "--plan", str(blind)]) == 0
    assert "carry no memory-bandwidth demands" in capsys.readouterr().err
    # An Orin plan for its 15 W mode (90.2 GB/s) simulated in the 10 W mode (68.3 GB/s memory).
    orin = get_platform("jetson-orin-nx-16gb")
    plan = make_plan(orin, get_scenario("gaming"), solver="heft", contention=True).plan
    slower = get_platform("jetson-orin-nx-16gb", "10W")
    assert planned_capacity_gbps(slower) < plan.settings["contention"]["capacity_gbps"]
    note = check_plan_contention(plan, slower)
    assert note is not None and "co-running kernels may slow down" in note
    assert check_plan_contention(plan, orin) is None


def test_make_plan_contention_argument() -> None:
    """``make_plan(contention=True)`` equals ``PlanningOptions(contention=True)``; a prebuilt
    instance without it is refused rather than silently planned blind."""
    from xpuplan.planner.unroll import build_planned

    platform, scenario = get_platform("jetson-orin-nx-16gb"), get_scenario("gaming")
    by_arg = make_plan(platform, scenario, solver="heft", contention=True)
    by_options = make_plan(platform, scenario, PlanningOptions(contention=True), solver="heft")
    assert by_arg.plan.instance == by_options.plan.instance
    assert by_arg.plan.schedule.assignments == by_options.plan.schedule.assignments
    assert by_arg.plan.settings["contention"] == by_options.plan.settings["contention"]
    planned = build_planned(platform, scenario)
    with pytest.raises(ValueError, match="contention"):
        make_plan(platform, scenario, solver="heft", planned=planned, contention=True)


def test_with_traffic_refuses_other_kernels(gaming_plans: dict[str, Plan]) -> None:
    """The traffic must be the same kernels and modes as the plan's."""
    other = build_instance(
        get_platform("core-ultra-125h"),
        get_scenario("video-call"),
        PlanningOptions(contention=True),
    )
    with pytest.raises(InvalidInput, match="other kernels"):
        with_traffic(gaming_plans["blind"], other)
