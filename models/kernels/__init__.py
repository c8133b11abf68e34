"""Kernel DAGs: operator graphs fused, tiled and coarsened into the kernels a planner schedules.

The pipeline (:func:`build_kernel_dag`): an operator graph (:mod:`xpuplan.models.opgraph`, from the
zoo or a profiled file) is fused into kernels (:mod:`xpuplan.models.kernels.fusion`), large GEMM
kernels are cut into tiles (:mod:`xpuplan.models.kernels.tiling`), kernels are merged down to a
target count (:mod:`xpuplan.models.kernels.coarsening`), and :func:`xpuplan.models.costs.annotate`
gives every kernel its modes. An LLM prefill can be cut into chunks first
(:mod:`xpuplan.models.kernels.llm`).

Schema
------
A kernel graph is a networkx DiGraph. Graph attributes: ``name`` (the model), ``family`` and
``precision`` (copied from the op graph, :mod:`xpuplan.models.opgraph`); a chunked prefill adds
``prompt_tokens``, ``chunk_tokens`` and ``num_chunks``; :func:`xpuplan.models.costs.annotate` adds
``platform``.

Node = kernel, named after its first op (tiles ``<kernel>/t<i>``, prefill chunks ``c<c>/<kernel>``):

=================  ===========================================================================
``ops``            tuple of the op names it runs, in topological order
``op_types``       sorted tuple of the distinct op types (what the op-support matrix speaks of),
                   with the ONNX op types of ops imported from ONNX (``onnx_type``)
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
``onnx_nodes``     models imported from ONNX: the nodes it covers (model order), with
                   ``onnx_inputs`` and ``onnx_outputs``, its boundary tensors
                   (:mod:`xpuplan.models.onnx.extract`)
``modes``          after annotation: tuple of :class:`xpuplan.models.Mode` (see
:mod:`xpuplan.models.costs`) =================
===========================================================================

Edges carry ``bytes`` (the activation bytes handed over) and ``tensors``, the bookkeeping behind
it: producer op -> bytes of its output tensor that crosses the edge (``bytes`` is their sum; a
tensor read by several ops of one kernel crosses once). Annotation adds ``cross_device_delay`` and
``resume_cost`` (int us).

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

from typing import Any

import networkx as nx

from xpuplan.models.costs import annotate
from xpuplan.models.errors import InvalidInput
from xpuplan.models.kernels.coarsening import NEIGHBOUR_PENALTY, RIDGE_OPS_PER_BYTE, coarsen
from xpuplan.models.kernels.fusion import EPILOGUE_TYPES, GEMM_TYPES, fuse, fuse_validated
from xpuplan.models.kernels.graph import op_affinity
from xpuplan.models.kernels.llm import ATTENTION_TYPES, llm_decode_graph, llm_prefill_graph
from xpuplan.models.kernels.tiling import DEFAULT_TILE_SHARE, tile
from xpuplan.models.onnx import is_onnx_ref, name_kernels, onnx_params, record_parts
from xpuplan.models.platform import Platform
from xpuplan.models.profiles import ProfileTable
from xpuplan.models.zoo import build_model

# The family of operator graphs imported from ONNX files (:mod:`xpuplan.models.onnx`).
ONNX_FAMILY = "onnx"


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

    ``model`` is a zoo name (built with ``model_params``) or an operator graph; parameters
    ``onnx`` (a file) and ``inputs`` (shapes) import an ONNX model named ``model`` instead
    (:func:`xpuplan.models.onnx.onnx_params`; its kernels are not tiled, are named by their
    content (:func:`xpuplan.models.onnx.name_kernels`) and record their ``onnx_nodes``,
    ``onnx_inputs`` and ``onnx_outputs``: :func:`xpuplan.models.onnx.record_parts`).
    With ``chunk_tokens`` an LLM prefill of ``tokens`` tokens is chunked
    (:func:`llm_prefill_graph`). Then :func:`fuse`, :func:`tile` (default threshold),
    :func:`coarsen` when ``max_kernels`` is given, and :func:`xpuplan.models.costs.annotate` with
    ``levels``, ``profile`` and ``resume_cost_us``.

    Parameters
    ----------
    model
        A zoo model's name (:func:`xpuplan.models.zoo.model_names`) or an operator graph.
    platform
        The platform whose devices the kernels get modes on.
    max_kernels
        Coarsening target (None: keep every fused kernel).
    levels
        DVFS levels per device in the modes: ``"all"``, ``"top"`` or a count.
    profile
        Measured kernel rows, used instead of the roofline where they match.
    chunk_tokens
        Cut an LLM prefill into chunks of this many tokens.
    resume_cost_us
        The ``resume_cost`` of the prefill edges that cross a chunk or a layer boundary.
    **model_params
        Parameters of the zoo model (e.g. ``tokens``, ``batch``), or ``onnx`` (an ONNX file)
        and ``inputs`` (its input shapes) to import an ONNX model.

    Returns
    -------
    networkx.DiGraph
        The kernel DAG (see the module docstring for every node and edge attribute);
        :func:`xpuplan.models.nx.instance_from_networkx` turns it into an Instance.

    Examples
    --------
    >>> from models.presets import get_platform
    >>> dag = build_kernel_dag("resnet-50", get_platform("jetson-orin-nx-16gb"), max_kernels=12)
    >>> dag.number_of_nodes() <= 12 and nx.is_directed_acyclic_graph(dag)
    True
    """
    fused = _fused_graph(model, platform, chunk_tokens, model_params)
    # A tile cuts an op along its channels: an imported ONNX node cannot be run cut, so ONNX
    # models are fused and coarsened only (every kernel stays a set of whole nodes).
    graph = fused if fused.graph.get("family") == ONNX_FAMILY else tile(fused)
    if max_kernels is not None:
        graph = coarsen(graph, max_kernels, platform)
    if fused.graph.get("family") == ONNX_FAMILY:
        graph = name_kernels(graph)
        record_parts(onnx_params(str(model), model_params), graph)
    return annotate(graph, platform, levels=levels, profile=profile, resume_cost_us=resume_cost_us)


def _fused_graph(
    model: str | nx.DiGraph,
    platform: Platform,
    chunk_tokens: int | None,
    model_params: dict[str, Any],
) -> nx.DiGraph:
    """The fused kernel graph of a zoo model, an operator graph or a chunked LLM prefill."""
    if isinstance(model, nx.DiGraph):
        if chunk_tokens is not None or model_params:
            raise InvalidInput(
                "chunking and model parameters need a model name, not a graph",
                field="model",
                value=model.graph.get("name"),
            )
        return fuse(model, platform)
    if is_onnx_ref(model_params):
        if chunk_tokens is not None:
            raise InvalidInput(
                "chunk_tokens applies to an LLM prefill only",
                field="chunk_tokens",
                value=chunk_tokens,
            )
        return fuse_validated(onnx_params(model, model_params).op_graph, platform)
    if chunk_tokens is None:
        return fuse_validated(build_model(model, **model_params), platform)
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
            "a chunked prefill needs the prompt's tokens", field="tokens", show_value=False
        )
    tokens = params.pop("tokens")
    return llm_prefill_graph(model, tokens, chunk_tokens, platform=platform, **params)


__all__ = [
    "ATTENTION_TYPES",
    "DEFAULT_TILE_SHARE",
    "EPILOGUE_TYPES",
    "GEMM_TYPES",
    "NEIGHBOUR_PENALTY",
    "RIDGE_OPS_PER_BYTE",
    "build_kernel_dag",
    "coarsen",
    "fuse",
    "llm_decode_graph",
    "llm_prefill_graph",
    "op_affinity",
    "tile",
]
