"""Cost annotation and measured profiles (models/costs.py, models/profiles.py)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.models.test_kernels import (
    PROPERTY,
    add_matmul_kernel,
    measured_chain,
    op_graphs,
    small_platform,
)
from xpuplan.models.costs import annotate, calibrate, ceil_us, compute_share, select_levels
from xpuplan.models.errors import InvalidInput
from xpuplan.models.formats.dnn_graph import load_dnn_graph
from xpuplan.models.instance import Mode
from xpuplan.models.kernels import build_kernel_dag, fuse
from xpuplan.models.opgraph import add_op, new_op_graph, totals
from xpuplan.models.platform import DeviceSpec, DvfsLevel, Platform, PowerMode
from xpuplan.models.presets import get_platform
from xpuplan.models.profiles import ProfileTable, load_profile
from xpuplan.models.roofline import roofline_cost

EXAMPLE_PROFILE = (
    Path(__file__).resolve().parents[2] / "examples" / "profiles" / "orin-nx-mlperf.csv"
)


def mlp_graph() -> nx.DiGraph:
    """matmul+bias -> gelu -> matmul: the gelu kernel cannot run on the small platform's DLA."""
    g = new_op_graph("mlp", "encoder")
    add_op(g, "fc1", "matmul", flops=2e9, bytes_read=1e6, bytes_written=4e6, weight_bytes=8e6)
    add_op(g, "bias", "add", flops=1e6, bytes_read=4e6, bytes_written=4e6, inputs=["fc1"])
    add_op(g, "act", "gelu", flops=8e6, bytes_read=4e6, bytes_written=4e6, inputs=["bias"])
    add_op(
        g,
        "fc2",
        "matmul",
        flops=2e9,
        bytes_read=4e6,
        bytes_written=1e6,
        weight_bytes=8e6,
        inputs=["act"],
    )
    return fuse(g, small_platform())


def devices_of(graph: nx.DiGraph, kernel: str) -> set[str]:
    """The devices a kernel has modes on."""
    return {mode.device for mode in graph.nodes[kernel]["modes"]}


def modes_by_key(graph: nx.DiGraph, kernel: str) -> dict[tuple[str, str], Mode]:
    """(device, level) -> the kernel's mode there."""
    return {(mode.device, mode.level): mode for mode in graph.nodes[kernel]["modes"]}


def roofline_us(
    platform: Platform, graph: nx.DiGraph, kernel: str, device: str
) -> dict[str, float]:
    """Level -> the unrounded roofline time of a kernel on one device of ``platform``."""
    data = graph.nodes[kernel]
    dev = platform.device(device)
    return {
        level.name: roofline_cost(
            dev,
            level,
            flops=data["flops"],
            bytes_moved=data["bytes_read"] + data["bytes_written"] + data["weight_bytes"],
            precision=data["precision"],
            mem_bw_gbps=platform.mem_bw_gbps,
        ).time_us
        for level in dev.levels
    }


# ---------------------------------------------------------------------- modes
def test_modes_exclude_unsupported_devices() -> None:
    """The gelu kernel gets no DLA mode; the matmuls get modes on all three devices."""
    graph = mlp_graph()
    out = annotate(graph, small_platform())
    assert "modes" not in graph.nodes["fc1"]  # a new graph; the input is left alone
    assert devices_of(out, "fc1") == devices_of(out, "fc2") == {"cpu", "gpu", "dla"}
    assert devices_of(out, "act") == {"cpu", "gpu"}
    # Two levels on the CPU and the GPU, one on the DLA.
    assert len(out.nodes["fc1"]["modes"]) == 5


def test_mode_values_follow_the_roofline() -> None:
    """Duration is the ceiling of the roofline time, power and bandwidth rounded as documented."""
    platform = small_platform()
    out = annotate(mlp_graph(), platform)
    data = out.nodes["fc1"]
    moved = data["bytes_read"] + data["bytes_written"] + data["weight_bytes"]
    for mode in data["modes"]:
        dev = next(d for d in platform.devices if d.name == mode.device)
        cost = roofline_cost(
            dev,
            dev.level(mode.level),
            flops=data["flops"],
            bytes_moved=moved,
            precision=data["precision"],
            mem_bw_gbps=platform.mem_bw_gbps,
        )
        assert mode.duration == ceil_us(cost.time_us) >= math.ceil(cost.time_us) - 1
        assert mode.power_w == round(cost.power_w, 3)
        assert mode.demands["mem_bw_gbps"] == round(min(cost.bandwidth_gbps, 80.0), 3)


