"""Converters of the public benchmark formats, their ground-truth tables, and their errors."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xpuplan.models import Instance, InvalidInput, instance_from_json, instance_to_json
from xpuplan.models.formats import (
    dnn_graph_to_instance,
    fjsp_bks,
    fjsp_name,
    fjsp_to_instance,
    infer_op_type,
    load_dnn_graph,
    psplib_optima,
    psplib_to_instance,
    stg_optima,
    stg_to_instance,
)
from xpuplan.models.formats.dnn_graph import LINK_BYTES_PER_MS
from xpuplan.models.formats.precedence import contract_zero_tasks
from xpuplan.models.opgraph import validate_op_graph

# ---------------------------------------------------------------------- inline fixtures
# 4 real tasks: 1 -> 3, 2 -> 4, 3 -> 4; dummies 0 and 5; a trailing comment block.
TINY_STG = """\
4
0 0 0
1 3 1 0
2 2 1 0
3 4 1 1
4 1 2 2 3
5 0 1 4
# Standard Task Graph Set Project
#   Tasks : 4
"""

# 2 jobs on 3 machines; job 2's middle operation has a zero-duration alternative.
TINY_FJSP = """\
2 3 1.5
2 2 1 4 2 5 1 3 2
3 1 2 3 2 1 0 3 7 1 1 6
"""

TINY_SM = """\
************************************************************************
file with basedata            : tiny.bas
************************************************************************
projects                      :  1
jobs (incl. supersource/sink ):  4
horizon                       :  10
RESOURCES
  - renewable                 :  2   R
  - nonrenewable              :  0   N
  - doubly constrained        :  0   D
************************************************************************
PRECEDENCE RELATIONS:
jobnr.    #modes  #successors   successors
   1        1          2           2   3
   2        1          1           3
   3        1          1           4
   4        1          0
************************************************************************
REQUESTS/DURATIONS:
jobnr. mode duration  R 1  R 2
------------------------------------------------------------------------
  1      1     0       0    0
  2      1     3       2    0
  3      1     2       1    1
  4      1     0       0    0
************************************************************************
RESOURCEAVAILABILITIES:
  R 1  R 2
    2    1
************************************************************************
"""


def tiny_dnn() -> dict[str, Any]:
    """Three ops: a parameter (0 ms), a conv on CPU or accelerator, a CPU-only softmax."""
    return {
        "maxSizePerFPGA": 1e9,
        "maxFPGAs": 2,
        "maxCPUs": 4,
        "nodes": [
            {
                "id": 5,
                "name": "w.weight",
                "supportedOnFpga": True,
                "cpuLatency": 0,
                "fpgaLatency": 0,
                "isBackwardNode": False,
                "size": 1024.0,
            },
            {
                "id": 7,
                "name": "Conv1",
                "supportedOnFpga": 1,
                "cpuLatency": 1.236,
                "fpgaLatency": 0.1236,
                "isBackwardNode": False,
                "colorClass": 3,
                "size": 4096.0,
            },
            {
                "id": 9,
                "name": "Softmax1",
                "supportedOnFpga": 0,
                "cpuLatency": 0.5,
                "fpgaLatency": 0.05,
                "isBackwardNode": False,
                "size": 2048.0,
            },
        ],
        "edges": [
            {"sourceId": 5, "destId": 7, "cost": 1024 / LINK_BYTES_PER_MS, "size": 1024.0},
            {"sourceId": 7, "destId": 9, "cost": 4096 / LINK_BYTES_PER_MS, "size": 4096.0},
        ],
    }


def write(tmp_path: Path, name: str, text: str) -> Path:
    """Write ``text`` to ``tmp_path / name`` (folders included) and return the path."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def edge_set(instance: Instance) -> set[tuple[str, str]]:
    """The (src, dst) pairs of an instance's edges."""
    return {(edge.src, edge.dst) for edge in instance.edges}


