"""Robust plans (issue 13): every kernel planned at a quantile of the runtime's latency noise,
while the runtime executes the nominal durations."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.runtime.helpers import machine
from tests.runtime.test_executors import serial_plan
from xpuplan.models import (
    Device,
    Edge,
    Instance,
    InvalidInput,
    Job,
    Kernel,
    Mode,
    Objective,
    check_schedule,
)
from xpuplan.models.generate import random_small_instance
from xpuplan.models.margin import Margin, inflate, lognormal_quantile
from xpuplan.models.plan import Plan, load_plan, plan_settings, plan_to_json, save_plan
from xpuplan.models.presets import get_platform
from xpuplan.models.presets.scenarios import get_scenario
from xpuplan.planner.cli import main
from xpuplan.planner.planning import make_plan
from xpuplan.planner.unroll import PlanningOptions, build_instance, build_planned
from xpuplan.runtime.api import simulate, simulate_plan
from xpuplan.runtime.platform_sim import PlatformSim
from xpuplan.runtime.simulator import SimConfig
from xpuplan.solvers import solve

EXECUTORS = ("time-triggered", "self-timed")
MARGIN = Margin(0.1, 0.99)
PLATFORM = "ryzen-ai-hx370"


# ------------------------------------------------------------------ the margin itself
@pytest.mark.parametrize("cv", [0.05, 0.1, 0.3])
@pytest.mark.parametrize("q", [0.5, 0.9, 0.99])
def test_factor_is_the_quantile_of_the_runtimes_noise(cv: float, q: float) -> None:
    """The share of the simulator's own noise draws at or below the factor is the quantile."""
    noisy = PlatformSim(machine(), np.random.default_rng(1), print, noise_cv=cv)
    n = 40_000
    draws = np.array([noisy.noise() for _ in range(n)])
    share = float((draws <= lognormal_quantile(cv, q)).mean())
    assert share == pytest.approx(q, abs=5 * math.sqrt(q * (1 - q) / n))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 10_000),
    st.floats(0.0, 1.0),
    st.floats(0.01, 0.999),
)
def test_inflate_stretches_every_duration_and_nothing_else(seed: int, cv: float, q: float) -> None:
    inst = random_small_instance(seed)
    margin = Margin(cv, q)
    planned = inflate(inst, margin)
    for ker, big in zip(inst.kernels, planned.kernels, strict=True):
        for mode, wide in zip(ker.modes, big.modes, strict=True):
            assert wide.duration == max(1, math.ceil(mode.duration * margin.factor))
            assert (wide.device, wide.level, wide.power_w) == (
                mode.device,
                mode.level,
                mode.power_w,
            )
            assert wide.demands == mode.demands
    assert planned.replace(kernels=inst.kernels) == inst
    if cv == 0:
        assert planned == inst
    assert inflate(inst, None) is inst