@PROPERTY
@given(op_graphs())
def test_a_higher_level_is_never_slower(ops: nx.DiGraph) -> None:
    """For every kernel and device, durations do not grow with the DVFS level; all are >= 1."""
    platform = small_platform()
    out = annotate(fuse(ops, platform), platform)
    for _, data in out.nodes(data=True):
        for dev in platform.devices:
            durations = [m.duration for m in data["modes"] if m.device == dev.name]
            assert durations == sorted(durations, reverse=True)
            assert all(d >= 1 and isinstance(d, int) for d in durations)


def test_level_selection() -> None:
    """'top', an evenly spread count including the top, and 'all'."""
    levels = tuple(DvfsLevel(f"l{i}", 100 * (i + 1), (i + 1) / 7, float(i)) for i in range(7))
    dev = DeviceSpec("gpu", "gpu", 1, levels, 0.0, {"fp16": 1e12}, 50.0)
    assert [lv.name for lv in select_levels(dev, "top")] == ["l6"]
    assert [lv.name for lv in select_levels(dev, 3)] == ["l0", "l3", "l6"]
    assert [lv.name for lv in select_levels(dev, 1)] == ["l6"]
    assert len(select_levels(dev, 20)) == len(select_levels(dev, "all")) == 7
    for bad in (0, "some", 2.5, True):
        with pytest.raises(InvalidInput, match="levels"):
            select_levels(dev, bad)  # type: ignore[arg-type]


def test_kernel_without_any_device_is_bad_input() -> None:
    """A kernel that no device supports is named in the error with its op types."""
    g = new_op_graph("ln", "encoder")
    add_op(g, "ln", "layernorm", flops=1, bytes_read=1, bytes_written=1)
    platform = small_platform()
    dla_only = replace(platform, name="dla-only", devices=(platform.devices[2],))
    assert devices_of(annotate(fuse(g), platform), "ln") == {"cpu", "gpu"}
    with pytest.raises(InvalidInput, match=r"kernel 'ln' \(layernorm\) runs on no device"):
        annotate(fuse(g), dla_only)


# ---------------------------------------------------------------------- profiles and measurements
def test_profile_rows_override_the_roofline(tmp_path: Path) -> None:
    """A row by name or label sets its mode and calibrates its device's other levels."""
    path = tmp_path / "prof.csv"
    path.write_text(
        "# measured by hand\n"
        "model,kernel,device,level,latency_us,power_w\n"
        "mlp,fc1,gpu,hi,123.4,7.5\n"
        "mlp,gelu,cpu,lo,999,\n"
    )
    profile = load_profile(path)
    assert len(profile) == 2 and profile.lookup("mlp", "fc1", "gpu", "hi") == (123.4, 7.5)
    platform = small_platform()
    plain = annotate(mlp_graph(), platform)
    out = annotate(mlp_graph(), platform, profile=profile)
    mode2 = modes_by_key(out, "fc1")
    plain2 = modes_by_key(plain, "fc1")
    assert mode2["gpu", "hi"].duration == 124 and mode2["gpu", "hi"].power_w == 7.5
    roof = roofline_us(platform, plain, "fc1", "gpu")
    assert mode2["gpu", "lo"].duration == ceil_us(123.4 * roof["lo"] / roof["hi"])
    assert mode2["gpu", "lo"].power_w == plain2["gpu", "lo"].power_w  # no row: roofline power
    assert all(mode2[key] == plain2[key] for key in plain2 if key[0] != "gpu")
    act = modes_by_key(out, "act")
    act_plain = modes_by_key(plain, "act")
    assert act["cpu", "lo"].duration == 999
    assert act["cpu", "lo"].power_w == act_plain["cpu", "lo"].power_w  # no power in the row
    roof = roofline_us(platform, plain, "act", "cpu")
    assert act["cpu", "hi"].duration == ceil_us(999 * roof["hi"] / roof["lo"])


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("model,kernel,device,level,latency_us,power_w,extra\n", "extra"),
        ("model,kernel,device,level,latency_us\n", "line 1.header"),
        ("model,kernel,device,level,latency_us,power_w\nm,k,d,l,-5,1\n", "line 2.latency_us"),
        ("model,kernel,device,level,latency_us,power_w\nm,k,d,l,nan,1\n", "line 2.latency_us"),
        ("model,kernel,device,level,latency_us,power_w\nm,k,d,l,0,1\n", "line 2.latency_us"),
        ("model,kernel,device,level,latency_us,power_w\nm,k,d,l,5,-1\n", "line 2.power_w"),
        ("model,kernel,device,level,latency_us,power_w\nm,k,d,l,5,x\n", "line 2.power_w"),
        ("model,kernel,device,level,latency_us,power_w\nm,,d,l,5,1\n", "line 2.kernel"),
        ("model,kernel,device,level,latency_us,power_w\nm,k,d,l,5,1\nm,k,d,l,6,1\n", "line 3"),
        ("model,kernel,device,level,latency_us,power_w\nm,k,d,l,5\n", "line 2"),
    ],
)
def test_bad_profile_rows_name_file_line_column_and_value(
    tmp_path: Path, text: str, field: str
) -> None:
    """Each malformed profile is one error naming the file, the line/column and the value."""
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InvalidInput) as info:
        load_profile(path)
    assert info.value.file == str(path)
    assert field in str(info.value)


