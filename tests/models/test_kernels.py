"""Fusion, tiling, coarsening and chunked LLM graphs (the models.kernels package)."""

from __future__ import annotations

import math
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xpuplan.models.errors import InvalidInput
from xpuplan.models.kernels import (
    GEMM_TYPES,
    build_kernel_dag,
    coarsen,
    fuse,
    llm_decode_graph,
    llm_prefill_graph,
    op_affinity,
    tile,
)
from xpuplan.models.opgraph import add_op, new_op_graph, totals
from xpuplan.models.platform import DeviceSpec, DvfsLevel, Platform
from xpuplan.models.zoo import build_model

RANDOM_TYPES = (
    "conv",
    "depthwise_conv",
    "matmul",
    "attention",
    "softmax",
    "layernorm",
    "batchnorm",
    "relu",
    "gelu",
    "add",
    "mul",
    "reshape",
    "pool",
)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def small_platform(*, unified: bool = True) -> Platform:
    """A CPU, a GPU and a DLA that cannot run attention, softmax, layernorm or gelu."""
    levels = (DvfsLevel("lo", 500, 0.5, 2.0), DvfsLevel("hi", 1000, 1.0, 6.0))
    return Platform(
        name="small",
        devices=(
            DeviceSpec("cpu", "cpu", 2, levels, 0.5, {"fp32": 2e11}, 50.0),
            DeviceSpec("gpu", "gpu", 1, levels, 1.0, {"fp16": 4e12}, 100.0),
            DeviceSpec(
                "dla",
                "dla",
                1,
                levels[1:],
                0.2,
                {"int8": 8e12, "fp16": 4e12},
                60.0,
                unsupported_ops=frozenset({"attention", "softmax", "layernorm", "gelu"}),
            ),
        ),
        mem_bw_gbps=80.0,
        unified_memory=unified,
        transfer_gbps=0.0 if unified else 10.0,
        sync_overhead_us=5.0,
    )


@st.composite
def op_graphs(draw: st.DrawFn) -> nx.DiGraph:
    """Random op DAGs: each op reads its inputs' outputs (plus maybe a model input)."""
    graph = new_op_graph("random", "cnn")
    num_ops = draw(st.integers(1, 16))
    for o_idx in range(num_ops):
        op_type = draw(st.sampled_from(RANDOM_TYPES))
        inputs = draw(st.lists(st.integers(0, o_idx - 1), max_size=3, unique=True)) if o_idx else []
        in_bytes = sum(graph.nodes[f"op{i}"]["bytes_written"] for i in inputs)
        add_op(
            graph,
            f"op{o_idx}",
            op_type,
            flops=draw(st.integers(0, 10**9)),
            bytes_read=in_bytes + draw(st.integers(0, 10**5)),
            bytes_written=draw(st.integers(1, 10**6)),
            weight_bytes=draw(st.integers(0, 10**6)) if op_type in GEMM_TYPES else 0,
            inputs=[f"op{i}" for i in inputs],
            layer=o_idx // 4,
        )
    return graph


def add_matmul_kernel(
    graph: nx.DiGraph, name: str, *, flops: float, num_bytes: float, layer: int, chunk: int
) -> None:
    """Add a fused one-matmul kernel reading and writing ``num_bytes``, of a prefill chunk."""
    graph.add_node(
        name,
        ops=(name,),
        op_types=("matmul",),
        label="matmul",
        flops=flops,
        bytes_read=num_bytes,
        bytes_written=num_bytes,
        weight_bytes=0.0,
        precision="fp16",
        layer=layer,
        chunk=chunk,
        num_merged=1,
    )


def kernel_of(kernel_graph: nx.DiGraph) -> dict[str, str]:
    """Op name -> the kernel that runs it (for graphs where each op is in one kernel)."""
    return {op: k for k, data in kernel_graph.nodes(data=True) for op in data["ops"]}


def sums(graph: nx.DiGraph) -> dict[str, float]:
    """Node totals plus the edge bytes and the bytes of the distinct tensors on edges."""
    out = totals(graph)
    out["edge_bytes"] = math.fsum(d.get("bytes", 0.0) for _, _, d in graph.edges(data=True))
    tensors: dict[str, float] = {}
    for src, _, data in graph.edges(data=True):
        tensors.update(data.get("tensors", {src: data.get("bytes", 0.0)}))
    out["tensor_bytes"] = math.fsum(tensors.values())
    return out


