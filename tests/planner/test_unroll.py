"""Scenario + platform -> Instance: every built-in pair, job structure, deadlines, errors."""

from __future__ import annotations

import pytest

from xpuplan.models import InvalidInput, check_schedule
from xpuplan.models.presets import get_platform, platform_names
from xpuplan.models.presets.scenarios import get_scenario, scenario_names
from xpuplan.models.scenario import ModelRef, Periodic, Poisson, Scenario, Task
from xpuplan.models.workload import CompileOptions
from xpuplan.planner.unroll import PlanningOptions, build_instance, planning_horizon_us
from xpuplan.solvers import solve


@pytest.mark.parametrize("platform", platform_names())
@pytest.mark.parametrize("scenario", scenario_names())
def test_every_builtin_pair_builds(platform, scenario):
    """Each (platform, scenario) gives a valid instance whose kernels run on >= 2 devices."""
    inst = build_instance(get_platform(platform), get_scenario(scenario))
    assert inst.num_kernels > 0
    assert all(len({m.device for m in k.modes}) >= 2 for k in inst.kernels)
    assert {d.name for d in inst.devices} == set(get_platform(platform).device_names)


def test_periodic_jobs_over_the_hyperperiod():
    """video-call over 1 s: 30 + 30 + 50 + 1 jobs; deadlines one period after release."""
    inst = build_instance(get_platform("ryzen-ai-hx370"), get_scenario("video-call"))
    by_task: dict[str, list] = {}
    for job in inst.jobs:
        by_task.setdefault(job.name.split("@")[0], []).append(job)
    assert {t: len(j) for t, j in by_task.items()} == {
        "background-seg": 30,
        "face-landmarks": 30,
        "noise-suppression": 50,
        "captions": 1,
    }
    frame = by_task["background-seg"][1]
    assert (frame.release, frame.deadline) == (33333, 33333 + 33333)
    assert (
        by_task["noise-suppression"][3].deadline - by_task["noise-suppression"][3].release == 20000
    )
    assert inst.objective.type == "lexicographic"


def test_gaming_hyperperiod_is_one_frame_of_30fps():
    """60 FPS and 30 FPS: 1/30 s with two super-resolution frames and one hand-tracking frame."""
    scenario = get_scenario("gaming")
    assert planning_horizon_us(scenario, PlanningOptions()) == 33333
    inst = build_instance(get_platform("core-ultra-125h"), scenario)
    assert sorted(j.name for j in inst.jobs) == [
        "hand-tracking@0",
        "super-resolution@0",
        "super-resolution@1",
    ]


def test_llm_request_is_prefill_then_grouped_decode():
    """A proactive request of 81 tokens: prefill chunks (the first token), then the other 80
    decode steps as ceil(80 / 16) = 5 chained decode kernels of 16 steps each."""
    inst = build_instance(get_platform("core-ultra-125h"), get_scenario("agent-assistant"))
    job = inst.jobs[0].name
    assert job.startswith("proactive-summarize@")
    names = [k.name for k in inst.kernels if k.job == job]
    decode = [n for n in names if "/decode." in n]
    assert len(decode) == 5
    labels = [inst.kernels[inst.kernel_idx[n]].attrs["label"] for n in decode]
    assert labels == ["decode x16"] * 5
    succ = {e.src: e.dst for e in inst.edges if e.src in decode}
    assert [succ.get(f"{job}/decode.{i}") for i in range(4)] == [
        f"{job}/decode.{i + 1}" for i in range(4)
    ]
    assert any("/prefill." in n for n in names)


def test_chain_of_models_is_joined(tmp_path):
    """A chain of two models: the first model's sinks precede the second's sources."""
    scenario = Scenario(
        "chain",
        (Task("t", (ModelRef("mobilenet-v3"), ModelRef("bert-base")), Periodic(10.0)),),
        objective="makespan",
    )
    inst = build_instance(get_platform("ryzen-ai-hx370"), scenario, PlanningOptions(horizon_s=0.1))
    firsts = {k.name for k in inst.kernels if k.attrs["model"] == "mobilenet-v3"}
    seconds = {k.name for k in inst.kernels if k.attrs["model"] == "bert-base"}
    cross = [(e.src, e.dst) for e in inst.edges if e.src in firsts and e.dst in seconds]
    assert cross
    result = solve(inst, "cpsat", time_limit=10)
    assert check_schedule(inst, result.schedule) == []


