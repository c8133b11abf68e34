"""Instances to and from networkx: the lossless round trip, SAGA-style task graphs, kernel DAGs."""

from __future__ import annotations

import math
import random

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tiny_instance
from tests.onnx_models import residual_block
from xpuplan.models import (
    Device,
    Instance,
    InvalidInput,
    Job,
    Objective,
    Unsupported,
    check_schedule,
    instance_from_json,
    instance_to_json,
)
from xpuplan.models.generate import layered_dag_instance, random_small_instance
from xpuplan.models.kernels import build_kernel_dag
from xpuplan.models.nx import canonical_edge_order, instance_from_networkx, instance_to_networkx
from xpuplan.models.presets import get_platform
from xpuplan.solvers import solve


def _round_trip(inst: Instance) -> None:
    graph = inst.to_networkx()
    back = instance_from_networkx(graph)
    assert back == canonical_edge_order(inst)
    assert instance_to_json(back)["edges"] == instance_to_json(canonical_edge_order(inst))["edges"]
    # Same rules, same answers: the edges' order is the only difference, and no rule reads it.
    assert sorted(map(repr, back.edges)) == sorted(map(repr, inst.edges))
    assert instance_from_networkx(back.to_networkx()) == back


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000))
def test_round_trip_random_small(seed):
    """Every rule of the format survives Instance -> DiGraph -> Instance."""
    _round_trip(random_small_instance(seed, max_kernels=8))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 40), st.integers(1, 4))
def test_round_trip_layered(seed, num_kernels, num_devices):
    """Large layered DAGs (edges listed in any order) come back equal up to edge order."""
    inst = layered_dag_instance(seed, num_kernels, num_devices=num_devices)
    shuffled = list(inst.edges)
    random.Random(seed).shuffle(shuffled)
    _round_trip(inst.replace(edges=tuple(shuffled)))


def test_round_trip_keeps_attrs_and_every_field():
    """Kernel provenance, resources, power cap, lexicographic objective and units all survive."""
    inst = tiny_instance(objective=Objective.parse("late_jobs,energy"), dvfs="per-device")
    inst = inst.replace(
        kernels=tuple(
            k.__class__(k.name, k.job, k.modes, {"task": "t", "chunk": 2}) for k in inst.kernels
        ),
        time_unit="ms",
    )
    graph = inst.to_networkx()
    assert graph.graph["power_cap_w"] == 10.0 and graph.graph["dvfs"] == "per-device"
    assert graph.graph["resources"] == inst.resources and graph.graph["jobs"] == inst.jobs
    assert graph.nodes["a1"]["attrs"] == {"task": "t", "chunk": 2}
    assert graph.edges["a1", "a2"] == {"cross_device_delay": 3, "resume_cost": 2}
    assert instance_from_networkx(graph) == inst


def test_json_like_attributes_are_accepted():
    """A hand-written graph may give devices, jobs and modes as plain mappings."""
    inst = tiny_instance()
    doc = instance_to_json(inst)
    graph = nx.DiGraph(
        name="tiny",
        devices=doc["devices"],
        jobs=doc["jobs"],
        resources=doc["resources"],
        power_cap_w=doc["power_cap_w"],
        objective="makespan",
        time_unit="us",
    )
    for ker in doc["kernels"]:
        graph.add_node(ker["name"], job=ker["job"], modes=ker["modes"])
    for edge in doc["edges"]:
        graph.add_edge(edge["src"], edge["dst"], **{k: edge[k] for k in edge if k not in "srcdst"})
    assert instance_from_networkx(graph) == instance_from_json(doc)


def test_keywords_override_graph_attributes():
    """Keyword arguments win over the graph's attributes."""
    graph = tiny_instance().to_networkx()
    inst = instance_from_networkx(
        graph, name="other", objective="energy", power_cap_w=20.0, time_unit="ms"
    )
    assert (inst.name, inst.objective, inst.power_cap_w, inst.time_unit) == (
        "other",
        Objective("energy"),
        20.0,
        "ms",
    )