def assert_conserved(before: nx.DiGraph, after: nx.DiGraph) -> None:
    """FLOPs and weights equal; reads net of edges and writes net of edge tensors equal."""
    b, a = sums(before), sums(after)
    for key in ("flops", "weight_bytes"):
        assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-6)
    assert a["bytes_read"] - a["edge_bytes"] == pytest.approx(
        b["bytes_read"] - b["edge_bytes"], rel=1e-9, abs=1e-3
    )
    assert a["bytes_written"] - a["tensor_bytes"] == pytest.approx(
        b["bytes_written"] - b["tensor_bytes"], rel=1e-9, abs=1e-3
    )


def assert_precedence_kept(before: nx.DiGraph, after: nx.DiGraph, where: dict[str, str]) -> None:
    """Every edge of ``before`` is inside one node of ``after`` or an edge of ``after``."""
    for src, dst in before.edges:
        assert where[src] == where[dst] or after.has_edge(where[src], where[dst])


# ---------------------------------------------------------------------- fusion
@PROPERTY
@given(op_graphs(), st.booleans())
def test_fuse_is_acyclic_and_conserves_totals(ops: nx.DiGraph, with_platform: bool) -> None:
    """Fusion partitions the ops, keeps every dependency, stays acyclic and conserves totals."""
    kernels = fuse(ops, small_platform() if with_platform else None)
    assert nx.is_directed_acyclic_graph(kernels)
    where = kernel_of(kernels)
    assert sorted(where) == sorted(ops.nodes)
    assert sum(len(d["ops"]) for _, d in kernels.nodes(data=True)) == ops.number_of_nodes()
    assert_precedence_kept(ops, kernels, where)
    assert_conserved(ops, kernels)
    internal = [d["bytes"] for u, v, d in ops.edges(data=True) if where[u] == where[v]]
    # Fused producers have one consumer: both read and written totals drop by the internal edges.
    assert totals(kernels)["bytes_written"] == pytest.approx(
        totals(ops)["bytes_written"] - math.fsum(internal), abs=1e-3
    )
    for u, v in ops.edges:
        if where[u] == where[v]:
            assert ops.out_degree(u) == 1


@PROPERTY
@given(op_graphs())
def test_fusion_never_loses_a_device(ops: nx.DiGraph) -> None:
    """With a platform, every op of a kernel runs on exactly the kernel's devices."""
    platform = small_platform()
    kernels = fuse(ops, platform)
    for _, data in kernels.nodes(data=True):
        kernel_devices = op_affinity(data["op_types"], None, platform)
        for op in data["ops"]:
            assert op_affinity((ops.nodes[op]["type"],), None, platform) == kernel_devices


def test_conv_batchnorm_relu_and_residual_fuse() -> None:
    """conv+bn+relu is one kernel; a residual add joins the conv branch, not the shortcut."""
    g = new_op_graph("block", "cnn")
    add_op(g, "x", "relu", flops=1, bytes_read=8, bytes_written=8)
    add_op(
        g, "conv", "conv", flops=100, bytes_read=8, bytes_written=8, weight_bytes=50, inputs=["x"]
    )
    add_op(g, "bn", "batchnorm", flops=2, bytes_read=8, bytes_written=8, inputs=["conv"])
    add_op(g, "add", "add", flops=1, bytes_read=16, bytes_written=8, inputs=["bn", "x"])
    add_op(g, "relu", "relu", flops=1, bytes_read=8, bytes_written=8, inputs=["add"])
    kernels = fuse(g)
    assert kernel_of(kernels) == {
        "x": "x",
        "conv": "conv",
        "bn": "conv",
        "add": "conv",
        "relu": "conv",
    }
    conv = kernels.nodes["conv"]
    assert conv["label"] == "conv+batchnorm+add+relu"
    assert conv["op_types"] == ("add", "batchnorm", "conv", "relu")
    # Reads: x by the conv and by the add (one tensor crossing: read once), nothing internal.
    assert conv["bytes_read"] == 8
    assert conv["bytes_written"] == 8
    assert kernels.edges["x", "conv"]["bytes"] == 8


