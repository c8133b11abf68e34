"""Each policy's defining behaviour on a small hand-made case (zero noise, runs checked)."""

from __future__ import annotations

import pytest

from tests.runtime.helpers import assert_valid, chain, kernel, machine, run, starts, task
from xpuplan.models import Mode
from xpuplan.models.workload import DecodeTable, KernelSpec, llm_task
from xpuplan.runtime.platform_sim import DeviceInfo, MachineSpec
from xpuplan.runtime.policies import get_policy, policy_names
from xpuplan.runtime.policies.llm_background import LlmBackground
from xpuplan.runtime.simulator import SimConfig

NPU_ONLY = machine()


def _order_on(sim, unit: str) -> list[str]:
    """Jobs in the order their kernels started on ``unit``."""
    runs = sorted(
        (start, job)
        for job, _, u, _, _, start, _, _ in sim.executed
        if sim.machine.unit_name[u] == unit
    )
    return [job for _, job in runs]


def _queue_behind_blocker(policy: str, **options: object):
    """A blocker holds the NPU until 100; A (loose deadline) and B (tight) queue behind it."""
    blocker = task("x", chain("x", kernel("k", npu=100)))
    loose = task("a", chain("a", kernel("k", npu=50)), deadline_us=5000.0, priority=1)
    tight = task("b", chain("b", kernel("k", npu=50)), deadline_us=1000.0, priority=1)
    return run([blocker, loose, tight], [[0], [10], [20]], policy, **options)


def test_registry_lists_every_policy_and_refuses_unknown_names() -> None:
    """All the issue's policies are registered; a bad name or option is a clear error."""
    expected = {
        "fcfs",
        "edf",
        "llf",
        "fixed-priority",
        "round-robin",
        "online-eft",
        "static-best",
        "rr-backends",
        "llm-background",
        "dynamic-eft",
        "agent-xpu",
        "twill",
        "hybrid",
        "time-triggered",
        "self-timed",
    }
    assert expected <= set(policy_names())
    with pytest.raises(Exception, match="not a known policy"):
        get_policy("nope")
    with pytest.raises(Exception, match="not an option"):
        get_policy("edf", colour="red")


def test_fcfs_serves_in_arrival_order() -> None:
    """FCFS starts A (arrived first) before B despite B's tighter deadline."""
    sim = _queue_behind_blocker("fcfs")
    assert _order_on(sim, "npu/0") == ["x@0", "a@0", "b@0"]
    assert_valid(sim)


def test_edf_picks_the_earliest_deadline() -> None:
    """EDF starts B (deadline 1020) before A (deadline 5010)."""
    sim = _queue_behind_blocker("edf")
    assert _order_on(sim, "npu/0") == ["x@0", "b@0", "a@0"]
    assert_valid(sim)


def test_llf_picks_the_least_laxity_where_edf_does_not() -> None:
    """A: deadline 3000, 2500 us of work left (laxity 500); B: deadline 2000, 100 us (1900)."""
    blocker = task("x", chain("x", kernel("k", npu=100)))
    long = task("a", chain("a", kernel("k1", npu=1250), kernel("k2", npu=1250)), deadline_us=3000.0)
    short = task("b", chain("b", kernel("k", npu=100)), deadline_us=2000.0)
    assert _order_on(run([blocker, long, short], [[0], [10], [10]], "llf"), "npu/0")[1] == "a@0"
    assert _order_on(run([blocker, long, short], [[0], [10], [10]], "edf"), "npu/0")[1] == "b@0"


def test_fixed_priority_serves_the_higher_priority_first() -> None:
    """A later, higher-priority job goes before an earlier, lower-priority one."""
    blocker = task("x", chain("x", kernel("k", npu=100)))
    low = task("a", chain("a", kernel("k", npu=50)), priority=1)
    high = task("b", chain("b", kernel("k", npu=50)), priority=7)
    sim = run([blocker, low, high], [[0], [10], [20]], "fixed-priority")
    assert _order_on(sim, "npu/0") == ["x@0", "b@0", "a@0"]


def test_round_robin_alternates_tasks() -> None:
    """Three queued jobs of A and three of B run A, B, A, B... rather than by arrival."""
    a = task("a", chain("a", kernel("k", npu=50)))
    b = task("b", chain("b", kernel("k", npu=50)))
    sim = run([a, b], [[0, 1, 2], [3, 4, 5]], "round-robin")
    assert [job[0] for job in _order_on(sim, "npu/0")] == ["a", "b", "a", "b", "a", "b"]


def _fast_device_busy(policy: str):
    """The GPU (100 us for the kernel) is busy until 300; the CPU (1000 us) is idle."""
    blocker = task("x", chain("x", kernel("k", gpu=300)))
    job = task("a", chain("a", kernel("k", gpu=100, cpu=1000)))
    return run([blocker, job], [[0], [10]], policy)


