"""The simulator: timing rules, determinism, isolation, conservation, LLM requests."""

from __future__ import annotations

import pytest

from tests.runtime.helpers import EXACT, assert_valid, chain, kernel, machine, run, starts, task
from xpuplan.models import Mode
from xpuplan.models.scenario import Periodic, Poisson
from xpuplan.models.workload import DecodeTable, EdgeSpec, JobTemplate, Workload, llm_task
from xpuplan.runtime.dispatch import DispatchApi
from xpuplan.runtime.metrics import ConservationError
from xpuplan.runtime.policies import get_policy
from xpuplan.runtime.simulator import SimConfig, Simulator


def _mixed_tasks() -> list:
    """A periodic chain with a deadline and a Poisson DAG, both with NPU and GPU choices."""
    vision = chain(
        "v",
        kernel("a", bw=30.0, gpu=300, npu=200),
        kernel("b", gpu=250, cpu=900),
        kernel("c", bw=50.0, npu=150, gpu=200),
        delay=20,
    )
    fork = JobTemplate(
        "d",
        (
            kernel("s", cpu=100, gpu=60),
            kernel("l", npu=400, gpu=300),
            kernel("r", cpu=300),
            kernel("j", gpu=80, npu=90),
        ),
        (EdgeSpec(0, 1, 10), EdgeSpec(0, 2), EdgeSpec(1, 3, 10), EdgeSpec(2, 3)),
    )
    return [
        task("vision", vision, arrival=Periodic(1000), deadline_us=1500.0, priority=2),
        task("bg", fork, arrival=Poisson(30_000), cls="proactive"),
    ]


def test_timing_rules_hold_for_every_policy_without_noise() -> None:
    """Every online policy's run, read back as a schedule, passes the checker."""
    tasks = _mixed_tasks()
    arrivals = Workload("w", tasks).arrival_times_us(3, 60_000)
    for name in (
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
    ):
        sim = run(tasks, arrivals, name, horizon=80_000)
        assert sum(sim.recorder.completed) == sum(map(len, arrivals)), name
        assert_valid(sim)


def test_cross_device_delay_and_resume_cost_follow_the_instance_rules() -> None:
    """A move to another device waits the edge's delay and pays its resume cost."""
    tmpl = chain("t", kernel("a", cpu=100), kernel("b", gpu=50), delay=30, resume=7)
    sim = run([task("t", tmpl)], [[0]], "fcfs")
    assert starts(sim)[("t@0", "b")] == (130.0, "gpu/0")
    assert [run.end - run.start for run in sim.executed] == [100.0, 57.0]
    assert_valid(sim)


def test_same_seed_same_run_and_policies_see_the_same_arrivals() -> None:
    """Runs are a function of the seed; the arrival times do not depend on the policy."""
    tasks = _mixed_tasks()
    config = SimConfig(noise_cv=0.2)
    arrivals = Workload("w", tasks).arrival_times_us(5, 50_000)
    again = Workload("w", tasks).arrival_times_us(5, 50_000)
    assert arrivals == again
    first = run(tasks, arrivals, "edf", horizon=50_000, config=config, seed=9)
    second = run(tasks, arrivals, "edf", horizon=50_000, config=config, seed=9)
    assert first.recorder.latency_us == second.recorder.latency_us
    other = run(tasks, arrivals, "fcfs", horizon=50_000, config=config, seed=9)
    assert other.recorder.arrived == first.recorder.arrived


def test_two_simulations_interleaved_equal_each_run_alone() -> None:
    """Advancing two simulators in alternating slices changes neither (no shared state)."""
    tasks = _mixed_tasks()
    arrivals = Workload("w", tasks).arrival_times_us(1, 40_000)
    config = SimConfig(noise_cv=0.3)

    def make(policy: str) -> Simulator:
        return Simulator(
            machine(contention_bw=60.0),
            tasks,
            get_policy(policy),
            arrivals,
            40_000,
            config=config,
            seed=4,
        )

    alone_a, alone_b = make("edf").run(), make("agent-xpu").run()
    inter_a, inter_b = make("edf"), make("agent-xpu")
    for until in range(1000, 40_001, 1000):
        inter_a.run(until)
        inter_b.run(until)
    for alone, inter in ((alone_a, inter_a), (alone_b, inter_b)):
        assert inter.recorder.latency_us == alone.recorder.latency_us
        assert inter.engine.num_events == alone.engine.num_events


def test_conservation_under_tenfold_overload() -> None:
    """At 10x the sustainable rate jobs pile up but none is lost; drops only by admission."""
    heavy = chain("h", kernel("k", cpu=1000, gpu=1000))
    # Two units serve 1 ms jobs: 2000 jobs/s are sustainable; 20000/s arrive.
    tasks = [task("h", heavy, arrival=Periodic(20_000.0), deadline_us=5000.0)]
    arrivals = Workload("w", tasks).arrival_times_us(0, 100_000)
    sim = run(tasks, arrivals, "edf", horizon=100_000)
    rec = sim.recorder
    assert rec.arrived[0] == len(arrivals[0]) and rec.dropped[0] == 0
    assert rec.arrived[0] == rec.completed[0] + len(sim.jobs) and len(sim.jobs) > 0
    capped = run(
        tasks, arrivals, "edf", horizon=100_000, config=SimConfig(max_in_flight=4, contention=False)
    )
    rec = capped.recorder
    assert rec.dropped[0] > 0 and len(capped.jobs) <= 4
    assert rec.arrived[0] == rec.completed[0] + rec.dropped[0] + len(capped.jobs)


