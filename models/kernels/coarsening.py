"""Coarsening: kernels merged greedily down to a target count (the schema:
:mod:`xpuplan.models.kernels`).

Fewer, larger kernels keep an exact solver's model small. Merges keep the graph acyclic, never
leave a kernel without a device, and conserve FLOPs and weight bytes, and the activation bytes
net of what crosses edges (see :mod:`xpuplan.models.kernels`).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from xpuplan.models.fields import require_int
from xpuplan.models.kernels.graph import (
    Affinity,
    compatible,
    edge_tensors,
    intersect,
    op_affinity,
    widest,
)
from xpuplan.models.platform import Platform

# Coarsening balances kernel sizes measured as FLOPs + RIDGE x bytes, RIDGE a typical ridge point
# (peak ops / memory bandwidth) of the presets' accelerators at fp16 (Orin GPU 15 TFLOPS over
# 102.4 GB/s: 147; Core Ultra NPU 5.75 TFLOPS over 89.6 GB/s: 64; Ryzen AI iGPU 23.8 TFLOPS over
# 120 GB/s: 198), so that memory-bound kernels count by their traffic.
RIDGE_OPS_PER_BYTE = 128.0
# Coarsening prefers merging kernels joined by an edge to merging unconnected neighbours (which
# costs parallelism) unless the former makes a kernel more than this many times larger.
NEIGHBOUR_PENALTY = 2.0

# (chunk crossed, device lost, weighted size) of a candidate merge; smaller merges first.
Key = tuple[bool, bool, float]


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
    than ``max_kernels`` kernels. Totals are conserved as :mod:`xpuplan.models.kernels` states.
    """
    require_int(max_kernels, "max_kernels", 1)
    graph = kernel_graph.copy()
    if graph.number_of_nodes() > max_kernels:
        _Coarsener(graph, platform).run(max_kernels)
    return graph