@pytest.mark.parametrize("policy", ["online-eft", "dynamic-eft"])
def test_eft_policies_wait_for_the_faster_device(policy: str) -> None:
    """Finishing at 400 on the busy GPU beats 1010 on the idle CPU."""
    sim = _fast_device_busy(policy)
    assert starts(sim)[("a@0", "k")] == (300.0, "gpu/0")
    assert_valid(sim)


def test_greedy_fcfs_takes_the_idle_slow_device() -> None:
    """Greedy list scheduling starts on the idle CPU instead (the contrast to EFT)."""
    assert starts(_fast_device_busy("fcfs"))[("a@0", "k")] == (10.0, "cpu/0")


def test_static_best_pins_each_model_to_its_fastest_backend() -> None:
    """The model is fastest on the GPU: it waits for it although the NPU is idle."""
    blocker = task("x", chain("x", kernel("k", gpu=300)))
    model = chain("m", kernel("k1", gpu=100, npu=150), kernel("k2", gpu=100, npu=150))
    sim = run([blocker, task("m", model)], [[0], [10]], "static-best")
    assert {unit for (job, _), (_, unit) in starts(sim).items() if job == "m@0"} == {"gpu/0"}
    greedy = run([blocker, task("m", model)], [[0], [10]], "fcfs")
    assert starts(greedy)[("m@0", "k1")][1] == "npu/0"
    fixed = run([blocker, task("m", model)], [[0], [10]], "fcfs", mapping="fixed")
    assert starts(fixed) == starts(sim)


def test_rr_backends_rotates_jobs_over_backends() -> None:
    """Successive jobs of a task go to cpu, gpu, npu, cpu (devices that run the whole model)."""
    model = chain("m", kernel("k", cpu=100, gpu=50, npu=80))
    sim = run([task("m", model)], [[0, 1000, 2000, 3000]], "rr-backends")
    units = [starts(sim)[(f"m@{i}", "k")][1] for i in range(4)]
    assert units == ["cpu/0", "gpu/0", "npu/0", "cpu/0"]


def _decode_table(device: str = "gpu") -> DecodeTable:
    steps = {
        (10, b): (Mode(device, "hi", d, 5.0, {"mem_bw_gbps": 40.0}),)
        for b, d in ((1, 500), (4, 800), (32, 3000))
    }
    return DecodeTable.from_steps("llm", (10,), (1, 4, 32), steps)


def _checked(base: type) -> tuple[object, list[float]]:
    """A policy that logs every LLM dispatch made while some real-time job has ready work
    (judged by the simulator's own count of ready items, not the policy's)."""
    violations: list[float] = []

    class Checked(base):  # type: ignore[misc, valid-type]
        def on_dispatch(self, item) -> None:
            # A test may look behind the dispatch API: the simulator's own bookkeeping.
            world = self.api._world
            if item.job.is_llm and any(j._num_ready > 0 for j in world.live_jobs if not j.is_llm):
                violations.append(self.api.now)
            super().on_dispatch(item)

    return Checked(), violations


def test_llm_background_never_starts_llm_work_while_real_time_work_waits() -> None:
    """Zero violations for llm-background; EDF, by contrast, does start LLM work then."""
    from xpuplan.runtime.policies.edf import Edf

    vision = task(
        "v", chain("v", kernel("a", gpu=300, npu=400), kernel("b", gpu=200)), deadline_us=1000.0
    )
    llm = llm_task(
        "chat",
        chain("p", kernel("c0", gpu=200, npu=250), kernel("c1", gpu=200, npu=300)),
        _decode_table(),
        prompt_tokens=9,
        output_tokens=5,
        cls="reactive",
    )
    arrivals = [list(range(0, 20_000, 300)), [100, 3000, 7000]]
    config = SimConfig(contention=False)
    policy, violations = _checked(LlmBackground)
    sim = run([vision, llm], arrivals, policy, horizon=60_000, config=config)
    assert violations == [] and sim.recorder.completed[1] == 3
    policy, violations = _checked(Edf)
    run([vision, llm], arrivals, policy, horizon=60_000, config=config)
    assert violations


def test_agent_xpu_preempts_a_proactive_prefill_at_the_next_kernel_boundary() -> None:
    """Proactive chunks run 0-100, 100-200; a reactive request at 150 runs at 200, not 400."""
    prefill = chain("p", *(kernel(f"c{i}", npu=100) for i in range(4)))
    proactive = task("bg", prefill, cls="proactive")
    reactive = task("chat", chain("r", kernel("q", npu=50)), cls="reactive", priority=3)
    sim = run([proactive, reactive], [[0], [150]], "agent-xpu")
    assert starts(sim)[("chat@0", "q")] == (200.0, "npu/0")
    assert starts(sim)[("bg@0", "c2")] == (250.0, "npu/0")
    assert sim.preemptions == 1
    assert starts(run([proactive, reactive], [[0], [150]], "fcfs"))[("chat@0", "q")][0] == 400.0
    assert_valid(sim)


