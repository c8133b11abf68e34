"""A simulated run as the Gantt chart's data: every executed kernel and decode step, with power."""

from __future__ import annotations

import pytest

from xpuplan.models.presets import get_platform
from xpuplan.models.presets.scenarios import get_scenario
from xpuplan.planner.runview import run_as_schedule
from xpuplan.runtime.api import simulate
from xpuplan.runtime.simulator import SimConfig, Simulator


def test_power_panel_counts_decode_steps() -> None:
    """With LLM answers (decode steps, batched or not), every bar has its power, and the drawn
    power integrates to the run's own energy: nothing is left out of the panel."""
    platform = get_platform("ryzen-ai-hx370")
    scenario = get_scenario("agent-assistant")
    sims: list[Simulator] = []
    config = SimConfig(noise_cv=0.0, contention=False, governor=False, record=True)
    result = simulate(
        platform, scenario, "fcfs", duration_s=30.0, seed=0, config=config, prepare=sims.append
    )
    (sim,) = sims
    instance, schedule = run_as_schedule(sim, "test")
    decode = [a for a in schedule.assignments if "/decode#" in a.kernel]
    assert decode, "the scenario should decode tokens within 30 s"
    power = {k.name: k.modes[0].power_w for k in instance.kernels}
    assert all(power[a.kernel] > 0 for a in decode)
    dynamic_j = sum(power[a.kernel] * (a.end - a.start) for a in schedule.assignments) * 1e-6
    idle_j = sum(d.idle_power_w * d.units for d in sim.spec.devices) * sim.now * 1e-6
    # Bars are rounded to whole microseconds; the run's energy is exact.
    assert dynamic_j + idle_j == pytest.approx(result.energy_j, rel=1e-3)
