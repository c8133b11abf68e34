"""The simulator's incremental bookkeeping and fast paths agree with plain recomputations."""

from __future__ import annotations

import heapq
import itertools
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.runtime.helpers import assert_valid, machine
from xpuplan.models import Mode
from xpuplan.models.workload import (
    DagStage,
    DecodeTable,
    EdgeSpec,
    JobTemplate,
    KernelSpec,
    TaskSpec,
    llm_task,
    single_task,
)
from xpuplan.runtime.dispatch import DispatchApi
from xpuplan.runtime.jobs import Job, ModeRec, Ready
from xpuplan.runtime.platform_sim import DeviceInfo, MachineSpec
from xpuplan.runtime.policies import QueuePolicy, get_policy
from xpuplan.runtime.policy import BasePolicy
from xpuplan.runtime.simulator import SimConfig, Simulator

# Two CPU units with two levels, one GPU, one NPU.
DEVICES = (
    DeviceInfo("cpu", "cpu", 2, 1.0, ("lo", "hi")),
    DeviceInfo("gpu", "gpu", 1, 0.5, ("hi",)),
    DeviceInfo("npu", "npu", 1, 0.25, ("hi",)),
)
LEVELS = {"cpu": ("lo", "hi"), "gpu": ("hi",), "npu": ("hi",)}
LIST_POLICIES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("fcfs", {}),
    ("fcfs", {"decode_batch": 3}),
    ("fcfs", {"mapping": "fixed"}),
    ("edf", {}),
    ("llf", {}),
    ("fixed-priority", {}),
    ("static-best", {}),
    ("rr-backends", {}),
    ("llm-background", {}),
)


def _template(rng: random.Random, name: str, zero_power: float) -> JobTemplate:
    """A random DAG of 1-6 kernels (forks, so a job often has several ready at once), each
    with modes on 1-3 devices (both CPU levels)."""
    kernels = []
    for k_idx in range(rng.randint(1, 7)):
        modes = []
        for dev in rng.sample(sorted(LEVELS), rng.randint(1, 3)):
            base = rng.randint(5, 60) * 10
            for level in LEVELS[dev]:
                power = 0.0 if rng.random() < zero_power else rng.choice((1.0, 2.5, 4.0))
                slow = 2 if level == "lo" else 1
                bw = rng.choice((0.0, 0.0, 30.0, 70.0))
                modes.append(Mode(dev, level, base * slow, power / slow, {"mem_bw_gbps": bw}))
        kernels.append(KernelSpec(f"k{k_idx}", tuple(modes)))
    edges = [
        EdgeSpec(src, dst, rng.choice((0, 0, 20)), rng.choice((0, 0, 15)))
        for dst in range(1, len(kernels))
        for src in range(dst)
        if rng.random() < 0.35
    ]
    return JobTemplate(name, tuple(kernels), tuple(edges))


def _template_of(task: TaskSpec) -> JobTemplate:
    stage = task.stages[0]
    assert isinstance(stage, DagStage)
    return stage.template


def _decode_table() -> DecodeTable:
    steps = {
        (100, b): (Mode("gpu", "hi", d, 5.0, {"mem_bw_gbps": 40.0}),)
        for b, d in ((1, 400), (4, 700))
    }
    return DecodeTable.from_steps("llm", (100,), (1, 4), steps)


def _workload(
    seed: int, *, llm: bool, zero_power: float = 0.2
) -> tuple[list[TaskSpec], list[list[int]]]:
    """2-4 random DAG tasks (deadlines, priorities), maybe an LLM task; 1-4 arrivals each."""
    rng = random.Random(seed)
    tasks: list[TaskSpec] = []
    for t_idx in range(rng.randint(2, 4)):
        deadline = rng.choice((None, 800.0, 2500.0))
        tasks.append(
            single_task(
                f"t{t_idx}",
                _template(rng, f"t{t_idx}", zero_power),
                deadline_us=deadline,
                priority=rng.randint(1, 3),
            )
        )
    if llm:
        prefill = JobTemplate("p", (KernelSpec("c", (Mode("npu", "hi", 150, 3.0),)),))
        tasks.append(llm_task("chat", prefill, _decode_table(), 99, rng.randint(2, 4)))
    arrivals = [sorted(rng.randint(0, 2000) for _ in range(rng.randint(1, 4))) for _ in tasks]
    return tasks, arrivals