# ---------------------------------------------------------------------- SAGA-style task graphs
def _saga_graph(seed: int, num_tasks: int) -> nx.DiGraph:
    rng = random.Random(seed)
    graph = nx.DiGraph()
    for t_idx in range(num_tasks):
        graph.add_node(t_idx, weight=round(rng.uniform(0.0, 20.0), rng.choice((0, 1, 3))))
    for dst in range(1, num_tasks):
        for src in rng.sample(range(dst), min(dst, rng.randint(0, 2))):
            graph.add_edge(src, dst, weight=round(rng.uniform(0.0, 10.0), 2))
    return graph


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 10_000),
    st.integers(1, 12),
    st.lists(st.floats(0.1, 8.0), min_size=1, max_size=4),
    st.floats(0.25, 4.0),
    st.sampled_from([1.0, 10.0, 1000.0]),
)
def test_saga_durations_and_delays(seed, num_tasks, speed_list, bandwidth, scale):
    """Durations are ceil(s cost / speed) (at least 1), delays ceil(s data / bandwidth)."""
    graph = _saga_graph(seed, num_tasks)
    speeds = {f"p{d_idx}": speed for d_idx, speed in enumerate(speed_list)}
    inst = instance_from_networkx(graph, speeds=speeds, bandwidth=bandwidth, time_scale=scale)
    assert [dev.name for dev in inst.devices] == list(speeds)
    assert [job.name for job in inst.jobs] == ["dag"] and inst.objective.type == "makespan"
    for ker in inst.kernels:
        cost = graph.nodes[int(ker.name)]["weight"]
        for mode in ker.modes:
            exact = scale * cost / speeds[mode.device]
            assert mode.duration == max(1, math.ceil(round(exact, 9)))
            assert mode.duration >= exact - 1e-6 and mode.duration < max(1.0, exact) + 1
    for edge in inst.edges:
        exact = scale * graph.edges[int(edge.src), int(edge.dst)]["weight"] / bandwidth
        assert edge.cross_device_delay == math.ceil(round(exact, 9))
    result = solve(inst, "heft")
    assert check_schedule(inst, result.schedule) == []
    # The round trip of the instance built from a task graph is lossless too.
    assert instance_from_networkx(inst.to_networkx()) == canonical_edge_order(inst)


def test_saga_float_noise_does_not_round_up():
    """1 / (1/3) is 3 time units, not 4; a zero cost still takes one unit."""
    graph = nx.DiGraph()
    graph.add_node("a", weight=1.0)
    graph.add_node("b", weight=0)
    graph.add_edge("a", "b", weight=0.0)
    inst = instance_from_networkx(graph, speeds={"cpu": 1 / 3})
    assert [k.modes[0].duration for k in inst.kernels] == [3, 1]
    assert inst.edges[0].cross_device_delay == 0


def test_saga_network():
    """A SAGA network gives the speeds (node weight) and the one link strength (edge weight)."""
    tasks = nx.DiGraph([("a", "b", {"weight": 12.0})])
    nx.set_node_attributes(tasks, {"a": 6.0, "b": 3.0}, "weight")
    network = nx.Graph()
    network.add_nodes_from([("cpu", {"weight": 1.0}), ("gpu", {"weight": 3.0})])
    network.add_edge("cpu", "gpu", weight=4.0)
    network.add_edge("cpu", "cpu", weight=1e9)  # SAGA's self loops: ignored
    inst = instance_from_networkx(tasks, network=network)
    assert [(m.device, m.duration) for m in inst.kernels[0].modes] == [("cpu", 6), ("gpu", 2)]
    assert inst.edges[0].cross_device_delay == 3
    network.add_node("npu", weight=2.0)
    network.add_edge("npu", "gpu", weight=8.0)
    with pytest.raises(Unsupported, match="differ in strength"):
        instance_from_networkx(tasks, network=network)
    assert instance_from_networkx(tasks, network=network, bandwidth=4.0).num_devices == 3