def test_profile_table_validates_rows() -> None:
    """Rows given in code get the same checks as rows read from a file."""
    with pytest.raises(InvalidInput, match="latency_us"):
        ProfileTable({("m", "k", "d", "l"): (float("nan"), None)})


def profiled_graph() -> nx.DiGraph:
    """A fused profiled graph: kernel ``a`` (conv + relu) measured everywhere, ``c`` on the CPU."""
    return fuse(
        measured_chain(
            ("a", "conv", 1e9, {"cpu": 100.0, "accel": 20.0}),
            ("b", "relu", 0, {"cpu": 10.0, "accel": 5.0}),
            ("c", "pool", 0, {"cpu": 7.0}),
        )
    )


def test_measured_latencies_replace_the_roofline() -> None:
    """Profiled ops: the CPU gets the 'cpu' sum, other devices the 'accel' sum over the speed."""
    out = annotate(profiled_graph(), small_platform())
    mode2 = {(m.device, m.level): m.duration for m in out.nodes["a"]["modes"]}
    assert mode2 == {
        ("cpu", "lo"): 220,
        ("cpu", "hi"): 110,
        ("gpu", "lo"): 50,
        ("gpu", "hi"): 25,
        ("dla", "hi"): 25,
    }
    assert devices_of(out, "c") == {"cpu"}  # not measured on the accelerator: CPU only


def test_measured_latencies_follow_a_mode_that_gates_compute() -> None:
    """In a power mode that leaves half of the GPU's compute on, its measured times double."""
    modes = (PowerMode("half-gpu", compute_scale={"gpu": 0.5}),)
    platform = replace(small_platform(), power_modes=modes)
    full = modes_by_key(annotate(profiled_graph(), platform), "a")
    half = modes_by_key(annotate(profiled_graph(), platform.with_power_mode("half-gpu")), "a")
    assert half["gpu", "hi"].duration == 2 * full["gpu", "hi"].duration == 50
    assert half["gpu", "lo"].duration == 2 * full["gpu", "lo"].duration == 100
    assert half["cpu", "hi"] == full["cpu", "hi"] and half["dla", "hi"] == full["dla", "hi"]


# ---------------------------------------------------------------------- edges
def test_cross_device_delay_from_bytes_and_sync() -> None:
    """Copies cost sync + bytes / bandwidth on split memory, only the sync on unified memory."""
    graph = mlp_graph()
    bytes_ = graph.edges["fc1", "act"]["bytes"]
    split = annotate(graph, small_platform(unified=False))
    unified = annotate(graph, small_platform(unified=True))
    assert split.edges["fc1", "act"]["cross_device_delay"] == math.ceil(5.0 + bytes_ / 10e3)
    assert unified.edges["fc1", "act"]["cross_device_delay"] == 5
    assert all(d["resume_cost"] == 0 for _, _, d in unified.edges(data=True))


@pytest.mark.parametrize(("family", "boundary_cost"), [("llm-prefill", 40), ("cnn", 0)])
def test_resume_costs_on_chunk_and_layer_boundaries(family: str, boundary_cost: int) -> None:
    """In an LLM prefill, edges across chunks or layers get the resume cost; others 0."""
    g = nx.DiGraph(name="llm", family=family, precision="fp16")
    for name, chunk, layer in (("a", 0, 0), ("b", 0, 0), ("c", 0, 1), ("d", 1, 0)):
        add_matmul_kernel(g, name, flops=1e6, num_bytes=1e3, layer=layer, chunk=chunk)
    for src, dst in (("a", "b"), ("b", "c"), ("b", "d")):
        g.add_edge(src, dst, bytes=1e3)
    g.add_edge("a", "d", bytes=1e3, resume_cost=7)  # an edge's own cost is kept
    out = annotate(g, small_platform(), resume_cost_us=40)
    assert {(u, v): d["resume_cost"] for u, v, d in out.edges(data=True)} == {
        ("a", "b"): 0,
        ("b", "c"): boundary_cost,
        ("b", "d"): boundary_cost,
        ("a", "d"): 7,
    }


