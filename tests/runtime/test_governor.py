"""The power governor's guarantee: after every sample the running kernels fit the budget.

The governor is reactive (like a firmware power limit): a kernel that starts over the budget is
seen at the next sample, where the caps drop -- as many levels as needed -- and the running
kernels move to their capped levels at once. So power is within the budget after every sample,
unless the kernels over it already run at their devices' lowest levels (which the workloads below
rule out by construction); between samples, newly started work can exceed it, and a run reports
that (peak, time and longest stretch over budget).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.runtime.helpers import chain, run, task
from xpuplan.models import Mode
from xpuplan.models.workload import JobTemplate, KernelSpec, TaskSpec
from xpuplan.runtime.platform_sim import DeviceInfo, MachineSpec
from xpuplan.runtime.policies import get_policy
from xpuplan.runtime.simulator import SimConfig, Simulator

DEVICES = (
    DeviceInfo("cpu", "cpu", 2, 0.2, ("lo", "mid", "hi")),
    DeviceInfo("gpu", "gpu", 1, 0.1, ("lo", "hi")),
)
LEVELS = {"cpu": ("lo", "mid", "hi"), "gpu": ("lo", "hi")}
# Power at each level below the top, as a share of the top level's (and the slow-down).
SHARE = {"lo": 0.125, "mid": 0.5, "hi": 1.0}
SLOW = {"lo": 3, "mid": 2, "hi": 1}
TOP_POWER = (2.0, 4.0, 8.0)
# Idle 0.5 W plus every unit at its lowest level (at most 8 x 0.125 = 1 W each): 3.5 W.
BUDGET = 4.0


def _kernel(rng: random.Random, name: str) -> KernelSpec:
    modes = []
    for dev in rng.sample(sorted(LEVELS), rng.randint(1, 2)):
        base, top = rng.randint(5, 80) * 10, rng.choice(TOP_POWER)
        for level in LEVELS[dev]:
            modes.append(Mode(dev, level, base * SLOW[level], top * SHARE[level]))
    return KernelSpec(name, tuple(modes))


def _workload(seed: int) -> tuple[list[TaskSpec], list[list[int]]]:
    rng = random.Random(seed)
    tasks = []
    for t_idx in range(rng.randint(2, 4)):
        kernels = [_kernel(rng, f"k{k}") for k in range(rng.randint(1, 5))]
        tasks.append(task(f"t{t_idx}", chain(f"t{t_idx}", *kernels)))
    arrivals = [sorted(rng.randint(0, 20_000) for _ in range(rng.randint(1, 6))) for _ in tasks]
    return tasks, arrivals


class _Watched(Simulator):
    """A simulator that notes the power right after each governor sample has acted."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.after_samples: list[float] = []

    def _govern(self) -> bool:
        changed = super()._govern()
        self.after_samples.append(self.machine.power_w)
        return changed


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 10_000),
    st.sampled_from(("fcfs", "edf", "agent-xpu", "dynamic-eft", "round-robin", "online-eft")),
    st.sampled_from((100.0, 1000.0, 5000.0)),
    st.sampled_from((0.0, 0.2)),
    st.sampled_from((0.0, 50.0)),
)
def test_after_every_governor_sample_the_running_kernels_fit_the_budget(
    seed: int, policy: str, period: float, noise: float, transition: float
) -> None:
    """With every unit's lowest level fitting the budget, power is within the budget right
    after each sample, whatever the policy, noise or DVFS switching time; and the run measures
    its excursions (the longest is at most the time over budget)."""
    tasks, arrivals = _workload(seed)
    spec = MachineSpec("m", DEVICES, power_budget_w=BUDGET)
    config = SimConfig(
        noise_cv=noise,
        dvfs_transition_us=transition,
        contention=False,
        governor_period_us=period,
    )
    sim = _Watched(spec, tasks, get_policy(policy), arrivals, 200_000.0, config=config, seed=seed)
    sim.run()
    assert all(power <= BUDGET + 1e-9 for power in sim.after_samples)
    machine = sim.machine
    assert machine.longest_over_budget_us <= machine.over_budget_us + 1e-9
    assert (machine.over_budget_us > 0) == (machine.peak_power_w > BUDGET + 1e-9)


def test_the_governor_ends_an_excursion_in_one_sample_where_one_level_per_sample_did_not() -> None:
    """Two 8 W CPU kernels (16.5 W with idle power, budget 4 W) start together: at the first
    sample (1 ms) the CPU's cap drops two levels at once (one level, 8.5 W, would not fit), so
    the excursion lasts exactly one period; without the governor it lasts the kernels' 20 ms."""
    hot = KernelSpec(
        "k",
        tuple(
            Mode("cpu", level, 20_000 * SLOW[level], 8.0 * SHARE[level]) for level in LEVELS["cpu"]
        ),
    )
    tasks = [task("a", JobTemplate("a", (hot,))), task("b", JobTemplate("b", (hot,)))]
    spec = MachineSpec("m", DEVICES, power_budget_w=BUDGET)
    base = dict(dvfs_transition_us=0.0, contention=False, record=True, governor_period_us=1000.0)
    governed = run(tasks, [[0], [0]], "fcfs", spec=spec, config=SimConfig(**base))
    free = run(tasks, [[0], [0]], "fcfs", spec=spec, config=SimConfig(governor=False, **base))
    assert governed.machine.longest_over_budget_us == pytest.approx(1000.0)
    assert governed.machine.peak_power_w == pytest.approx(16.5)
    assert free.machine.longest_over_budget_us == pytest.approx(20_000.0)
    levels = {spec.devices[e.dev].levels[e.level] for e in governed.executed}
    assert levels == {"lo"}
