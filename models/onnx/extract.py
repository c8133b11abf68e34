"""Kernels of an imported ONNX model as standalone sub-models.

A kernel of a kernel DAG built from an imported model
(:func:`xpuplan.models.kernels.build_kernel_dag`)
covers the ONNX nodes named in its ``ops`` (fusion and coarsening keep every kernel a convex set
of nodes: the kernel graph is acyclic). Its *boundary* is the tensors it reads that other kernels
or the model's inputs produce, and the tensors it produces that other kernels read or that are
outputs of the model. :func:`extract_kernel` cuts those nodes out with their initializers into a
model whose inputs and outputs are exactly the boundary tensors, so running the kernels one by one
in topological order, each fed the boundary tensors of those before it, reproduces the whole
model's outputs (the tests check this on ONNX Runtime).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import networkx as nx
import onnx

from xpuplan.models.errors import InvalidInput
from xpuplan.models.onnx.importer import OnnxModel, _node_inputs


@dataclass(frozen=True)
class KernelPart:
    """A kernel's ONNX nodes (in model order) and its boundary tensors."""

    name: str
    nodes: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def kernel_parts(onnx_model: OnnxModel, kernel_graph: nx.DiGraph) -> list[KernelPart]:
    """The :class:`KernelPart` of every kernel of ``kernel_graph``, in topological order.

    Raises
    ------
    InvalidInput
        When a kernel is a tile (tiles cut a node and cannot be extracted) or names a node the
        model does not have.
    """
    order = {node.name: idx for idx, node in enumerate(onnx_model.model.graph.node)}
    parts = []
    for kernel in nx.topological_sort(kernel_graph):
        data = kernel_graph.nodes[kernel]
        if "tile" in data:
            raise InvalidInput(
                "is a tile of a node; only whole nodes can be extracted",
                field="kernel",
                value=kernel,
            )
        missing = [op for op in data["ops"] if op not in order]
        if missing:
            raise InvalidInput(
                f"covers nodes the model {onnx_model.name!r} does not have",
                field=f"kernels.{kernel}",
                value=missing[0],
            )
        nodes = tuple(sorted(data["ops"], key=order.__getitem__))
        inputs, outputs = boundary(onnx_model, nodes)
        parts.append(KernelPart(str(kernel), nodes, inputs, outputs))
    return parts


def name_kernels(kernel_graph: nx.DiGraph) -> nx.DiGraph:
    """The graph with every kernel of several nodes renamed ``<first node>~<hash>``.

    The hash is the first 6 hex digits of the SHA-1 of its sorted node names, so a name stands
    for one set of nodes whatever the granularity: a profile row (keyed by kernel name) measured
    at one ``max_kernels`` never lands on a different kernel built at another. A kernel of one
    node keeps the node's name.
    """
    mapping = {}
    for name, data in kernel_graph.nodes(data=True):
        ops = data["ops"]
        if len(ops) > 1:
            digest = hashlib.sha1("\n".join(sorted(ops)).encode()).hexdigest()[:6]
            mapping[name] = f"{ops[0]}~{digest}"
    return nx.relabel_nodes(kernel_graph, mapping, copy=True) if mapping else kernel_graph


def record_parts(onnx_model: OnnxModel, kernel_graph: nx.DiGraph) -> None:
    """Give every kernel ``onnx_nodes``, ``onnx_inputs`` and ``onnx_outputs`` (its
    :class:`KernelPart`: the nodes it covers and its boundary tensors), in place."""
    for part in kernel_parts(onnx_model, kernel_graph):
        data = kernel_graph.nodes[part.name]
        data["onnx_nodes"] = part.nodes
        data["onnx_inputs"] = part.inputs
        data["onnx_outputs"] = part.outputs


def boundary(
    onnx_model: OnnxModel, nodes: Iterable[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(input tensors, output tensors) of a set of nodes of the prepared model."""
    chosen = set(nodes)
    graph = onnx_model.model.graph
    consts = {init.name for init in graph.initializer}
    produced: set[str] = set()
    inputs: dict[str, None] = {}
    outside_reads: set[str] = {o.name for o in graph.output}
    for node in graph.node:
        if node.name in chosen:
            for tensor in _node_inputs(node):
                if tensor not in produced and tensor not in consts:
                    inputs[tensor] = None
            produced.update(o for o in node.output if o)
        else:
            outside_reads.update(_node_inputs(node))
    outputs = [
        o
        for node in graph.node
        if node.name in chosen
        for o in node.output
        if o and o in outside_reads
    ]
    return tuple(inputs), tuple(outputs)


def extract_kernel(onnx_model: OnnxModel, part: KernelPart) -> onnx.ModelProto:
    """A standalone model running ``part``'s nodes: inputs and outputs are its boundary."""
    return extract_nodes(onnx_model, part.nodes, part.inputs, part.outputs, name=part.name)


def extract_nodes(
    onnx_model: OnnxModel,
    nodes: Sequence[str],
    inputs: Sequence[str],
    outputs: Sequence[str],
    *,
    name: str = "kernel",
) -> onnx.ModelProto:
    """A model of ``nodes`` (of the prepared model) with these inputs and outputs."""
    source = onnx_model.model
    chosen = set(nodes)
    node_protos = [node for node in source.graph.node if node.name in chosen]
    read = {t for node in node_protos for t in _node_inputs(node)}
    inits = [init for init in source.graph.initializer if init.name in read]
    graph = onnx.helper.make_graph(
        node_protos,
        f"{onnx_model.name}.{name}",
        [_value_info(onnx_model, t) for t in inputs],
        [_value_info(onnx_model, t) for t in outputs],
        initializer=inits,
    )
    model = onnx.helper.make_model(
        graph, opset_imports=list(source.opset_import), ir_version=source.ir_version
    )
    model.functions.extend(source.functions)
    return model


def _value_info(onnx_model: OnnxModel, tensor: str) -> onnx.ValueInfoProto:
    elem, shape = onnx_model.tensor_types.get(tensor, (0, None))
    if not elem:
        raise InvalidInput(
            "has no known element type; the kernel cannot be extracted",
            field="tensor",
            value=tensor,
        )
    return onnx.helper.make_tensor_value_info(
        tensor, elem, list(shape) if shape is not None else None
    )
