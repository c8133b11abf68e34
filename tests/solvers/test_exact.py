"""What every exact backend shares: hints, the time budget, seeds and times they can hold, the
checker after every solve (InternalError), the size check of the time-indexed MILP, Ctrl-C."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tiny_instance
from xpuplan.models import (
    Instance,
    InternalError,
    InvalidInput,
    Kernel,
    Mode,
    Schedule,
    Unsupported,
    XpuplanError,
    check_schedule,
    evaluate,
    instance_to_json,
    save_instance,
)
from xpuplan.models.generate import layered_dag_instance, random_small_instance
from xpuplan.models.objectives import value_leq
from xpuplan.planner.cli import main
from xpuplan.solvers import Result, registry, solve
from xpuplan.solvers.exact import Deadline, OutOfTime, checked_hint, claims_removed
from xpuplan.solvers.milp.data import count_time_indexed_starts
from xpuplan.solvers.milp.time_indexed import TimeIndexedModel
from xpuplan.solvers.registry import MAX_SEED, SolverInfo

ROOT = Path(__file__).resolve().parents[2]
EXACT = ["cpsat", "milp", "milp-ti"]


def uncapped(instance: Instance) -> Instance:
    """The instance without power cap and resource demands (the disjunctive MILP refuses them)."""
    kernels = tuple(
        Kernel(
            k.name, k.job, tuple(Mode(m.device, m.level, m.duration, m.power_w) for m in k.modes)
        )
        for k in instance.kernels
    )
    return instance.replace(kernels=kernels, resources=(), power_cap_w=None)


def instance_for(solver: str) -> Instance:
    inst = tiny_instance()
    return uncapped(inst) if solver == "milp" else inst


def solved(instance: Instance, solver: str, **options: object) -> Result:
    """Solve with one worker; every schedule goes through the checker."""
    res = solve(instance, solver, workers=1, **options)
    if res.schedule.is_solution:
        assert check_schedule(instance, res.schedule) == []
    return res


# ---------------------------------------------------------------------- hints: one behaviour
@pytest.mark.parametrize("solver", EXACT)
def test_an_invalid_hint_is_bad_input_for_every_backend(solver):
    """A hint whose placements the checker rejects fails the same way on every backend."""
    inst = instance_for(solver)
    good = solved(inst, solver).schedule
    shifted = tuple(
        dataclasses.replace(a, start=a.start + 1, end=a.end + 1) for a in good.assignments
    )
    overlap = tuple(dataclasses.replace(a, start=0, end=a.end - a.start) for a in good.assignments)
    tried = 0
    for bad in (good.replace(assignments=shifted), good.replace(assignments=overlap)):
        if not check_schedule(inst, claims_removed(bad)):
            continue  # its placements are still valid: not a bad hint
        tried += 1
        with pytest.raises(InvalidInput, match="hint") as err:
            solve(inst, solver, hint=bad)
        assert err.value.field == "hint"
    assert tried


@pytest.mark.parametrize("solver", EXACT)
def test_a_hint_without_assignments_is_ignored_by_every_backend(solver):
    """An infeasible or unknown schedule as hint is no hint: the same result as without one."""
    inst = instance_for(solver)
    plain = solved(inst, solver, warm_start=False)
    for status in ("infeasible", "unknown"):
        empty = Schedule(inst.name, solver="x", status=status)
        res = solved(inst, solver, hint=empty, warm_start=False)
        assert res.status == plain.status == "optimal"
        assert res.objective == plain.objective


@pytest.mark.parametrize("solver", EXACT)
def test_a_valid_hint_whose_claims_are_wrong_is_used(solver):
    """Only a hint's placements are checked: a wrong claimed objective does not refuse it, and the
    result is never worse than the hint."""
    inst = instance_for(solver)
    hint = solved(inst, "heft").schedule.replace(objective=1, lower_bound=1)
    assert checked_hint(inst, hint) is hint
    res = solved(inst, solver, hint=hint, warm_start=False)
    assert value_leq(res.objective, evaluate(inst, hint))


# ---------------------------------------------------------------------- the time budget
def test_deadline():
    assert Deadline(None).remaining() is None and not Deadline(None).expired()
    spent = Deadline(0.0)
    assert spent.expired()
    with pytest.raises(OutOfTime):
        spent.check()


@pytest.mark.parametrize("solver", EXACT)
def test_model_building_holds_the_time_limit(solver, monkeypatch):
    """When the limit is spent while the model is built, the start schedule comes back, unproven
    unless the cheap bounds prove it, and valid."""
    inst = layered_dag_instance(3, 12, max_cost=10)
    hint = solved(inst, "heft").schedule
    monkeypatch.setattr(Deadline, "check", _always_out_of_time)
    res = solved(inst, solver, hint=hint, time_limit=30)
    assert res.schedule.assignments == hint.assignments
    assert res.status == "feasible"
    assert res.schedule.message == "the time limit ran out while building the model"
    cold = solved(inst, solver, warm_start=False, time_limit=30)
    assert cold.status == "unknown" and not cold.schedule.is_solution
    assert cold.lower_bound is not None


def _always_out_of_time(self: Deadline) -> None:
    raise OutOfTime


# ---------------------------------------------------------------------- the result
def test_the_result_holds_the_schedule_and_the_time_only():
    """Status, objective and bound are read from the schedule, never stored twice."""
    assert [f.name for f in dataclasses.fields(Result)] == ["schedule", "runtime"]
    inst = tiny_instance()
    res = solved(inst, "cpsat")
    sched = res.schedule
    assert (res.status, res.objective, res.lower_bound) == (
        sched.status,
        sched.objective,
        sched.lower_bound,
    )
    assert res.objective == evaluate(inst, sched) and res.gap == 0.0
    assert sched.solve_seconds == round(res.runtime, 6)


# ---------------------------------------------------------------------- seeds and times
@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, 2**40, 1.5, True])
@pytest.mark.parametrize("solver", ["cpsat", "milp-ti", "heft", "brute-force"])
def test_seeds_solvers_cannot_hold_are_bad_input(solver, seed):
    with pytest.raises(InvalidInput, match="seed"):
        solve(tiny_instance(), solver, seed=seed)


def test_the_largest_seed_is_accepted():
    res = solved(tiny_instance(), "cpsat", seed=MAX_SEED)
    assert res.status == "optimal"


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 0, -1])
def test_time_limits_must_be_finite_and_positive(value):
    with pytest.raises(InvalidInput, match="time_limit"):
        solve(tiny_instance(), "cpsat", time_limit=value)


def huge_instance(duration: int) -> Instance:
    inst = tiny_instance()
    first = inst.kernels[0]
    modes = tuple(dataclasses.replace(m, duration=duration) for m in first.modes)
    return inst.replace(kernels=(dataclasses.replace(first, modes=modes), *inst.kernels[1:]))


@pytest.mark.parametrize("solver", ["cpsat", "milp-ti", "milp", "heft", "cpop", "brute-force"])
def test_times_no_solver_can_hold_are_refused(solver):
    """A schedule reaching 2^40 us (here: one duration of 2^40, the largest an instance holds,
    plus the others) is refused by every solver."""
    inst = huge_instance(2**40)
    with pytest.raises(Unsupported, match="2\\^40"):
        solve(inst if solver != "milp" else uncapped(inst), solver)


def test_durations_of_2_63_are_refused_by_the_instance():
    """Durations of 2^63 (IndexError in the heuristics' timeline and in cpsat/milp-ti once) are
    bad input before any solver sees them: an instance holds times up to 2^40."""
    with pytest.raises(InvalidInput, match="duration"):
        huge_instance(2**63)


def without_deadlines(inst: Instance) -> Instance:
    return inst.replace(jobs=tuple(dataclasses.replace(j, deadline=None) for j in inst.jobs))


def test_times_just_below_the_limit_are_solved():
    inst = without_deadlines(huge_instance(2**38))
    assert solved(inst, "heft").status == "feasible"
    assert solved(inst, "cpsat", time_limit=10).schedule.is_solution


# ---------------------------------------------------------------------- InternalError
def _broken(instance: Instance, **_: object) -> Schedule:
    """A 'solver' whose schedule puts every kernel at time 0 on its first mode: overlaps."""
    first = [(k.name, k.modes[0]) for k in instance.kernels]
    from xpuplan.models import Assignment

    return Schedule(
        instance.name,
        tuple(Assignment(name, m.device, 0, m.level, 0, m.duration) for name, m in first),
        solver="broken",
        status="feasible",
    )


@pytest.fixture
def broken_solver(monkeypatch):
    info = SolverInfo("broken", "heuristic", "a deliberately wrong solver", _broken)
    monkeypatch.setitem(registry._SOLVERS, "broken", info)
    return "broken"


def test_a_schedule_the_checker_rejects_is_an_internal_error(broken_solver):
    inst = tiny_instance()
    assert check_schedule(inst, _broken(inst))  # the fake really is wrong
    with pytest.raises(InternalError, match=r"broken.*breaks the instance's rules") as err:
        solve(inst, broken_solver)
    assert not isinstance(err.value, XpuplanError | InvalidInput)


def test_every_command_reports_an_internal_error_the_same_way(broken_solver, tmp_path, capsys):
    """One line on stderr, exit code 3, nothing written, nothing blamed on the input."""
    path = tmp_path / "tiny.json"
    save_instance(path, tiny_instance())
    out = tmp_path / "out.json"
    runs = [
        ["solve", str(path), "--solver", broken_solver, "-o", str(out)],
        [
            "plan",
            "--platform",
            "core-ultra-125h",
            "--scenario",
            "gaming",
            "--solver",
            broken_solver,
            "-o",
            str(out),
        ],
    ]
    for argv in runs:
        assert main(argv) == 3
        captured = capsys.readouterr()
        assert captured.out == ""
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and "internal error" in lines[0] and "bug" in lines[0]
        assert not out.exists()


# ---------------------------------------------------------------------- milp-ti size
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), slack=st.integers(0, 30))
def test_the_time_indexed_size_is_counted_exactly(seed, slack):
    """The count the refusal uses equals the number of start variables the model builds."""
    inst = random_small_instance(seed, max_kernels=4)
    from xpuplan.solvers.bounds import makespan_lower_bound

    horizon = makespan_lower_bound(inst) + slack
    count, nonzeros = count_time_indexed_starts(inst, horizon)
    model = TimeIndexedModel(inst, horizon=horizon)
    assert count == len(model.starts)
    assert nonzeros == sum(s.duration for s in model.starts)


def test_the_time_indexed_refusal_comes_before_any_work(monkeypatch):
    """A model too large for the shortest horizon is refused before the warm start runs."""
    import xpuplan.solvers.milp.solve as milp_solve

    def no_warm_start(*args: object, **kwargs: object) -> None:
        raise AssertionError("the warm start ran before the size check")

    monkeypatch.setattr(milp_solve, "start_schedule", no_warm_start)
    inst = without_deadlines(huge_instance(10**6))
    with pytest.raises(Unsupported, match="start variables"):
        solve(inst, "milp-ti", time_limit=5)


# ---------------------------------------------------------------------- Ctrl-C
INTERRUPTED = textwrap.dedent(
    """
    import sys
    from xpuplan.models.generate import layered_dag_instance
    from xpuplan.solvers import solve

    inst = layered_dag_instance(7, 300)
    seen = []

    def progress(objective, bound, seconds):
        if not seen:
            print("solving", flush=True)
        seen.append(objective)

    try:
        res = solve(inst, "cpsat", time_limit=120, workers=2, callback=progress)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
    print("finished", res.status, flush=True)
    """
)


def _python(args: list[str], tmp_path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_ctrl_c_stops_a_cpsat_solve_through_its_api(tmp_path):
    """SIGINT during the search stops CP-SAT and raises KeyboardInterrupt (no incumbent)."""
    proc = _python(["-c", INTERRUPTED], tmp_path)
    assert proc.stdout is not None
    try:
        first = proc.stdout.readline().strip()
        assert first == "solving"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert out.strip() == "interrupted"


def test_ctrl_c_during_xpuplan_solve_exits_130_and_writes_nothing(tmp_path):
    path = tmp_path / "big.json"
    save_instance(path, layered_dag_instance(7, 300))
    out_file = tmp_path / "out.json"
    proc = _python(
        [
            "-c",
            "import sys, time\n"
            "from xpuplan.planner.cli import main\n"
            "print('ready', flush=True)\n"
            f"sys.exit(main(['solve', {str(path)!r}, '--time-limit', '120', '-o', "
            f"{str(out_file)!r}]))",
        ],
        tmp_path,
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "ready"
        import time

        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not out_file.exists()


# ---------------------------------------------------------------------- the command line
@pytest.mark.parametrize("seed", ["-1", str(2**40)])
def test_a_seed_cpsat_cannot_hold_is_one_line_and_exit_2(seed, tmp_path, capsys):
    path = tmp_path / "tiny.json"
    save_instance(path, tiny_instance())
    out = tmp_path / "out.json"
    assert main(["solve", str(path), "--seed", seed, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "seed" in err[0] and seed in err[0]
    assert not out.exists()


@pytest.mark.parametrize("solver", ["cpsat", "milp-ti", "heft"])
def test_durations_of_2_63_are_one_line_and_exit_2(solver, tmp_path, capsys):
    path = tmp_path / "huge.json"
    doc = instance_to_json(tiny_instance())
    doc["kernels"][0]["modes"][0]["duration"] = 2**63
    path.write_text(json.dumps(doc))
    assert main(["solve", str(path), "--solver", solver]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ("2^40" in err[0] or "huge.json" in err[0])


# ---------------------------------------------------------------------- the CBC watchdog
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="the watchdog reads /proc")
def test_the_watchdog_kills_a_child_running_past_the_limit():
    """The watchdog kills this process's children running the given executable, and no other."""
    import shutil

    from xpuplan.solvers.milp.watchdog import CbcWatchdog

    sleep = shutil.which("sleep")
    assert sleep is not None
    child = subprocess.Popen([sleep, "30"])
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with CbcWatchdog(sleep, 0.2) as dog:
            assert child.wait(timeout=20) == -signal.SIGKILL
        assert dog.fired
        assert other.poll() is None  # a child running something else is left alone
    finally:
        child.kill()
        other.kill()
        other.wait()


def test_the_watchdog_does_nothing_without_a_limit():
    from xpuplan.solvers.milp.watchdog import CbcWatchdog

    with CbcWatchdog("/bin/sleep", None) as dog:
        pass
    assert not dog.fired