def test_separate_attention_ops_fuse_into_one_block() -> None:
    """QK^T, scale, softmax and AV given as separate ops become one attention kernel."""
    g = new_op_graph("attn", "encoder")
    for name in ("q", "k", "v"):
        add_op(g, name, "matmul", flops=10, bytes_read=4, bytes_written=4, weight_bytes=4)
    add_op(g, "qk", "matmul", flops=20, bytes_read=8, bytes_written=16, inputs=["q", "k"])
    add_op(g, "scale", "mul", flops=1, bytes_read=16, bytes_written=16, inputs=["qk"])
    add_op(g, "sm", "softmax", flops=5, bytes_read=16, bytes_written=16, inputs=["scale"])
    add_op(g, "av", "matmul", flops=20, bytes_read=20, bytes_written=4, inputs=["sm", "v"])
    add_op(
        g, "out", "matmul", flops=10, bytes_read=4, bytes_written=4, weight_bytes=4, inputs=["av"]
    )
    where = kernel_of(fuse(g))
    assert where["qk"] == where["scale"] == where["sm"] == where["av"] == "qk"
    assert where["out"] == "out"  # the block is closed after AV


def test_dla_boundary_matmul_gelu() -> None:
    """On a platform whose DLA lacks gelu, matmul+bias fuse but gelu stays apart."""
    g = new_op_graph("mlp", "encoder")
    add_op(g, "fc", "matmul", flops=100, bytes_read=8, bytes_written=8, weight_bytes=8)
    add_op(g, "bias", "add", flops=1, bytes_read=8, bytes_written=8, inputs=["fc"])
    add_op(g, "act", "gelu", flops=8, bytes_read=8, bytes_written=8, inputs=["bias"])
    where = kernel_of(fuse(g, small_platform()))
    assert where == {"fc": "fc", "bias": "fc", "act": "act"}
    assert kernel_of(fuse(g)) == {"fc": "fc", "bias": "fc", "act": "fc"}


def test_dla_boundary_does_not_split_ops_that_share_devices() -> None:
    """layernorm + gelu both lack the DLA, so the gelu still fuses into the norm's kernel."""
    g = new_op_graph("ln", "encoder")
    add_op(g, "ln", "layernorm", flops=8, bytes_read=8, bytes_written=8)
    add_op(g, "act", "gelu", flops=8, bytes_read=8, bytes_written=8, inputs=["ln"])
    add_op(g, "res", "add", flops=1, bytes_read=8, bytes_written=8, inputs=["act"])
    where = kernel_of(fuse(g, small_platform()))
    assert where == {"ln": "ln", "act": "ln", "res": "res"}


def test_multi_consumer_producer_does_not_fuse() -> None:
    """An op whose output goes to two consumers keeps its own kernel (its output is needed)."""
    g = new_op_graph("fork", "cnn")
    add_op(g, "conv", "conv", flops=100, bytes_read=8, bytes_written=8, weight_bytes=8)
    add_op(g, "r1", "relu", flops=1, bytes_read=8, bytes_written=8, inputs=["conv"])
    add_op(g, "r2", "relu", flops=1, bytes_read=8, bytes_written=8, inputs=["conv"])
    assert len(fuse(g)) == 3


def measured_chain(*ops: tuple[str, str, float, dict[str, float]]) -> nx.DiGraph:
    """A chain of profiled ops ``(name, type, flops, measured_us)``, each reading the one before."""
    graph = new_op_graph("prof", "profiled")
    for o_idx, (name, op_type, flops, measured) in enumerate(ops):
        inputs = [ops[o_idx - 1][0]] if o_idx else []
        add_op(
            graph,
            name,
            op_type,
            flops=flops,
            bytes_read=4 * len(inputs),
            bytes_written=4,
            inputs=inputs,
            measured_us=measured,
        )
    return graph


def test_measured_ops_fuse_only_with_equal_entries() -> None:
    """Profiled ops fuse when both were measured on the same devices, and their times add up."""
    g = measured_chain(
        ("a", "conv", 0, {"cpu": 10.0, "accel": 2.0}),
        ("b", "relu", 0, {"cpu": 1.0, "accel": 0.5}),
        ("c", "add", 0, {"cpu": 3.0}),
    )
    kernels = fuse(g)
    assert kernel_of(kernels) == {"a": "a", "b": "a", "c": "c"}
    assert kernels.nodes["a"]["measured_us"] == {"accel": 2.5, "cpu": 11.0}