def test_conservation_violation_raises() -> None:
    """A lost job is a bug: the end-of-run check raises."""
    sim = run([task("a", chain("a", kernel("k", cpu=10)))], [[0, 5]], "fcfs", horizon=6)
    sim.recorder.completed[0] += 1
    with pytest.raises(ConservationError, match="arrived 2"):
        sim.recorder.check_conservation(sim.jobs.values())


def _decode_table() -> DecodeTable:
    """A step of 1000 us at batch 1 and 1600 us at batch 4 (weights read once per step)."""
    steps = {
        (100, b): (Mode("gpu", "hi", d, 5.0, {"mem_bw_gbps": 40.0}),)
        for b, d in ((1, 1000), (4, 1600))
    }
    return DecodeTable.from_steps("llm", (100,), (1, 4), steps)


def test_llm_request_ttft_time_between_tokens_and_tps() -> None:
    """Prefill 500 us emits token 1; three decode steps of 1000 us emit tokens 2-4."""
    prefill = chain("p", kernel("c0", npu=200), kernel("c1", npu=300))
    llm = llm_task(
        "chat", prefill, _decode_table(), prompt_tokens=99, output_tokens=4, cls="reactive"
    )
    sim = run([llm], [[1000]], "fcfs", horizon=1e5, config=SimConfig(contention=False))
    metrics = sim.recorder
    assert metrics.ttft_us[0] == [500.0]
    assert metrics.tbt_us[0] == [1000.0, 1000.0, 1000.0]
    assert metrics.tps[0] == [pytest.approx(1000.0)]
    assert metrics.tokens[0] == 4 and metrics.latency_us[0] == [3500.0]


def test_decode_batching_shares_one_step_across_requests() -> None:
    """Ready decode steps of one model run as one batched step, costed at the batch size.

    Four requests arrive at 0; prefills (100 us) run two at a time on the NPU and GPU, decode
    only on the GPU. At 100 requests 1-2 start a batch of 2 (1200 us, interpolated between
    1000 at batch 1 and 1600 at 4); at 1300 all four steps are ready: a batch of 4 (1600 us)
    ends requests 1-2 at 2900; requests 3-4 take a batch of 2 to 4100.
    """
    prefill = chain("p", kernel("c", npu=100, gpu=100))
    llm = llm_task("chat", prefill, _decode_table(), prompt_tokens=99, output_tokens=3)
    alone = run([llm], [[0, 0, 0, 0]], "fcfs", horizon=1e6, config=SimConfig(contention=False))
    batched = run(
        [llm],
        [[0, 0, 0, 0]],
        "fcfs",
        horizon=1e6,
        config=SimConfig(contention=False),
        decode_batch=4,
    )
    assert sorted(batched.recorder.latency_us[0]) == [2900.0, 2900.0, 4100.0, 4100.0]
    assert max(alone.recorder.latency_us[0]) > 4100.0


def test_preemption_and_migration_are_counted() -> None:
    """A higher-priority job taking a unit between two kernels of another job is a preemption."""
    low = chain("low", kernel("a", npu=100), kernel("b", npu=100))
    high = chain("high", kernel("x", npu=50))
    sim = run(
        [task("low", low, priority=1), task("high", high, priority=5)],
        [[0], [50]],
        "fixed-priority",
    )
    assert sim.preemptions == 1
    moved = chain("m", kernel("a", npu=100), kernel("b", npu=100, gpu=100))
    blocker = chain("z", kernel("x", npu=500))
    sim = run(
        [task("m", moved, priority=1), task("z", blocker, priority=5)],
        [[0], [50]],
        "fixed-priority",
    )
    assert sim.migrations == 1 and starts(sim)[("m@0", "b")][1] == "gpu/0"


def test_policy_misuse_is_refused() -> None:
    """Starting work twice, or on a busy unit, raises instead of corrupting the state."""

    class Greedy:
        name, uses_plan = "greedy", False

        def bind(self, api: DispatchApi) -> None:
            self.api, self.items = api, []

        def on_arrival(self, job: object) -> None: ...
        def on_end(self, run: object) -> None: ...
        def on_job_done(self, job: object) -> None: ...

        def on_ready(self, item: object) -> None:
            self.items.append(item)

        def decide(self) -> None:
            for item in self.items:
                self.api.start(item, 0)

    with pytest.raises(RuntimeError, match=r"busy|already"):
        run([task("a", chain("a", kernel("k", cpu=10)))], [[0, 0]], Greedy(), config=EXACT)