class _HeapReference(BasePolicy):
    """A list policy's rule written plainly: one heap of ``(key, seq, item)`` per device set,
    every hook called unconditionally (the reference the bucketed queues must match)."""

    def __init__(self, policy: QueuePolicy) -> None:
        self.policy = policy

    def bind(self, api: DispatchApi) -> None:
        super().bind(api)
        self.policy.bind(api)
        self.heaps: dict[int, list[tuple[Any, int, Ready]]] = {}

    def on_arrival(self, job: Any) -> None:
        self.policy.on_arrival(job)

    def on_job_done(self, job: Any) -> None:
        self.policy.on_job_done(job)

    def on_ready(self, item: Ready) -> None:
        policy = self.policy
        policy.on_ready(item)  # for the policy's own side effects (its queues go unused)
        mask = item.dev_mask & policy.allowed_mask(item) or item.dev_mask
        heapq.heappush(self.heaps.setdefault(mask, []), (policy.key(item), item.seq, item))

    def decide(self) -> None:
        policy, api, machine = self.policy, self.api, self.api.machine
        held: set[int] = set()
        while machine.idle_mask:
            idle = machine.idle_mask
            best: tuple[tuple[Any, int, Ready], int] | None = None
            for mask, heap in self.heaps.items():
                if not mask & idle or mask in held:
                    continue
                while heap and heap[0][2].taken:
                    heapq.heappop(heap)
                if heap and (best is None or heap[0] < best[0]):
                    best = (heap[0], mask)
            if best is None:
                return
            (_, _, item), mask = best
            choice = None if policy.blocked(item) else policy.place(item, mask & idle)
            if choice is None:
                held.add(mask)
                continue
            heapq.heappop(self.heaps[mask])
            batch = policy.batch_for(item) if item.is_decode else ()
            api.start(item, choice[0], choice[1], batch=batch)
            policy.on_dispatch(item)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(LIST_POLICIES), st.booleans(), st.booleans())
def test_list_policies_decide_as_a_plain_heap_per_device_set(
    seed: int, policy: tuple[str, dict[str, Any]], llm: bool, exact: bool
) -> None:
    """The bucketed ready queues (one heap entry per distinct key, a FIFO behind it) and the
    skipped no-op hooks make exactly the decisions of plain heaps of (key, seq, item)."""
    tasks, arrivals = _workload(seed, llm=llm)
    name, options = policy
    if exact:
        spec = machine(devices=DEVICES)
        config = SimConfig(dvfs_transition_us=0.0, contention=False, record=True)
    else:
        spec = machine(contention_bw=80.0, devices=DEVICES)
        config = SimConfig(noise_cv=0.15, dvfs_transition_us=30.0, record=True)
    plain_policy = get_policy(name, **options)
    assert isinstance(plain_policy, QueuePolicy)
    policies: list[Any] = [get_policy(name, **options), _HeapReference(plain_policy)]
    fast, plain = (
        Simulator(spec, tasks, pol, arrivals, 50_000.0, config=config, seed=seed).run()
        for pol in policies
    )
    assert fast.executed == plain.executed
    assert (fast.preemptions, fast.migrations) == (plain.preemptions, plain.migrations)
    if exact and not llm:
        assert_valid(fast)