def test_layers_inherited_when_missing() -> None:
    """A kernel whose ops carry no layer takes its predecessors' largest layer."""
    g = new_op_graph("layers", "cnn")
    add_op(g, "a", "conv", flops=1, bytes_read=1, bytes_written=1, layer=3)
    add_op(g, "b", "pool", flops=1, bytes_read=1, bytes_written=1, inputs=["a"])
    assert fuse(g).nodes["b"]["layer"] == 3


def test_fuse_rejects_a_cyclic_graph() -> None:
    """A cyclic op graph is bad input, named in the error."""
    g = new_op_graph("cyc", "cnn")
    add_op(g, "a", "conv", flops=1, bytes_read=1, bytes_written=1)
    add_op(g, "b", "relu", flops=1, bytes_read=1, bytes_written=1, inputs=["a"])
    g.add_edge("b", "a", bytes=1.0)
    with pytest.raises(InvalidInput, match="cycle"):
        fuse(g)


# ---------------------------------------------------------------------- tiling
@PROPERTY
@given(op_graphs(), st.integers(1, 8), st.floats(1e6, 1e9))
def test_tile_conserves_flops_weights_and_writes(
    ops: nx.DiGraph, max_tiles: int, max_flops: float
) -> None:
    """Tiles stay acyclic, conserve FLOPs, weights and writes, and respect both limits."""
    kernels = fuse(ops)
    tiled = tile(kernels, max_flops=max_flops, max_tiles=max_tiles)
    assert nx.is_directed_acyclic_graph(tiled)
    before, after = totals(kernels), totals(tiled)
    for key in ("flops", "weight_bytes", "bytes_written"):
        assert after[key] == pytest.approx(before[key], rel=1e-9, abs=1e-6)
    extra_reads = 0.0
    for name, data in kernels.nodes(data=True):
        parts = [t for t in tiled if t == name or t.startswith(f"{name}/t")]
        assert 1 <= len(parts) <= max_tiles
        if len(parts) > 1:
            assert set(data["op_types"]) & GEMM_TYPES
            assert all(tiled.nodes[t]["flops"] <= max_flops * (1 + 1e-9) for t in parts) or (
                len(parts) == max_tiles
            )
            for part in parts:  # every tile sits between the kernel's neighbours
                assert set(tiled.predecessors(part)) >= {
                    p2 for p in kernels.predecessors(name) for p2 in tiled if p2.split("/t")[0] == p
                }
        extra_reads += (len(parts) - 1) * data["bytes_read"]
    assert after["bytes_read"] == pytest.approx(
        before["bytes_read"] + extra_reads, rel=1e-9, abs=1e-3
    )


def test_tile_splits_a_big_gemm_into_parallel_tiles() -> None:
    """A 4-GFLOP matmul with a 1-GFLOP limit becomes 4 tiles between its neighbours."""
    g = new_op_graph("gemm", "encoder")
    add_op(g, "a", "relu", flops=1, bytes_read=8, bytes_written=8)
    add_op(
        g,
        "mm",
        "matmul",
        flops=4e9,
        bytes_read=8,
        bytes_written=400,
        weight_bytes=4000,
        inputs=["a"],
    )
    add_op(g, "z", "pool", flops=1, bytes_read=400, bytes_written=8, inputs=["mm"])
    tiled = tile(fuse(g), max_flops=1e9)
    tiles = [f"mm/t{i}" for i in range(4)]
    assert sorted(tiled.nodes) == sorted(["a", "z", *tiles])
    for name in tiles:
        assert tiled.nodes[name]["flops"] == 1e9
        assert tiled.nodes[name]["weight_bytes"] == 1000
        assert tiled.has_edge("a", name) and tiled.has_edge(name, "z")
        assert tiled.edges[name, "z"]["bytes"] == 100
    assert tile(fuse(g), max_flops=1e9, max_tiles=2).nodes["mm/t0"]["flops"] == 2e9


def test_tile_rejects_bad_limits() -> None:
    """Non-positive limits are bad input."""
    g = fuse(new_op_graph("empty", "cnn"))
    with pytest.raises(InvalidInput, match="max_tiles"):
        tile(g, max_tiles=0)
    with pytest.raises(InvalidInput, match="max_flops"):
        tile(g, max_flops=-1.0)


