"""Scenarios: the built-ins, arrivals, YAML loading and its errors."""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xpuplan.models import InvalidInput
from xpuplan.models.presets.scenarios import get_scenario, resolve_scenario, scenario_names
from xpuplan.models.scenario import (
    Listed,
    ModelRef,
    Periodic,
    Poisson,
    Scenario,
    Task,
    arrival_times_us,
    load_scenario,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"


def test_builtins_exist_and_validate():
    """The four scenarios of the three seed systems are built in."""
    assert scenario_names() == ["video-call", "gaming", "agent-assistant", "compound-ai"]
    for name in scenario_names():
        assert get_scenario(name).name == name


def test_hyperperiods_are_exact():
    """30 FPS, 50 Hz and 1 Hz align every second; 60 FPS and 30 FPS every 1/30 s."""
    assert get_scenario("video-call").hyperperiod_s == Fraction(1)
    assert get_scenario("gaming").hyperperiod_s == Fraction(1, 30)
    assert get_scenario("agent-assistant").hyperperiod_s is None


def test_periodic_arrivals_do_not_drift():
    """30 FPS over 1 s gives 30 frames at round(k * 1e6 / 30) us."""
    task = Task("t", (ModelRef("resnet-50"),), Periodic(30.0))
    times = arrival_times_us(task, 1_000_000, random.Random(0))
    assert len(times) == 30
    assert times[:4] == [0, 33333, 66667, 100000]
    assert times[-1] == 966667


def test_default_deadline_is_one_period():
    """A periodic task's deadline defaults to its period."""
    task = Task("t", (ModelRef("resnet-50"),), Periodic(50.0))
    assert task.relative_deadline_ms == pytest.approx(20.0)


@given(st.integers(0, 1000), st.floats(0.5, 60.0))
@settings(max_examples=40, deadline=None)
def test_poisson_arrivals_are_seeded_and_inside_horizon(seed, rate):
    """Same seed, same arrivals; all times inside the horizon and increasing."""
    task = Task("t", (ModelRef("bert-base"),), Poisson(rate), cls="reactive")
    first = arrival_times_us(task, 120_000_000, random.Random(seed))
    second = arrival_times_us(task, 120_000_000, random.Random(seed))
    assert first == second
    assert all(0 <= t < 120_000_000 for t in first)
    assert first == sorted(first)


def test_poisson_rate_is_respected_on_average():
    """Over 10 simulated hours, 6 requests/min gives about 3,600 arrivals."""
    task = Task("t", (ModelRef("bert-base"),), Poisson(6.0), cls="reactive")
    count = len(arrival_times_us(task, 36_000 * 1_000_000, random.Random(1)))
    assert 3_400 < count < 3_800


def test_listed_arrivals_cut_at_horizon():
    """Listed times are replayed as given, up to the horizon."""
    task = Task("t", (ModelRef("bert-base"),), Listed((0.0, 5.5, 2000.0)), cls="reactive")
    assert arrival_times_us(task, 1_000_000, random.Random(0)) == [0, 5500]


def test_reactive_tasks_are_unknown_by_default():
    """Reactive arrivals are left to the runtime unless marked known."""
    scenario = get_scenario("video-call")
    assert not scenario.task("meeting-assistant").known
    assert scenario.task("background-seg").known


def test_example_yaml_loads():
    """The example user scenario loads through the same validation."""
    scenario = resolve_scenario(str(EXAMPLES / "doorbell.yaml"))
    assert scenario.name == "doorbell"
    assert scenario.task("describe").models[0] == ModelRef("llama-3.2-1b", {"weight_bits": 4})


BAD_YAML = [
    (
        "zero rate",
        "name: s\ntasks:\n- {name: a, model: m, arrival: {type: periodic, rate_hz: 0}}\n",
        "tasks[0].arrival.rate_hz: must be a number between 0.001 and 100000 (got 0)",
    ),
    (
        "unknown class",
        "name: s\ntasks:\n- {name: a, model: m, class: urgent,"
        " arrival: {type: poisson, rate_per_min: 1}}\n",
        "tasks[0].class: must be one of periodic, reactive, proactive (got 'urgent')",
    ),
    (
        "unknown arrival",
        "name: s\ntasks:\n- {name: a, model: m, arrival: {type: burst}}\n",
        "tasks[0].arrival.type: must be periodic, poisson or listed (got 'burst')",
    ),
    (
        "negative deadline",
        "name: s\ntasks:\n- {name: a, model: m, deadline_ms: -3,"
        " arrival: {type: periodic, fps: 30}}\n",
        "tasks[0].deadline_ms: must be a finite number > 0 (got -3)",
    ),
    ("unknown field", "name: s\nflavour: x\ntasks: []\n", "flavour: is not a known field"),
    (
        "duplicate task",
        "name: s\ntasks:\n- {name: a, model: m, arrival: {type: periodic, fps: 1}}\n"
        "- {name: a, model: m, arrival: {type: periodic, fps: 1}}\n",
        "tasks[1].name: repeats a task name (got 'a')",
    ),
    (
        "bad objective",
        "name: s\nobjective: fastest\ntasks:\n"
        "- {name: a, model: m, arrival: {type: periodic, fps: 1}}\n",
        "objective.type: must be one of",
    ),
    ("malformed", "name: s\ntasks: [\n", "malformed YAML at line"),
]


@pytest.mark.parametrize(("label", "text", "expected"), BAD_YAML, ids=[b[0] for b in BAD_YAML])
def test_bad_scenario_yaml(tmp_path, label, text, expected):
    """Each bad scenario file gives one line naming the file, the field and the value."""
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput) as err:
        load_scenario(path)
    assert str(err.value).startswith(f"{path}: {expected}"), str(err.value)


def test_unknown_builtin_lists_known():
    """An unknown scenario name lists the built-ins."""
    with pytest.raises(InvalidInput, match="known: video-call, gaming"):
        resolve_scenario("no-such-scenario")


def test_scenario_needs_tasks():
    """A scenario without tasks is refused."""
    with pytest.raises(InvalidInput, match="tasks: must list at least one task"):
        Scenario("empty", ())


@pytest.mark.parametrize("spelling", ["listed", "trace"])
def test_listed_arrivals_keep_their_old_spelling(tmp_path, spelling):
    """``type: trace`` (the name before ``listed``) still loads, as the same arrivals."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\ntasks:\n- {name: a, model: resnet18,"
        f" arrival: {{type: {spelling}, times_ms: [0, 5, 12]}}}}\n"
    )
    (task,) = load_scenario(path).tasks
    assert task.arrival == Listed((0, 5, 12))
