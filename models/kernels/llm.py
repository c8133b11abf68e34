"""LLM kernel graphs: Agent.xpu's chunked prefill and one decode step.

Both are fused graphs of the zoo's LLMs (:mod:`xpuplan.models.zoo.llm`) in the schema of
:mod:`xpuplan.models.kernels`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import networkx as nx

from xpuplan.models.costs import LLM_PREFILL_FAMILY
from xpuplan.models.errors import InvalidInput
from xpuplan.models.fields import require_int
from xpuplan.models.kernels.fusion import fuse_validated
from xpuplan.models.kernels.graph import edge_tensors
from xpuplan.models.platform import Platform
from xpuplan.models.zoo import build_model

# A kernel holding one of these reads the KV cache (an attention block).
ATTENTION_TYPES = frozenset({"attention", "softmax"})


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
        When the token counts are not integers >= 1, ``params`` sets what the chunking sets
        (``phase``, ``tokens``, ``past_tokens``), or a chunk has no attention kernel in a layer
        where the other chunks have one.
    """
    for field_, value in (("prompt_tokens", prompt_tokens), ("chunk_tokens", chunk_tokens)):
        require_int(value, field_, 1)
    _reject(params, ("phase", "tokens", "past_tokens"), "is set by the chunking")
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
        chunks.append(fuse_validated(ops, platform))
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
        graph.add_nodes_from(
            (prefix + node, {**data, "chunk": c_idx}) for node, data in chunk.nodes(data=True)
        )
        graph.add_edges_from(
            (prefix + src, prefix + dst, _prefixed_edge(prefix, src, data))
            for src, dst, data in chunk.edges(data=True)
        )
    _link_kv_cache(graph, chunks, model)
    return graph


def _link_kv_cache(graph: nx.DiGraph, chunks: list[nx.DiGraph], model: str) -> None:
    """Add the edges by which chunk c's attention reads chunk c-1's keys and values."""
    layer2attention = [_attention_kernels(chunk) for chunk in chunks]
    for c_idx in range(1, len(chunks)):
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
                        graph.add_edge(prev + src, cur + attn, **_prefixed_edge(prev, src, data))


def _prefixed_edge(prefix: str, src: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes of a chunk's edge in the whole graph: its tensors renamed with the chunk."""
    tensors = {prefix + op: b for op, b in edge_tensors(src, data).items()}
    return {"bytes": data["bytes"], "tensors": tensors}


def _reject(params: Mapping[str, Any], keys: tuple[str, ...], message: str) -> None:
    for key in keys:
        if key in params:
            raise InvalidInput(message, field=key, value=params[key])


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
    """One decode step of ``batch`` sequences at KV length ``kv_len``, fused (:func:`fuse`).

    The step is the zoo's ``phase="decode"`` graph (:mod:`xpuplan.models.zoo.llm`): every sequence
    attends to its ``kv_len`` cached positions, and the weights are read once for the batch.
    """
    _reject(params, ("phase",), "is set by the decode step")
    ops = build_model(model, phase="decode", kv_len=kv_len, batch=batch, **params)
    return fuse_validated(ops, platform)