def test_impossible_hard_deadline_is_refused():
    """A 1 ms frame deadline for a large model cannot hold on any device: a one-line error."""
    scenario = Scenario(
        "tight",
        (Task("seg", (ModelRef("resnet-152"),), Periodic(30.0), deadline_ms=1.0),),
        objective="makespan",
    )
    with pytest.raises(
        InvalidInput, match=r"tasks.seg.deadline_ms: task 'seg': the deadline 1 ms is shorter"
    ):
        build_instance(get_platform("jetson-orin-nx-16gb"), scenario)


def test_impossible_deadline_allowed_when_soft():
    """Under late_jobs the same deadline is allowed: the job will simply be late."""
    scenario = Scenario(
        "tight",
        (Task("seg", (ModelRef("resnet-152"),), Periodic(30.0), deadline_ms=1.0),),
        objective="late_jobs",
    )
    inst = build_instance(
        get_platform("jetson-orin-nx-16gb"), scenario, PlanningOptions(horizon_s=0.05)
    )
    assert inst.num_jobs == 2


def test_unknown_model_names_the_task():
    """An unknown model is reported with the task that uses it."""
    scenario = Scenario("s", (Task("x", (ModelRef("gpt-9"),), Periodic(1.0)),))
    with pytest.raises(InvalidInput, match=r"tasks.x.models\[0\].model: .*gpt-9"):
        build_instance(get_platform("ryzen-ai-hx370"), scenario)


def test_only_reactive_needs_clairvoyance():
    """Only unknown arrivals: nothing to plan unless the clairvoyant problem is asked for."""
    scenario = Scenario(
        "chat",
        (Task("c", (ModelRef("bert-base"),), Poisson(30.0), cls="reactive"),),
        objective="makespan",
    )
    with pytest.raises(InvalidInput, match="--include-unknown"):
        build_instance(get_platform("ryzen-ai-hx370"), scenario)
    inst = build_instance(
        get_platform("ryzen-ai-hx370"),
        scenario,
        PlanningOptions(include_unknown=True, horizon_s=10),
    )
    assert inst.num_jobs > 0


def test_same_seed_same_arrivals():
    """Poisson arrivals are drawn from the seed: same seed, same jobs; another seed, others."""
    platform, scenario = get_platform("jetson-orin-nx-16gb"), get_scenario("compound-ai")
    first = build_instance(platform, scenario, PlanningOptions(seed=3))
    again = build_instance(platform, scenario, PlanningOptions(seed=3))
    other = build_instance(platform, scenario, PlanningOptions(seed=4))
    assert first.jobs == again.jobs
    assert first.jobs != other.jobs


def test_power_cap_sources():
    """The cap comes from the option, else the scenario, else the platform's budget."""
    platform = get_platform("jetson-orin-nx-16gb")
    assert build_instance(platform, get_scenario("compound-ai")).power_cap_w == 10.0
    assert build_instance(platform, get_scenario("gaming")).power_cap_w == platform.power_budget_w
    capped = build_instance(platform, get_scenario("gaming"), PlanningOptions(power_cap_w=12.0))
    assert capped.power_cap_w == 12.0


def test_per_device_dvfs_and_memory_bandwidth_options():
    """Options reach the instance: a static level per device, bandwidth as a resource."""
    inst = build_instance(
        get_platform("ryzen-ai-hx370"),
        get_scenario("gaming"),
        PlanningOptions(
            dvfs="per-device", memory_bandwidth=True, workload=CompileOptions(levels="all")
        ),
    )
    assert inst.dvfs == "per-device"
    assert [r.name for r in inst.resources] == ["mem_bw_gbps"]
    assert any(m.demands for k in inst.kernels for m in k.modes)
    result = solve(inst, "cpsat", time_limit=10)
    assert result.status in ("optimal", "feasible")
    assert check_schedule(inst, result.schedule) == []