def assert_error(exc_info: pytest.ExceptionInfo[InvalidInput], path: Path, *parts: str) -> None:
    """The error is one line naming the file and every part given (line, field, value)."""
    text = str(exc_info.value)
    assert "\n" not in text
    assert str(path) in text
    for part in parts:
        assert part in text, (part, text)


# ---------------------------------------------------------------------- STG
def test_stg_inline_drops_dummies(tmp_path: Path) -> None:
    """Real tasks become kernels on one m-unit device; the dummies and their edges disappear."""
    inst = stg_to_instance(write(tmp_path, "g/tiny.stg", TINY_STG), 3)
    assert inst.name == "stg-g-tiny-m3"
    assert [(k.name, k.modes[0].duration) for k in inst.kernels] == [
        ("t1", 3),
        ("t2", 2),
        ("t3", 4),
        ("t4", 1),
    ]
    assert inst.devices[0].units == 3 and inst.num_jobs == 1
    assert edge_set(inst) == {("t1", "t3"), ("t2", "t4"), ("t3", "t4")}
    assert inst.objective.type == "makespan" and inst.time_unit == "unit"
    assert instance_from_json(instance_to_json(inst)) == inst


@st.composite
def stg_graphs(draw: st.DrawFn) -> tuple[list[int], list[list[int]]]:
    """A random STG file body: task times (some 0) and predecessor lists of earlier tasks."""
    num_tasks = draw(st.integers(1, 10))
    times = [draw(st.integers(0, 4)) for _ in range(num_tasks)]
    preds = [
        sorted(draw(st.sets(st.integers(1, task - 1), max_size=3))) if task > 1 else []
        for task in range(1, num_tasks + 1)
    ]
    return times, preds


def stg_text(times: list[int], preds: list[list[int]]) -> str:
    num_tasks = len(times)
    lines = [str(num_tasks), "0 0 0"]
    has_succ = {p for task_preds in preds for p in task_preds}
    for task, (time, task_preds) in enumerate(zip(times, preds, strict=True), start=1):
        entry = task_preds or [0]
        lines.append(f"{task} {time} {len(entry)} " + " ".join(map(str, entry)))
    sinks = [task for task in range(1, num_tasks + 1) if task not in has_succ]
    lines.append(f"{num_tasks + 1} 0 {len(sinks)} " + " ".join(map(str, sinks)))
    return "\n".join(lines) + "\n# generated\n"


@given(stg_graphs())
@settings(max_examples=80, deadline=None)
def test_stg_zero_tasks_keep_every_path(
    tmp_path_factory: pytest.TempPathFactory, graph: tuple[list[int], list[list[int]]]
) -> None:
    """Dropping zero-time tasks keeps exactly the paths between the remaining tasks."""
    times, preds = graph
    path = tmp_path_factory.mktemp("stg") / "g.stg"
    path.write_text(stg_text(times, preds))
    if all(time == 0 for time in times):
        with pytest.raises(InvalidInput):
            stg_to_instance(path, 2)
        return
    inst = stg_to_instance(path, 2)
    original = nx.DiGraph()
    original.add_nodes_from(range(1, len(times) + 1))
    original.add_edges_from((p, t) for t, ps in enumerate(preds, start=1) for p in ps)
    kept = [t for t, time in enumerate(times, start=1) if time > 0]
    converted = nx.DiGraph()
    converted.add_nodes_from(f"t{t}" for t in kept)
    converted.add_edges_from(edge_set(inst))
    for u in kept:
        for v in kept:
            if u != v:
                assert nx.has_path(original, u, v) == nx.has_path(converted, f"t{u}", f"t{v}")