# ---------------------------------------------------------------------- coarsening
@PROPERTY
@given(op_graphs(), st.integers(1, 6), st.booleans())
def test_coarsen_reaches_the_target_acyclic_and_conserving(
    ops: nx.DiGraph, max_kernels: int, with_platform: bool
) -> None:
    """Coarsening keeps a DAG, every dependency and the totals, and never loses every device."""
    platform = small_platform() if with_platform else None
    kernels = tile(fuse(ops, platform), max_flops=2e8, max_tiles=3)
    for name in kernels:  # one "op" per kernel, so the coarse kernels name their members
        kernels.nodes[name]["ops"] = (name,)
    coarse = coarsen(kernels, max_kernels, platform)
    assert nx.is_directed_acyclic_graph(coarse)
    assert_conserved(kernels, coarse)
    where = {k: name for name, data in coarse.nodes(data=True) for k in data["ops"]}
    assert sorted(where) == sorted(kernels)
    for _, data in coarse.nodes(data=True):
        assert data["num_merged"] == len(data["ops"])
        if platform is not None:
            assert op_affinity(data["op_types"], None, platform)
    assert_precedence_kept(kernels, coarse, where)
    if platform is None:  # nothing forbids a merge: the target is always reached
        assert coarse.number_of_nodes() <= max_kernels


def test_coarsen_stops_at_a_device_boundary_that_would_lose_every_device() -> None:
    """Two kernels with disjoint devices are never merged, even below the target."""
    levels = (DvfsLevel("top", 1000, 1.0, 5.0),)
    platform = Platform(
        name="split",
        devices=(
            DeviceSpec(
                "a",
                "npu",
                1,
                levels,
                0.0,
                {"fp16": 1e12},
                50.0,
                unsupported_ops=frozenset({"gelu"}),
            ),
            DeviceSpec(
                "b",
                "gpu",
                1,
                levels,
                0.0,
                {"fp16": 1e12},
                50.0,
                unsupported_ops=frozenset({"conv"}),
            ),
        ),
        mem_bw_gbps=50.0,
    )
    g = new_op_graph("split", "cnn")
    add_op(g, "conv", "conv", flops=10, bytes_read=8, bytes_written=8)
    add_op(g, "act", "gelu", flops=1, bytes_read=8, bytes_written=8, inputs=["conv"])
    add_op(g, "relu", "relu", flops=1, bytes_read=8, bytes_written=8, inputs=["act"])
    kernels = fuse(g, platform)
    assert len(kernels) == 3
    coarse = coarsen(kernels, 1, platform)
    assert sorted(coarse.nodes) == ["act", "conv"]  # relu joins the gelu; conv can't join either


def test_coarsen_merges_chains_before_parallel_branches() -> None:
    """Two parallel chains become one kernel each rather than being merged side by side."""
    g = new_op_graph("par", "cnn")
    add_op(g, "in", "pool", flops=1e6, bytes_read=8, bytes_written=8, layer=0)
    for branch in ("a", "b"):
        add_op(
            g,
            f"{branch}1",
            "conv",
            flops=100,
            bytes_read=8,
            bytes_written=8,
            inputs=["in"],
            layer=1,
        )
        add_op(
            g,
            f"{branch}2",
            "conv",
            flops=100,
            bytes_read=8,
            bytes_written=8,
            inputs=[f"{branch}1"],
            layer=2,
        )
    add_op(g, "out", "add", flops=1, bytes_read=16, bytes_written=8, inputs=["a2", "b2"], layer=3)
    coarse = coarsen(fuse(g), 3)
    groups = sorted(tuple(sorted(d["ops"])) for _, d in coarse.nodes(data=True))
    assert groups == [("a1", "a2"), ("b1", "b2", "out"), ("in",)]


def test_coarsen_keeps_chunks_apart_while_it_can() -> None:
    """Merges stay inside a prefill chunk before any crosses chunks."""
    g = nx.DiGraph(name="m", family="llm-prefill", precision="fp16")
    for c in range(2):
        for k in range(3):
            add_matmul_kernel(g, f"c{c}/k{k}", flops=10.0 + k, num_bytes=1.0, layer=k, chunk=c)
            if k:
                g.add_edge(
                    f"c{c}/k{k - 1}", f"c{c}/k{k}", bytes=1.0, tensors={f"c{c}/k{k - 1}": 1.0}
                )
        if c:
            g.add_edge("c0/k1", "c1/k1", bytes=1.0, tensors={"c0/k1": 1.0})
    coarse = coarsen(g, 2)
    assert sorted(d["chunk"] for _, d in coarse.nodes(data=True)) == [0, 1]
    assert all(len(d["ops"]) == 3 for _, d in coarse.nodes(data=True))


