"""Results a person can read: objectives in their units, progress lines, pictures of a run."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.conftest import tiny_instance
from xpuplan.models import Job, Objective
from xpuplan.models.presets.scenarios import get_scenario
from xpuplan.models.scenario import Periodic, Scenario, Task
from xpuplan.planner.cli import main
from xpuplan.planner.limits import check_plan_size, kernels_per_arrival
from xpuplan.planner.progress import ProgressLine, accepts_callback
from xpuplan.planner.report import objective_text, objective_units, part_text
from xpuplan.planner.runview import SimWatch


def test_objective_text_in_units():
    """The issue's example: late jobs and energy (W x us -> J), bound and gap."""
    inst = tiny_instance().with_objective(Objective.parse("late_jobs,energy"))
    inst = inst.replace(jobs=(Job("A", 0, 100), Job("B", 5, 50)))  # unit weights
    text = objective_text(inst, (0, 2_581_530.0), (0, 2_570_900.0), 0.0041)
    assert text == "0 late jobs, energy 2.582 J (bound 2.571 J), gap 0.41 %"
    assert objective_units(inst) == ["jobs (weighted)", "W*us"]


@pytest.mark.parametrize(
    ("part", "value", "expected"),
    [
        ("makespan", 12_345, "makespan 12.35 ms"),
        ("makespan", 13, "makespan 13 us"),
        ("makespan", 61_000_000, "makespan 61 s"),
        ("weighted_tardiness", 2_500, "weighted tardiness 2.5 ms"),
        ("energy", 700.0, "energy 700 uJ"),
        ("energy", 2_000_000_000.0, "energy 2,000 J"),
        ("late_jobs", 1, "1 late job"),
        ("late_jobs", 3, "3 late jobs"),
    ],
)
def test_part_text(part, value, expected):
    inst = tiny_instance().replace(jobs=(Job("A", 0, 100), Job("B", 5, 50)))  # unit weights
    assert part_text(inst, part, value) == expected
    # With weights, a count of late jobs is a weighted sum.
    if part == "late_jobs":
        assert part_text(tiny_instance(), part, value) == f"weighted late jobs {value}"


def test_plan_json_keeps_raw_values_and_adds_units(tmp_path, capsys):
    argv = ["plan", "--platform", "ryzen-ai-hx370", "--scenario", "video-call"]
    argv += ["--solver", "heft", "--json", "--no-timings", "-o", str(tmp_path / "p.json")]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["objective_parts"] == ["late_jobs", "energy"]
    assert doc["objective_units"] == ["jobs (weighted)", "W*us"]
    assert isinstance(doc["objective"][1], float) and "seconds" not in doc
    assert doc["objective_text"].startswith("0 late jobs, energy ")
    plan = json.loads((tmp_path / "p.json").read_text())
    assert "solve_seconds" not in plan["schedule"]


def test_progress_line_shows_best_bound_and_gap():
    inst = tiny_instance()
    line = ProgressLine(inst, 20.0, stream=io.StringIO())
    assert "searching" in line.text() and "of 20 s" in line.text()
    line.update(None, 10, 0.5)
    line.update(13, None, 0.7)
    assert "best makespan 13 us (bound 10 us), gap 23.08 %" in line.text()
    line.draw()
    line.erase()
    assert line.stream.getvalue().endswith("\r\x1b[K")
    assert accepts_callback("cpsat") and not accepts_callback("heft")


def test_sim_watch_shows_simulated_time():
    watch = SimWatch(60.0, enabled=True)
    assert watch.text().startswith("simulating: 0.00 s of 60 s simulated")


def test_simulate_draws_the_run(tmp_path, capsys):
    gantt, power = tmp_path / "g.png", tmp_path / "p.svg"
    argv = ["simulate", "--platform", "ryzen-ai-hx370", "--scenario", "video-call"]
    argv += ["--policy", "edf", "--duration", "0.2", "--gantt", str(gantt), "--power", str(power)]
    assert main(argv) == 0
    capsys.readouterr()
    assert gantt.read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in power.read_bytes()[:2000]


def test_size_estimate_names_the_hyperperiod():
    """30 Hz and 29.9997 Hz align only every 3,333 s: the hyperperiod is too long to plan."""
    tasks = (
        Task("a", get_scenario("video-call").tasks[0].models, Periodic(30.0)),
        Task("b", get_scenario("video-call").tasks[0].models, Periodic(29.9997)),
    )
    scenario = Scenario("drift", tasks)
    with pytest.raises(Exception, match="hyperperiod") as info:
        check_plan_size(
            scenario,
            horizon_s=None,
            include_unknown=False,
            max_kernels_per_model=6,
            decode_group=16,
        )
    assert "--horizon" in str(info.value)
    assert kernels_per_arrival(tasks[0], 6, 16) == 6 * len(tasks[0].models)


def test_examples_still_load():
    """The example files stay inside every new bound."""
    root = Path(__file__).resolve().parents[2] / "examples"
    from xpuplan.models.platform import load_platform
    from xpuplan.models.scenario import load_scenario

    load_platform(root / "platforms" / "rk3588.yaml")
    load_scenario(root / "scenarios" / "doorbell.yaml")