def _recomputed_power(sim: Simulator, tasks: list[TaskSpec]) -> tuple[float, float, float, float]:
    """(energy J, peak W, time over budget us, longest stretch over budget us) from the executed
    runs alone: P(t) is the idle power plus the power of every kernel running at t, integrated
    piece by piece."""
    horizon = sim.horizon_us
    power_of: dict[tuple[str, str, str, str], float] = {}
    for task in tasks:
        for kernel_spec in _template_of(task).kernels:
            for mode in kernel_spec.modes:
                power_of[(task.name, kernel_spec.name, mode.device, mode.level)] = mode.power_w
    intervals = []
    for job, ker, _, dev, level, start, end, _ in sim.executed:
        device = sim.spec.devices[dev]
        power = power_of[(job.split("@")[0], ker, device.name, device.levels[level])]
        intervals.append((start, end, power))
    for run in sim.machine.running:
        intervals.append((run.start, horizon, run.power))
    cuts = sorted({0.0, horizon, *(t for s, e, _ in intervals for t in (s, e))})
    idle = sim.spec.idle_power_w
    budget = sim.spec.power_budget_w
    energy, peak, over, stretch, longest = 0.0, idle, 0.0, 0.0, 0.0
    for lo, hi in itertools.pairwise(cuts):
        power = idle + sum(p for s, e, p in intervals if s <= lo and hi <= e)
        energy += power * (hi - lo) * 1e-6
        peak = max(peak, power)
        if budget is not None and power > budget + 1e-9:
            over += hi - lo
            stretch += hi - lo
            longest = max(longest, stretch)
        else:
            stretch = 0.0
    return energy, peak, over, longest


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 10_000),
    st.sampled_from(("fcfs", "edf", "online-eft", "dynamic-eft", "round-robin")),
    st.sampled_from((0.0, 0.3, 1.0)),
    st.booleans(),
)
def test_incremental_energy_peak_and_time_over_budget_equal_a_recomputation(
    seed: int, policy: str, zero_power: float, contention: bool
) -> None:
    """Power is integrated only where it changes (a kernel drawing no power changes nothing);
    energy, peak power and time over budget equal a from-scratch recomputation over the runs,
    whatever the share of zero-power kernels, with contention stretching runs or not; and so
    does the longest stretch over budget."""
    tasks, arrivals = _workload(seed, llm=False, zero_power=zero_power)
    spec = MachineSpec("m", DEVICES, 7.0, 100.0, 60.0 if contention else None)
    horizon = random.Random(seed).choice((1500.0, 60_000.0))
    config = SimConfig(noise_cv=0.2, record=True, governor=False)
    sim = Simulator(spec, tasks, get_policy(policy), arrivals, horizon, config=config, seed=seed)
    sim.run()
    energy, peak, over, longest = _recomputed_power(sim, tasks)
    assert sim.machine.energy_j == pytest.approx(energy, rel=1e-9, abs=1e-12)
    assert sim.machine.peak_power_w == pytest.approx(peak, rel=1e-12)
    assert sim.machine.over_budget_us == pytest.approx(over, rel=1e-9, abs=1e-6)
    assert sim.machine.longest_over_budget_us == pytest.approx(longest, rel=1e-9, abs=1e-6)


def _best_idle_by_rule(
    sim: Simulator, item: Ready, mask: int, skip: int
) -> tuple[int, ModeRec] | None:
    """The fastest mode within its device's level cap whose device is in ``mask`` and has an
    idle unit outside ``skip``; the lowest such unit."""
    machine = sim.machine
    for rec in sorted(item.modes):
        dev = rec.dev
        if not mask >> dev & 1 or rec.level > machine.cap[dev]:
            continue
        units = [u for u in machine.idle[dev] if not skip >> u & 1]
        if units:
            return min(units), rec
    return None


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 10_000),
    st.lists(st.booleans(), min_size=4, max_size=4),
    st.integers(0, 1),
    st.integers(0, 7),
    st.integers(0, 15),
)
def test_best_idle_fast_path_agrees_with_the_general_rule(
    seed: int, busy: list[bool], cpu_cap: int, mask: int, skip: int
) -> None:
    """Without a level cap or excluded unit ``best_idle`` takes the first allowed mode on an
    idle device; with either it searches fully. Both give what the rule says."""
    tasks, _ = _workload(seed, llm=False)
    sim = Simulator(machine(devices=DEVICES), tasks, get_policy("fcfs"), [[] for _ in tasks], 1.0)
    plat = sim.machine
    for unit, taken in enumerate(busy):
        if taken:
            plat.idle[plat.unit_dev[unit]].remove(unit)
    plat.idle_mask = sum(1 << d for d, units in enumerate(plat.idle) if units)
    plat.cap[0] = cpu_cap
    plat.throttled = cpu_cap < len(DEVICES[0].levels) - 1
    bound = sim.bind_template(_template_of(tasks[0]))
    job = Job(0, "j", 0, tasks[0], tasks[0].stages, 0.0, None, None)
    for k in range(bound.num_kernels):
        item = Ready(job, k, 0.0, k, bound.modes[k], bound.dev_mask[k])
        api = sim.api
        assert api.best_idle(item, mask, skip) == _best_idle_by_rule(sim, item, mask, skip)
        assert api.best_idle(item, mask) == _best_idle_by_rule(sim, item, mask, 0)