def test_contract_zero_tasks_bypasses_chains() -> None:
    """A chain of dropped nodes is bypassed; a cycle is reported with its path."""
    assert contract_zero_tasks("abcd", [("a", "b"), ("b", "c"), ("c", "d")], {"b", "c"}) == [
        ("a", "d")
    ]
    with pytest.raises(InvalidInput, match="cycle"):
        contract_zero_tasks("ab", [("a", "b"), ("b", "a")], {"a"})


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (TINY_STG.replace("3 4 1 1", "7 4 1 1"), ("line 5", "task id", "'7'")),
        (TINY_STG.replace("4 1 2 2 3", "4 1 2 2 9"), ("line 6", "predecessor of task 4", "'9'")),
        (TINY_STG.replace("4 1 2 2 3", "4 1 3 2 3"), ("line 6", "predecessors of task 4")),
        (TINY_STG.replace("2 2 1 0", "2 x 1 0"), ("line 4", "task record", "'x'")),
        (TINY_STG.replace("5 0 1 4\n", ""), ("tasks", "expected 6 task lines")),
        (TINY_STG.replace("# Standard", "6 1 0\n# Standard"), ("line 8", "unexpected data")),
        ("4 4\n", ("line 1", "number of tasks")),
        ("", ("the file holds no task graph",)),
    ],
)
def test_stg_malformed(tmp_path: Path, text: str, parts: tuple[str, ...]) -> None:
    """Malformed STG files raise InvalidInput naming the file, the line, the field and value."""
    path = write(tmp_path, "bad.stg", text)
    with pytest.raises(InvalidInput) as exc_info:
        stg_to_instance(path, 2)
    assert_error(exc_info, path, *parts)


def test_stg_bad_processor_count(tmp_path: Path) -> None:
    """m must be a positive integer."""
    with pytest.raises(InvalidInput, match="processors"):
        stg_to_instance(write(tmp_path, "g.stg", TINY_STG), 0)


def test_stg_real_instance(benchmarks_dir: Path) -> None:
    """rand0009 (50 tasks): 50 kernels, the file's 143 real edges, every path between tasks kept."""
    path = benchmarks_dir / "stg" / "50" / "rand0009.stg"
    inst = stg_to_instance(path, 4)
    rows = [line.split() for line in path.read_text().splitlines()[1:53]]
    file_edges = {(int(p), int(r[0])) for r in rows for p in r[3:]}
    real_edges = {(u, v) for u, v in file_edges if u != 0 and v != 51}
    assert inst.num_kernels == 50 and inst.devices[0].units == 4
    assert edge_set(inst) == {(f"t{u}", f"t{v}") for u, v in real_edges}
    assert len(inst.edges) == 143
    assert {k.name: k.modes[0].duration for k in inst.kernels} == {
        f"t{r[0]}": int(r[1]) for r in rows[1:51]
    }
    original = nx.DiGraph(file_edges)
    closure = nx.transitive_closure_dag(nx.DiGraph(real_edges))
    for u in range(1, 51):
        for v in nx.descendants(original, u) - {51}:
            assert closure.has_edge(u, v)


# ---------------------------------------------------------------------- FJSP
def test_fjsp_inline(tmp_path: Path) -> None:
    """Machines, jobs, per-machine modes and job chains; a zero-time operation is bypassed."""
    inst = fjsp_to_instance(write(tmp_path, "brandimarte/tiny.txt", TINY_FJSP))
    assert inst.name == "tiny"
    assert [d.name for d in inst.devices] == ["m1", "m2", "m3"]
    assert [j.name for j in inst.jobs] == ["j1", "j2"]
    modes = {k.name: [(m.device, m.duration) for m in k.modes] for k in inst.kernels}
    assert modes == {
        "j1/o1": [("m1", 4), ("m2", 5)],
        "j1/o2": [("m3", 2)],
        "j2/o1": [("m2", 3)],
        "j2/o3": [("m1", 6)],
    }
    assert edge_set(inst) == {("j1/o1", "j1/o2"), ("j2/o1", "j2/o3")}
    assert inst.objective.type == "makespan"


