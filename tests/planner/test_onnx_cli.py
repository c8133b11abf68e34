"""The ONNX path through the CLI: inspect, platform local, profile, plan --profile, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.onnx_models import conv_chain, dynamic_batch, encoder_block, with_if
from xpuplan.models import check_schedule, load_instance
from xpuplan.models.plan import load_plan
from xpuplan.models.platform import load_platform
from xpuplan.models.profiles import load_profile
from xpuplan.planner.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("onnxcli")
    conv_chain(root / "det.onnx")
    encoder_block(root / "enc.onnx")
    dynamic_batch(root / "seq.onnx")
    with_if(root / "branchy.onnx")
    (root / "scenario.yaml").write_text(
        "name: onnx-mix\n"
        "tasks:\n"
        "  - {name: cam, model: det.onnx, arrival: {type: periodic, rate_hz: 50}}\n"
        "  - {name: enc, model: enc.onnx, arrival: {type: periodic, rate_hz: 25}}\n"
        "  - name: seq\n"
        "    model: seq.onnx\n"
        "    inputs: {x: [4, 16], ids: {shape: [4], range: [0, 100]}}\n"
        "    arrival: {type: periodic, rate_hz: 25}\n"
        "  - name: gate\n"
        "    model: branchy.onnx\n"
        "    inputs: {flag: {range: [0, 2]}}\n"
        "    arrival: {type: periodic, rate_hz: 25}\n"
    )
    return root


def test_inspect_json(capsys: pytest.CaptureFixture[str], workdir: Path) -> None:
    code, out, _ = run(
        capsys,
        "inspect",
        str(workdir / "seq.onnx"),
        "--input",
        "x=4,16",
        "--input",
        "ids=4",
        "--platform",
        "jetson-orin-nx-16gb",
        "--max-kernels",
        "2",
        "--json",
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["nodes"] == 5 and doc["ops"]["Gemm"] == 1
    assert doc["flops"] == 6944.0
    assert doc["weight_bytes"] == (16 * 32 + 32 + 32 * 8 + 100 * 8) * 4
    assert 1 <= len(doc["kernels"]) <= 2
    assert sorted(n for k in doc["kernels"] for n in k["onnx_nodes"]) == sorted(
        ["fc1", "tanh", "fc2", "embed", "add"]
    )
    assert all(k["latency_us"]["gpu"] >= 1 for k in doc["kernels"])
    assert sum(k["flops"] for k in doc["kernels"]) == pytest.approx(doc["flops"])


def test_inspect_text_and_bad_input(capsys: pytest.CaptureFixture[str], workdir: Path) -> None:
    code, out, _ = run(capsys, "inspect", str(workdir / "det.onnx"))
    assert code == 0 and "kernels:" in out
    code, _, err = run(capsys, "inspect", str(workdir / "seq.onnx"))
    assert code == 2 and "inputs.x" in err and "seq.onnx" in err and err.count("\n") == 1
    code, _, err = run(capsys, "inspect", str(workdir / "det.onnx"), "--input", "y=1,3")
    assert code == 2 and "inputs.y" in err and err.count("\n") == 1
    code, _, err = run(capsys, "inspect", str(workdir / "det.onnx"), "--input", "x=1,3,32")
    assert code == 2 and "rank" in err
    junk = workdir / "junk.onnx"
    junk.write_text("hello")
    code, _, err = run(capsys, "inspect", str(junk))
    assert code == 2 and "junk.onnx" in err and err.count("\n") == 1


def test_platform_local(capsys: pytest.CaptureFixture[str], workdir: Path) -> None:
    out_file = workdir / "local.yaml"
    code, _, _ = run(capsys, "platform", "local", "-o", str(out_file))
    assert code == 0
    platform = load_platform(out_file)
    cpu = platform.device("cpu")
    assert cpu.onnxruntime is not None and cpu.onnxruntime.provider == "CPUExecutionProvider"
    assert len(cpu.levels) == 1 and cpu.units >= 1
    assert "power" in out_file.read_text().split("name:")[0]


def test_profile_then_plan(capsys: pytest.CaptureFixture[str], workdir: Path) -> None:
    local = workdir / "local2.yaml"
    assert run(capsys, "platform", "local", "-o", str(local))[0] == 0
    profile = workdir / "profile.csv"
    calibrated = workdir / "calibrated.yaml"
    code, out, _ = run(
        capsys,
        "profile",
        "--platform",
        str(local),
        "--scenario",
        str(workdir / "scenario.yaml"),
        "-o",
        str(profile),
        "--repeats",
        "3",
        "--warmup",
        "1",
        "--calibrated-platform",
        str(calibrated),
        "--json",
    )
    assert code == 0, out
    doc = json.loads(out)
    table = load_profile(profile)
    assert len(table) == doc["rows"] > 0
    models = {key[0] for key in table.rows}
    assert models == {"det", "enc", "seq", "branchy"}
    assert {m["model"] for m in doc["models"]} == models
    fit = doc["fits"][0]
    assert fit["device"] == "cpu" and 0 <= fit["error_after"] <= fit["error_before"] + 1e-9
    load_platform(calibrated)
    plan_file = workdir / "plan.json"
    code, out, err = run(
        capsys,
        "plan",
        "--platform",
        str(local),
        "--scenario",
        str(workdir / "scenario.yaml"),
        "--profile",
        str(profile),
        "-o",
        str(plan_file),
        "--time-limit",
        "5",
    )
    assert code == 0, err
    plan = load_plan(plan_file)
    assert check_schedule(plan.instance, plan.schedule) == []
    # The measured rows set the durations: each kernel's mode is its row's latency, rounded up.
    inst_file = workdir / "inst.json"
    code, _, _ = run(
        capsys,
        "instance",
        "--platform",
        str(local),
        "--scenario",
        str(workdir / "scenario.yaml"),
        "--profile",
        str(profile),
        "-o",
        str(inst_file),
    )
    assert code == 0
    instance = load_instance(inst_file)
    for kernel in instance.kernels:
        row = table.lookup(
            str(kernel.attrs["model"]), kernel.name.split("/", 1)[1], "cpu", "nominal"
        )
        assert row is not None
        assert kernel.modes[0].duration == max(1, -(-row[0] // 1))


def test_profile_bad_input(capsys: pytest.CaptureFixture[str], workdir: Path) -> None:
    code, _, err = run(
        capsys,
        "profile",
        "--platform",
        "jetson-orin-nx-16gb",
        "--scenario",
        str(workdir / "scenario.yaml"),
        "-o",
        str(workdir / "p.csv"),
    )
    # The Jetson's TensorRT provider is not installed here; its CPU binding is, so it profiles
    # the CPU only. A platform whose only device is unavailable is an error.
    assert code == 0, err
    data = yaml.safe_load((workdir / "local2.yaml").read_text())
    data["devices"][0]["onnxruntime"] = {"provider": "CUDAExecutionProvider"}
    gpu_only = workdir / "gpu_only.yaml"
    gpu_only.write_text(yaml.safe_dump(data))
    code, _, err = run(
        capsys,
        "profile",
        "--platform",
        str(gpu_only),
        "--scenario",
        str(workdir / "scenario.yaml"),
    )
    assert code == 2 and "CUDAExecutionProvider not installed" in err and err.count("\n") == 1
    assert "gpu_only.yaml" in err
    code, _, err = run(
        capsys,
        "profile",
        "--platform",
        str(workdir / "local2.yaml"),
        "--scenario",
        "video-call",
    )
    assert code == 2 and "no ONNX model" in err
