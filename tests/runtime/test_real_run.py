"""The real executor: plans of small ONNX models run on ONNX Runtime's CPU provider, 2 units.

Each run lasts about a second or two of wall time. The figures measured (latencies, jitter) are
not asserted -- the machine is shared -- but everything that must hold whatever the timing is:
every job completes, outputs equal the whole model's, conservation, the executed schedule passes
the checker's measured mode, each unit keeps its planned order, a failing kernel is contained.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper, numpy_helper

from tests.onnx_models import conv_chain, dynamic_batch, residual_block
from xpuplan.models import check_schedule
from xpuplan.models.kernels import build_kernel_dag
from xpuplan.models.plan import Plan, load_plan
from xpuplan.models.platform import ORT_PROVIDERS, load_platform
from xpuplan.models.profiles import load_profile
from xpuplan.planner.cli import main
from xpuplan.runtime.onnxrt import available_providers
from xpuplan.runtime.real_run import run_plan

PLANNED_FIELDS = ("kernel_error_pct", "jitter_us", "late_in_reality_on_time_in_plan")


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _platform(root: Path, provider: str = "CPUExecutionProvider", name: str = "local") -> Path:
    """A platform of one CPU device with 2 units bound to ``provider``."""
    assert main(["platform", "local", "-o", str(root / "probe.yaml")]) == 0
    data = yaml.safe_load((root / "probe.yaml").read_text())
    data["devices"][0]["units"] = 2
    data["devices"][0]["onnxruntime"]["provider"] = provider
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _plan(root: Path, platform: Path, scenario: Path, out: str, *extra: str) -> Plan:
    path = root / out
    code = main(
        [
            "plan",
            "--platform",
            str(platform),
            "--scenario",
            str(scenario),
            "--max-kernels",
            "3",
            "--objective",
            "late_jobs",
            "--time-limit",
            "5",
            "-o",
            str(path),
            *extra,
        ]
    )
    assert code == 0
    return load_plan(path)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("realrun")
    conv_chain(root / "det.onnx")
    residual_block(root / "res.onnx")
    dynamic_batch(root / "seq.onnx")
    (root / "scenario.yaml").write_text(
        "name: two-models\n"
        "tasks:\n"
        "  - {name: cam, model: det.onnx, arrival: {type: periodic, rate_hz: 25}}\n"
        "  - {name: res, model: res.onnx, arrival: {type: periodic, rate_hz: 12.5}}\n"
        "  - name: ask\n"
        "    class: reactive\n"
        "    model: res.onnx\n"
        "    arrival: {type: poisson, rate_per_min: 600}\n"
    )
    # A model whose embedding lookup fails at run time: ids drawn beyond its 100 rows.
    (root / "faulty.yaml").write_text(
        "name: faulty\n"
        "tasks:\n"
        "  - {name: cam, model: det.onnx, arrival: {type: periodic, rate_hz: 25}}\n"
        "  - name: seq\n"
        "    model: seq.onnx\n"
        "    inputs: {x: [4, 16], ids: {shape: [4], range: [1000, 2000]}}\n"
        "    arrival: {type: periodic, rate_hz: 25}\n"
    )
    platform = _platform(root)
    files = {"root": root, "platform": platform}
    _plan(root, platform, root / "scenario.yaml", "plan.json")
    _plan(root, platform, root / "faulty.yaml", "faulty-plan.json")
    files["plan"] = root / "plan.json"
    files["faulty_plan"] = root / "faulty-plan.json"
    return files


def test_plan_runs_for_real_and_matches_the_whole_model(work: dict[str, Path]) -> None:
    plan = load_plan(work["plan"])
    result = run_plan(
        plan,
        str(work["platform"]),
        str(work["root"] / "scenario.yaml"),
        duration_s=2.0,
        check_outputs_every=3,
    )
    doc = result.to_json()
    cons = doc["conservation"]
    assert cons["arrived"] > 0 and cons["arrived"] == cons["completed"]
    assert cons["failed"] == cons["dropped"] == cons["in_flight"] == 0
    # the plan's jobs only: the reactive task is not run without an online policy
    assert set(doc["tasks"]) >= {"cam", "res"} and doc["tasks"]["ask"]["arrived"] == 0
    assert doc["tasks"]["cam"]["arrived"] == 50 and doc["tasks"]["res"]["arrived"] == 25
    assert doc["outputs"]["checked"] >= 10 and doc["outputs"]["mismatched"] == 0
    pvm = doc["planned_vs_measured"]
    for key in PLANNED_FIELDS:
        assert key in pvm
    assert set(pvm["kernel_error_pct"]) == {"p50", "p90"}
    assert set(pvm["jitter_us"]) == {"p50", "p99"}
    assert pvm["kernels"] == result.stats.dispatched == len(result.stats.measured)
    assert pvm["kernel_error_pct"]["p50"] is not None and pvm["kernel_error_pct"]["p50"] >= 0
    for key in ("deadline_violation_rate", "latency_ms", "completed"):
        assert key in doc["tasks"]["cam"]
    assert doc["runtime_overhead"]["us_per_kernel"] > 0
    # the executed repetition 0 covers every planned kernel and passes the measured checker
    executed = result.executed
    assert executed is not None
    assert len(executed.assignments) == plan.instance.num_kernels
    assert check_schedule(plan.instance, executed, measured=True) == []
    assert doc["executed_check"]["violations"] == 0
    # every measured kernel ran on the unit its plan placed it on, and units never overlap
    by_kernel = plan.schedule.by_kernel()
    per_unit = defaultdict(list)
    for m in result.stats.measured:
        assert by_kernel[m.kernel].unit == int(result.unit_names[m.unit].split("/")[1])
        per_unit[m.unit].append((m.start, m.end))
    for spans in per_unit.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_self_timed_keeps_each_units_planned_order(work: dict[str, Path]) -> None:
    plan = load_plan(work["plan"])
    result = run_plan(
        plan,
        str(work["platform"]),
        str(work["root"] / "scenario.yaml"),
        duration_s=1.0,
        executor="self-timed",
    )
    assert result.to_json()["conservation"]["in_flight"] == 0
    by_kernel = plan.schedule.by_kernel()
    planned: dict[str, list[str]] = defaultdict(list)
    for asg in sorted(plan.schedule.assignments, key=lambda a: (a.start, a.kernel)):
        planned[f"{asg.device}/{asg.unit}"].append(asg.kernel)
    real: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for m in sorted(result.stats.measured, key=lambda m: m.start):
        asg = by_kernel[m.kernel]
        real[f"{asg.device}/{asg.unit}"].append((m.tag[0], m.kernel))
    assert real
    for unit, runs in real.items():
        order = planned[unit]
        expected = [(rep, k) for rep in range(runs[-1][0] + 1) for k in order]
        assert runs == expected[: len(runs)], unit
    executed = result.executed
    assert executed is not None and check_schedule(plan.instance, executed, measured=True) == []


def test_online_policy_serves_unknown_arrivals_in_the_slack(work: dict[str, Path]) -> None:
    plan = load_plan(work["plan"])
    result = run_plan(
        plan,
        str(work["platform"]),
        str(work["root"] / "scenario.yaml"),
        duration_s=1.5,
        policy="edf",
        check_outputs_every=2,
    )
    doc = result.to_json()
    ask = doc["tasks"]["ask"]
    assert ask["arrived"] > 0 and ask["completed"] == ask["arrived"]
    assert doc["conservation"]["arrived"] == doc["conservation"]["completed"]
    online = [m for m in result.stats.measured if m.tag is None]
    assert online and all(m.ok for m in online)
    assert doc["outputs"]["mismatched"] == 0 and doc["outputs"]["checked"] > 0
    executed = result.executed
    assert executed is not None and check_schedule(plan.instance, executed, measured=True) == []


def test_a_failing_kernel_fails_its_job_and_the_run_goes_on(work: dict[str, Path]) -> None:
    plan = load_plan(work["faulty_plan"])
    result = run_plan(
        plan, str(work["platform"]), str(work["root"] / "faulty.yaml"), duration_s=1.0
    )
    doc = result.to_json()
    cam, seq = doc["tasks"]["cam"], doc["tasks"]["seq"]
    assert cam["completed"] == cam["arrived"] == 25
    assert seq["arrived"] == 25 and seq["completed"] == 0
    cons = doc["conservation"]
    assert cons["failed"] == 25 == doc["failed"]
    assert cons["arrived"] == cons["completed"] + cons["failed"] + cons["dropped"]
    assert seq["deadline_violation_rate"] == 1.0
    assert doc["failures"] and "seq@" in doc["failures"][0]["job"]
    assert "indices" in doc["failures"][0]["error"].lower()
    assert doc["executed_check"]["violations"] == 0


def test_cli_run_report_trace_and_closed_loop(
    capsys: pytest.CaptureFixture[str], work: dict[str, Path]
) -> None:
    root = work["root"]
    code, out, _ = cli(
        capsys,
        "run",
        str(work["plan"]),
        "--platform",
        str(work["platform"]),
        "--scenario",
        str(root / "scenario.yaml"),
        "--duration",
        "1",
        "--json",
        "--check-outputs",
        "4",
        "--trace",
        str(root / "run-trace.json"),
        "--write-profile",
        str(root / "measured.csv"),
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["mode"] == "real" and doc["outputs"]["mismatched"] == 0
    assert doc["conservation"]["arrived"] == doc["conservation"]["completed"]
    trace = json.loads((root / "run-trace.json").read_text())["traceEvents"]
    spans = [e for e in trace if e["ph"] == "X"]
    assert {e["pid"] for e in spans} == {1, 2}
    assert sum(e["pid"] == 1 for e in spans) == sum(e["pid"] == 2 for e in spans)
    table = load_profile(root / "measured.csv")
    assert table  # rows of the measured kernels
    # the closed loop: plan again with the measured latencies, then run that plan
    _plan(
        root,
        work["platform"],
        root / "scenario.yaml",
        "replan.json",
        "--profile",
        str(root / "measured.csv"),
    )
    code, out, _ = cli(
        capsys,
        "run",
        str(root / "replan.json"),
        "--platform",
        str(work["platform"]),
        "--scenario",
        str(root / "scenario.yaml"),
        "--duration",
        "0.5",
        "--policy",
        "edf",
        "--profile",
        str(root / "measured.csv"),
    )
    assert code == 0 and "planned vs measured" in out and "0 violations" in out
    assert "edf in the slack" in out


def test_missing_provider_is_refused_up_front(
    capsys: pytest.CaptureFixture[str], work: dict[str, Path]
) -> None:
    root = work["root"]
    absent = next(p for p in sorted(ORT_PROVIDERS) if p not in available_providers())
    gpu = _platform(root, absent, name="nogpu")
    code, _, err = cli(
        capsys,
        "run",
        str(work["plan"]),
        "--platform",
        str(gpu),
        "--scenario",
        str(root / "scenario.yaml"),
        "--duration",
        "1",
    )
    assert code == 2 and err.count("\n") == 1
    assert f"cpu: {absent} not installed" in err
    # a plan naming only a built-in scenario it cannot find the ONNX files of
    code, _, err = cli(capsys, "run", str(work["plan"]), "--duration", "1")
    assert code == 2 and "--platform" in err and err.count("\n") == 1


def test_ctrl_c_ends_the_run_with_a_partial_report(work: dict[str, Path]) -> None:
    plan = load_plan(work["plan"])
    timer = threading.Timer(0.8, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        result = run_plan(
            plan,
            str(work["platform"]),
            str(work["root"] / "scenario.yaml"),
            duration_s=30.0,
        )
    finally:
        timer.cancel()
    doc = result.to_json()
    assert doc["interrupted"] is True and doc["wall_end_s"] < 20
    cons = doc["conservation"]
    assert 0 < cons["arrived"] == cons["completed"] + cons["failed"] + cons["in_flight"]
    assert doc["planned_vs_measured"]["kernels"] > 0
    assert doc["executed_check"]["violations"] == 0


def _matmul_chain(path: Path, size: int = 256, depth: int = 12) -> None:
    """x[size,size] -> ``depth`` MatMuls by random size x size weights (2 size^3 FLOPs each)."""
    rng = np.random.default_rng(0)
    nodes, inits = [], []
    prev = "x"
    for i in range(depth):
        w = (rng.standard_normal((size, size)) / size).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [f"h{i}"], name=f"mm{i}"))
        prev = f"h{i}"
    graph = helper.make_graph(
        nodes,
        "heavy",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [size, size])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [size, size])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


def test_an_overrunning_kernel_delays_only_what_depends_on_it(work: dict[str, Path]) -> None:
    """A profile claims the heavy model takes 50 us; it takes milliseconds. Under
    time-triggered dispatch the light job on the other unit still runs in its slot, while the
    heavy kernel's overrun is reported."""
    root = work["root"] / "overrun"
    root.mkdir()
    _matmul_chain(root / "heavy.onnx", size=384)
    conv_chain(root / "light.onnx")
    scenario = root / "scenario.yaml"
    scenario.write_text(
        "name: overrun\n"
        "tasks:\n"
        "  - name: heavy\n"
        "    model: heavy.onnx\n"
        "    deadline_ms: 1\n"
        "    arrival: {type: periodic, rate_hz: 4}\n"
        "  - {name: light, model: light.onnx, arrival: {type: periodic, rate_hz: 4}}\n"
    )
    platform = load_platform(work["platform"])
    rows = ["model,kernel,device,level,latency_us,power_w"]
    for name, latency in (("heavy", 50), ("light", 50)):
        dag = build_kernel_dag(
            name, platform, max_kernels=1, levels="top", onnx=str(root / f"{name}.onnx")
        )
        (kernel,) = dag.nodes
        rows.append(f"{name},{kernel},cpu,{platform.devices[0].levels[0].name},{latency},")
    (root / "wrong.csv").write_text("\n".join(rows) + "\n")
    plan = _plan(
        root,
        work["platform"],
        scenario,
        "plan.json",
        "--profile",
        str(root / "wrong.csv"),
        "--max-kernels",
        "1",
        "--objective",
        "makespan",
    )
    units = {asg.kernel.split("@")[0]: asg.unit for asg in plan.schedule.assignments}
    assert units["heavy"] != units["light"]  # the plan runs them side by side
    result = run_plan(plan, str(work["platform"]), str(scenario), duration_s=1.0)
    doc = result.to_json()
    assert doc["conservation"]["completed"] == doc["conservation"]["arrived"] == 8
    heavy = sorted((m for m in result.stats.measured if m.job.startswith("heavy")), key=str)
    light = {m.tag[0]: m for m in result.stats.measured if m.job.startswith("light")}
    assert len(heavy) == len(light) == 4
    pvm = doc["planned_vs_measured"]
    assert pvm["overruns"] >= 4
    worst = pvm["worst_overruns"][0]
    assert "heavy" in worst["kernel"] and worst["measured_us"] > worst["planned_us"] == 50
    for m in heavy:
        # the light kernel of the same period was dispatched in its slot, not after the heavy
        # kernel's end (when its worker thread then gets a core is the operating system's call)
        other = light[m.tag[0]]
        assert other.unit != m.unit and other.dispatched < m.end
    # the plan met the 1 ms deadline on paper; in reality every heavy job missed it, which the
    # checker reports as a measured outcome, not as a fault of the executor
    assert doc["tasks"]["heavy"]["deadline_violation_rate"] == 1.0
    assert result.violations == [] and result.outcomes.get("deadline", 0) >= 1
    rules = {v.rule for v in check_schedule(plan.instance, result.executed, measured=True)}
    assert rules == {"deadline"}


def test_a_chain_of_models_runs_each_model_on_its_own_inputs(work: dict[str, Path]) -> None:
    root = work["root"]
    scenario = root / "chain.yaml"
    scenario.write_text(
        "name: chain\n"
        "tasks:\n"
        "  - {name: both, models: [det.onnx, res.onnx], arrival: {type: periodic, rate_hz: 10}}\n"
    )
    plan = _plan(root, work["platform"], scenario, "chain-plan.json")
    assert any("/m1." in asg.kernel for asg in plan.schedule.assignments)
    result = run_plan(
        plan, str(work["platform"]), str(scenario), duration_s=0.5, check_outputs_every=1
    )
    doc = result.to_json()
    assert doc["conservation"]["completed"] == doc["conservation"]["arrived"] == 5
    # both models of every job checked against their whole models
    assert doc["outputs"] == {"checked": 10, "mismatched": 0, "notes": []}
    assert {m.model for m in result.stats.measured} == {"det", "res"}
    assert check_schedule(plan.instance, result.executed, measured=True) == []