def test_fjsp_names() -> None:
    """Benchmark names follow bks.json: Hurink's data set is a suffix."""
    assert fjsp_name("x/brandimarte/mk01.txt") == "mk01"
    assert fjsp_name("x/hurink/edata/abz5.txt") == "abz5_edata"


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (TINY_FJSP.replace("2 3 1.5", "3 3 1.5"), ("jobs", "announces 3 job line(s)")),
        (TINY_FJSP.replace("1 3 2\n", "1 4 2\n"), ("line 2", "job 1, operation 2: machine", "'4'")),
        (TINY_FJSP.replace("1 3 2\n", "2 3 2 3 1\n"), ("line 2", "machine", "listed twice")),
        (
            TINY_FJSP.replace("1 3 2\n", "1 3\n"),
            ("line 2", "job 1, operation 2", "the line ends early"),
        ),
        (TINY_FJSP.replace("1 3 2\n", "1 3 2 9\n"), ("line 2", "job 1", "unexpected data")),
        (TINY_FJSP.replace("1 1 6", "1 1 -6"), ("line 3", "must be an integer >= 0", "'-6'")),
    ],
)
def test_fjsp_malformed(tmp_path: Path, text: str, parts: tuple[str, ...]) -> None:
    """Malformed FJSP files raise InvalidInput naming the file, the line, the field and value."""
    path = write(tmp_path, "bad.txt", text)
    with pytest.raises(InvalidInput) as exc_info:
        fjsp_to_instance(path)
    assert_error(exc_info, path, *parts)


def test_fjsp_mk01(benchmarks_dir: Path) -> None:
    """mk01: 10 jobs, 6 machines, 55 operations chained within their jobs."""
    inst = fjsp_to_instance(benchmarks_dir / "fjsp" / "brandimarte" / "mk01.txt")
    assert (inst.name, inst.num_jobs, inst.num_devices, inst.num_kernels) == ("mk01", 10, 6, 55)
    assert len(inst.edges) == 55 - 10
    assert all(
        inst.kernel2job[inst.kernel_idx[e.src]] == inst.kernel2job[inst.kernel_idx[e.dst]]
        for e in inst.edges
    )
    first = inst.kernels[0]
    assert [(m.device, m.duration) for m in first.modes] == [("m1", 5), ("m3", 4)]


def test_fjsp_hurink_zero_operation(benchmarks_dir: Path) -> None:
    """Hurink's vdata/orb7 has an all-zero operation: dropped, its job's chain bypasses it."""
    inst = fjsp_to_instance(benchmarks_dir / "fjsp" / "hurink" / "vdata" / "orb7.txt")
    assert inst.name == "orb7_vdata" and inst.num_kernels == 99 and inst.num_jobs == 10


# ---------------------------------------------------------------------- PSPLIB
def test_psplib_inline(tmp_path: Path) -> None:
    """Resources with capacities, one private device per activity, demands, kept precedence."""
    inst = psplib_to_instance(write(tmp_path, "tiny.sm", TINY_SM))
    assert inst.name == "tiny"
    assert [(r.name, r.capacity) for r in inst.resources] == [("R1", 2.0), ("R2", 1.0)]
    assert [k.name for k in inst.kernels] == ["a2", "a3"]
    assert [dict(k.modes[0].demands) for k in inst.kernels] == [{"R1": 2.0}, {"R1": 1.0, "R2": 1.0}]
    assert [k.modes[0].duration for k in inst.kernels] == [3, 2]
    assert len({k.modes[0].device for k in inst.kernels}) == 2
    assert all(d.units == 1 for d in inst.devices)
    assert edge_set(inst) == {("a2", "a3")}


