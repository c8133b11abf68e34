"""``--csv FILE`` on the commands that print tables: list and simulate (compare has its own)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from xpuplan.planner.cli import main
from xpuplan.runtime.metrics import TASK_COLUMNS


@pytest.mark.parametrize("what", ["platforms", "scenarios", "models", "policies", "solvers"])
def test_list_csv_has_the_json_rows(tmp_path, capsys, what):
    """`list X --csv F` writes one row per listed item, the same rows as --json."""
    path = tmp_path / f"{what}.csv"
    assert main(["list", what, "--json", "--csv", str(path)]) == 0
    rows = json.loads(capsys.readouterr().out)
    frame = pd.read_csv(path)
    assert list(frame["name"]) == [row["name"] for row in rows]
    assert set(frame.columns) == {key for row in rows for key in row}
    if what == "scenarios":  # nested cells are JSON text
        assert json.loads(frame.loc[0, "tasks"]) == rows[0]["tasks"]


def test_simulate_csv_is_the_task_table(tmp_path, capsys):
    """`simulate --csv F` writes SimResult.to_frame(): one row per task, same counts as --json."""
    path = tmp_path / "tasks.csv"
    argv = ["simulate", "--platform", "jetson-orin-nx-16gb", "--scenario", "gaming"]
    argv += ["--policy", "edf", "--duration", "1", "--json", "--csv", str(path)]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    frame = pd.read_csv(path)
    assert list(frame.columns) == list(TASK_COLUMNS)
    assert list(frame["task"]) == list(doc["tasks"])
    assert list(frame["arrived"]) == [t["arrived"] for t in doc["tasks"].values()]


def test_csv_into_a_missing_folder_is_one_line_and_exit_2(tmp_path, capsys):
    """A CSV path in a folder that does not exist fails before any work, with one line."""
    bad = str(tmp_path / "nope" / "t.csv")
    argv = ["simulate", "--platform", "jetson-orin-nx-16gb", "--scenario", "gaming"]
    assert main([*argv, "--policy", "edf", "--csv", bad]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--csv" in err and "does not exist" in err
    assert main(["list", "solvers", "--csv", bad]) == 2