def test_annotate_rejects_bad_arguments() -> None:
    """A negative resume cost and an unknown precision are bad input."""
    with pytest.raises(InvalidInput, match="resume_cost_us"):
        annotate(mlp_graph(), small_platform(), resume_cost_us=-1)
    with pytest.raises(InvalidInput, match="precision"):
        annotate(mlp_graph(), small_platform(), precision="fp8")


# ---------------------------------------------------------------------- with the zoo and presets
def test_resnet50_on_orin_runs_everywhere() -> None:
    """ResNet-50 on the Orin NX: every kernel has modes on the GPU, both DLAs and the CPU."""
    orin = get_platform("jetson-orin-nx-16gb")
    dag = build_kernel_dag("resnet-50", orin)
    for name in dag:
        assert devices_of(dag, name) == {"gpu", "dla0", "dla1", "cpu"}
    coarse = build_kernel_dag("resnet-50", orin, max_kernels=12)
    assert 8 <= coarse.number_of_nodes() <= 12
    assert nx.is_directed_acyclic_graph(coarse)
    assert totals(coarse)["flops"] == pytest.approx(totals(dag)["flops"], rel=1e-9)


def test_bert_layernorm_and_gelu_kernels_have_no_dla_mode() -> None:
    """BERT-base on the Orin NX: kernels with layernorm, gelu or attention never get a DLA mode."""
    orin = get_platform("jetson-orin-nx-16gb")
    dag = build_kernel_dag("bert-base", orin)
    lacking = {"layernorm", "gelu", "attention"}
    num_checked = 0
    for name, data in dag.nodes(data=True):
        if lacking & set(data["op_types"]):
            num_checked += 1
            assert not {"dla0", "dla1"} & devices_of(dag, name)
        elif data["op_types"] == ("matmul",):
            assert {"dla0", "dla1"} <= devices_of(dag, name)
    assert num_checked >= 12 * 3


def test_llama_prefill_in_chunks_on_core_ultra() -> None:
    """435 prompt tokens in chunks of 128 on the Core Ultra: 4 chunks, annotated and acyclic."""
    core_ultra = get_platform("core-ultra-125h")
    full = build_kernel_dag(
        "llama-3.2-3b", core_ultra, phase="prefill", tokens=435, chunk_tokens=128
    )
    assert full.graph["num_chunks"] == 4
    assert sorted({d["chunk"] for _, d in full.nodes(data=True)}) == [0, 1, 2, 3]
    dag = build_kernel_dag(
        "llama-3.2-3b",
        core_ultra,
        phase="prefill",
        tokens=435,
        chunk_tokens=128,
        max_kernels=8,
        resume_cost_us=30,
    )
    assert dag.graph["num_chunks"] == 4
    assert sorted({d["chunk"] for _, d in dag.nodes(data=True)}) == [0, 1, 2, 3]
    assert dag.number_of_nodes() == 8 and nx.is_directed_acyclic_graph(dag)
    assert all(d["resume_cost"] == 30 for _, _, d in dag.edges(data=True))
    assert all(len({m.device for m in d["modes"]}) >= 2 for _, d in dag.nodes(data=True))


def test_example_profile_applies_to_resnet50() -> None:
    """The shipped example profile sets the whole-model GPU latency at MAXN."""
    profile = load_profile(EXAMPLE_PROFILE)
    dag = build_kernel_dag(
        "resnet-50", get_platform("jetson-orin-nx-16gb", "MAXN"), max_kernels=1, profile=profile
    )
    (name,) = dag.nodes
    mode2 = {(m.device, m.level): m.duration for m in dag.nodes[name]["modes"]}
    assert mode2["gpu", "918MHz"] == 1085


