"""``xpuplan solve``: writes a schedule whatever the status, one-line summary, clear errors."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from tests.conftest import tiny_instance
from xpuplan.models import (
    Instance,
    Job,
    Schedule,
    check_schedule,
    load_instance,
    load_schedule,
    save_instance,
)
from xpuplan.planner.cli import main
from xpuplan.solvers import registry


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def tiny_file(tmp_path: Path, **changes: object) -> Path:
    path = tmp_path / "tiny.json"
    save_instance(path, tiny_instance(**changes))
    return path


def test_solve_writes_a_valid_schedule(tmp_path, capsys):
    """The optimum of tiny (13) is written, verified, and summarised on one line."""
    instance = tiny_file(tmp_path)
    out_path = tmp_path / "s.json"
    code, out, _ = run(capsys, "solve", str(instance), "--time-limit", "10", "-o", str(out_path))
    assert code == 0
    assert out.count("\n") == 1
    assert out.startswith("optimal:  makespan 13 us  gap 0.00 %")
    schedule = load_schedule(out_path)
    assert schedule.status == "optimal" and schedule.solver == "cpsat"
    assert check_schedule(load_instance(instance), schedule) == []


def test_solve_json_summary_and_objective_override(tmp_path, capsys):
    """--objective late_jobs,energy gives a pair objective and bound in one JSON document."""
    instance = tiny_file(tmp_path)
    code, out, _ = run(
        capsys,
        "solve",
        str(instance),
        "--objective",
        "late_jobs,energy",
        "--workers",
        "1",
        "--seed",
        "3",
        "--json",
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["status"] == "optimal"
    assert doc["objective"] == doc["lower_bound"] == [0, 62.75]
    assert doc["gap"] == 0.0 and doc["output"] is None


def test_infeasible_is_written_with_its_explanation(tmp_path, capsys):
    """B due at 6 cannot be met (release 5 + 8): infeasible, exit 0, the reason in the file."""
    instance = tiny_file(tmp_path, jobs=(Job("A", 0, 100), Job("B", 5, 6, 2.0)))
    out_path = tmp_path / "s.json"
    code, out, _ = run(capsys, "solve", str(instance), "-o", str(out_path))
    assert code == 0
    assert out.startswith("infeasible")
    schedule = load_schedule(out_path)
    assert schedule.status == "infeasible" and schedule.assignments == ()
    assert "'B'" in schedule.message and "'A'" not in schedule.message


def test_unknown_solver_lists_the_known_ones(tmp_path, capsys):
    """An unknown solver is bad input: exit 2 and the registered names."""
    code, _, err = run(capsys, "solve", str(tiny_file(tmp_path)), "--solver", "magic")
    assert code == 2
    assert "magic" in err and "cpsat" in err and err.count("\n") == 1


def test_bad_objective_and_time_limit(tmp_path, capsys):
    """A misspelt objective or a non-positive time limit: one line, exit 2."""
    instance = str(tiny_file(tmp_path))
    code, _, err = run(capsys, "solve", instance, "--objective", "speed")
    assert code == 2 and "objective" in err
    code, _, err = run(capsys, "solve", instance, "--time-limit", "0")
    assert code == 2 and "--time-limit" in err


def test_invalid_schedule_is_never_written(tmp_path, capsys, monkeypatch):
    """A solver bug (here a real schedule shifted to overlap) is an internal error: one line on
    stderr, exit code 3, nothing written."""
    cpsat = registry.solver_info("cpsat")

    def shifted(instance: Instance, **kwargs: object) -> Schedule:
        schedule = cpsat.fn(instance, **kwargs)  # type: ignore[arg-type]
        first = schedule.assignments[0]
        broken = replace(first, start=first.start - 1, end=first.end - 1)
        return schedule.replace(assignments=(broken, *schedule.assignments[1:]))

    monkeypatch.setitem(registry._SOLVERS, "cpsat", replace(cpsat, fn=shifted))
    out_path = tmp_path / "s.json"
    code, out, err = run(capsys, "solve", str(tiny_file(tmp_path)), "-o", str(out_path))
    assert code == 3 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "internal error" in err and "release" in err
    assert not out_path.exists()