@pytest.mark.parametrize(
    ("old", "new", "parts"),
    [
        (
            "   2        1          1           3",
            "   2        2          1           3",
            ("line 15", "activity 2: #modes", "single-mode"),
        ),
        (
            "  3      1     2       1    1",
            "  3      1     2       3    1",
            ("line 24", "demand for R1", "exceeds the capacity 2", "'3'"),
        ),
        (
            "  - nonrenewable              :  0",
            "  - nonrenewable              :  1",
            ("line 9", "nonrenewable resources", "only renewable"),
        ),
        (
            "   3        1          1           4",
            "   3        1          1           9",
            ("line 16", "activity 3: successor", "'9'"),
        ),
        ("  2      1     3       2    0\n", "", ("line 23", "expected activity 2", "'3'")),
        ("  4      1     0       0    0\n", "", ("line 25", "table ends after 3 of 4")),
        (
            "RESOURCEAVAILABILITIES:",
            "AVAILABILITIES:",
            ("RESOURCEAVAILABILITIES", "section is missing"),
        ),
    ],
)
def test_psplib_malformed(tmp_path: Path, old: str, new: str, parts: tuple[str, ...]) -> None:
    """Malformed .sm files raise InvalidInput naming the file, the line, the field and value."""
    assert old in TINY_SM
    path = write(tmp_path, "bad.sm", TINY_SM.replace(old, new))
    with pytest.raises(InvalidInput) as exc_info:
        psplib_to_instance(path)
    assert_error(exc_info, path, *parts)


def test_psplib_j30(benchmarks_dir: Path) -> None:
    """j301_1: 30 activities, 4 resources with the file's capacities 12, 13, 4, 12."""
    inst = psplib_to_instance(benchmarks_dir / "psplib" / "j30" / "j301_1.sm")
    assert inst.name == "j301_1" and inst.num_kernels == 30
    assert [(r.name, r.capacity) for r in inst.resources] == [
        ("R1", 12.0),
        ("R2", 13.0),
        ("R3", 4.0),
        ("R4", 12.0),
    ]
    assert {k.name for k in inst.kernels} == {f"a{a}" for a in range(2, 32)}
    by_name = {k.name: k for k in inst.kernels}
    assert by_name["a2"].modes[0].duration == 8 and dict(by_name["a2"].modes[0].demands) == {
        "R1": 4.0
    }


# ---------------------------------------------------------------------- ground truth
def test_ground_truth_tables(benchmarks_dir: Path) -> None:
    """STG (with open rows), FJSP best-known values and PSPLIB optima are read."""
    stg50 = stg_optima(benchmarks_dir, 50)
    assert len(stg50) == 720
    assert stg50[("50/rand0009.stg", 4)] == (132, 134)
    assert stg50[("50/rand0000.stg", 4)] == (66, 66)
    assert len(stg_optima(benchmarks_dir, 100)) == 720
    bks = fjsp_bks(benchmarks_dir)
    assert bks["mk01"] == (40, 40, "closed") and bks["mk10"] == (189, 193, "open")
    assert bks["abz5_edata"][2] == "closed"
    optima = psplib_optima(benchmarks_dir)
    assert len(optima) == 480 and optima["j301_1"] == 43


def test_ground_truth_inline_and_malformed(tmp_path: Path) -> None:
    """Tables parse from any directory; a malformed row names its file and line."""
    write(tmp_path, "stg/optima/Case50_4_OPT.csv", "path,m,opt\n50/a.stg,4,10\n50/b.stg,4,7,9\n")
    write(tmp_path, "psplib/optimum.csv", "problem,optimum\nj301_1.sm,43\n")
    write(
        tmp_path,
        "fjsp/bks.json",
        json.dumps(
            [
                {
                    "instance": "mk01",
                    "family": "mk",
                    "status": "closed",
                    "lower_bound": 40,
                    "upper_bound": 40,
                }
            ]
        ),
    )
    assert stg_optima(tmp_path, 50) == {("50/a.stg", 4): (10, 10), ("50/b.stg", 4): (7, 9)}
    assert psplib_optima(tmp_path) == {"j301_1": 43}
    assert fjsp_bks(tmp_path) == {"mk01": (40, 40, "closed")}
    bad = write(tmp_path, "stg/optima/Case50_4_OPT.csv", "50/a.stg,4,10\n50/b.stg,8,7,9\n")
    with pytest.raises(InvalidInput) as exc_info:
        stg_optima(tmp_path, 50)
    assert_error(exc_info, bad, "line 2", "m", "'8'")
    with pytest.raises(InvalidInput, match="Case100"):
        stg_optima(tmp_path, 100)
    bad = write(tmp_path, "psplib/optimum.csv", "problem,optimum\nj301_1.sm,x\n")
    with pytest.raises(InvalidInput) as exc_info:
        psplib_optima(tmp_path)
    assert_error(exc_info, bad, "line 2", "optimum", "'x'")
    bad = write(
        tmp_path,
        "fjsp/bks.json",
        json.dumps(
            [{"instance": "mk01", "status": "closed", "lower_bound": 40, "upper_bound": 41}]
        ),
    )
    with pytest.raises(InvalidInput) as exc_info:
        fjsp_bks(tmp_path)
    assert_error(exc_info, bad, "[0].lower_bound")


