"""Profiled DNN graphs (NeurIPS 2020 device-placement set) -> operator graphs and Instances.

Source: Tarnawski et al., "Efficient Algorithms for Device Placement of DNN Graph Operators",
NeurIPS 2020 (github.com/msr-fiddle/dnn-partitioning, MIT licence); ``../shared/benchmarks/
dnn-graphs/{layer,operator}/*.json``.

Format
------
``{"maxSizePerFPGA", "maxFPGAs", "maxCPUs", "nodes": [...], "edges": [...]}``. Each node has an
``id``, a ``name``, ``cpuLatency`` and ``fpgaLatency`` (the time to run it on a CPU core and on an
accelerator; "FPGA" stands for any accelerator, a GPU for the layer graphs), ``supportedOnFpga``
(bool or 0/1), ``size`` (the memory it takes on an accelerator, in bytes) and optionally
``colorClass`` (nodes of one colour class must share a device). Each edge has ``sourceId``,
``destId``, ``cost`` (the time to move the source's output between an accelerator and CPU DRAM)
and ``size`` (the bytes moved).

Units, as found in the files: latencies and costs are in **milliseconds**. Every edge satisfies
``cost = size / 2^31 * 1000`` exactly, i.e. ``size`` bytes over a 2 GiB/s link in ms (in us or s
the link would run at 2 TB/s or 2 MB/s, neither plausible for a host-accelerator transfer). The
files also show ``cpuLatency = 10 x fpgaLatency`` in every layer graph and ``23 x`` in every
operator graph, so the CPU figures are a scaled copy of the accelerator profile, not a second
measurement.

Op graph (:func:`load_dnn_graph`, schema of :mod:`xpuplan.models.opgraph`)
-----------------------------------------------------------------
* node key: the node's ``name`` (unique in every file); ``profile_id`` keeps the file's ``id``;
* ``type``: inferred from ONNX-style operator names (``Conv12`` -> ``conv``, ``MatMul3`` ->
  ``matmul``, see :data:`ONNX_OP_TYPES`), ``"other"`` for layer graphs (``node77``), parameters and
  unknown operators;
* ``flops = 0`` and ``weight_bytes = 0``: the files carry no such figures and estimating them from
  names would be a guess; cost models must use ``measured_us`` instead;
* ``measured_us = {"cpu": cpuLatency x 1000, "accel": fpgaLatency x 1000}``, ``"accel"`` omitted
  when ``supportedOnFpga`` is false;
* ``bytes_written = size`` (in these files a node's size equals its outgoing transfer size on most
  edges); ``bytes_read`` = the bytes of its incoming edges; ``shape = ()``, ``precision = "fp32"``
  (unknown; unused when latencies are measured); ``color_class`` kept when present;
* edge ``bytes`` = the edge's ``size`` (or ``cost`` x 2^31 / 1000 when absent) and
  ``transfer_us = cost x 1000``.

Colour classes (co-location constraints of the paper's partitioning model) have no counterpart in
an :class:`xpuplan.models.Instance` and are not enforced by :func:`dnn_graph_to_instance`. The same
holds for the file's ``maxCPUs``, ``maxFPGAs`` and ``maxSizePerFPGA`` (how many devices the paper's
pipeline partitioning may use, and the accelerator memory that must hold a partition's weights):
they are kept on the op graph (``max_cpus``, ``max_accels``, ``max_bytes_per_accel``) but the
Instance is a different problem, scheduling inferences on ``cpu_units`` CPU and ``accel_units``
accelerator units with no memory capacity. Its optima are therefore not comparable with the
paper's throughput figures, and the benchmarks never compare them.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import networkx as nx

from xpuplan.models.errors import InvalidInput
from xpuplan.models.instance import Device, Edge, Instance, Job, Kernel, Mode, Objective
from xpuplan.models.jsonio import read_json
from xpuplan.models.opgraph import add_op, new_op_graph, validate_op_graph

# Bytes per millisecond of the transfer link implied by every edge of the files (2 GiB/s).
LINK_BYTES_PER_MS = 2**31 / 1000
LEVEL = "-"
# ONNX operator name -> op type of models.opgraph; elementwise Sub/Div join add/mul, whose cost
# class and fusion behaviour they share.
ONNX_OP_TYPES: Mapping[str, str] = {
    "Conv": "conv",
    "ConvTranspose": "conv_transpose",
    "BatchNormalization": "batchnorm",
    "Relu": "relu",
    "MaxPool": "pool",
    "AveragePool": "pool",
    "GlobalAveragePool": "global_pool",
    "Add": "add",
    "Sum": "add",
    "Sub": "add",
    "Mul": "mul",
    "Div": "mul",
    "MatMul": "matmul",
    "Gemm": "matmul",
    "Softmax": "softmax",
    "LayerNormalization": "layernorm",
    "Gelu": "gelu",
    "FastGelu": "gelu",
    "Tanh": "tanh",
    "Sigmoid": "sigmoid",
    "Reshape": "reshape",
    "Transpose": "reshape",
    "Squeeze": "reshape",
    "Unsqueeze": "reshape",
    "Flatten": "reshape",
    "Concat": "concat",
    "Gather": "embedding",
}
# "Conv12", "BatchNormalization1_gpu_0/res_conv1_bn_1", "LayerNormalization1_saved_mean_1".
_ONNX_NAME = re.compile(r"^([A-Z][A-Za-z]*?)\d+(?:_|$)")


def infer_op_type(name: str) -> str:
    """The op type of an ONNX-style operator name, ``"other"`` when it is not one.

    >>> infer_op_type("MatMul12"), infer_op_type("node77"), infer_op_type("bert.pooler.dense")
    ('matmul', 'other', 'other')
    """
    match = _ONNX_NAME.match(name)
    return ONNX_OP_TYPES.get(match.group(1), "other") if match else "other"


def load_dnn_graph(path: str | os.PathLike[str]) -> nx.DiGraph:
    """Read a profiled DNN graph as an operator graph with measured latencies.

    Parameters
    ----------
    path
        A JSON file of the NeurIPS 2020 device-placement set.

    Returns
    -------
    networkx.DiGraph
        Graph attributes ``name`` (file stem), ``family = "profiled"``, ``precision``,
        ``granularity`` (the folder: ``layer`` or ``operator``), ``max_cpus``, ``max_accels``,
        ``max_bytes_per_accel``; nodes and edges as in the module docstring.

    Raises
    ------
    InvalidInput
        Naming the file, the field (``nodes[3].cpuLatency``) and the value at fault.
    """
    src = Path(path)
    data = read_json(src)
    try:
        return _build_graph(data, src)
    except InvalidInput as exc:
        raise exc.in_file(str(src)) from None


def _build_graph(data: Any, src: Path) -> nx.DiGraph:
    if not isinstance(data, Mapping):
        raise InvalidInput("must be a JSON object", field="(document)", value=type(data).__name__)
    raw_nodes = _array(data, "nodes")
    raw_edges = _array(data, "edges")
    graph = new_op_graph(src.stem, "profiled", precision="fp32")
    graph.graph["granularity"] = src.parent.name
    for key, attr in (
        ("maxCPUs", "max_cpus"),
        ("maxFPGAs", "max_accels"),
        ("maxSizePerFPGA", "max_bytes_per_accel"),
    ):
        if key in data:
            _number(data[key], key)
            graph.graph[attr] = data[key]

    id2name: dict[int, str] = {}
    names: set[str] = set()
    nodes = []
    for n_idx, node in enumerate(raw_nodes):
        where = f"nodes[{n_idx}]"
        if not isinstance(node, Mapping):
            raise InvalidInput("must be a JSON object", field=where, value=node)
        node_id = _field(node, "id", where)
        if isinstance(node_id, bool) or not isinstance(node_id, int):
            raise InvalidInput("must be an integer", field=f"{where}.id", value=node_id)
        if node_id in id2name:
            raise InvalidInput("repeats the id of another node", field=f"{where}.id", value=node_id)
        name = node.get("name", f"node{node_id}")
        if not isinstance(name, str) or not name:
            raise InvalidInput("must be a non-empty string", field=f"{where}.name", value=name)
        if name in names:
            raise InvalidInput(
                "repeats the name of another node", field=f"{where}.name", value=name
            )
        supported = _field(node, "supportedOnFpga", where)
        if supported not in (True, False, 0, 1):
            raise InvalidInput(
                "must be a boolean or 0/1", field=f"{where}.supportedOnFpga", value=supported
            )
        measured = {"cpu": _number(_field(node, "cpuLatency", where), f"{where}.cpuLatency") * 1e3}
        if supported:
            accel_ms = _number(_field(node, "fpgaLatency", where), f"{where}.fpgaLatency")
            measured["accel"] = accel_ms * 1e3
        size = _number(_field(node, "size", where), f"{where}.size")
        extra: dict[str, Any] = {"profile_id": node_id, "measured_us": measured}
        if "colorClass" in node:
            extra["color_class"] = node["colorClass"]
        id2name[node_id] = name
        names.add(name)
        nodes.append((name, size, extra))

    edges = []
    bytes_in: dict[str, float] = {}
    seen: set[tuple[int, int]] = set()
    for e_idx, edge in enumerate(raw_edges):
        where = f"edges[{e_idx}]"
        if not isinstance(edge, Mapping):
            raise InvalidInput("must be a JSON object", field=where, value=edge)
        ends = []
        for key in ("sourceId", "destId"):
            node_id = _field(edge, key, where)
            if isinstance(node_id, bool) or node_id not in id2name:
                raise InvalidInput("names no node", field=f"{where}.{key}", value=node_id)
            ends.append(node_id)
        if ends[0] == ends[1]:
            raise InvalidInput("an edge cannot join a node to itself", field=where, value=ends[0])
        if (ends[0], ends[1]) in seen:
            raise InvalidInput(
                "repeats an earlier edge", field=where, value=f"{ends[0]} -> {ends[1]}"
            )
        seen.add((ends[0], ends[1]))
        cost_ms = _number(_field(edge, "cost", where), f"{where}.cost")
        size = (
            _number(edge["size"], f"{where}.size")
            if "size" in edge
            else (cost_ms * LINK_BYTES_PER_MS)
        )
        dst = id2name[ends[1]]
        bytes_in[dst] = bytes_in.get(dst, 0.0) + size
        edges.append((id2name[ends[0]], dst, size, cost_ms * 1e3))

    for name, size, extra in nodes:
        add_op(
            graph,
            name,
            infer_op_type(name),
            flops=0.0,
            bytes_read=bytes_in.get(name, 0.0),
            bytes_written=size,
            **extra,
        )
    for src_name, dst_name, size, transfer_us in edges:
        graph.add_edge(src_name, dst_name, bytes=size, transfer_us=transfer_us)
    validate_op_graph(graph, where="edges")
    return graph


def dnn_graph_to_instance(
    path: str | os.PathLike[str],
    *,
    num_inferences: int = 1,
    period_us: int | None = None,
    deadline_us: int | None = None,
    cpu_units: int = 1,
    accel_units: int = 1,
    name: str | None = None,
) -> Instance:
    """A CPU + accelerator instance running a profiled DNN graph ``num_inferences`` times.

    Parameters
    ----------
    path
        A JSON file of the profiled set (see :func:`load_dnn_graph`).
    num_inferences
        Copies of the graph, each its own job ``"inf<i>"`` (i from 0).
    period_us
        Job ``i`` is released at :math:`r_i = i \\cdot T` (all at 0 when ``None``).
    deadline_us
        Relative deadline :math:`D`: job ``i`` must finish by :math:`r_i + D` (none when ``None``).
    cpu_units, accel_units
        Units of the devices ``"cpu"`` and ``"accel"``.
    name
        The instance's name; default ``"dnn-<folder>-<stem>-x<num_inferences>"``.

    Returns
    -------
    Instance
        In microseconds. Kernel ``"inf<i>/<node name>"`` has a mode on ``cpu`` and, when the
        node is supported there, on ``accel``, of duration :math:`\\max(1, \\lceil t \\rceil)`
        for the measured latency :math:`t` in us (zero-latency nodes, e.g. parameters, take
        1 us). Edges carry ``cross_device_delay`` :math:`= \\lceil t_{transfer} \\rceil` in us,
        paid only when the two kernels run on different devices. No power figures exist, so
        powers are 0. Objective: makespan (deadlines hard).

    Raises
    ------
    InvalidInput
        A malformed file (naming file and field) or a bad parameter.
    """
    _positive_int(num_inferences, "num_inferences")
    _positive_int(cpu_units, "cpu_units")
    _positive_int(accel_units, "accel_units")
    if period_us is not None:
        _positive_int(period_us, "period_us")
    if deadline_us is not None:
        _positive_int(deadline_us, "deadline_us")
    graph = load_dnn_graph(path)
    src = Path(path)
    accel_kind = "gpu" if graph.graph["granularity"] == "layer" else None
    devices = (Device("cpu", cpu_units, 0.0, "cpu"), Device("accel", accel_units, 0.0, accel_kind))
    order = list(nx.topological_sort(graph))
    jobs: list[Job] = []
    kernels: list[Kernel] = []
    edges: list[Edge] = []
    for inference in range(num_inferences):
        job = f"inf{inference}"
        release = inference * period_us if period_us is not None else 0
        jobs.append(Job(job, release, None if deadline_us is None else release + deadline_us))
        for op in order:
            data = graph.nodes[op]
            modes = tuple(
                Mode(device, LEVEL, max(1, _ceil_us(data["measured_us"][device])))
                for device in ("cpu", "accel")
                if device in data["measured_us"]
            )
            attrs = {"op": op, "type": data["type"], "inference": inference}
            kernels.append(Kernel(f"{job}/{op}", job, modes, attrs))
        edges.extend(
            Edge(f"{job}/{u}", f"{job}/{v}", cross_device_delay=_ceil_us(data["transfer_us"]))
            for u, v, data in graph.edges(data=True)
        )
    try:
        return Instance(
            name=name or f"dnn-{src.parent.name}-{src.stem}-x{num_inferences}",
            devices=devices,
            jobs=tuple(jobs),
            kernels=tuple(kernels),
            edges=tuple(edges),
            objective=Objective("makespan"),
            time_unit="us",
        )
    except InvalidInput as exc:
        raise exc.in_file(str(path)) from None


def _ceil_us(value_us: float) -> int:
    # Rounded to the nanosecond first, so that 1.236 ms (1236.0000000000002 us) gives 1236.
    return math.ceil(round(value_us, 3))


def _positive_int(value: Any, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput("must be an integer >= 1", field=field, value=value)


def _array(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list):
        raise InvalidInput("must be a JSON array", field=key, value=value)
    return value


def _field(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise InvalidInput("is required", field=f"{where}.{key}", value=None, show_value=False)
    return obj[key]


def _number(value: Any, field: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise InvalidInput("must be a finite number >= 0", field=field, value=value)
    return float(value)