class _Item:
    """What a bucket reads of a ready item: its readiness order and whether it is taken."""

    def __init__(self, seq: int) -> None:
        self.seq, self.taken = seq, False


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=12), st.integers(0, 12))
def test_bucket_unpop_restores_the_order_a_decision_looked_past(keys: list[int], num: int) -> None:
    """Popping heads and putting them back (last first) leaves the bucket's order unchanged."""
    from xpuplan.runtime.policies.base import _Bucket

    def drain(bucket: _Bucket) -> list[Any]:
        out = []
        while (head := bucket.head()) is not None:
            out.append(head)
            bucket.pop_head()
        return out

    def filled() -> tuple[_Bucket, list[_Item]]:
        bucket, items = _Bucket(1, 1), [_Item(seq) for seq in range(len(keys))]
        for key, item in zip(keys, items, strict=True):
            bucket.push(key, item)  # type: ignore[arg-type]
        return bucket, items

    reference, ref_items = filled()
    expected = [ref_items.index(it) for it in drain(reference)]
    bucket, items = filled()
    passed = []
    for _ in range(min(num, len(keys))):
        key = bucket.heap[0][0]
        passed.append((key, bucket.head()))
        bucket.pop_head()
    for key, item in reversed(passed):
        bucket.unpop(key, item)  # type: ignore[arg-type]
    assert [items.index(it) for it in drain(bucket)] == expected


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 40))
def test_bound_template_equals_a_plain_recomputation(seed: int, num_kernels: int) -> None:
    """Binding's single pass (masks, per-device totals) gives what the plain definitions give.

    Kernels have modes on 1-3 of the devices at one or two levels, so some devices miss kernels
    (their total is None) and some kernels are fastest on another level than the first listed.
    """
    from xpuplan.runtime.jobs import BoundTemplate

    rng = random.Random(seed)
    kernels = []
    for k_idx in range(num_kernels):
        modes = []
        for dev in rng.sample(sorted(LEVELS), rng.randint(1, 3)):
            for level in rng.sample(LEVELS[dev], rng.randint(1, len(LEVELS[dev]))):
                duration = rng.randint(1, 50) * rng.choice((1, 7, 1000))
                bw = rng.choice((0.0, 30.0))
                modes.append(Mode(dev, level, duration, rng.random(), {"mem_bw_gbps": bw}))
        kernels.append(KernelSpec(f"k{k_idx}", tuple(modes)))
    edges = [
        EdgeSpec(src, dst, rng.choice((0, 20)), rng.choice((0, 15)))
        for dst in range(1, num_kernels)
        for src in range(dst)
        if rng.random() < 0.2
    ]
    template = JobTemplate("t", tuple(kernels), tuple(edges))
    spec = machine()
    bound = BoundTemplate(template, spec)

    dev_of = {dev.name: d_idx for d_idx, dev in enumerate(spec.devices)}
    expected_modes = [
        tuple(
            sorted(
                ModeRec(
                    float(m.duration),
                    dev_of[m.device],
                    spec.devices[dev_of[m.device]].levels.index(m.level),
                    m.power_w,
                    m.demands.get("mem_bw_gbps", 0.0),
                    m_idx,
                )
                for m_idx, m in enumerate(ker.modes)
            )
        )
        for ker in kernels
    ]
    assert bound.modes == expected_modes
    assert bound.dev_mask == [sum({1 << rec.dev for rec in recs}) for recs in expected_modes]
    assert bound.min_dur == [min(rec.duration_us for rec in recs) for recs in expected_modes]
    totals = []
    for d_idx in range(len(spec.devices)):
        fastest = [
            min((r.duration_us for r in recs if r.dev == d_idx), default=None)
            for recs in expected_modes
        ]
        totals.append(None if None in fastest else sum(fastest))  # type: ignore[arg-type]
    assert bound.dev_total == tuple(totals)
    assert bound.full_mask == sum(1 << d for d, total in enumerate(totals) if total is not None)
    assert bound.num_preds == [sum(e.dst == k for e in edges) for k in range(num_kernels)]
    assert bound.succs == [tuple(e.dst for e in edges if e.src == k) for k in range(num_kernels)]
    assert bound.in_edges == [
        tuple(
            (e.src, float(e.cross_device_delay), float(e.resume_cost)) for e in edges if e.dst == k
        )
        for k in range(num_kernels)
    ]
    assert bound.resume_edges == [
        tuple((e.src, float(e.resume_cost)) for e in edges if e.dst == k and e.resume_cost)
        for k in range(num_kernels)
    ]