# ---------------------------------------------------------------------- DNN graphs
def test_dnn_graph_inline(tmp_path: Path) -> None:
    """Measured latencies in us, accel only where supported, edge bytes and transfer time."""
    graph = load_dnn_graph(write(tmp_path, "operator/tiny.json", json.dumps(tiny_dnn())))
    validate_op_graph(graph)
    assert graph.graph["granularity"] == "operator" and graph.graph["max_cpus"] == 4
    conv = graph.nodes["Conv1"]
    assert conv["type"] == "conv" and conv["flops"] == 0.0
    assert conv["measured_us"] == pytest.approx({"cpu": 1236.0, "accel": 123.6})
    assert graph.nodes["Softmax1"]["measured_us"] == pytest.approx({"cpu": 500.0})
    assert conv["bytes_written"] == 4096.0 and conv["bytes_read"] == 1024.0
    assert conv["color_class"] == 3 and conv["profile_id"] == 7
    edge = graph.edges["Conv1", "Softmax1"]
    assert edge["bytes"] == 4096.0
    assert edge["transfer_us"] == pytest.approx(4096 / LINK_BYTES_PER_MS * 1000)


def test_dnn_instance_inline(tmp_path: Path) -> None:
    """Periodic inferences with deadlines; durations rounded up to >= 1 us; delays on edges."""
    path = write(tmp_path, "layer/tiny.json", json.dumps(tiny_dnn()))
    inst = dnn_graph_to_instance(
        path, num_inferences=3, period_us=1000, deadline_us=2500, cpu_units=2
    )
    assert inst.name == "dnn-layer-tiny-x3" and inst.time_unit == "us"
    assert [(d.name, d.units, d.kind) for d in inst.devices] == [
        ("cpu", 2, "cpu"),
        ("accel", 1, "gpu"),
    ]
    assert [(j.release, j.deadline) for j in inst.jobs] == [(0, 2500), (1000, 3500), (2000, 4500)]
    modes = {k.name: [(m.device, m.duration) for m in k.modes] for k in inst.kernels}
    assert modes["inf1/w.weight"] == [("cpu", 1), ("accel", 1)]
    assert modes["inf1/Conv1"] == [("cpu", 1236), ("accel", 124)]
    assert modes["inf1/Softmax1"] == [("cpu", 500)]
    delays = {(e.src, e.dst): e.cross_device_delay for e in inst.edges}
    assert delays[("inf2/Conv1", "inf2/Softmax1")] == math.ceil(4096 / LINK_BYTES_PER_MS * 1000)
    assert len(inst.edges) == 6
    assert instance_from_json(instance_to_json(inst)) == inst