def test_profiled_dnn_graph_uses_its_measurements(benchmarks_dir: Path) -> None:
    """A profiled graph on the Orin: CPU modes from 'cpu', GPU/DLA from 'accel', over the rate."""
    ops = load_dnn_graph(benchmarks_dir / "dnn-graphs" / "operator" / "resnet50_inference.json")
    orin = get_platform("jetson-orin-nx-16gb")
    dag = build_kernel_dag(ops, orin, levels="top")
    assert nx.is_directed_acyclic_graph(dag) and dag.number_of_nodes() < ops.number_of_nodes()
    # In the default 15W mode the top allowed levels run below full speed, and the GPU has 2 of
    # its 4 TPCs: a compute rate of speed x share.
    rate = {dev.name: dev.top_level.speed * compute_share(orin, dev.name) for dev in orin.devices}
    assert rate["gpu"] == pytest.approx(612 / 918 * 0.5, rel=1e-3) and rate["dla0"] == 1.0
    num_on_dla = 0
    for _, data in dag.nodes(data=True):
        measured = [ops.nodes[op]["measured_us"] for op in data["ops"]]
        mode2 = {m.device: m.duration for m in data["modes"]}
        cpu_us = math.fsum(m["cpu"] for m in measured) / rate["cpu"]
        assert mode2["cpu"] == max(1, ceil_us(cpu_us))
        if all("accel" in m for m in measured):
            accel_us = math.fsum(m["accel"] for m in measured)
            assert mode2["gpu"] == max(1, ceil_us(accel_us / rate["gpu"]))
            if "dla0" in mode2:
                num_on_dla += 1
                assert mode2["dla0"] == max(1, ceil_us(accel_us / rate["dla0"]))
        else:
            assert set(mode2) == {"cpu"}
    assert num_on_dla > 0  # conv kernels run on the DLA too


@PROPERTY
@given(op_graphs(), st.data())
def test_profile_rows_keep_a_higher_level_never_slower(
    ops: nx.DiGraph, data: st.DataObject
) -> None:
    """With one measured row per (kernel, device), durations still never grow with the level."""
    platform = small_platform()
    kernels = fuse(ops, platform)
    rows = {}
    for name in kernels:
        for dev in platform.devices:
            if data.draw(st.booleans()):
                level = data.draw(st.sampled_from([lv.name for lv in dev.levels]))
                rows[("random", name, dev.name, level)] = (data.draw(st.floats(1.0, 1e5)), None)
    out = annotate(kernels, platform, profile=ProfileTable(rows))
    for _, node in out.nodes(data=True):
        for dev in platform.devices:
            durations = [m.duration for m in node["modes"] if m.device == dev.name]
            assert durations == sorted(durations, reverse=True)


def test_a_slow_measured_top_level_calibrates_the_levels_below() -> None:
    """A row slower than the roofline at a lower level makes that lower level slower still."""
    platform = small_platform()
    plain = annotate(mlp_graph(), platform)
    measured = 3 * modes_by_key(plain, "fc1")["gpu", "lo"].duration
    profile = ProfileTable({("mlp", "fc1", "gpu", "hi"): (float(measured), None)})
    mode2 = modes_by_key(annotate(mlp_graph(), platform, profile=profile), "fc1")
    roof = roofline_us(platform, plain, "fc1", "gpu")
    assert mode2["gpu", "hi"].duration == measured
    assert mode2["gpu", "lo"].duration == ceil_us(measured * roof["lo"] / roof["hi"]) > measured


def test_calibrate_between_two_measured_levels() -> None:
    """An unmeasured level between two rows scales from the one above, capped by the one below."""
    assert calibrate([8.0, 4.0, 2.0, 1.0], [None, None, None, None]) == [8.0, 4.0, 2.0, 1.0]
    assert calibrate([8.0, 4.0, 2.0, 1.0], [None, 10.0, None, 3.0]) == [20.0, 10.0, 6.0, 3.0]
    assert calibrate([8.0, 4.0, 2.0, 1.0], [None, 5.0, None, 3.0]) == [10.0, 5.0, 5.0, 3.0]
    assert calibrate([8.0, 4.0, 2.0, 1.0], [9.0, None, None, None]) == [9.0, 4.5, 2.25, 1.125]
    assert calibrate([0.0, 0.0], [None, 7.0]) == [7.0, 7.0]


def test_a_row_at_a_level_without_a_mode_still_calibrates() -> None:
    """With levels="top", a row measured at the low level still sets the top level's time."""
    platform = small_platform()
    plain = annotate(mlp_graph(), platform)
    profile = ProfileTable({("mlp", "fc1", "gpu", "lo"): (50.0, None)})
    mode2 = modes_by_key(annotate(mlp_graph(), platform, levels="top", profile=profile), "fc1")
    roof = roofline_us(platform, plain, "fc1", "gpu")
    assert set(mode2) == {("cpu", "hi"), ("gpu", "hi"), ("dla", "hi")}
    assert mode2["gpu", "hi"].duration == ceil_us(50.0 * roof["hi"] / roof["lo"])
