"""Online policies on a clairvoyant Instance: checked, scored, and never better than the optimum."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xpuplan.models import InvalidInput, check_schedule, evaluate
from xpuplan.models.generate import Features, random_small_instance
from xpuplan.models.objectives import value_leq, values_close
from xpuplan.models.presets import get_platform
from xpuplan.models.presets.scenarios import resolve_scenario
from xpuplan.planner.compare import compare
from xpuplan.planner.online import online_policy_names, run_on_instance
from xpuplan.planner.unroll import PlanningOptions, build_instance
from xpuplan.solvers import solve

ROOT = Path(__file__).resolve().parents[2]
# Rules online policies can keep (no edges between jobs, which they never see).
ONLINE = Features(cross_job_edges=0.0, releases=0.9, power_cap=0.5, deadlines=0.3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_no_policy_beats_the_brute_force_optimum(seed: int) -> None:
    """On random small instances every valid policy schedule is >= the proven optimum."""
    instance = random_small_instance(seed, max_kernels=5, max_devices=2, features=ONLINE)
    optimum = solve(instance, "brute-force")
    for name in online_policy_names():
        run = run_on_instance(instance, name)
        # The recorded verdict is the checker's, and a complete run is scored by the objective.
        assert list(run.violations) == check_schedule(instance, run.schedule)
        if run.schedule.objective is not None:
            assert values_close(run.schedule.objective, evaluate(instance, run.schedule))
        if not run.valid or run.schedule.objective is None:
            continue
        assert optimum.status == "optimal", "a valid policy schedule proves the instance feasible"
        assert value_leq(optimum.objective, run.schedule.objective)


@pytest.mark.parametrize(
    ("platform", "scenario", "horizon", "seed"),
    [
        ("jetson-orin-nx-16gb", "compound-ai", 0.3, 0),
        ("ryzen-ai-hx370", "gaming", 0.017, 0),
        ("jetson-orin-nx-16gb", str(ROOT / "examples" / "scenarios" / "doorbell.yaml"), 0.2, 0),
    ],
)
def test_no_policy_beats_the_cpsat_optimum(
    platform: str, scenario: str, horizon: float, seed: int
) -> None:
    """On small clairvoyant scenario instances CP-SAT proves the optimum; no policy is below it."""
    instance = build_instance(
        get_platform(platform),
        resolve_scenario(scenario),
        PlanningOptions(horizon_s=horizon, seed=seed, include_unknown=True),
    )
    frame = compare(instance, ["cpsat"], time_limit=20, workers=1, policies=online_policy_names())
    exact = frame[frame["solver"] == "cpsat"].iloc[0]
    assert exact["status"] == "optimal" and exact["valid"]
    policies = frame[frame["kind"] == "policy"]
    assert len(policies) == len(online_policy_names())
    for _, row in policies.iterrows():
        if row["valid"]:
            assert value_leq(exact["objective"], row["objective"])
            assert row["gap"] >= 0 and row["rank"] >= 1
        else:
            assert pd.isna(row["gap"]) and pd.isna(row["rank"])
            assert "breaks the Instance's rules" in row["message"]
    # twill keeps the power cap by itself, without freezing (said in its row).
    twill = policies[policies["solver"] == "twill"].iloc[0]
    assert twill["valid"] and "freezing off" in twill["message"]


def test_plan_executors_are_refused() -> None:
    """Only online policies run on an instance's jobs."""
    instance = random_small_instance(1, features=ONLINE)
    with pytest.raises(InvalidInput, match="online policy"):
        run_on_instance(instance, "time-triggered")


def test_compare_command_ranks_policies(capsys: pytest.CaptureFixture) -> None:
    """compare --policies: one JSON ranking of solvers and policies on the clairvoyant instance."""
    from xpuplan.planner.cli import main

    argv = ["compare", "--platform", "jetson-orin-nx-16gb", "--scenario", "compound-ai"]
    argv += ["--horizon", "0.3", "--solvers", "heft", "cpsat", "--time-limit", "10"]
    assert main([*argv, "--policies", "edf", "twill", "--json"]) == 0
    rows = {row["solver"]: row for row in json.loads(capsys.readouterr().out)["rows"]}
    assert {rows[name]["kind"] for name in ("edf", "twill")} == {"policy"}
    assert rows["cpsat"]["status"] == "optimal" and rows["cpsat"]["rank"] == 1
    assert all(row["rank"] is None or row["rank"] >= 1 for row in rows.values())
    assert main([*argv, "--policies", "nope"]) == 2
    assert "--policies" in capsys.readouterr().err
