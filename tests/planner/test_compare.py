"""planner.compare and `xpuplan compare`: every solver next to the best known bound."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.solvers.test_heuristics import paper_instance
from xpuplan.models import Device, Instance, InvalidInput, Job, Kernel, Mode, save_instance
from xpuplan.models.generate import layered_dag_instance
from xpuplan.planner.cli import main
from xpuplan.planner.compare import COLUMNS, compare, gap_to
from xpuplan.solvers import solver_names
from xpuplan.solvers.bounds import lower_bound

needs_cpsat = pytest.mark.skipif("cpsat" not in solver_names(), reason="CP-SAT not registered")


def test_gap_to_is_lexicographic():
    """The gap is taken at the first part where objective and bound differ."""
    assert gap_to(80, 80) == 0.0
    assert gap_to(100, 80) == pytest.approx(0.2)
    assert gap_to((0, 50.0), (0, 40.0)) == pytest.approx(0.2)
    assert gap_to((2, 50.0), (1, 60.0)) == pytest.approx(0.5)
    assert gap_to(None, 3) is None


def test_compare_heuristics_on_the_heft_paper_example():
    """HEFT 80 and CPOP 86 against the instance's bound; every schedule checked."""
    inst = paper_instance()
    frame = compare(inst, ["heft", "cpop"])
    assert list(frame.columns) == list(COLUMNS)
    assert list(frame["objective"]) == [80, 86]
    assert frame["valid"].all()
    bound = lower_bound(inst, lp=True)
    assert set(frame["best_bound"]) == {bound}
    assert frame["gap"].tolist() == pytest.approx([(80 - bound) / 80, (86 - bound) / 86])


@needs_cpsat
def test_compare_uses_the_best_bound_of_any_solver():
    """CP-SAT proves the optimum of the paper example; every gap is measured against it."""
    inst = paper_instance()
    frame = compare(inst, ["heft", "cpsat"], time_limit=20, workers=2)
    cpsat = frame[frame["solver"] == "cpsat"].iloc[0]
    assert cpsat["status"] == "optimal" and cpsat["gap"] == 0.0
    optimum = cpsat["objective"]
    assert set(frame["best_bound"]) == {optimum}
    heft = frame[frame["solver"] == "heft"].iloc[0]
    assert heft["gap"] == pytest.approx((80 - optimum) / 80)
    assert optimum <= 80


def test_compare_bounds_see_unrelated_devices():
    """Three kernels of 2 on ``a`` or 10 on ``b``: the cheap bound is 3, the assignment LP's 5,
    and HEFT's 6 (all on ``a``) is measured against 5."""
    inst = Instance(
        "skewed",
        devices=(Device("a"), Device("b")),
        jobs=(Job("j"),),
        kernels=tuple(
            Kernel(f"k{i}", "j", (Mode("a", "-", 2), Mode("b", "-", 10))) for i in range(3)
        ),
        time_unit="unit",
    )
    frame = compare(inst, ["heft"])
    assert lower_bound(inst) == 3
    assert frame["valid"].all()
    assert frame["objective"].tolist() == [6]
    assert frame["best_bound"].tolist() == [5]
    assert frame["gap"].tolist() == pytest.approx([1 / 6])


def test_compare_reports_a_heuristic_without_schedule():
    """A heuristic that misses a hard deadline shows status unknown and no gap."""
    inst = paper_instance()
    inst = inst.replace(jobs=(Job("dag", 0, 60),))
    frame = compare(inst, ["heft", "met"])
    assert list(frame["status"]) == ["unknown", "unknown"]
    assert frame["gap"].isna().all() and frame["objective"].isna().all()


def test_compare_rejects_unknown_and_empty_solver_lists():
    """Unknown names fail before anything runs; an empty list is bad input."""
    with pytest.raises(InvalidInput, match="nope"):
        compare(paper_instance(), ["heft", "nope"])
    with pytest.raises(InvalidInput, match="at least one"):
        compare(paper_instance(), [])


def test_cli_compare_instance_file_json_csv_and_plot(tmp_path, capsys):
    """`xpuplan compare FILE --json` prints one document; --csv and --plot write files."""
    path = tmp_path / "inst.json"
    save_instance(path, layered_dag_instance(1, 30))
    code = main([
        "compare", str(path), "--solvers", "heft", "peft", "edf", "--json",
        "--plot", str(tmp_path / "gaps.png"),
    ])  # fmt: skip
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert code == 0
    assert [row["solver"] for row in doc["rows"]] == ["heft", "peft", "edf"]
    assert all(row["valid"] and row["gap"] >= 0 for row in doc["rows"])
    assert (tmp_path / "gaps.png").stat().st_size > 0
    code = main(["compare", str(path), "--solvers", "heft", "--csv", str(tmp_path / "t.csv")])
    table = capsys.readouterr().out
    assert code == 0 and "heft" in table and "feasible" in table
    assert pd.read_csv(tmp_path / "t.csv")["solver"].tolist() == ["heft"]


def test_cli_compare_platform_and_scenario(capsys):
    """A built-in scenario on a built-in platform, with an objective override."""
    code = main([
        "compare", "--platform", "ryzen-ai-hx370", "--scenario", "gaming",
        "--solvers", "heft", "heft+dvfs", "--objective", "energy",
    ])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "gaming@ryzen-ai-hx370" in out and "objective energy" in out and "heft+dvfs" in out


def test_cli_compare_bad_input_is_one_line(tmp_path, capsys):
    """No instance and no platform, or both at once: exit 2 with one line."""
    assert main(["compare"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--platform" in err
    path = tmp_path / "inst.json"
    save_instance(path, paper_instance())
    assert main(["compare", str(path), "--platform", "ryzen-ai-hx370"]) == 2
    assert "not both" in capsys.readouterr().err
