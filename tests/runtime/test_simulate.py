"""The entry points on built-in platforms and scenarios, and ``xpuplan simulate``."""

from __future__ import annotations

import json

import pytest

from xpuplan.models.presets import get_platform
from xpuplan.models.presets.scenarios import get_scenario, scenario_names
from xpuplan.models.workload import CompileOptions, Workload, compile_workload
from xpuplan.planner.cli import main
from xpuplan.runtime import policy_names, simulate
from xpuplan.runtime.policies import policy_uses_plan

JSON_KEYS = {
    "policy",
    "platform",
    "scenario",
    "duration_s",
    "tasks",
    "reactive",
    "proactive",
    "energy_j",
    "avg_power_w",
    "peak_power_w",
    "time_over_budget_s",
    "conservation",
}
TASK_KEYS = {"class", "arrived", "completed", "deadline_violation_rate", "latency_ms"}
ONLINE = [p for p in policy_names() if not policy_uses_plan(p)]
# Small builds keep the test fast: fewer kernels per model, fewer decode batch sizes.
FAST = CompileOptions(max_kernels_per_model=4, kernels_per_chunk=1, levels=2, decode_batches=(1, 8))


@pytest.fixture(scope="module")
def compound() -> tuple[object, object, Workload]:
    platform = get_platform("jetson-orin-nx-16gb")
    scenario = get_scenario("compound-ai")
    return platform, scenario, compile_workload(platform, scenario, FAST)


@pytest.mark.parametrize("policy", ONLINE)
def test_every_online_policy_runs_and_conserves_jobs(policy: str, compound: tuple) -> None:
    """Each online policy completes a short compound-ai run (seed 5 draws chat requests within
    15 s); the JSON has the contract's keys."""
    platform, scenario, workload = compound
    doc = simulate(
        platform, scenario, policy, duration_s=15.0, seed=5, workload=workload, noise_cv=0.1
    ).to_json()
    assert set(doc) >= JSON_KEYS
    for task in doc["tasks"].values():
        assert set(task) >= TASK_KEYS
    cons = doc["conservation"]
    assert cons["arrived"] == cons["completed"] + cons["dropped"] + cons["in_flight"] > 0
    assert doc["proactive"] is None and doc["reactive"]["completed"] > 0
    assert doc["tasks"]["chat"]["tokens"] > 0


def test_same_seed_same_arrivals_for_every_policy(compound: tuple) -> None:
    """The trace depends on the seed only: every policy sees the same arrivals per task."""
    platform, scenario, workload = compound
    arrived = {
        policy: {
            name: t["arrived"]
            for name, t in simulate(
                platform, scenario, policy, duration_s=5.0, seed=3, workload=workload
            )
            .to_json()["tasks"]
            .items()
        }
        for policy in ("fcfs", "twill", "agent-xpu")
    }
    assert len({json.dumps(a, sort_keys=True) for a in arrived.values()}) == 1


def test_simulate_refuses_a_plan_for_an_online_policy(compound: tuple) -> None:
    """Giving a plan to a policy that does not execute plans is an input error."""
    from tests.conftest import tiny_instance, tiny_schedule
    from xpuplan.models.plan import Plan

    platform, scenario, workload = compound
    plan = Plan(tiny_instance(), tiny_schedule(), {})
    with pytest.raises(Exception, match="does not execute a plan"):
        simulate(platform, scenario, "edf", plan=plan, workload=workload)


def test_cli_prints_the_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    """``xpuplan simulate --json`` prints one document with the contract's keys."""
    code = main(
        [
            "simulate",
            "--platform",
            "jetson-orin-nx-16gb",
            "--scenario",
            "compound-ai",
            "--policy",
            "fcfs",
            "--option",
            "mapping=fixed",
            "--duration",
            "2",
            "--json",
        ]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= JSON_KEYS and doc["policy"] == "fcfs"


def test_cli_hybrid_plans_the_known_tasks_itself(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --plan, hybrid plans the scenario's known tasks with a heuristic first."""
    code = main(
        [
            "simulate",
            "--platform",
            "jetson-orin-nx-16gb",
            "--scenario",
            "compound-ai",
            "--policy",
            "hybrid",
            "--duration",
            "2",
            "--json",
        ]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    cons = doc["conservation"]
    assert cons["arrived"] == cons["completed"] + cons["in_flight"] > 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--policy", "nope"], "not a known policy"),
        (["--policy", "edf", "--duration", "0"], "--duration: must be a number of seconds between"),
        (["--policy", "edf", "--option", "colour=red"], "not an option"),
        (["--policy", "edf", "--option", "novalue"], "KEY=VALUE"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input prints one line naming the field and value, exit code 2, no traceback."""
    code = main(
        ["simulate", "--platform", "jetson-orin-nx-16gb", "--scenario", "compound-ai", *argv]
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err and err.count("\n") == 1


@pytest.mark.parametrize("scenario", scenario_names())
def test_every_builtin_scenario_runs_on_every_platform(scenario: str) -> None:
    """A short edf run of each built-in scenario on each preset conserves its jobs."""
    for platform_name in ("jetson-orin-nx-16gb", "core-ultra-125h", "ryzen-ai-hx370"):
        platform = get_platform(platform_name)
        workload = compile_workload(platform, get_scenario(scenario), FAST)
        result = simulate(platform, scenario, "edf", duration_s=1.0, workload=workload)
        cons = result.conservation
        assert cons["arrived"] == cons["completed"] + cons["dropped"] + cons["in_flight"]


def test_cli_text_report_has_a_dash_for_tasks_with_nothing_done(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two seconds of video-call: the LLM tasks complete nothing, so their latency is a dash."""
    argv = ["--platform", "ryzen-ai-hx370", "--scenario", "video-call", "--policy", "edf"]
    code = main(["simulate", *argv, "--duration", "2"])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    idle = [line for line in lines if line.split()[:1] == ["meeting-assistant"]]
    busy = [line for line in lines if line.split()[:1] == ["background-seg"]]
    assert len(idle) == 1 and "nan" not in idle[0] and "p50         -" in idle[0]
    assert len(busy) == 1 and " ms" in busy[0]