def test_coarsen_rejects_a_bad_target() -> None:
    """max_kernels must be a positive integer."""
    with pytest.raises(InvalidInput, match="max_kernels"):
        coarsen(nx.DiGraph(), 0)


# ---------------------------------------------------------------------- LLM graphs (zoo)


def test_chunked_prefill_chunk_count_and_remainder() -> None:
    """435 tokens in chunks of 128: 4 chunks of 128, 128, 128 and 51 tokens."""
    graph = llm_prefill_graph("llama-3.2-1b", 435, 128)
    assert graph.graph["num_chunks"] == 4
    chunk2tokens: dict[int, set[int]] = {}
    for _, data in graph.nodes(data=True):
        chunk2tokens.setdefault(data["chunk"], set()).add(data.get("tokens"))
    assert sorted(chunk2tokens) == [0, 1, 2, 3]
    assert max(chunk2tokens[0]) == 128 and max(chunk2tokens[3]) == 51
    assert nx.is_directed_acyclic_graph(graph)


def test_chunked_prefill_flops_equal_the_whole_prefill() -> None:
    """Stitching chunks with their past tokens gives the FLOPs of one unchunked prefill."""
    whole = fuse(build_model("llama-3.2-1b", phase="prefill", tokens=300, past_tokens=0))
    for chunk in (64, 100, 300):
        chunked = llm_prefill_graph("llama-3.2-1b", 300, chunk)
        assert totals(chunked)["flops"] == pytest.approx(totals(whole)["flops"], rel=1e-12)
        assert sum(1 for n in chunked if n.endswith("lm_head")) == 1


def test_chunked_prefill_kv_dependencies() -> None:
    """Chunk c's attention at layer l waits for chunk c-1's; its Q/K/V projections do not."""
    graph = llm_prefill_graph("llama-3.2-1b", 96, 32)
    attention = {
        (d["chunk"], d["layer"]): n
        for n, d in graph.nodes(data=True)
        if "attention" in d["op_types"]
    }
    for (c, layer), node in attention.items():
        if c:
            assert nx.has_path(graph, attention[(c - 1, layer)], node)
    projections = [
        n
        for n in nx.ancestors(graph, attention[(2, 0)])
        if graph.nodes[n]["chunk"] == 2 and "matmul" in graph.nodes[n]["op_types"]
    ]
    assert len(projections) == 3  # q, k (+rope), v
    assert not any(nx.has_path(graph, attention[(1, 0)], n) for n in projections)


def test_decode_graph_is_fused() -> None:
    """A decode step is a fused DAG with fewer kernels than ops."""
    ops = build_model("llama-3.2-1b", phase="decode", kv_len=512, batch=2)
    graph = llm_decode_graph("llama-3.2-1b", 512, 2)
    assert nx.is_directed_acyclic_graph(graph)
    assert 0 < graph.number_of_nodes() < ops.number_of_nodes()
    assert totals(graph)["flops"] == pytest.approx(totals(ops)["flops"], rel=1e-9)


def test_llm_graphs_reject_what_they_set_themselves() -> None:
    """Parameters the chunking or the decode step sets are bad input, not a TypeError."""
    bad: list[dict[str, Any]] = [{"past_tokens": 8}, {"tokens": 16}, {"phase": "decode"}]
    for params in bad:
        with pytest.raises(InvalidInput) as info:
            llm_prefill_graph("llama-3.2-1b", 64, 32, **params)
        assert info.value.field == next(iter(params))
    with pytest.raises(InvalidInput) as info:
        llm_decode_graph("llama-3.2-1b", 64, phase="prefill")
    assert info.value.field == "phase"


def test_build_kernel_dag_rejects_bad_chunking() -> None:
    """Chunking needs a prefill with its token count."""
    platform = small_platform()
    with pytest.raises(InvalidInput, match="phase"):
        build_kernel_dag("llama-3.2-1b", platform, phase="decode", kv_len=8, chunk_tokens=4)
    with pytest.raises(InvalidInput, match="tokens"):
        build_kernel_dag("llama-3.2-1b", platform, phase="prefill", chunk_tokens=4)