@pytest.mark.parametrize(
    ("cv", "q", "field"),
    [
        (-0.1, 0.9, "noise_cv"),
        (math.inf, 0.9, "noise_cv"),
        (math.nan, 0.9, "noise_cv"),
        (True, 0.9, "noise_cv"),
        (0.1, 0.0, "quantile"),
        (0.1, 1.0, "quantile"),
        (0.1, math.nan, "quantile"),
        (0.1, "0.9", "quantile"),
    ],
)
def test_bad_margins_name_the_field(cv: object, q: object, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        Margin(cv, q)  # type: ignore[arg-type]
    assert info.value.field == field


def test_planning_options_need_both_halves_of_a_margin() -> None:
    assert PlanningOptions().margin is None
    assert PlanningOptions(noise_cv=0.1, quantile=0.99).margin == MARGIN
    for options, field in (
        (PlanningOptions(noise_cv=0.1), "noise_cv"),
        (PlanningOptions(quantile=0.99), "quantile"),
    ):
        with pytest.raises(InvalidInput) as info:
            _ = options.margin
        assert info.value.field == field


# ------------------------------------------------------------------ a tight plan under noise
def tight_instance() -> Instance:
    """A frame of four chained kernels on one NPU unit, due 640 us after its release.

    Each kernel runs ``hi`` (100 us at 10 W) or ``lo`` (160 us at 4 W). The energy optimum runs
    all four ``lo`` and ends exactly at the deadline, so noise makes about half its frames late.
    At the 0.99 quantile of 10 % noise (x1.2549: ``lo`` 201 us, ``hi`` 126 us) only one ``lo``
    fits (201 + 3 x 126 = 579 <= 640; two would take 654): the robust optimum runs three
    kernels ``hi``, 180 us ahead of the deadline at nominal durations, for more energy.
    """
    modes = (Mode("npu", "hi", 100, 10.0), Mode("npu", "lo", 160, 4.0))
    return Instance(
        "tight",
        devices=(Device("npu", 1, 0.5, "npu"),),
        jobs=(Job("frame", 0, 640),),
        kernels=tuple(Kernel(f"k{i}", "frame", modes) for i in range(4)),
        edges=tuple(Edge(f"k{i}", f"k{i + 1}") for i in range(3)),
        objective=Objective("energy"),
    )


def _plan(inst: Instance, margin: Margin | None) -> Plan:
    """What make_plan does, for an instance of our own: solve the planned instance, keep the
    nominal one and the margin."""
    planned = inflate(inst, margin)
    result = solve(planned, "cpsat", time_limit=10, workers=1, seed=0)
    assert result.status == "optimal"
    assert check_schedule(planned, result.schedule) == []
    settings_ = plan_settings(planned, result.schedule)
    return Plan(inst, result.schedule, settings_, period_us=1000, margin=margin)


@pytest.fixture(scope="module")
def tight_plans() -> tuple[Plan, Plan]:
    inst = tight_instance()
    return _plan(inst, None), _plan(inst, MARGIN)


def test_the_robust_plan_buys_slack_with_faster_levels(tight_plans: tuple[Plan, Plan]) -> None:
    nominal, robust = tight_plans
    assert sorted(a.level for a in nominal.schedule.assignments) == ["lo"] * 4
    assert sorted(a.level for a in robust.schedule.assignments) == ["hi", "hi", "hi", "lo"]
    # The robust schedule is one of the planned instance, not of the nominal one.
    assert check_schedule(robust.planned_instance, robust.schedule) == []
    assert {v.rule for v in check_schedule(robust.instance, robust.schedule)} == {"duration"}
    assert max(a.end for a in robust.schedule.assignments) <= 640


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_robust_plan_keeps_deadlines_a_nominal_one_misses(
    tight_plans: tuple[Plan, Plan], executor: str
) -> None:
    """1,000 frames under 10 % noise (fixed seed): the nominal plan is late about half the time,
    the robust one at most 1 % (it is never late here), and pays for it in simulated energy."""
    runs = [
        simulate_plan(plan, executor, noise_cv=0.1, seed=7, repeat_us=1000, duration_s=1.0 - 1e-6)
        for plan in tight_plans
    ]
    (nominal, robust) = (run.tasks["frame"] for run in runs)
    assert nominal.decided == robust.decided == 1000
    assert nominal.late / nominal.decided > 0.3
    assert robust.late / robust.decided <= 0.01
    assert runs[1].energy_j > runs[0].energy_j
    for plan, run in zip(tight_plans, runs, strict=True):
        assert run.executed is not None
        rules = {v.rule for v in check_schedule(plan.instance, run.executed, measured=True)}
        assert rules <= {"deadline"}  # lateness is the only violation noise may cause


@pytest.mark.parametrize("executor", EXECUTORS)
def test_without_noise_a_robust_plan_runs_nominal_durations_at_planned_times(
    tight_plans: tuple[Plan, Plan], executor: str
) -> None:
    robust = tight_plans[1]
    executed = simulate_plan(robust, executor).executed
    assert executed is not None
    assert check_schedule(robust.instance, executed) == []
    planned = robust.schedule.by_kernel()
    nominal = {k.name: k for k in robust.instance.kernels}
    for asg in executed.assignments:
        assert asg.start == planned[asg.kernel].start
        mode = nominal[asg.kernel].modes[nominal[asg.kernel].mode_index(asg.device, asg.level)]
        assert asg.end - asg.start == mode.duration < planned[asg.kernel].end - asg.start


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(EXECUTORS), st.sampled_from([0.8, 0.99, 0.999]))
def test_robust_random_plans_run_nominal_durations_at_planned_times(
    seed: int, executor: str, quantile: float
) -> None:
    """Random instances (cross-device delays, releases, edges across jobs, power caps,
    resources, several units and levels; resume costs left out, see below) planned serially on
    their inflated durations: without noise both executors start every kernel at its planned
    time, run it for its nominal duration, and the run is valid against the nominal instance.

    Resume costs are left out because an edge contiguous in the plan is not in the run (the
    kernel before it ends early), so the runtime charges its resume cost: the margin covers
    durations only (every built-in workload has resume costs of 0).
    """
    inst = random_small_instance(seed)
    inst = inst.replace(edges=tuple(Edge(e.src, e.dst, e.cross_device_delay) for e in inst.edges))
    margin = Margin(0.1, quantile)
    planned = serial_plan(inflate(inst, margin), seed)  # deadlines dropped, per-kernel DVFS
    nominal = planned.instance.replace(kernels=inst.kernels)
    robust = Plan(nominal, planned.schedule, margin=margin)
    assert robust.planned_instance == planned.instance
    assert check_schedule(robust.planned_instance, robust.schedule) == []
    executed = simulate_plan(robust, executor).executed
    assert executed is not None
    assert check_schedule(nominal, executed) == []
    by_kernel = robust.schedule.by_kernel()
    for asg in executed.assignments:
        ker = nominal.kernels[nominal.kernel_idx[asg.kernel]]
        mode = ker.modes[ker.mode_index(asg.device, asg.level)]
        assert asg.start == by_kernel[asg.kernel].start
        assert (asg.device, asg.unit, asg.level) == (
            by_kernel[asg.kernel].device,
            by_kernel[asg.kernel].unit,
            by_kernel[asg.kernel].level,
        )
        assert asg.end - asg.start == mode.duration <= by_kernel[asg.kernel].end - asg.start


