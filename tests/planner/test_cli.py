"""The command line contract: list, instance, plan, verify, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from xpuplan import models
from xpuplan.models import load_instance, save_schedule
from xpuplan.models.plan import load_plan
from xpuplan.planner.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version_and_help():
    """--version and --help work from the installed console script."""
    version = subprocess.run(["xpuplan", "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"xpuplan {models.__version__}"
    helped = subprocess.run(["xpuplan", "--help"], capture_output=True, text=True, check=True)
    for command in ("plan", "instance", "solve", "verify", "convert", "simulate", "list"):
        assert command in helped.stdout


@pytest.mark.parametrize("what", ["platforms", "scenarios", "models", "policies", "solvers"])
def test_list_json(capsys, what):
    """`list X --json` prints an array of objects with at least a name."""
    code, out, _ = run(capsys, "list", what, "--json")
    rows = json.loads(out)
    assert code == 0 and rows and all(isinstance(r["name"], str) for r in rows)


def test_list_contents(capsys):
    """The built-ins the issues name are listed."""
    assert {r["name"] for r in json.loads(run(capsys, "list", "platforms", "--json")[1])} == {
        "jetson-orin-nx-16gb",
        "core-ultra-125h",
        "ryzen-ai-hx370",
    }
    solvers = {r["name"] for r in json.loads(run(capsys, "list", "solvers", "--json")[1])}
    assert {"cpsat", "milp", "milp-ti", "brute-force", "heft"} <= solvers


def test_instance_then_plan_then_verify(capsys, tmp_path):
    """instance writes a valid file; plan writes a self-contained plan that verifies."""
    inst_path, plan_path = tmp_path / "i.json", tmp_path / "p.json"
    code, out, _ = run(
        capsys,
        "instance",
        "--platform",
        "core-ultra-125h",
        "--scenario",
        "gaming",
        "-o",
        str(inst_path),
    )
    assert code == 0 and "3 jobs" in out
    assert load_instance(inst_path).name == "gaming@core-ultra-125h[28W]"
    code, out, _ = run(
        capsys,
        "plan",
        "--platform",
        "core-ultra-125h",
        "--scenario",
        "gaming",
        "--time-limit",
        "10",
        "-o",
        str(plan_path),
        "--gantt",
        str(tmp_path / "g.png"),
        "--trace",
        str(tmp_path / "t.json"),
        "--json",
    )
    summary = json.loads(out)
    assert code == 0 and summary["status"] in ("optimal", "feasible")
    plan = load_plan(plan_path)
    assert (plan.platform, plan.power_mode, plan.scenario) == ("core-ultra-125h", "28W", "gaming")
    assert plan.period_us == 33333  # the hyperperiod of 60 FPS and 30 FPS
    assert {plan.task_of(j.name) for j in plan.instance.jobs} == {
        "super-resolution",
        "hand-tracking",
    }
    assert set(plan.settings["dvfs_levels"]) == {"cpu", "igpu", "npu"}
    assert (tmp_path / "g.png").stat().st_size > 0
    assert json.loads((tmp_path / "t.json").read_text())["traceEvents"]
    code, out, _ = run(capsys, "verify", str(plan_path))
    assert code == 0 and out.startswith("valid")


def test_verify_lists_every_violation(capsys, tmp_path):
    """A tampered schedule: exit 1 and each violation on its own line."""
    plan_path = tmp_path / "p.json"
    assert (
        run(
            capsys,
            "plan",
            "--platform",
            "ryzen-ai-hx370",
            "--scenario",
            "gaming",
            "--time-limit",
            "5",
            "-o",
            str(plan_path),
        )[0]
        == 0
    )
    plan = load_plan(plan_path)
    first, second, *rest = plan.schedule.assignments
    broken = plan.schedule.replace(
        assignments=(
            replace(first, unit=7),
            replace(second, start=second.start - 1_000_000),
            *rest,
        )
    )
    models.save_instance(tmp_path / "i.json", plan.instance)
    save_schedule(tmp_path / "s.json", broken)
    code, out, _ = run(capsys, "verify", str(tmp_path / "i.json"), str(tmp_path / "s.json"))
    assert code == 1
    assert "[unit]" in out and "[release]" in out and "[duration]" in out


BAD = [
    (
        ("instance", "--platform", "pentium", "--scenario", "gaming", "-o", "{tmp}/i.json"),
        "platform: is neither a built-in platform",
    ),
    (
        ("instance", "--platform", "ryzen-ai-hx370", "--scenario", "nope", "-o", "{tmp}/i.json"),
        "scenario: is not a built-in scenario",
    ),
    (
        (
            "instance",
            "--platform",
            "ryzen-ai-hx370",
            "--scenario",
            "gaming",
            "--power-mode",
            "99W",
            "-o",
            "{tmp}/i.json",
        ),
        "power_mode: platform 'ryzen-ai-hx370' has no such power mode",
    ),
    (
        (
            "instance",
            "--platform",
            "ryzen-ai-hx370",
            "--scenario",
            "gaming",
            "--horizon",
            "-1",
            "-o",
            "{tmp}/i.json",
        ),
        "argument --horizon: must be a number of seconds",
    ),
    (
        (
            "instance",
            "--platform",
            "ryzen-ai-hx370",
            "--scenario",
            "gaming",
            "--power-cap",
            "1",
            "-o",
            "{tmp}/i.json",
        ),
        "power_cap_w: is below the idle power",
    ),
    (
        (
            "instance",
            "--platform",
            "ryzen-ai-hx370",
            "--scenario",
            "gaming",
            "-o",
            "{tmp}/no/dir/i.json",
        ),
        "cannot be written: the folder",
    ),
    (("verify", "{tmp}/missing.json", "{tmp}/s.json"), "missing.json: no such file"),
    (
        (
            "plan",
            "--platform",
            "ryzen-ai-hx370",
            "--scenario",
            "gaming",
            "--solver",
            "magic",
            "-o",
            "{tmp}/p.json",
        ),
        "solver: is not a known solver",
    ),
    (
        (
            "instance",
            "--platform",
            "ryzen-ai-hx370",
            "--scenario",
            "gaming",
            "--levels",
            "lots",
            "-o",
            "{tmp}/i.json",
        ),
        "--levels: must be all, top or a positive count",
    ),
]


@pytest.mark.parametrize(
    ("argv", "expected"), BAD, ids=[" ".join(b[0][:2]) + f"-{i}" for i, b in enumerate(BAD)]
)
def test_bad_input_one_line_exit_2(capsys, tmp_path, argv, expected):
    """Bad input: exit 2, one line naming the field, no traceback, no file written."""
    before = set(tmp_path.rglob("*"))
    code, _, err = run(capsys, *(a.format(tmp=tmp_path) for a in argv))
    assert code == 2
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert set(tmp_path.rglob("*")) == before


def test_schedule_for_another_instance(capsys, tmp_path):
    """verify with a schedule of another instance: exit 2 naming the schedule file."""
    for scenario, name in (("gaming", "a"), ("video-call", "b")):
        run(
            capsys,
            "instance",
            "--platform",
            "ryzen-ai-hx370",
            "--scenario",
            scenario,
            "-o",
            str(tmp_path / f"{name}.json"),
        )
    plan_path = tmp_path / "p.json"
    run(
        capsys,
        "plan",
        "--platform",
        "ryzen-ai-hx370",
        "--scenario",
        "gaming",
        "--time-limit",
        "5",
        "-o",
        str(plan_path),
    )
    save_schedule(tmp_path / "s.json", load_plan(plan_path).schedule)
    code, _, err = run(capsys, "verify", str(tmp_path / "b.json"), str(tmp_path / "s.json"))
    assert code == 2 and "s.json: instance: the schedule is for another instance" in err


def test_argparse_errors_are_one_line():
    """A missing required option is one line, exit 2."""
    proc = subprocess.run(
        [sys.executable, "-m", "xpuplan", "instance"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "required" in proc.stderr


def test_a_reader_that_stops_early_gets_no_traceback():
    """``xpuplan list models --json | head -c 0``: a closed pipe ends the command quietly.

    The pipe's read end is closed before the command starts, so its first write fails for sure.
    """
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "xpuplan", "list", "models", "--json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 141
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr


@pytest.mark.parametrize(
    "platform", ["examples/platforms/rk3588.yaml", "jetson-orin-nx-16gb", "ryzen-ai-hx370"]
)
def test_the_example_scenario_builds_as_the_readme_says(tmp_path, capsys, platform):
    """`--scenario examples/scenarios/doorbell.yaml` on the example platform and on presets."""
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "doorbell.json"
    code, _, err = run(
        capsys,
        "instance",
        "--platform",
        str(root / platform) if platform.endswith(".yaml") else platform,
        "--scenario",
        str(root / "examples" / "scenarios" / "doorbell.yaml"),
        "-o",
        str(out),
    )
    assert (code, err) == (0, "")
    inst = load_instance(out)
    # The periodic detector is planned (one frame per hyperperiod); the reactive LLM is unknown.
    assert inst.num_kernels > 0 and [j.name for j in inst.jobs] == ["person-detect@0"]
