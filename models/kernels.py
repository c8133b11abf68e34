"""Kernel DAGs: operator graphs fused, tiled and coarsened into the kernels a planner schedules.

Schema
------
A kernel graph is a networkx DiGraph. Graph attributes: ``name`` (the model), ``family`` and
``precision`` (copied from the op graph, :mod:`models.opgraph`); a chunked prefill adds
``prompt_tokens``, ``chunk_tokens`` and ``num_chunks``; :func:`models.costs.annotate` adds
``platform``.

Node = kernel, named after its first op (tiles ``<kernel>/t<i>``, prefill chunks ``c<c>/<kernel>``):

=================  ===========================================================================
``ops``            tuple of the op names it runs, in topological order
``op_types``       sorted tuple of the distinct op types (what the op-support matrix speaks of)
``label``          the distinct op types in order of first appearance, e.g. ``conv+batchnorm+relu``
``flops``          arithmetic operations (a multiply-accumulate counts 2)
``bytes_read``     activation bytes read from memory (weights excluded)
``bytes_written``  activation bytes written to memory
``weight_bytes``   parameter bytes read
``precision``      the widest precision among its ops
``layer``          the ``layer`` of its first op that has one (of its first kernel once
                   coarsened); a kernel whose ops carry none takes the largest layer of its
                   predecessors (0 for a source)
``num_merged``     how many fused kernels :func:`coarsen` merged into it (1 after :func:`fuse`)
``tokens``         optional: the largest ``tokens`` among its ops (LLM graphs)
``chunk``          optional: the prefill chunk (:func:`llm_prefill_graph`)
``tile``           optional: the tile index (:func:`tile`)
``measured_us``    optional: when every op carries measured latencies, their sums per entry
``modes``          after annotation: tuple of :class:`models.Mode` (see :mod:`models.costs`)
=================  ===========================================================================

Edges carry ``bytes`` (the activation bytes handed over) and ``tensors``, the bookkeeping behind
it: producer op -> bytes of its output tensor that crosses the edge (``bytes`` is their sum; a
tensor read by several ops of one kernel crosses once). Annotation adds ``cross_device_delay`` and
``resume_cost`` (int us).

Fusion rules (:func:`fuse`)
---------------------------
Ops are visited in topological order; an op joins the kernel of one producer ``u`` when

1. ``u`` has exactly one consumer (this op), so ``u``'s output never goes to memory;
2. the op type fits: an elementwise op (:data:`models.opgraph.ELEMENTWISE_TYPES`: batchnorm,
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
   :func:`models.costs.supporting_devices`). Without a platform, only measured ops constrain:
   their sets of measured entries must be equal;
4. the merge keeps the graph acyclic: no other path leads from the kernel to the op.

A producer with two candidates prefers a GEMM kernel (conv + bn + *add* + relu), then the latest.

Conservation
------------
Exactly, up to float summation, under :func:`fuse` and :func:`coarsen`:

* FLOPs and weight bytes;
* activation bytes net of what crosses edges. A kernel reads each tensor that crosses into it
  once, and neither writes nor reads a tensor that stays inside it, so
  :math:`\\sum_k R_k - \\sum_e b_e` (reads other than over edges: model inputs, the KV cache) and
  :math:`\\sum_k W_k - \\sum_t b_t` over the distinct tensors :math:`t` on edges (writes nobody
  inside the model reads: its outputs) are invariant. In :func:`fuse` a fused producer has
  no other consumer, so both totals drop by the bytes of the internal edges (and the reads by
  the repeated reads of a tensor that two ops of one kernel read).

:func:`tile` conserves FLOPs, weight bytes and written bytes; a kernel cut into :math:`n` tiles
reads its input :math:`n` times.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from models.costs import LLM_PREFILL_FAMILY, annotate, supporting_devices
from models.errors import InvalidInput
from models.opgraph import ELEMENTWISE_TYPES, validate_op_graph
from models.platform import Platform
from models.profiles import ProfileTable
from models.zoo import build_model

GEMM_TYPES = frozenset({"conv", "depthwise_conv", "conv_transpose", "matmul"})
# Ops that fuse into their producer's kernel as an epilogue.
EPILOGUE_TYPES = ELEMENTWISE_TYPES | {"reshape"}
# A kernel holding one of these reads the KV cache (an attention block).
ATTENTION_TYPES = frozenset({"attention", "softmax"})
# With no max_flops, tile GEMM kernels holding more than this share of the graph's FLOPs.
DEFAULT_TILE_SHARE = 1 / 16
# Coarsening balances kernel sizes measured as FLOPs + RIDGE x bytes, RIDGE a typical ridge point
# (peak ops / memory bandwidth) of the presets' accelerators at fp16 (Orin GPU 15 TFLOPS over
# 102.4 GB/s: 147; Core Ultra NPU 5.75 TFLOPS over 89.6 GB/s: 64; Ryzen AI iGPU 23.8 TFLOPS over
# 120 GB/s: 198), so that memory-bound kernels count by their traffic.
RIDGE_OPS_PER_BYTE = 128.0
# Coarsening prefers merging kernels joined by an edge to merging unconnected neighbours (which
# costs parallelism) unless the former makes a kernel more than this many times larger.
NEIGHBOUR_PENALTY = 2.0
_PRECISION_WIDTH = ("int4", "int8", "fp16", "bf16", "fp32")

Affinity = frozenset[str] | None


def op_affinity(
    op_types: Iterable[str], measured: Mapping[str, float] | None, platform: Platform | None
) -> Affinity:
    """The devices that can run these op types (names), the measured entries, or None (any).

    With a platform: the names of :func:`models.costs.supporting_devices`. Without one: the keys
    of ``measured`` when given, else None (unconstrained).
    """
    if platform is not None:
        return frozenset(dev.name for dev in supporting_devices(platform, op_types, measured))
    return None if measured is None else frozenset(measured)


def _compatible(a: Affinity, b: Affinity) -> bool:
    return a is None or b is None or bool(a & b)


def _intersect(a: Affinity, b: Affinity) -> Affinity:
    if a is None:
        return b
    return a if b is None else a & b


# ---------------------------------------------------------------------- fusion
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
        An operator graph (:mod:`models.opgraph`), validated first.
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
    op2group: dict[Hashable, int] = {}
    groups: list[_Group] = []
    for op in nx.topological_sort(op_graph):
        data = op_graph.nodes[op]
        op_type = data["type"]
        affinity = op_affinity((op_type,), data.get("measured_us"), platform)
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
    for g_idx, group in enumerate(groups):
        attrs = _fused_attrs(op_graph, group.ops, read_saved[g_idx], written_saved[g_idx])
        graph.add_node(names[g_idx], **attrs)
    for (g_src, g_dst), tensors in pair2tensors.items():
        graph.add_edge(
            names[g_src], names[g_dst], bytes=math.fsum(tensors.values()), tensors=tensors
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
        "op_types": tuple(sorted(set(types))),
        "label": "+".join(dict.fromkeys(types)),
        "flops": math.fsum(d["flops"] for d in datas),
        "bytes_read": _less([d["bytes_read"] for d in datas], read_saved),
        "bytes_written": _less([d["bytes_written"] for d in datas], written_saved),
        "weight_bytes": math.fsum(d["weight_bytes"] for d in datas),
        "precision": _widest(d["precision"] for d in datas),
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


def _widest(precisions: Iterable[str]) -> str:
    return max(precisions, key=_PRECISION_WIDTH.index)


def _inherit_layers(graph: nx.DiGraph) -> None:
    for node in nx.topological_sort(graph):
        data = graph.nodes[node]
        if "layer" not in data:
            data["layer"] = max(
                (graph.nodes[p]["layer"] for p in graph.predecessors(node)), default=0
            )


# ---------------------------------------------------------------------- tiling
def tile(
    kernel_graph: nx.DiGraph, *, max_flops: float | None = None, max_tiles: int = 8
) -> nx.DiGraph:
    """Cut large GEMM kernels into parallel tiles along their output dimension.

    A GEMM kernel (one conv / matmul with an elementwise epilogue, not coarsened) of :math:`F`
    FLOPs becomes :math:`n = \\min(\\text{max\\_tiles}, \\lceil F / \\text{max\\_flops} \\rceil)`
    tiles between the same predecessors and successors. Tile :math:`i` computes :math:`1/n` of the
    output channels: :math:`F/n` FLOPs, :math:`1/n` of the weights and of the written bytes, and
    it reads the whole input. FLOPs, weight bytes and written bytes are conserved; read bytes
    grow by :math:`(n-1)` times the kernel's input.

    Parameters
    ----------
    max_flops
        Largest tile; default :data:`DEFAULT_TILE_SHARE` of the graph's total FLOPs.
    max_tiles
        Most tiles per kernel.
    """
    if not isinstance(max_tiles, int) or isinstance(max_tiles, bool) or max_tiles < 1:
        raise InvalidInput("must be an integer >= 1", field="max_tiles", value=max_tiles)
    if max_flops is not None and not (
        isinstance(max_flops, int | float) and math.isfinite(max_flops) and max_flops > 0
    ):
        raise InvalidInput("must be a finite number > 0", field="max_flops", value=max_flops)
    total = math.fsum(data["flops"] for _, data in kernel_graph.nodes(data=True))
    limit = max_flops if max_flops is not None else total * DEFAULT_TILE_SHARE
    out = nx.DiGraph(**kernel_graph.graph)
    kernel2tiles: dict[str, list[str]] = {}
    for name, data in kernel_graph.nodes(data=True):
        num_tiles = _num_tiles(data, limit, max_tiles)
        if num_tiles == 1:
            out.add_node(name, **data)
            kernel2tiles[name] = [name]
            continue
        kernel2tiles[name] = [f"{name}/t{t_idx}" for t_idx in range(num_tiles)]
        for t_idx, tile_name in enumerate(kernel2tiles[name]):
            if tile_name in kernel_graph:
                raise InvalidInput(
                    "a tile's name is taken by a kernel", field="kernels", value=tile_name
                )
            out.add_node(tile_name, **_tile_attrs(data, t_idx, num_tiles))
    for src, dst, data in kernel_graph.edges(data=True):
        src_tiles = kernel2tiles[src]
        for t_idx, src_tile in enumerate(src_tiles):
            tensors = _edge_tensors(src, data)
            if len(src_tiles) > 1:
                tensors = {f"{op}/t{t_idx}": b / len(src_tiles) for op, b in tensors.items()}
            for dst_tile in kernel2tiles[dst]:
                out.add_edge(src_tile, dst_tile, bytes=math.fsum(tensors.values()), tensors=tensors)
    return out


def _num_tiles(data: Mapping[str, Any], limit: float, max_tiles: int) -> int:
    types = set(data["op_types"])
    gemm = bool(types & GEMM_TYPES) and types <= GEMM_TYPES | EPILOGUE_TYPES
    if not gemm or data.get("num_merged", 1) != 1 or "tile" in data or limit <= 0:
        return 1
    return max(1, min(max_tiles, math.ceil(data["flops"] / limit)))


def _tile_attrs(data: Mapping[str, Any], t_idx: int, num_tiles: int) -> dict[str, Any]:
    attrs = dict(data)
    for key in ("flops", "weight_bytes", "bytes_written"):
        attrs[key] = data[key] / num_tiles
    if "measured_us" in data:
        attrs["measured_us"] = {k: v / num_tiles for k, v in data["measured_us"].items()}
    attrs["tile"] = t_idx
    return attrs


def _edge_tensors(src: str, data: Mapping[str, Any]) -> dict[str, float]:
    """The tensors of a kernel edge (an edge built elsewhere without them carries one)."""
    if "tensors" in data:
        return dict(data["tensors"])
    return {src: float(data.get("bytes", 0.0))}


# ---------------------------------------------------------------------- coarsening
def coarsen(
    kernel_graph: nx.DiGraph, max_kernels: int, platform: Platform | None = None
) -> nx.DiGraph:
    """Merge kernels until at most ``max_kernels`` remain, keeping the graph acyclic.

    Candidate merges:

    * *chain* edges ``u -> v`` where ``u`` has one successor or ``v`` one predecessor (merging
      them can never close a cycle: no other path joins them);
    * *neighbours* in a topological order sorted by (chunk, layer, position): consecutive
      kernels, so a merge joins kernels of the same or adjacent layers, and no path can pass
      between them (the order stays topological after the merge, so the graph stays acyclic).

    The best candidate is merged first, by the key (crosses a prefill chunk, loses a device of
    either kernel, weighted size): the weighted size is the pair's combined size
    :math:`F + 128 (R + W + Q_w)` (FLOPs plus bytes at a typical accelerator's ridge point),
    times :data:`NEIGHBOUR_PENALTY` for neighbours that no edge joins. So dependent kernels
    merge before unconnected ones of similar size, and the smallest pairs first, which keeps
    the kernels balanced.

    A merge that would leave a kernel without any device of ``platform`` (or, without a platform,
    without any measured entry) is never made; when only such merges remain the result keeps more
    than ``max_kernels`` kernels. Totals are conserved as the module docstring states.
    """
    if not isinstance(max_kernels, int) or isinstance(max_kernels, bool) or max_kernels < 1:
        raise InvalidInput("must be an integer >= 1", field="max_kernels", value=max_kernels)
    graph = kernel_graph.copy()
    if graph.number_of_nodes() > max_kernels:
        _Coarsener(graph, platform).run(max_kernels)
    return graph


class _Coarsener:
    """Greedy merging state for :func:`coarsen` (works on ``graph`` in place)."""

    def __init__(self, graph: nx.DiGraph, platform: Platform | None) -> None:
        self.graph = graph
        self.affinity = {
            n: op_affinity(d["op_types"], d.get("measured_us"), platform)
            for n, d in graph.nodes(data=True)
        }
        self.version = dict.fromkeys(graph.nodes, 0)
        self.heap: list[tuple[tuple[int, int, float], int, str, str, str, int, int]] = []
        self.counter = itertools.count()
        position = {node: idx for idx, node in enumerate(graph.nodes)}
        order = list(
            nx.lexicographical_topological_sort(
                graph,
                key=lambda n: (
                    graph.nodes[n].get("chunk", 0),
                    graph.nodes[n]["layer"],
                    position[n],
                ),
            )
        )
        self.prev: dict[str, str | None] = dict(zip(order, [None, *order[:-1]], strict=True))
        self.next: dict[str, str | None] = dict(zip(order, [*order[1:], None], strict=True))

    def run(self, max_kernels: int) -> None:
        for src, dst in self.graph.edges:
            self._push("edge", src, dst)
        for node, succ in self.next.items():
            if succ is not None:
                self._push("seq", node, succ)
        while self.graph.number_of_nodes() > max_kernels and self.heap:
            key, _, kind, a, b, ver_a, ver_b = heapq.heappop(self.heap)
            if self.version.get(a) != ver_a or self.version.get(b) != ver_b:
                continue
            actual = self._key(kind, a, b)
            if actual != key:
                if actual is not None:
                    self._push(kind, a, b)
                continue
            self._merge(kind, a, b)

    def _key(self, kind: str, a: str, b: str) -> tuple[int, int, float] | None:
        succ, pred = self.graph.succ, self.graph.pred
        joined = b in succ[a]
        if kind == "edge":
            if not joined or (len(succ[a]) != 1 and len(pred[b]) != 1):
                return None
        elif self.next.get(a) != b:
            return None
        aff_a, aff_b = self.affinity[a], self.affinity[b]
        if not _compatible(aff_a, aff_b):
            return None
        da, db = self.graph.nodes[a], self.graph.nodes[b]
        size = _size(da) + _size(db)
        return (
            int(da.get("chunk") != db.get("chunk")),
            int(aff_a != aff_b),
            size if joined else size * NEIGHBOUR_PENALTY,
        )

    def _push(self, kind: str, a: str, b: str) -> None:
        key = self._key(kind, a, b)
        if key is not None:
            entry = (key, next(self.counter), kind, a, b, self.version[a], self.version[b])
            heapq.heappush(self.heap, entry)

    def _merge(self, kind: str, a: str, b: str) -> None:
        """Merge ``b`` into ``a`` (``a`` precedes ``b``); the merged kernel keeps ``a``'s name."""
        graph = self.graph
        succ, pred = graph.succ, graph.pred
        # Where the merged kernel sits in the order: b's place when b was a's only successor,
        # else a's place (see the proof sketch in coarsen's docstring).
        at_b = kind == "edge" and len(succ[a]) == 1
        self._unlink(a if at_b else b)
        if at_b:
            self._replace(b, a)
        # Neighbours of both lose an edge, so their other edges may have become chains.
        common_preds = (set(pred[a]) & set(pred[b])) - {a}
        common_succs = set(succ[a]) & set(succ[b])
        inner = succ[a].get(b)
        inner_tensors = _edge_tensors(a, inner) if inner is not None else {}
        leaving: set[str] = set()
        for node in (a, b):
            for dst, data in succ[node].items():
                if dst not in (a, b):
                    leaving.update(_edge_tensors(node, data))
        # The merged kernel reads neither a's outputs to b nor, twice, a tensor both read.
        read_saved = [float(inner["bytes"])] if inner is not None else []
        for src, data in list(pred[b].items()):
            if src != a:
                read_saved.append(self._add_tensors(src, a, _edge_tensors(src, data)))
        for dst, data in list(succ[b].items()):
            self._add_tensors(a, dst, _edge_tensors(b, data))
        written_saved = math.fsum(v for k, v in inner_tensors.items() if k not in leaving)
        attrs = _merged_attrs(graph.nodes[a], graph.nodes[b], math.fsum(read_saved), written_saved)
        graph.remove_node(b)
        graph.nodes[a].clear()
        graph.nodes[a].update(attrs)
        self.affinity[a] = _intersect(self.affinity[a], self.affinity.pop(b))
        self.version[a] += 1
        del self.version[b]
        edges = [(src, a) for src in pred[a]] + [(a, dst) for dst in succ[a]]
        edges += [(p, dst) for p in common_preds for dst in succ[p] if dst != a]
        edges += [(src, s) for s in common_succs for src in pred[s] if src != a]
        for src, dst in edges:
            self._push("edge", src, dst)
        for left, right in ((self.prev[a], a), (a, self.next[a])):
            if left is not None and right is not None:
                self._push("seq", left, right)

    def _add_tensors(self, src: str, dst: str, tensors: Mapping[str, float]) -> float:
        """Add ``tensors`` to the edge ``src -> dst``; return the bytes saved (tensors shared)."""
        old = self.graph.succ[src].get(dst)
        if old is None:
            self.graph.add_edge(src, dst, bytes=math.fsum(tensors.values()), tensors=dict(tensors))
            return 0.0
        merged = _edge_tensors(src, old)
        for op, num_bytes in tensors.items():
            merged[op] = max(merged.get(op, 0.0), num_bytes)
        total = math.fsum(merged.values())
        saved = math.fsum([float(old["bytes"]), *tensors.values(), -total])
        old["bytes"], old["tensors"] = total, merged
        return saved

    def _unlink(self, node: str) -> None:
        before, after = self.prev.pop(node), self.next.pop(node)
        if before is not None:
            self.next[before] = after
        if after is not None:
            self.prev[after] = before
        if before is not None and after is not None:
            self._push("seq", before, after)

    def _replace(self, old: str, new: str) -> None:
        before, after = self.prev.pop(old), self.next.pop(old)
        self.prev[new], self.next[new] = before, after
        if before is not None:
            self.next[before] = new
        if after is not None:
            self.prev[after] = new


def _size(data: Mapping[str, Any]) -> float:
    traffic = data["bytes_read"] + data["bytes_written"] + data["weight_bytes"]
    return float(data["flops"] + RIDGE_OPS_PER_BYTE * traffic)


def _merged_attrs(
    da: Mapping[str, Any], db: Mapping[str, Any], read_saved: float, written_saved: float
) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "ops": (*da["ops"], *db["ops"]),
        "op_types": tuple(sorted({*da["op_types"], *db["op_types"]})),
        "label": "+".join(dict.fromkeys([*da["label"].split("+"), *db["label"].split("+")])),
        "flops": da["flops"] + db["flops"],
        "bytes_read": max(0.0, math.fsum([da["bytes_read"], db["bytes_read"], -read_saved])),
        "bytes_written": max(
            0.0, math.fsum([da["bytes_written"], db["bytes_written"], -written_saved])
        ),
        "weight_bytes": da["weight_bytes"] + db["weight_bytes"],
        "precision": _widest((da["precision"], db["precision"])),
        "layer": da["layer"],
        "num_merged": da.get("num_merged", 1) + db.get("num_merged", 1),
    }
    chunks = [d["chunk"] for d in (da, db) if "chunk" in d]
    if chunks:
        attrs["chunk"] = min(chunks)
    tokens = [d["tokens"] for d in (da, db) if "tokens" in d]
    if tokens:
        attrs["tokens"] = max(tokens)
    if "measured_us" in da and "measured_us" in db:
        ma, mb = da["measured_us"], db["measured_us"]
        attrs["measured_us"] = {key: ma[key] + mb[key] for key in sorted(set(ma) & set(mb))}
    return attrs