# ------------------------------------------------------------------ plan files
def test_plan_files_record_and_reload_the_margin(
    tight_plans: tuple[Plan, Plan], tmp_path: Path
) -> None:
    nominal, robust = tight_plans
    save_plan(tmp_path / "r.json", robust)
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["margin"] == {"noise_cv": 0.1, "quantile": 0.99, "factor": MARGIN.factor}
    assert load_plan(tmp_path / "r.json") == robust
    assert "margin" not in plan_to_json(nominal)  # plans without a margin are written as before


def test_a_plan_file_without_a_margin_loads_as_before(
    tight_plans: tuple[Plan, Plan], tmp_path: Path
) -> None:
    doc = plan_to_json(tight_plans[0])
    (tmp_path / "old.json").write_text(json.dumps(doc))
    plan = load_plan(tmp_path / "old.json")
    assert plan.margin is None and plan.planned_instance is plan.instance


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"factor": 1.3}, "margin.factor"),
        ({"quantile": 1.5}, "margin.quantile"),
        ({"noise_cv": -1}, "margin.noise_cv"),
        ({"slack": 1}, "margin.slack"),
        ("0.99", "margin"),
    ],
)
def test_a_margin_edited_by_hand_is_refused(
    tight_plans: tuple[Plan, Plan], tmp_path: Path, change: object, field: str
) -> None:
    doc = plan_to_json(tight_plans[1])
    doc["margin"] = {**doc["margin"], **change} if isinstance(change, dict) else change
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InvalidInput) as info:
        load_plan(path)
    assert info.value.field == field and info.value.file == str(path)


def test_a_margin_the_schedule_does_not_fit_is_refused(
    tight_plans: tuple[Plan, Plan], tmp_path: Path
) -> None:
    """A nominal plan relabelled as robust: its schedule no longer matches the planned
    instance, and ``xpuplan verify`` says so (exit 1)."""
    doc = plan_to_json(tight_plans[0])
    doc["margin"] = MARGIN.to_json()
    path = tmp_path / "relabelled.json"
    path.write_text(json.dumps(doc))
    assert main(["verify", str(path)]) == 1


# ------------------------------------------------------------------ make_plan and the CLI
@pytest.fixture(scope="module")
def video_call_plan() -> Plan:
    made = make_plan(
        get_platform(PLATFORM),
        get_scenario("video-call"),
        PlanningOptions(noise_cv=0.1, quantile=0.99),
        solver="heft",
    )
    plan = made.plan
    assert plan.margin == MARGIN and made.planned.margin == MARGIN
    assert check_schedule(plan.planned_instance, plan.schedule) == []
    return plan