def test_agent_xpu_maps_prefill_chunks_elastically() -> None:
    """A reactive chunk (NPU 100, GPU 150) takes the GPU while the NPU is busy for long, and
    waits for the NPU when it frees soon enough to finish first."""
    chunk = chain("p", kernel("c", npu=100, gpu=150))
    for busy_until, expected in ((400, ("gpu/0", 10.0)), (40, ("npu/0", 40.0))):
        blocker = task("x", chain("x", kernel("k", npu=busy_until)), cls="reactive", priority=9)
        chat = task("chat", chunk, cls="reactive", priority=3)
        sim = run([blocker, chat], [[0], [10]], "agent-xpu")
        start, unit = starts(sim)[("chat@0", "c")]
        assert (unit, start) == expected


def test_agent_xpu_backfills_only_into_the_reactive_requests_slack() -> None:
    """While a reactive kernel runs on the NPU until 300, an idle GPU takes a proactive kernel
    that ends by then (200 us) but not one that would not (500 us)."""
    chat = task("chat", chain("c", kernel("k", npu=300), kernel("k2", npu=50)), cls="reactive")
    for length, backfilled in ((200, True), (500, False)):
        bg = task("bg", chain("b", kernel("k", gpu=length)), cls="proactive")
        sim = run([chat, bg], [[0], [10]], "agent-xpu")
        assert (starts(sim)[("bg@0", "k")][0] == 10.0) is backfilled


@pytest.mark.parametrize(
    ("bw_a", "bw_b", "together"),
    [
        (15.0, 15.0, True),  # P_mem 0.3 < 0.4: co-schedule
        (30.0, 5.0, True),  # 0.35 + light partner
        (25.0, 25.0, False),  # 0.5, both heavy: not paired
        (40.0, 40.0, False),
    ],  # 0.8 > 0.7: sequential
)
def test_agent_xpu_bandwidth_aware_dispatch(bw_a: float, bw_b: float, together: bool) -> None:
    """Two proactive kernels on the NPU and GPU co-run or serialise by memory pressure."""
    a = task("a", chain("a", kernel("k", bw=bw_a, npu=100)), cls="proactive")
    b = task("b", chain("b", kernel("k", bw=bw_b, gpu=100)), cls="proactive")
    sim = run([a, b], [[0], [0]], "agent-xpu", spec=machine(peak_bw=100.0))
    assert (starts(sim)[("b@0", "k")][0] == 0.0) is together


def test_agent_xpu_serialises_above_high_pressure_with_reactive_first() -> None:
    """At P_mem 0.8 the proactive kernel waits for the reactive one to end."""
    bg = task("bg", chain("bg", kernel("k", bw=40.0, npu=100)), cls="proactive")
    chat = task("chat", chain("c", kernel("k", bw=40.0, gpu=100)), cls="reactive")
    sim = run([bg, chat], [[0], [0]], "agent-xpu", spec=machine(peak_bw=100.0))
    assert starts(sim)[("chat@0", "k")][0] == 0.0 and starts(sim)[("bg@0", "k")][0] == 100.0


def test_agent_xpu_decode_batch_admits_all_reactive_and_three_proactive() -> None:
    """GPU blocked until 1000; then 2 reactive and 3 of 5 proactive decode together."""
    blocker = task("x", chain("x", kernel("k", gpu=1000)))
    prefill = chain("p", kernel("c", npu=10))
    table = _decode_table()
    chat = llm_task("chat", prefill, table, prompt_tokens=9, output_tokens=3, cls="reactive")
    bg = llm_task("bg", prefill, table, prompt_tokens=9, output_tokens=3, cls="proactive")
    sim = run(
        [blocker, chat, bg],
        [[0], [0, 0], [0, 0, 0, 0, 0]],
        "agent-xpu",
        config=SimConfig(contention=False, record=True, dvfs_transition_us=0.0),
    )
    first = sorted(
        run.job for run in sim.executed if run.kernel == "decode" and run.start == 1000.0
    )
    assert first == ["bg@0", "bg@1", "bg@2", "chat@0", "chat@1"]


def test_agent_xpu_aging_lets_old_proactive_work_go_first() -> None:
    """A proactive job older than the aging threshold goes before a newer reactive one."""
    blocker = task("x", chain("x", kernel("k", npu=1000)), cls="reactive", priority=9)
    bg = task("bg", chain("bg", kernel("k", npu=50)), cls="proactive")
    chat = task("chat", chain("c", kernel("k", npu=50)), cls="reactive", priority=3)
    aged = run([blocker, bg, chat], [[0], [10], [900]], "agent-xpu", aging_s=0.0005)
    fresh = run([blocker, bg, chat], [[0], [10], [900]], "agent-xpu")
    assert _order_on(aged, "npu/0") == ["x@0", "bg@0", "chat@0"]
    assert _order_on(fresh, "npu/0") == ["x@0", "chat@0", "bg@0"]