@pytest.mark.parametrize(
    ("change", "parts"),
    [
        (lambda d: d["nodes"][1].update(cpuLatency=-1), ("nodes[1].cpuLatency", "-1")),
        (lambda d: d["nodes"][1].update(fpgaLatency=float("nan")), ("nodes[1].fpgaLatency",)),
        (lambda d: d["nodes"][2].update(supportedOnFpga=2), ("nodes[2].supportedOnFpga",)),
        (lambda d: d["nodes"][2].update(id=7), ("nodes[2].id", "7")),
        (lambda d: d["edges"][0].update(destId=99), ("edges[0].destId", "99")),
        (lambda d: d["edges"].append({"sourceId": 9, "destId": 5, "cost": 0.1}), ("cycle",)),
        (lambda d: d["nodes"][0].pop("size"), ("nodes[0].size", "is required")),
        (lambda d: d.pop("edges"), ("edges", "JSON array")),
    ],
)
def test_dnn_malformed(
    tmp_path: Path, change: Callable[[dict[str, Any]], object], parts: tuple[str, ...]
) -> None:
    """Malformed graph files raise InvalidInput naming the file, the field and the value."""
    doc = tiny_dnn()
    change(doc)
    path = write(tmp_path, "bad.json", json.dumps(doc))
    with pytest.raises(InvalidInput) as exc_info:
        load_dnn_graph(path)
    assert_error(exc_info, path, *parts)


def test_dnn_bad_parameters_and_json(tmp_path: Path) -> None:
    """Bad parameters name the parameter; malformed JSON names the file and line."""
    path = write(tmp_path, "tiny.json", json.dumps(tiny_dnn()))
    with pytest.raises(InvalidInput, match="num_inferences"):
        dnn_graph_to_instance(path, num_inferences=0)
    with pytest.raises(InvalidInput, match="period_us"):
        dnn_graph_to_instance(path, num_inferences=2, period_us=-5)
    bad = write(tmp_path, "broken.json", '{"nodes": [\n')
    with pytest.raises(InvalidInput) as exc_info:
        load_dnn_graph(bad)
    assert_error(exc_info, bad, "malformed JSON at line 2")


def test_infer_op_type() -> None:
    """ONNX-style names map to op types; other names are 'other'."""
    assert infer_op_type("BatchNormalization1_gpu_0/res_conv1_bn_1") == "batchnorm"
    assert infer_op_type("LayerNormalization12") == "layernorm"
    assert infer_op_type("Gemm1") == "matmul"
    assert infer_op_type("TrainableDropout3_318") == "other"
    assert infer_op_type("gpu_0/conv1_w_0") == "other"


def test_dnn_real_graphs(benchmarks_dir: Path) -> None:
    """Every profiled graph loads; resnet50 layers: 177 ops, 193 edges, latencies in us."""
    for path in sorted((benchmarks_dir / "dnn-graphs").glob("*/*.json")):
        graph = load_dnn_graph(path)
        validate_op_graph(graph)
        raw = json.loads(path.read_text())
        assert graph.number_of_nodes() == len(raw["nodes"])
        assert graph.number_of_edges() == len(raw["edges"])
        for _, _, data in graph.edges(data=True):
            # cost is the edge's bytes over a 2 GiB/s link, in ms (see the module docstring)
            assert data["transfer_us"] == pytest.approx(data["bytes"] / LINK_BYTES_PER_MS * 1000)
    graph = load_dnn_graph(benchmarks_dir / "dnn-graphs" / "layer" / "resnet50_inference.json")
    assert (graph.number_of_nodes(), graph.number_of_edges()) == (177, 193)
    assert graph.nodes["node77"]["measured_us"] == pytest.approx({"cpu": 12360.0, "accel": 1236.0})
    inst = dnn_graph_to_instance(
        benchmarks_dir / "dnn-graphs" / "operator" / "bert_l-3_inference.json",
        num_inferences=2,
        period_us=50_000,
    )
    assert inst.num_kernels == 2 * 235 and len(inst.edges) == 2 * 250
    assert all(mode.duration >= 1 for ker in inst.kernels for mode in ker.modes)
