"""Plan files: the typed contract (period, platform, power mode, scenario, each job's task) and
the check of their settings against their schedule when they are read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xpuplan.models import InvalidInput, check_schedule
from xpuplan.models.plan import Plan, load_plan, plan_to_json, save_plan
from xpuplan.models.presets import get_platform
from xpuplan.models.presets.scenarios import get_scenario
from xpuplan.planner.cli import main
from xpuplan.planner.planning import make_plan
from xpuplan.planner.unroll import PlanningOptions


@pytest.fixture(scope="module")
def gaming_plan() -> Plan:
    made = make_plan(
        get_platform("ryzen-ai-hx370"), get_scenario("gaming"), PlanningOptions(), solver="heft"
    )
    assert check_schedule(made.plan.instance, made.plan.schedule) == []
    return made.plan


def test_make_plan_fills_the_typed_fields(gaming_plan: Plan) -> None:
    """Platform, mode, scenario, period and every job's task come from what was planned."""
    plan = gaming_plan
    assert (plan.platform, plan.power_mode, plan.scenario) == ("ryzen-ai-hx370", "28W", "gaming")
    assert plan.period_us == 33333
    assert dict(plan.job_tasks) == {
        "super-resolution@0": "super-resolution",
        "super-resolution@1": "super-resolution",
        "hand-tracking@0": "hand-tracking",
    }
    assert plan.tasks == ["super-resolution", "hand-tracking"]
    assert "horizon_us" not in plan.settings and plan.settings["solver"] == "heft"


def test_round_trip_keeps_every_field(gaming_plan: Plan, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    save_plan(path, gaming_plan)
    again = load_plan(path)
    assert again == gaming_plan
    assert json.loads(path.read_text())["period_us"] == 33333


def test_a_job_without_a_task_is_its_own_task(gaming_plan: Plan) -> None:
    plan = Plan(gaming_plan.instance, gaming_plan.schedule)
    assert plan.task_of("super-resolution@1") == "super-resolution@1"
    with pytest.raises(InvalidInput, match="job_tasks"):
        Plan(gaming_plan.instance, gaming_plan.schedule, job_tasks={"nope@0": "x"})


def test_legacy_plan_files_read_their_context_from_settings(
    gaming_plan: Plan, tmp_path: Path
) -> None:
    """Plans written before the typed fields: the context in settings, tasks from job names."""
    doc = plan_to_json(gaming_plan)
    for key in ("platform", "power_mode", "scenario", "period_us", "job_tasks"):
        del doc[key]
    doc["settings"].update(platform="ryzen-ai-hx370", scenario="gaming", horizon_us=33333)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    plan = load_plan(path)
    assert (plan.platform, plan.scenario, plan.period_us) == ("ryzen-ai-hx370", "gaming", 33333)
    assert dict(plan.job_tasks) == dict(gaming_plan.job_tasks)


def _edited(plan: Plan, tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    doc = plan_to_json(plan)
    edit(doc)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc))
    return path


def _overlap(doc: dict) -> None:
    """Move the second kernel of the busiest unit's dispatch table onto the first."""
    unit, table = max(doc["settings"]["dispatch"].items(), key=lambda kv: len(kv[1]))
    assert len(table) >= 2, unit
    table[1]["start"] = table[0]["start"]


EDITS = [
    (_overlap, "settings.dispatch."),
    (lambda d: d["settings"].update(dispatch="gpu/0"), "settings.dispatch: must be a JSON object"),
    (lambda d: d["settings"].update(power_cap_w="28"), "settings.power_cap_w: must be a number"),
    (lambda d: d["settings"].update(dvfs="per-device"), "settings.dvfs: disagrees"),
    (
        lambda d: d["settings"]["dvfs_levels"].update(npu=["9999MHz"]),
        "settings.dvfs_levels.npu[0]: disagrees",
    ),
    (lambda d: d["settings"].update(preemption_points=[["a", "b"]]), "preemption_points"),
    (lambda d: d.update(period_us=-5), "period_us: must be an integer"),
    (lambda d: d.update(period_us="33333"), "period_us: must be an integer"),
    (lambda d: d.update(job_tasks=["x"]), "job_tasks: must map job names"),
    (lambda d: d.update(scenario=3), "scenario: must be a string"),
    (lambda d: d.update(settings=[]), "settings: must be a JSON object"),
]


@pytest.mark.parametrize(("edit", "message"), EDITS)
def test_settings_that_disagree_with_the_schedule_are_refused(
    gaming_plan: Plan,
    tmp_path: Path,
    edit,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    """Each edit is InvalidInput naming the file and the field."""
    path = _edited(gaming_plan, tmp_path, edit)
    with pytest.raises(InvalidInput) as info:
        load_plan(path)
    text = str(info.value)
    assert str(path) in text and message in text


@pytest.mark.parametrize("command", ["verify", "simulate"])
def test_cli_refuses_an_overlapping_dispatch_table_with_exit_2(
    gaming_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """verify and simulate --plan: exit 2, one line naming the file and the field."""
    path = _edited(gaming_plan, tmp_path, _overlap)
    args = [command, str(path)]
    if command == "simulate":
        args = [
            "simulate",
            "--platform",
            "ryzen-ai-hx370",
            "--scenario",
            "gaming",
            "--policy",
            "time-triggered",
            "--plan",
            str(path),
            "--duration",
            "0.1",
        ]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and "settings.dispatch." in err[0]