class _Coarsener:
    """Greedy merging state for :func:`coarsen` (works on ``graph`` in place).

    The heap holds candidate merges with the versions of both kernels when pushed; a merge bumps
    its kernel's version, so stale entries are skipped when popped. An entry whose versions hold
    is still re-keyed when popped, as a merge elsewhere can add an edge that ends a chain.
    """

    def __init__(self, graph: nx.DiGraph, platform: Platform | None) -> None:
        self.graph = graph
        # Live views of the adjacency, fetched once.
        self.succ = graph.succ
        self.pred = graph.pred
        self.node2data: dict[str, dict[str, Any]] = dict(graph.nodes(data=True))
        self.affinity: dict[str, Affinity] = {
            n: op_affinity(d["op_types"], d.get("measured_us"), platform)
            for n, d in self.node2data.items()
        }
        self.size = {n: _size(d) for n, d in self.node2data.items()}
        self.chunk = {n: d.get("chunk") for n, d in self.node2data.items()}
        self.version = dict.fromkeys(graph.nodes, 0)
        self.heap: list[tuple[Key, int, str, str, str, int, int]] = []
        self.counter = itertools.count()
        position = {node: idx for idx, node in enumerate(graph.nodes)}
        order = list(
            nx.lexicographical_topological_sort(
                graph,
                key=lambda n: (
                    self.node2data[n].get("chunk", 0),
                    self.node2data[n]["layer"],
                    position[n],
                ),
            )
        )
        self.prev: dict[str, str | None] = dict(zip(order, [None, *order[:-1]], strict=True))
        self.next: dict[str, str | None] = dict(zip(order, [*order[1:], None], strict=True))

    def run(self, max_kernels: int) -> None:
        """Merge the best candidate until ``max_kernels`` kernels remain or none is left."""
        for src, dst in self.graph.edges:
            self._push("edge", src, dst)
        for node, succ in self.next.items():
            if succ is not None:
                self._push("seq", node, succ)
        graph, heap, version = self.graph, self.heap, self.version
        while len(graph) > max_kernels and heap:
            key, _, kind, a, b, ver_a, ver_b = heapq.heappop(heap)
            if version.get(a) != ver_a or version.get(b) != ver_b:
                continue
            actual = self._key(kind, a, b)
            if actual != key:
                if actual is not None:
                    self._push(kind, a, b)
                continue
            self._merge(kind, a, b)

    def _key(self, kind: str, a: str, b: str) -> Key | None:
        succ_a = self.succ[a]
        joined = b in succ_a
        if kind == "edge":
            if not joined or (len(succ_a) != 1 and len(self.pred[b]) != 1):
                return None
        elif self.next.get(a) != b:
            return None
        aff_a, aff_b = self.affinity[a], self.affinity[b]
        if not compatible(aff_a, aff_b):
            return None
        size = self.size[a] + self.size[b]
        return (
            self.chunk[a] != self.chunk[b],
            aff_a != aff_b,
            size if joined else size * NEIGHBOUR_PENALTY,
        )

    def _push(self, kind: str, a: str, b: str) -> None:
        key = self._key(kind, a, b)
        if key is not None:
            entry = (key, next(self.counter), kind, a, b, self.version[a], self.version[b])
            heapq.heappush(self.heap, entry)

    def _merge(self, kind: str, a: str, b: str) -> None:
        """Merge ``b`` into ``a`` (``a`` precedes ``b``); the merged kernel keeps ``a``'s name.

        The merged kernel takes ``b``'s place in the order when ``b`` was ``a``'s only successor
        (all of ``a``'s predecessors come before ``a``), else ``a``'s place (then ``b``'s
        predecessors are ``a`` and kernels before it: ``b`` is ``a``'s order neighbour, or ``a``
        its only predecessor); either way the order stays topological.
        """
        graph, succ, pred = self.graph, self.succ, self.pred
        at_b = kind == "edge" and len(succ[a]) == 1
        self._unlink(a if at_b else b)
        if at_b:
            self._replace(b, a)
        inner = succ[a].get(b)
        written_saved = 0.0
        if inner is not None:
            # a's tensors that only b read are neither written nor read by the merged kernel.
            leaving = {
                name
                for node in (a, b)
                for dst, data in succ[node].items()
                if dst != a and dst != b
                for name in _tensor_names(node, data)
            }
            inner_tensors = edge_tensors(a, inner)
            written_saved = math.fsum(v for k, v in inner_tensors.items() if k not in leaving)
        # The merged kernel reads neither a's outputs to b nor, twice, a tensor both read.
        read_saved = [float(inner["bytes"])] if inner is not None else []
        for src, data in list(pred[b].items()):
            if src != a:
                read_saved.append(self._add_tensors(src, a, edge_tensors(src, data)))
        for dst, data in list(succ[b].items()):
            self._add_tensors(a, dst, edge_tensors(b, data))
        data_a = self.node2data[a]
        attrs = _merged_attrs(data_a, self.node2data.pop(b), math.fsum(read_saved), written_saved)
        graph.remove_node(b)
        data_a.clear()
        data_a.update(attrs)
        self.size[a] = _size(data_a)
        self.chunk[a] = data_a.get("chunk")
        del self.size[b], self.chunk[b]
        self.affinity[a] = intersect(self.affinity[a], self.affinity.pop(b))
        self.version[a] += 1
        del self.version[b]
        # Only a's candidates change. Its neighbours' other edges do not become chains: a
        # neighbour that lost an edge to b still has its edge to a (and a's predecessor or
        # successor it shares with no one else is joined to a, which is pushed here).
        for src in pred[a]:
            self._push("edge", src, a)
        for dst in succ[a]:
            self._push("edge", a, dst)
        for left, right in ((self.prev[a], a), (a, self.next[a])):
            if left is not None and right is not None:
                self._push("seq", left, right)

    def _add_tensors(self, src: str, dst: str, tensors: Mapping[str, float]) -> float:
        """Add ``tensors`` to the edge ``src -> dst``; return the bytes saved (tensors shared)."""
        old = self.succ[src].get(dst)
        if old is None:
            self.graph.add_edge(src, dst, bytes=math.fsum(tensors.values()), tensors=dict(tensors))
            return 0.0
        merged = edge_tensors(src, old)
        for op, num_bytes in tensors.items():
            merged[op] = max(merged.get(op, 0.0), num_bytes)
        total = math.fsum(merged.values())
        saved = math.fsum([float(old["bytes"]), *tensors.values(), -total])
        old["bytes"], old["tensors"] = total, merged
        return saved

    def _unlink(self, node: str) -> None:
        """Take ``node`` out of the order; its two neighbours become a candidate pair."""
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


def _tensor_names(src: str, data: Mapping[str, Any]) -> Iterable[str]:
    """The names of the tensors on a kernel edge (see :func:`edge_tensors`)."""
    return data["tensors"].keys() if "tensors" in data else (src,)


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
        "precision": widest((da["precision"], db["precision"])),
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