# ---------------------------------------------------------------------- LLM graphs
def llm_prefill_graph(
    model: str,
    prompt_tokens: int,
    chunk_tokens: int,
    *,
    platform: Platform | None = None,
    **params: Any,
) -> nx.DiGraph:
    """Agent.xpu's chunked prefill (arXiv 2506.24045) as one fused kernel graph.

    The prompt of :math:`N` tokens is cut into :math:`\\lceil N / S \\rceil` chunks of
    :math:`S` = ``chunk_tokens`` (the last one the remainder :math:`N - (n-1) S`). Chunk
    :math:`c` is the zoo's prefill of its tokens with ``past_tokens`` :math:`= cS`, fused;
    its kernels are renamed ``c<c>/<kernel>`` and carry ``chunk`` = c. With ``logits="last"``
    (the default) only the last chunk computes the output projection (the zoo's
    ``logits="none"`` for the others), so the chunks add up to the FLOPs of one whole prefill:
    causal attention over :math:`t_c` new and :math:`p_c` past tokens covers
    :math:`t_c p_c + t_c (t_c + 1) / 2` pairs, which sum to :math:`N (N + 1) / 2`.

    Dependencies across chunks are the KV cache: the attention kernel of layer :math:`l` in
    chunk :math:`c` (a kernel holding an ``attention`` or ``softmax`` op) reads the keys and
    values of every earlier chunk at layer :math:`l`. It gets an edge from each producer of
    chunk :math:`c-1`'s attention kernel at that layer (their K/V outputs; the edge's bytes are
    those of the producer's edge in chunk :math:`c-1`, an over-estimate by the query when Q, K
    and V come from one kernel), and an ordering edge (0 bytes) from chunk :math:`c-1`'s
    attention kernel, which by induction orders it after every earlier chunk's K/V. Token-wise
    kernels (projections, MLPs, norms) of chunk :math:`c` depend only on their own chunk, so
    chunk :math:`c`'s GEMMs may run while chunk :math:`c-1`'s attention does.

    Raises
    ------
    InvalidInput
        When the token counts are not integers >= 1, or a chunk has no attention kernel in a
        layer where the other chunks have one.
    """
    for field_, value in (("prompt_tokens", prompt_tokens), ("chunk_tokens", chunk_tokens)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidInput("must be an integer >= 1", field=field_, value=value)
    num_chunks = math.ceil(prompt_tokens / chunk_tokens)
    logits = params.pop("logits", "last")
    chunks = []
    for c_idx in range(num_chunks):
        past = c_idx * chunk_tokens
        # Only the last chunk predicts the next token; "all" asks for every position's logits.
        chunk_logits = logits if logits != "last" or c_idx == num_chunks - 1 else "none"
        ops = build_model(
            model,
            phase="prefill",
            tokens=min(chunk_tokens, prompt_tokens - past),
            past_tokens=past,
            logits=chunk_logits,
            **params,
        )
        chunks.append(fuse(ops, platform))
    first = chunks[0].graph
    graph = nx.DiGraph(
        name=first.get("name", model),
        family=LLM_PREFILL_FAMILY,
        precision=first.get("precision", "fp16"),
        prompt_tokens=prompt_tokens,
        chunk_tokens=chunk_tokens,
        num_chunks=num_chunks,
    )
    for c_idx, chunk in enumerate(chunks):
        prefix = f"c{c_idx}/"
        for node, data in chunk.nodes(data=True):
            graph.add_node(prefix + node, **{**data, "chunk": c_idx})
        for src, dst, data in chunk.edges(data=True):
            tensors = {prefix + op: b for op, b in _edge_tensors(src, data).items()}
            graph.add_edge(prefix + src, prefix + dst, bytes=data["bytes"], tensors=tensors)
    layer2attention = [_attention_kernels(chunk) for chunk in chunks]
    for c_idx in range(1, num_chunks):
        if set(layer2attention[c_idx]) != set(layer2attention[c_idx - 1]):
            raise InvalidInput(
                "the chunks of this prefill differ in the layers that hold attention",
                field="model",
                value=model,
            )
        prev, cur = f"c{c_idx - 1}/", f"c{c_idx}/"
        for layer, attn_kernels in layer2attention[c_idx].items():
            for prev_attn in layer2attention[c_idx - 1][layer]:
                producers = chunks[c_idx - 1].in_edges(prev_attn, data=True)
                for attn in attn_kernels:
                    graph.add_edge(prev + prev_attn, cur + attn, bytes=0.0, tensors={})
                    for src, _, data in producers:
                        tensors = {prev + op: b for op, b in _edge_tensors(src, data).items()}
                        graph.add_edge(prev + src, cur + attn, bytes=data["bytes"], tensors=tensors)
    return graph


def _attention_kernels(graph: nx.DiGraph) -> dict[Any, list[str]]:
    layer2kernels: dict[Any, list[str]] = {}
    for node, data in graph.nodes(data=True):
        if set(data["op_types"]) & ATTENTION_TYPES:
            layer2kernels.setdefault(data["layer"], []).append(node)
    if not layer2kernels:
        raise InvalidInput(
            "has no attention kernel to chunk a prefill by",
            field="model",
            value=graph.graph.get("name"),
        )
    return layer2kernels


def llm_decode_graph(
    model: str, kv_len: int, batch: int = 1, *, platform: Platform | None = None, **params: Any
) -> nx.DiGraph:
    """One decode step of ``batch`` sequences at KV length ``kv_len``, fused."""
    return fuse(build_model(model, phase="decode", kv_len=kv_len, batch=batch, **params), platform)


# ---------------------------------------------------------------------- the pipeline
def build_kernel_dag(
    model: str | nx.DiGraph,
    platform: Platform,
    *,
    max_kernels: int | None = None,
    levels: str | int = "all",
    profile: ProfileTable | None = None,
    chunk_tokens: int | None = None,
    resume_cost_us: int = 0,
    **model_params: Any,
) -> nx.DiGraph:
    """Model -> fused, tiled, coarsened, cost-annotated kernel DAG on ``platform``.

    ``model`` is a zoo name (built with ``model_params``) or an operator graph. With
    ``chunk_tokens`` an LLM prefill of ``tokens`` tokens is chunked (:func:`llm_prefill_graph`).
    Then :func:`fuse`, :func:`tile` (default threshold), :func:`coarsen` when ``max_kernels`` is
    given, and :func:`models.costs.annotate` with ``levels``, ``profile`` and ``resume_cost_us``.

    Examples
    --------
    >>> from models.presets import get_platform
    >>> dag = build_kernel_dag("resnet-50", get_platform("jetson-orin-nx-16gb"), max_kernels=12)
    >>> dag.number_of_nodes() <= 12 and nx.is_directed_acyclic_graph(dag)
    True
    """
    if isinstance(model, nx.DiGraph):
        if chunk_tokens is not None or model_params:
            raise InvalidInput(
                "chunking and model parameters need a model name, not a graph",
                field="model",
                value=model.graph.get("name"),
            )
        graph = fuse(model, platform)
    elif chunk_tokens is not None:
        params = dict(model_params)
        phase = params.pop("phase", "prefill")
        if phase != "prefill":
            raise InvalidInput(
                "chunk_tokens applies to an LLM prefill only", field="phase", value=phase
            )
        if "past_tokens" in params:
            raise InvalidInput(
                "a chunked prefill starts from an empty KV cache",
                field="past_tokens",
                value=params["past_tokens"],
            )
        if "tokens" not in params:
            raise InvalidInput(
                "a chunked prefill needs the prompt's tokens",
                field="tokens",
                value=None,
                show_value=False,
            )
        tokens = params.pop("tokens")
        graph = llm_prefill_graph(model, tokens, chunk_tokens, platform=platform, **params)
    else:
        graph = fuse(build_model(model, **model_params), platform)
    graph = tile(graph)
    if max_kernels is not None:
        graph = coarsen(graph, max_kernels, platform)
    return annotate(graph, platform, levels=levels, profile=profile, resume_cost_us=resume_cost_us)


__all__ = [
    "ATTENTION_TYPES",
    "DEFAULT_TILE_SHARE",
    "EPILOGUE_TYPES",
    "GEMM_TYPES",
    "build_kernel_dag",
    "coarsen",
    "fuse",
    "llm_decode_graph",
    "llm_prefill_graph",
    "op_affinity",
    "tile",
]