def test_make_plan_keeps_the_nominal_instance(video_call_plan: Plan) -> None:
    nominal = build_planned(get_platform(PLATFORM), get_scenario("video-call")).instance
    assert video_call_plan.instance == nominal
    robust = build_instance(
        get_platform(PLATFORM),
        get_scenario("video-call"),
        PlanningOptions(noise_cv=0.1, quantile=0.99),
    )
    assert robust == video_call_plan.planned_instance != nominal


def test_make_plan_refuses_an_instance_built_with_another_margin() -> None:
    platform, scenario = get_platform(PLATFORM), get_scenario("gaming")
    planned = build_planned(platform, scenario)
    with pytest.raises(ValueError, match="margin"):
        make_plan(
            platform,
            scenario,
            PlanningOptions(noise_cv=0.1, quantile=0.99),
            solver="heft",
            planned=planned,
        )


@pytest.mark.parametrize("executor", EXECUTORS)
def test_simulate_with_the_scenario_runs_nominal_durations(
    video_call_plan: Plan, executor: str
) -> None:
    """``xpuplan simulate --platform --scenario --plan``'s path, without noise, switching delays,
    contention or governor: every kernel starts at its planned time and takes its nominal
    duration, and the run is a valid schedule of the nominal instance."""
    plan = video_call_plan
    config = SimConfig(dvfs_transition_us=0.0, contention=False, governor=False, record=True)
    run = simulate(
        PLATFORM, "video-call", executor, plan=plan, duration_s=1.0, seed=0, config=config
    )
    executed = run.executed
    assert executed is not None and len(executed.assignments) == plan.instance.num_kernels
    assert check_schedule(plan.instance, executed) == []
    planned = plan.schedule.by_kernel()
    assert all(a.start == planned[a.kernel].start for a in executed.assignments)
    assert sum(a.end - a.start for a in executed.assignments) < sum(
        a.end - a.start for a in plan.schedule.assignments
    )
    assert all(tm.late == 0 for tm in run.tasks.values())


def test_cli_plan_verify_simulate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan_path = tmp_path / "robust.json"
    base = ["--platform", PLATFORM, "--scenario", "video-call"]
    argv = ["plan", *base, "--solver", "heft", "--noise-cv", "0.1", "--quantile", "0.99"]
    assert main([*argv, "-o", str(plan_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["margin"] == MARGIN.to_json()
    assert load_plan(plan_path).margin == MARGIN
    assert main(["verify", str(plan_path)]) == 0
    assert "0.99 quantile" in capsys.readouterr().out
    assert main(["verify", str(plan_path), "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["valid"] is True and verdict["margin"] == MARGIN.to_json()
    argv = ["simulate", *base, "--policy", "self-timed", "--plan", str(plan_path)]
    assert main([*argv, "--noise-cv", "0.1", "--duration", "0.5", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["noise_cv"] == 0.1
    # The same run through the API, recorded, for the checker.
    plan = load_plan(plan_path)
    config = SimConfig(noise_cv=0.1, record=True)
    run = simulate(
        PLATFORM, "video-call", "self-timed", plan=plan, duration_s=0.5, seed=0, config=config
    )
    assert run.to_json()["tasks"] == doc["tasks"]
    assert run.executed is not None
    rules = {v.rule for v in check_schedule(plan.instance, run.executed, measured=True)}
    # Lateness, the jobs released after 0.5 s, and the cap exceeded for a few us: the command's
    # 100 us DVFS switches (which the instance does not model) shift some starts into overlaps.
    # Without them the same plan keeps every rule (test_simulate_with_the_scenario_...).
    assert rules <= {"deadline", "coverage", "power"}
    assert "coverage" in rules


def test_cli_instance_writes_the_planned_durations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["instance", "--platform", PLATFORM, "--scenario", "gaming"]
    assert main([*argv, "-o", str(tmp_path / "n.json")]) == 0
    assert (
        main([*argv, "--noise-cv", "0.1", "--quantile", "0.9", "-o", str(tmp_path / "r.json")]) == 0
    )
    assert "0.9 quantile" in capsys.readouterr().out
    nominal = json.loads((tmp_path / "n.json").read_text())
    robust = json.loads((tmp_path / "r.json").read_text())
    factor = Margin(0.1, 0.9).factor
    pairs = [
        (m["duration"], w["duration"])
        for k, kr in zip(nominal["kernels"], robust["kernels"], strict=True)
        for m, w in zip(k["modes"], kr["modes"], strict=True)
    ]
    assert pairs and all(w == math.ceil(d * factor) for d, w in pairs)
