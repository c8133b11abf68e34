"""Fusion: an operator graph becomes a graph of kernels (the schema: :mod:`xpuplan.models.kernels`).

Rules
-----
Ops are visited in topological order; an op joins the kernel of one producer ``u`` when

1. ``u`` has exactly one consumer (this op), so ``u``'s output never goes to memory;
2. the op type fits: an elementwise op (:data:`xpuplan.models.opgraph.ELEMENTWISE_TYPES`: batchnorm,
   bias-add, activations, residual add, rope...) or a reshape joins any producer -- conv /
   matmul + batchnorm / bias + activation, and elementwise chains; a softmax joins a kernel with
   a matmul or attention (QK^T + scale + softmax); a matmul joins a kernel holding one matmul and
   a softmax (the AV product closes the attention block). Every other op (conv, matmul,
   attention, norms, pools...) starts a kernel;
3. device affinity: with a platform, the set of devices that can run the kernel equals the set
   that can run the op, :math:`D(K) = D(op)`, so :math:`D(K \\cup op) = D(K) = D(op)` and no part
   loses a device by the fusion (on the Orin the DLA runs a matmul but not a GELU, so
   matmul+gelu stay apart; were the matmul itself DLA-less they would fuse). A device counts
   when it supports every op type, and for measured ops when the measurement has its entry (see
   :func:`xpuplan.models.costs.supporting_devices`). Without a platform, only measured ops
   constrain: their sets of measured entries must be equal;
4. the merge keeps the graph acyclic: no other path leads from the kernel to the op.

A producer with two candidates prefers a GEMM kernel (conv + bn + *add* + relu), then the latest.

Conservation
------------
FLOPs and weight bytes are conserved exactly (up to float summation). A kernel reads each tensor
that crosses into it once and neither writes nor reads a tensor that stays inside it; as a fused
producer has no other consumer, the read and written totals drop by the bytes of the internal
edges (and the reads by the repeated reads of a tensor that two ops of one kernel read).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from xpuplan.models.kernels.graph import Affinity, op_affinity, widest
from xpuplan.models.opgraph import ELEMENTWISE_TYPES, validate_op_graph
from xpuplan.models.platform import Platform

GEMM_TYPES = frozenset({"conv", "depthwise_conv", "conv_transpose", "matmul"})
# Ops that fuse into their producer's kernel as an epilogue.
EPILOGUE_TYPES = ELEMENTWISE_TYPES | {"reshape"}


@dataclass
class _Group:
    """A kernel under construction in :func:`fuse`."""

    affinity: Affinity
    ops: list[Hashable] = field(default_factory=list)
    types: set[str] = field(default_factory=set)
    num_matmuls: int = 0
    succ_idcs: set[int] = field(default_factory=set)


def fuse(op_graph: nx.DiGraph, platform: Platform | None = None) -> nx.DiGraph:
    """Fuse an operator graph into a kernel graph (rules and conservation: module docstring).

    Parameters
    ----------
    op_graph
        An operator graph (:mod:`xpuplan.models.opgraph`), validated first.
    platform
        When given, fusion never merges ops that different sets of its devices can run.

    Returns
    -------
    networkx.DiGraph
        The kernel graph, acyclic, kernels inserted in topological order.

    Examples
    --------
    >>> from models.opgraph import add_op, new_op_graph
    >>> g = new_op_graph("tiny", "cnn")
    >>> _ = add_op(g, "conv", "conv", flops=8e6, bytes_read=4e3, bytes_written=4e3)
    >>> _ = add_op(g, "bn", "batchnorm", flops=4e3, bytes_read=4e3, bytes_written=4e3,
    ...            inputs=["conv"])
    >>> _ = add_op(g, "relu", "relu", flops=2e3, bytes_read=4e3, bytes_written=4e3, inputs=["bn"])
    >>> k = fuse(g)
    >>> list(k.nodes), k.nodes["conv"]["label"], k.nodes["conv"]["bytes_read"]
    (['conv'], 'conv+batchnorm+relu', 4000.0)
    """
    validate_op_graph(op_graph, where=str(op_graph.graph.get("name", "model")))
    return fuse_validated(op_graph, platform)


def fuse_validated(op_graph: nx.DiGraph, platform: Platform | None = None) -> nx.DiGraph:
    """:func:`fuse` of a graph already validated, e.g. by :func:`xpuplan.models.zoo.build_model`."""
    op2group: dict[Hashable, int] = {}
    groups: list[_Group] = []
    # Without a measurement an op's devices depend on its type alone.
    type2affinity: dict[tuple[str, ...], Affinity] = {}
    for op in nx.topological_sort(op_graph):
        data = op_graph.nodes[op]
        op_type = data["type"]
        measured = data.get("measured_us")
        support = support_types(data)
        if measured is not None:
            affinity = op_affinity(support, measured, platform)
        elif support in type2affinity:
            affinity = type2affinity[support]
        else:
            affinity = type2affinity[support] = op_affinity(support, None, platform)
        g_idx = _fusion_target(op_graph, op, op_type, affinity, op2group, groups)
        if g_idx is None:
            g_idx = len(groups)
            groups.append(_Group(affinity))
        group = groups[g_idx]
        group.ops.append(op)
        group.types.add(op_type)
        group.num_matmuls += op_type == "matmul"
        for pred in op_graph.predecessors(op):
            if op2group[pred] != g_idx:
                groups[op2group[pred]].succ_idcs.add(g_idx)
        op2group[op] = g_idx
    return _kernel_graph(op_graph, groups, op2group)


def _fusion_target(
    op_graph: nx.DiGraph,
    op: Hashable,
    op_type: str,
    affinity: Affinity,
    op2group: Mapping[Hashable, int],
    groups: list[_Group],
) -> int | None:
    """The kernel ``op`` joins under the fusion rules, or None when it starts its own."""
    pred_groups = {op2group[p] for p in op_graph.predecessors(op)}
    candidates = {op2group[p] for p in op_graph.predecessors(op) if op_graph.out_degree(p) == 1}
    for g_idx in sorted(candidates, key=lambda g: (not groups[g].types & GEMM_TYPES, -g)):
        group = groups[g_idx]
        if group.affinity != affinity or not _fits(op_type, group):
            continue
        others = pred_groups - {g_idx}
        if others and _reaches(groups, g_idx, others):
            continue
        return g_idx
    return None


def support_types(data: Mapping[str, Any]) -> tuple[str, ...]:
    """The op types the op-support matrix checks for an op: its type, and the ONNX op type of an
    op imported from ONNX (``onnx_type``, :mod:`xpuplan.models.onnx`)."""
    onnx_type = data.get("onnx_type")
    return (data["type"],) if onnx_type is None else (data["type"], str(onnx_type))


def _fits(op_type: str, group: _Group) -> bool:
    if op_type in EPILOGUE_TYPES:
        return True
    if op_type == "softmax":
        return bool(group.types & {"matmul", "attention"})
    if op_type == "matmul":
        return "softmax" in group.types and group.num_matmuls == 1
    return False


def _reaches(groups: list[_Group], start: int, targets: set[int]) -> bool:
    """Whether a path leads from group ``start`` to one of ``targets`` (groups built so far)."""
    stack = [start]
    seen = {start}
    while stack:
        for succ in groups[stack.pop()].succ_idcs:
            if succ in targets:
                return True
            if succ not in seen:
                seen.add(succ)
                stack.append(succ)
    return False


def _kernel_graph(
    op_graph: nx.DiGraph, groups: list[_Group], op2group: Mapping[Hashable, int]
) -> nx.DiGraph:
    graph = nx.DiGraph(
        name=op_graph.graph.get("name", ""),
        family=op_graph.graph.get("family", ""),
        precision=op_graph.graph.get("precision", "fp16"),
    )
    # Per kernel, what it does not read or write of its ops' figures: internal tensors, and the
    # repeated reads of an external tensor that several of its ops read (see the module doc).
    read_saved: list[list[float]] = [[] for _ in groups]
    written_saved: list[list[float]] = [[] for _ in groups]
    pair2tensors: dict[tuple[int, int], dict[str, float]] = {}
    for src, dst, data in op_graph.edges(data=True):
        num_bytes = float(data.get("bytes", op_graph.nodes[src]["bytes_written"]))
        g_src, g_dst = op2group[src], op2group[dst]
        read_saved[g_dst].append(num_bytes)
        if g_src == g_dst:
            written_saved[g_dst].append(num_bytes)
        else:
            tensors = pair2tensors.setdefault((g_src, g_dst), {})
            tensors[str(src)] = max(tensors.get(str(src), 0.0), num_bytes)
    for (_, g_dst), tensors in pair2tensors.items():
        read_saved[g_dst].extend(-b for b in tensors.values())
    names = [str(group.ops[0]) for group in groups]
    graph.add_nodes_from(
        (names[g_idx], _fused_attrs(op_graph, group.ops, read_saved[g_idx], written_saved[g_idx]))
        for g_idx, group in enumerate(groups)
    )
    graph.add_edges_from(
        (names[g_src], names[g_dst], {"bytes": math.fsum(tensors.values()), "tensors": tensors})
        for (g_src, g_dst), tensors in pair2tensors.items()
    )
    _inherit_layers(graph)
    return graph


def _fused_attrs(
    op_graph: nx.DiGraph, ops: list[Hashable], read_saved: list[float], written_saved: list[float]
) -> dict[str, Any]:
    datas = [op_graph.nodes[op] for op in ops]
    types = [d["type"] for d in datas]
    attrs: dict[str, Any] = {
        "ops": tuple(str(op) for op in ops),
        "op_types": tuple(sorted({t for d in datas for t in support_types(d)})),
        "label": "+".join(dict.fromkeys(types)),
        "flops": math.fsum(d["flops"] for d in datas),
        "bytes_read": _less([d["bytes_read"] for d in datas], read_saved),
        "bytes_written": _less([d["bytes_written"] for d in datas], written_saved),
        "weight_bytes": math.fsum(d["weight_bytes"] for d in datas),
        "precision": widest(d["precision"] for d in datas),
        "num_merged": 1,
    }
    layers = [d["layer"] for d in datas if d.get("layer") is not None]
    if layers:
        attrs["layer"] = layers[0]
    tokens = [d["tokens"] for d in datas if d.get("tokens") is not None]
    if tokens:
        attrs["tokens"] = max(tokens)
    measured = [d.get("measured_us") for d in datas]
    if all(m is not None for m in measured):
        keys = set.intersection(*(set(m) for m in measured if m is not None))
        attrs["measured_us"] = {
            key: math.fsum(m[key] for m in measured if m is not None) for key in sorted(keys)
        }
    return attrs


def _less(values: Iterable[float], saved: Iterable[float]) -> float:
    """``sum(values) - sum(saved)``, exactly rounded, never below 0 (inconsistent inputs)."""
    return max(0.0, math.fsum([*values, *(-b for b in saved)]))


def _inherit_layers(graph: nx.DiGraph) -> None:
    """Give a kernel without a ``layer`` the largest of its predecessors' (0 for a source)."""
    if all("layer" in data for _, data in graph.nodes(data=True)):
        return
    for node in nx.topological_sort(graph):
        data = graph.nodes[node]
        if "layer" not in data:
            data["layer"] = max(
                (graph.nodes[p]["layer"] for p in graph.predecessors(node)), default=0
            )