def test_saga_devices_with_units_and_idle_power():
    """Given devices keep their units and idle power; each needs a speed."""
    tasks = nx.DiGraph()
    tasks.add_node("a", weight=4)
    devices = [Device("cpu", 4, 0.5, "cpu"), "gpu"]
    inst = instance_from_networkx(tasks, devices, speeds={"cpu": 1.0, "gpu": 2.0})
    assert inst.devices == (Device("cpu", 4, 0.5, "cpu"), Device("gpu"))
    with pytest.raises(InvalidInput, match="speeds"):
        instance_from_networkx(tasks, devices, speeds={"cpu": 1.0})


# ---------------------------------------------------------------------- kernel DAGs from the zoo
def test_kernel_dag_from_the_zoo_becomes_an_instance():
    """build_kernel_dag's DiGraph (modes on nodes) is an instance on the platform's devices."""
    platform = get_platform("jetson-orin-nx-16gb")
    dag = build_kernel_dag("resnet-50", platform, max_kernels=8, levels="top")
    assert isinstance(dag, nx.DiGraph) and nx.is_directed_acyclic_graph(dag)
    inst = instance_from_networkx(dag, platform, job="resnet@0", time_unit="us")
    assert inst.num_kernels == dag.number_of_nodes() and len(inst.edges) == dag.number_of_edges()
    assert [dev.name for dev in inst.devices] == [dev.name for dev in platform.devices]
    assert inst.jobs == (Job("resnet@0"),)
    first = inst.kernels[0]
    assert first.attrs["label"] == dag.nodes[first.name]["label"]
    assert first.modes == dag.nodes[first.name]["modes"]
    result = solve(inst, "heft")
    assert check_schedule(inst, result.schedule) == []


def test_kernel_dag_from_an_onnx_file_becomes_an_instance(tmp_path):
    """An imported ONNX model's kernel DAG is a DiGraph too; it becomes an instance the same way."""
    path, _ = residual_block(tmp_path / "residual.onnx")
    platform = get_platform("core-ultra-125h")
    dag = build_kernel_dag("residual", platform, max_kernels=3, onnx=str(path))
    assert isinstance(dag, nx.DiGraph) and dag.graph["family"] == "onnx"
    inst = instance_from_networkx(dag, platform, job="residual@0", time_unit="us")
    assert inst.num_kernels == dag.number_of_nodes() and len(inst.edges) == dag.number_of_edges()
    result = solve(inst, "heft")
    assert check_schedule(inst, result.schedule) == []
    assert instance_from_networkx(inst.to_networkx()) == canonical_edge_order(inst)


# ---------------------------------------------------------------------- bad graphs
def test_bad_graphs_are_named():
    """A cycle, mixed node kinds, missing speeds, an undirected graph: one clear InvalidInput."""
    cyclic = nx.DiGraph([("a", "b"), ("b", "a")])
    with pytest.raises(InvalidInput, match="cycle"):
        instance_from_networkx(cyclic, speeds={"cpu": 1.0})
    mixed = tiny_instance().to_networkx()
    mixed.add_node("extra", weight=3)
    with pytest.raises(InvalidInput, match="extra"):
        instance_from_networkx(mixed)
    plain = nx.DiGraph()
    plain.add_node("a", weight=2)
    with pytest.raises(InvalidInput, match="speeds"):
        instance_from_networkx(plain)
    with pytest.raises(InvalidInput, match="weight"):
        instance_from_networkx(nx.DiGraph([("a", "b", {"weight": -1})]), speeds={"cpu": 1.0})
    with pytest.raises(InvalidInput, match="DiGraph"):
        instance_from_networkx(nx.Graph([("a", "b")]), speeds={"cpu": 1.0})
    wrong_device = tiny_instance().to_networkx()
    with pytest.raises(InvalidInput, match="names no device"):
        instance_from_networkx(wrong_device, ["cpu"])


def test_to_networkx_does_not_import_networkx_into_models():
    """Importing the data layer stays free of networkx (it loads on first conversion)."""
    import subprocess
    import sys

    code = (
        "import sys, xpuplan.models; "
        "assert 'networkx' not in sys.modules and 'pandas' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert instance_to_networkx(tiny_instance()).number_of_nodes() == 3
