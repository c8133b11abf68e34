"""Operator graphs: an AI model as a networkx DiGraph of ops.

Schema
------
Graph attributes: ``name`` (model name), ``family`` (``"cnn"``, ``"encoder"``, ``"llm-prefill"``,
``"llm-decode"``, ``"profiled"``), ``precision`` (default precision of its ops).

Node attributes (one node per op):

==================  =====================================================================
``type``            op type from :data:`OP_TYPES` (what the op-support matrix speaks of)
``flops``           arithmetic operations, a multiply-accumulate counting as 2
``bytes_read``      activation bytes read (weights excluded)
``bytes_written``   activation bytes written
``weight_bytes``    parameter bytes read
``shape``           output shape, a tuple of ints
``precision``       one of :data:`xpuplan.models.platform.PRECISIONS`
``measured_us``     optional: device kind (or ``"accel"``) -> measured latency in us
==================  =====================================================================

Edges carry ``bytes``: the activation bytes handed from one op to the next.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import networkx as nx

from xpuplan.models.errors import InvalidInput
from xpuplan.models.platform import PRECISIONS

OP_TYPES = frozenset(
    {
        "conv",
        "depthwise_conv",
        "conv_transpose",
        "matmul",
        "attention",
        "softmax",
        "batchnorm",
        "layernorm",
        "rmsnorm",
        "relu",
        "gelu",
        "silu",
        "hswish",
        "sigmoid",
        "tanh",
        "add",
        "mul",
        "pool",
        "global_pool",
        "upsample",
        "concat",
        "reshape",
        "embedding",
        "rope",
        "lstm",
        "fft",
        "other",
    }
)
# Op types that are elementwise and may fuse into their producer.
ELEMENTWISE_TYPES = frozenset(
    {"batchnorm", "relu", "gelu", "silu", "hswish", "sigmoid", "tanh", "add", "mul", "rope"}
)
OP_FIELDS = ("type", "flops", "bytes_read", "bytes_written", "weight_bytes", "shape", "precision")


def new_op_graph(name: str, family: str, precision: str = "fp16") -> nx.DiGraph:
    """An empty operator graph with its graph attributes set."""
    if precision not in PRECISIONS:
        raise InvalidInput(
            f"must be one of {', '.join(PRECISIONS)}", field="precision", value=precision
        )
    return nx.DiGraph(name=name, family=family, precision=precision)


def add_op(
    graph: nx.DiGraph,
    name: str,
    op_type: str,
    *,
    flops: float,
    bytes_read: float,
    bytes_written: float,
    weight_bytes: float = 0.0,
    shape: Iterable[int] = (),
    inputs: Iterable[str] = (),
    precision: str | None = None,
    **extra: Any,
) -> str:
    """Add an op with its costs and edges from ``inputs`` (each edge carries the input's bytes).

    Returns the op's name, so builders can chain calls.
    """
    if op_type not in OP_TYPES:
        raise InvalidInput(
            f"is not a known op type ({', '.join(sorted(OP_TYPES))})",
            field=f"ops.{name}.type",
            value=op_type,
        )
    graph.add_node(
        name,
        type=op_type,
        flops=float(flops),
        bytes_read=float(bytes_read),
        bytes_written=float(bytes_written),
        weight_bytes=float(weight_bytes),
        shape=tuple(int(d) for d in shape),
        precision=precision or graph.graph.get("precision", "fp16"),
        **extra,
    )
    for src in inputs:
        if src not in graph:
            raise InvalidInput("names no earlier op", field=f"ops.{name}.inputs", value=src)
        graph.add_edge(src, name, bytes=graph.nodes[src]["bytes_written"])
    return name


def validate_op_graph(graph: nx.DiGraph, where: str = "model") -> None:
    """Check the schema above: acyclic, every op with finite non-negative costs."""
    if not nx.is_directed_acyclic_graph(graph):
        cycle = nx.find_cycle(graph)
        path = " -> ".join([str(u) for u, _ in cycle] + [str(cycle[0][0])])
        raise InvalidInput("the operator graph contains a cycle", field=where, value=path)
    for name, data in graph.nodes(data=True):
        for key in OP_FIELDS:
            if key not in data:
                raise InvalidInput(
                    "is missing", field=f"{where}.ops.{name}.{key}", value=None, show_value=False
                )
        if data["type"] not in OP_TYPES:
            raise InvalidInput(
                "is not a known op type", field=f"{where}.ops.{name}.type", value=data["type"]
            )
        for key in ("flops", "bytes_read", "bytes_written", "weight_bytes"):
            value = data[key]
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise InvalidInput(
                    "must be a finite number >= 0", field=f"{where}.ops.{name}.{key}", value=value
                )


def totals(graph: nx.DiGraph) -> dict[str, float]:
    """Sum of ``flops``, ``bytes_read``, ``bytes_written`` and ``weight_bytes`` over all ops."""
    keys = ("flops", "bytes_read", "bytes_written", "weight_bytes")
    return {key: math.fsum(data[key] for _, data in graph.nodes(data=True)) for key in keys}