def _twill_machine(budget: float) -> MachineSpec:
    devices = (
        DeviceInfo("cpu", "cpu", 1, 0.0, ("hi",)),
        DeviceInfo("gpu", "gpu", 1, 0.0, ("hi",)),
        DeviceInfo("dla", "dla", 1, 0.0, ("hi",)),
    )
    return MachineSpec("orin-like", devices, budget, 100.0, None)


def test_twill_freezes_the_lowest_priority_inference_and_unfreezes_it_later() -> None:
    """M (prio 2, 3 W) and L (prio 1, 4 W) run; H (prio 5, 3 W) would reach 10 W > 8 W.

    L (the lowest) is frozen at 100, H runs 100-400, and at 400 L resumes (3 + 4 <= 0.9 x 8):
    it ends at 400 + 900 = 1300. M keeps running.
    """
    mid = task("m", chain("m", kernel("k", power=3.0, cpu=2000)), priority=2)
    low = task("l", chain("l", kernel("k", power=4.0, gpu=1000)), priority=1)
    high = task("h", chain("h", kernel("k", power=3.0, dla=300)), priority=5)
    # A frozen kernel runs longer than any of its modes (1300 us against 1000): an Instance
    # cannot express a freeze, so this run is judged by the figures below, not the checker.
    sim = run([mid, low, high], [[0], [0], [100]], "twill", spec=_twill_machine(8.0), check=False)
    latency = {t.name: sim.recorder.latency_us[i] for i, t in enumerate(sim.tasks)}
    assert sim.freezes == 1
    assert latency == {"m": [2000.0], "l": [1300.0], "h": [300.0]}
    assert sim.machine.over_budget_us == 0.0
    fcfs = run(
        [mid, low, high],
        [[0], [0], [100]],
        "fcfs",
        spec=_twill_machine(8.0),
        config=SimConfig(governor=False, contention=False, record=True),
    )
    assert fcfs.machine.over_budget_us > 0


def test_twill_maps_to_the_dla_only_models_it_fully_supports() -> None:
    """CNN layers all run on the DLA; a transformer with one DLA-less kernel never goes there."""
    cnn = chain("cnn", kernel("c1", gpu=100, dla=120), kernel("c2", gpu=100, dla=120))
    bert = chain("bert", kernel("mm", gpu=100, dla=90), kernel("ln", gpu=100))
    blocker = task("x", chain("x", kernel("k", gpu=5000)), priority=9)
    sim = run(
        [blocker, task("cnn", cnn), task("bert", bert)],
        [[0], [10], [10]],
        "twill",
        spec=_twill_machine(100.0),
    )
    units = {(job, k): unit for (job, k), (_, unit) in starts(sim).items()}
    assert units[("cnn@0", "c1")] == "dla/0" and units[("bert@0", "mm")] == "gpu/0"
    assert_valid(sim)


def test_twill_migrates_to_the_preferred_cluster_when_it_frees() -> None:
    """A model preferring the GPU starts on the DLA (GPU busy) and moves back at a boundary."""
    model = chain("m", *(kernel(f"k{i}", gpu=100, dla=140) for i in range(3)))
    blocker = task("x", chain("x", kernel("k", gpu=150)), priority=9)
    sim = run([blocker, task("m", model)], [[0], [10]], "twill", spec=_twill_machine(100.0))
    units = [starts(sim)[("m@0", f"k{i}")][1] for i in range(3)]
    assert units == ["dla/0", "gpu/0", "gpu/0"] and sim.migrations == 1


def test_twill_lowers_the_dvfs_level_before_freezing_anyone() -> None:
    """A kernel that fits the budget at its low level starts there; nobody is frozen."""
    devices = (
        DeviceInfo("gpu", "gpu", 1, 0.0, ("lo", "hi")),
        DeviceInfo("dla", "dla", 1, 0.0, ("hi",)),
    )
    spec = MachineSpec("m", devices, 6.0, None, None)
    busy = task("b", chain("b", kernel("k", power=3.0, dla=1000)), priority=1)
    dvfs = KernelSpec("k", (Mode("gpu", "hi", 100, 5.0), Mode("gpu", "lo", 180, 2.0)))
    new = task("n", chain("n", dvfs), priority=5)
    sim = run([busy, new], [[0], [10]], "twill", spec=spec)
    assert sim.freezes == 0
    assert [
        spec.devices[d].levels[lv] for job, _, _, d, lv, _, _, _ in sim.executed if job == "n@0"
    ] == ["lo"]
