"""Import an ONNX file into the operator graph of :mod:`xpuplan.models.opgraph`.

Steps (:func:`import_onnx`):

1. load and check the file (not ONNX, truncated, an opset this onnx does not know: one-line
   errors naming the file and field);
2. fix every graph input's shape: the model's static dims, the user's ``inputs`` for dynamic
   ones (a dynamic dim left open is an error naming the input);
3. fold constants: ``Constant`` nodes, ``Shape``/``Size`` of a static shape and every
   deterministic node whose inputs are all constant are evaluated with ``onnx.reference`` and
   become initializers (results above :data:`FOLD_MAX_ELEMENTS` elements stay nodes);
4. infer shapes (``onnx.shape_inference`` with data propagation) on the folded model;
5. one op per remaining node, costed by :mod:`xpuplan.models.onnx.costs`: its activation inputs
   are read, its outputs written, its constant inputs are weights. Edges carry the bytes of the
   tensors between two nodes; control-flow bodies' references to outer tensors are edges too.

Every op is named after its node (renamed ``<OpType>_<index>`` when unnamed or repeated, and
``/`` becomes ``.``), and carries ``onnx_type`` (the ONNX op type, which the op-support matrix
may name), ``onnx_inputs`` and ``onnx_outputs`` (tensor names). The graph carries ``onnx``, the
:class:`OnnxModel` (the prepared model that kernels are extracted from).
"""

from __future__ import annotations

import functools
import math
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import numpy_helper, shape_inference
from onnx.reference import ReferenceEvaluator

from xpuplan.models.errors import InvalidInput
from xpuplan.models.onnx.costs import CONTROL_FLOW, node_cost

# Folded results larger than this stay nodes (a big constant would bloat every extracted kernel).
FOLD_MAX_ELEMENTS = 1 << 20
# Rounds of folding and shape inference before giving up on a fixpoint.
MAX_FOLD_ROUNDS = 8
# Oldest default-domain opset ONNX Runtime still runs (its docs: "opset 7 and higher").
MIN_OPSET = 7
_NONDETERMINISTIC = frozenset(
    {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial"}
)
_PRECISION: dict[int, str] = {
    onnx.TensorProto.FLOAT: "fp32",
    onnx.TensorProto.DOUBLE: "fp32",
    onnx.TensorProto.FLOAT16: "fp16",
    onnx.TensorProto.BFLOAT16: "bf16",
    onnx.TensorProto.INT8: "int8",
    onnx.TensorProto.UINT8: "int8",
    onnx.TensorProto.INT4: "int4",
    onnx.TensorProto.UINT4: "int4",
}
_FLOATS: frozenset[int] = frozenset(
    {
        onnx.TensorProto.FLOAT,
        onnx.TensorProto.DOUBLE,
        onnx.TensorProto.FLOAT16,
        onnx.TensorProto.BFLOAT16,
    }
)


class UncostedOps(UserWarning):
    """ONNX op types without a cost rule (costed by their bytes) or with unknown shapes."""


@dataclass(frozen=True)
class InputSpec:
    """A graph input: its fixed shape, element type and how to make values to run with.

    ``low``/``high`` bound random values (integer inputs default to zeros, float inputs to
    uniform [0, 1); booleans are integers 0/1); ``sample`` is a ``.npy`` file whose array is used
    as is.
    """

    name: str
    shape: tuple[int, ...]
    elem_type: int
    low: float | None = None
    high: float | None = None
    sample: str | None = None

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(self.elem_type))

    def value(self, rng: np.random.Generator) -> np.ndarray:
        """An input value to run the model with (see the class docstring)."""
        if self.sample is not None:
            try:
                array = np.load(self.sample)
            except (OSError, ValueError) as exc:
                raise InvalidInput(
                    f"cannot be read as a .npy array ({exc})",
                    field=f"inputs.{self.name}.sample",
                    value=self.sample,
                ) from None
            if tuple(array.shape) != self.shape:
                raise InvalidInput(
                    f"holds an array of shape {list(array.shape)}, the input needs "
                    f"{list(self.shape)}",
                    field=f"inputs.{self.name}.sample",
                    value=self.sample,
                )
            return array.astype(self.dtype)
        dtype = self.dtype
        if dtype == np.bool_ or np.issubdtype(dtype, np.integer):
            if self.low is None:
                return np.zeros(self.shape, dtype=dtype)
            high = self.high if self.high is not None else self.low + 1
            return rng.integers(int(self.low), int(high), size=self.shape, endpoint=False).astype(
                dtype
            )
        low = 0.0 if self.low is None else self.low
        high = low + 1.0 if self.high is None else self.high
        return rng.uniform(low, high, size=self.shape).astype(dtype)


@dataclass
class OnnxModel:
    """An imported ONNX model: the prepared model (fixed shapes, folded constants, unique node
    names, inferred shapes), its inputs and outputs, and its operator graph."""

    path: str
    name: str
    model: onnx.ModelProto
    inputs: tuple[InputSpec, ...]
    outputs: tuple[str, ...]
    op_graph: nx.DiGraph
    uncosted: tuple[str, ...] = ()
    tensor_types: dict[str, tuple[int, tuple[int, ...] | None]] = field(default_factory=dict)

    @property
    def nodes(self) -> dict[str, onnx.NodeProto]:
        """Node name -> node of the prepared model."""
        return {node.name: node for node in self.model.graph.node}

    def sample_inputs(self, seed: int = 0) -> dict[str, np.ndarray]:
        """Values of every input to run the model with (see :class:`InputSpec`)."""
        rng = np.random.default_rng(seed)
        return {spec.name: spec.value(rng) for spec in self.inputs}


# ---------------------------------------------------------------------- entry point
def import_onnx(
    path: str | os.PathLike[str],
    inputs: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
) -> OnnxModel:
    """Import ``path`` (see the module docstring); cached per file version and ``inputs``.

    Parameters
    ----------
    path
        The ``.onnx`` file.
    inputs
        Input name -> shape (a list of ints), or -> ``{shape, range: [low, high], sample: FILE}``.
        Needed for dynamic dims; static dims given must agree with the model.
    name
        The model's name (default: the file's stem).

    Raises
    ------
    InvalidInput
        Naming the file and field: not an ONNX model, an unsupported opset, an unknown input,
        a shape of the wrong rank or against a static dim, a dynamic dim left open.
    """
    file = str(path)
    try:
        stat = os.stat(file)
    except OSError:
        raise InvalidInput("no such file", field="model", value=file) from None
    key = _inputs_key(inputs or {}, file)
    return _import_cached(
        os.path.abspath(file), stat.st_mtime_ns, stat.st_size, key, name or Path(file).stem
    )


def _inputs_key(inputs: Mapping[str, Any], file: str) -> tuple[Any, ...]:
    """A hashable, validated form of ``inputs``: (name, shape, low, high, sample) tuples."""
    if not isinstance(inputs, Mapping):
        raise InvalidInput(
            "must map input names to shapes", field="inputs", value=inputs, file=file
        )
    out = []
    for in_name, spec in sorted(inputs.items()):
        where = f"inputs.{in_name}"
        low = high = sample = None
        shape = spec
        if isinstance(spec, Mapping):
            unknown = set(spec) - {"shape", "range", "sample"}
            if unknown:
                raise InvalidInput(
                    "is not a field (fields: shape, range, sample)",
                    field=f"{where}.{sorted(unknown)[0]}",
                    value=sorted(unknown)[0],
                    file=file,
                )
            shape = spec.get("shape")
            if "range" in spec:
                rng = spec["range"]
                if (
                    not isinstance(rng, list | tuple)
                    or len(rng) != 2
                    or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in rng)
                    or not rng[0] < rng[1]
                ):
                    raise InvalidInput(
                        "must be [low, high] with low < high",
                        field=f"{where}.range",
                        value=rng,
                        file=file,
                    )
                low, high = float(rng[0]), float(rng[1])
            if "sample" in spec:
                sample = str(spec["sample"])
        if shape is not None and (
            not isinstance(shape, list | tuple)
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape)
        ):
            raise InvalidInput(
                "must be a list of dims >= 1, e.g. [1, 3, 640, 640]",
                field=where,
                value=shape,
                file=file,
            )
        out.append((str(in_name), None if shape is None else tuple(shape), low, high, sample))
    return tuple(out)


@functools.lru_cache(maxsize=32)
def _import_cached(
    path: str, _mtime: int, _size: int, inputs: tuple[Any, ...], name: str
) -> OnnxModel:
    model = _load(path)
    specs = _fix_inputs(model, inputs, path)
    # Folding a shape computation lets inference find the shapes that the next one needs.
    for _ in range(MAX_FOLD_ROUNDS):
        before = len(model.graph.node)
        model = _fold_constants(model, path)
        if len(model.graph.node) == before:
            break
    model = _infer(model, path)
    _rename_nodes(model)
    types = _tensor_types(model.graph)
    _observe_missing_shapes(model, types, specs)
    graph, uncosted = _op_graph(model, types, name, path)
    if uncosted:
        warnings.warn(
            f"{path}: costed by bytes alone: {', '.join(uncosted)}", UncostedOps, stacklevel=3
        )
    onnx_model = OnnxModel(
        path=path,
        name=name,
        model=model,
        inputs=specs,
        outputs=tuple(o.name for o in model.graph.output),
        op_graph=graph,
        uncosted=uncosted,
        tensor_types=types,
    )
    graph.graph["onnx"] = onnx_model
    return onnx_model


# ---------------------------------------------------------------------- loading and inputs
def _load(path: str) -> onnx.ModelProto:
    try:
        model = onnx.load(path, load_external_data=True)
    except (DecodeError, RuntimeError, ValueError, TypeError) as exc:
        raise InvalidInput(
            f"is not a readable ONNX model ({type(exc).__name__}: {str(exc)[:80]})",
            field="model",
            value=path,
            show_value=False,
            file=path,
        ) from None
    except OSError as exc:
        raise InvalidInput(
            f"cannot be read ({exc})", field="model", file=path, show_value=False
        ) from None
    if not model.HasField("graph") or not model.graph.node:
        raise InvalidInput(
            "is not an ONNX model (no graph with nodes)",
            field="graph",
            value=None,
            show_value=False,
            file=path,
        )
    opset = next((imp.version for imp in model.opset_import if imp.domain in ("", "ai.onnx")), None)
    newest = onnx.defs.onnx_opset_version()
    if opset is None or not MIN_OPSET <= opset <= newest:
        raise InvalidInput(
            f"default-domain opset must be between {MIN_OPSET} and {newest}",
            field="opset_import",
            value=opset,
            file=path,
        )
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(
            f"is not a valid ONNX model: {first[:160]}", field="graph", show_value=False, file=path
        ) from None
    return model


def _fix_inputs(model: onnx.ModelProto, given: tuple[Any, ...], path: str) -> tuple[InputSpec, ...]:
    """Set every graph input's shape to static dims (the model's, else the user's)."""
    inits = {init.name for init in model.graph.initializer}
    graph_inputs = [vi for vi in model.graph.input if vi.name not in inits]
    names = [vi.name for vi in graph_inputs]
    by_name = {g[0]: g for g in given}
    for in_name in by_name:
        if in_name not in names:
            raise InvalidInput(
                f"is not an input of the model (inputs: {', '.join(names)})",
                field=f"inputs.{in_name}",
                value=in_name,
                file=path,
            )
    specs = []
    for vi in graph_inputs:
        tensor = vi.type.tensor_type
        if not vi.type.HasField("tensor_type"):
            raise InvalidInput(
                "is not a tensor input (sequences and maps are not supported)",
                field=f"inputs.{vi.name}",
                value=vi.name,
                file=path,
            )
        dims = list(tensor.shape.dim) if tensor.HasField("shape") else None
        _, user_shape, low, high, sample = by_name.get(vi.name, (vi.name, None, None, None, None))
        if user_shape is not None:
            if dims is not None and len(dims) != len(user_shape):
                raise InvalidInput(
                    f"has rank {len(user_shape)}, the model's input has rank {len(dims)}",
                    field=f"inputs.{vi.name}",
                    value=list(user_shape),
                    file=path,
                )
            for d_idx, dim in enumerate(dims or []):
                if (
                    dim.HasField("dim_value")
                    and dim.dim_value > 0
                    and dim.dim_value != user_shape[d_idx]
                ):
                    raise InvalidInput(
                        f"dim {d_idx} is {dim.dim_value} in the model",
                        field=f"inputs.{vi.name}",
                        value=list(user_shape),
                        file=path,
                    )
            shape = tuple(user_shape)
        else:
            open_dims = [
                d.dim_param or "?"
                for d in (dims or [])
                if not (d.HasField("dim_value") and d.dim_value > 0)
            ]
            if dims is None or open_dims:
                what = (
                    f"dynamic dims {', '.join(open_dims)}"
                    if dims is not None
                    else "an unknown rank"
                )
                raise InvalidInput(
                    f"has {what}: fix its shape with inputs: {{{vi.name}: [...]}} in the scenario "
                    f"or --input {vi.name}=D1,D2,...",
                    field=f"inputs.{vi.name}",
                    show_value=False,
                    file=path,
                )
            shape = tuple(d.dim_value for d in dims)
        del tensor.shape.dim[:]
        for dim in shape:
            tensor.shape.dim.add().dim_value = dim
        specs.append(InputSpec(vi.name, shape, tensor.elem_type, low, high, sample))
    return tuple(specs)


# ---------------------------------------------------------------------- folding and shapes
def _infer(model: onnx.ModelProto, path: str) -> onnx.ModelProto:
    try:
        return shape_inference.infer_shapes(
            model, check_type=False, strict_mode=False, data_prop=True
        )
    except Exception as exc:  # onnx raises several types (InferenceError, RuntimeError...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(
            f"shape inference failed: {first[:160]}", field="graph", show_value=False, file=path
        ) from None


def _static(vi: onnx.ValueInfoProto) -> tuple[int, ...] | None:
    tensor = vi.type.tensor_type
    if not vi.type.HasField("tensor_type") or not tensor.HasField("shape"):
        return None
    dims = []
    for dim in tensor.shape.dim:
        if not dim.HasField("dim_value") or dim.dim_value < 0:
            return None
        dims.append(dim.dim_value)
    return tuple(dims)


def _fold_constants(model: onnx.ModelProto, path: str) -> onnx.ModelProto:
    """Evaluate what is constant (module docstring, step 3); return the folded model."""
    model = _infer(model, path)
    graph = model.graph
    opset = next(imp.version for imp in model.opset_import if imp.domain in ("", "ai.onnx"))
    consts: dict[str, np.ndarray] = {
        init.name: numpy_helper.to_array(init) for init in graph.initializer
    }
    shapes = {vi.name: _static(vi) for vi in [*graph.input, *graph.value_info, *graph.output]}
    outputs = {o.name for o in graph.output}
    kept: list[onnx.NodeProto] = []
    for node in graph.node:
        value = _fold(node, consts, shapes, opset) if not outputs & set(node.output) else None
        if value is None:
            kept.append(node)
            continue
        consts.update(zip(node.output, value, strict=False))
    used = {name for node in kept for name in _node_inputs(node)} | outputs
    out = onnx.ModelProto()
    out.CopyFrom(model)
    del out.graph.node[:]
    out.graph.node.extend(kept)
    del out.graph.initializer[:]
    out.graph.initializer.extend(
        numpy_helper.from_array(np.asarray(arr), name)
        for name, arr in consts.items()
        if name in used
    )
    del out.graph.value_info[:]
    # Initializers listed as graph inputs (IR version 3 requires it) become plain constants:
    # nobody feeds them, and IR 3 shape inference would not see the folded ones otherwise.
    keep_inputs = [vi for vi in out.graph.input if vi.name not in consts]
    del out.graph.input[:]
    out.graph.input.extend(keep_inputs)
    out.ir_version = max(out.ir_version, 4)
    return out


def _fold(
    node: onnx.NodeProto,
    consts: Mapping[str, np.ndarray],
    shapes: Mapping[str, tuple[int, ...] | None],
    opset: int,
) -> list[np.ndarray] | None:
    if node.domain not in ("", "ai.onnx") or node.op_type in _NONDETERMINISTIC:
        return None
    if any(
        att.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
        for att in node.attribute
    ):
        return None
    if node.op_type in ("Shape", "Size") and node.input[0] not in consts:
        shape = shapes.get(node.input[0])
        if shape is None:
            return None
        if node.op_type == "Size":
            return [np.array(math.prod(shape), dtype=np.int64)]
        rank = len(shape)
        start = int(
            next(
                (onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == "start"), 0
            )
        )
        end = next(
            (onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == "end"), None
        )
        end_i = rank if end is None else int(end)
        return [np.array(shape[slice(start, end_i)], dtype=np.int64)]
    inputs = [name for name in node.input if name]
    if not all(name in consts for name in inputs):
        return None
    if node.op_type != "Constant" and not inputs:
        return None
    # Skip what would be too large to keep before computing it (a generated weight matrix).
    known = [shape for out in node.output if out and (shape := shapes.get(out)) is not None]
    if known and sum(math.prod(shape) for shape in known) > FOLD_MAX_ELEMENTS:
        return None
    try:
        feeds = {name: consts[name] for name in inputs}
        values = ReferenceEvaluator(node, opsets={"": opset}).run(None, feeds)
    except Exception:  # an op onnx.reference cannot evaluate stays a node
        return None
    arrays = [np.asarray(v) for v in values]
    if sum(a.size for a in arrays) > FOLD_MAX_ELEMENTS:
        return None
    return arrays


def _node_inputs(node: onnx.NodeProto) -> list[str]:
    """A node's inputs and the outer tensors its subgraphs read (control flow)."""
    names = [name for name in node.input if name]
    for att in node.attribute:
        subgraphs = [att.g] if att.type == onnx.AttributeProto.GRAPH else list(att.graphs)
        for sub in subgraphs:
            names.extend(_outer_refs(sub))
    return list(dict.fromkeys(names))


def _outer_refs(graph: onnx.GraphProto) -> list[str]:
    """Tensors a subgraph reads but does not define (they come from the enclosing scope)."""
    defined = {vi.name for vi in graph.input} | {init.name for init in graph.initializer}
    refs = []
    for node in graph.node:
        for name in _node_inputs(node):
            if name not in defined:
                refs.append(name)
        defined.update(node.output)
    return refs


def _rename_nodes(model: onnx.ModelProto) -> None:
    """Unique node names without ``/`` (unnamed or repeated nodes get ``<OpType>_<index>``)."""
    seen: set[str] = set()
    for n_idx, node in enumerate(model.graph.node):
        base = re.sub(r"[^A-Za-z0-9_.:-]", "_", node.name.replace("/", ".")).strip("._")
        candidate = base or f"{node.op_type}_{n_idx}"
        if candidate in seen:
            candidate = f"{candidate}_{n_idx}"
        seen.add(candidate)
        node.name = candidate


def _tensor_types(graph: onnx.GraphProto) -> dict[str, tuple[int, tuple[int, ...] | None]]:
    """Tensor name -> (element type, static shape or None), of a graph and its initializers."""
    types: dict[str, tuple[int, tuple[int, ...] | None]] = {}
    for vi in [*graph.input, *graph.value_info, *graph.output]:
        if vi.type.HasField("tensor_type"):
            types[vi.name] = (vi.type.tensor_type.elem_type, _static(vi))
    for init in graph.initializer:
        types[init.name] = (init.data_type, tuple(init.dims))
    return types


# ---------------------------------------------------------------------- the op graph
def _op_graph(
    model: onnx.ModelProto,
    types: dict[str, tuple[int, tuple[int, ...] | None]],
    name: str,
    path: str,
) -> tuple[nx.DiGraph, tuple[str, ...]]:
    graph_proto = model.graph
    consts = {init.name: init for init in graph_proto.initializer}
    precision = _graph_precision(graph_proto, types)
    graph = nx.DiGraph(name=name, family="onnx", precision=precision, onnx_file=path)
    producer: dict[str, str] = {}
    uncosted: dict[str, None] = {}
    unknown_shapes: dict[str, None] = {}
    read_tensors = _read_tensors(graph_proto)
    const_values: dict[str, np.ndarray] = {}

    def constant(tensor: str) -> object | None:
        if tensor not in consts:
            return None
        if tensor not in const_values:
            const_values[tensor] = numpy_helper.to_array(consts[tensor])
        return const_values[tensor]

    def shape_of(tensor: str) -> tuple[int, ...] | None:
        return types.get(tensor, (0, None))[1]

    def subgraph_flops(sub: onnx.GraphProto) -> float:
        inner = dict(types)
        inner.update(_tensor_types(sub))
        total = 0.0
        for sub_node in sub.node:
            cost = node_cost(
                sub_node,
                lambda t: inner.get(t, (0, None))[1],
                constant,
                subgraph_flops,
            )
            if cost is None:
                uncosted[sub_node.op_type] = None
            else:
                total += cost[1]
        return total

    for node in graph_proto.node:
        cost = node_cost(node, shape_of, constant, subgraph_flops)
        if cost is None:
            uncosted[node.op_type] = None
            op_type, flops = "other", 0.0
        else:
            op_type, flops = cost
        ins = _node_inputs(node)
        read = weights = 0.0
        for tensor in ins:
            size = _bytes(types.get(tensor))
            if size is None:
                unknown_shapes[node.name] = None
                continue
            if tensor in consts:
                weights += size
            else:
                read += size
        written = 0.0
        for tensor in node.output:
            if not tensor:
                continue
            size = _bytes(types.get(tensor))
            if size is None and tensor not in read_tensors:
                continue  # an optional output nobody reads (a Dropout mask): never made
            if size is None:
                unknown_shapes[node.name] = None
                continue
            written += size
        if op_type == "embedding":
            weights = written
        out_type = types.get(node.output[0]) if node.output else None
        graph.add_node(
            node.name,
            type=op_type,
            flops=float(flops),
            bytes_read=read,
            bytes_written=written,
            weight_bytes=weights,
            shape=tuple(out_type[1] or ()) if out_type else (),
            precision=_PRECISION.get(out_type[0], precision) if out_type else precision,
            onnx_type=node.op_type,
            onnx_inputs=tuple(ins),
            onnx_outputs=tuple(o for o in node.output if o),
            control_flow=node.op_type in CONTROL_FLOW,
        )
        for tensor in ins:
            src = producer.get(tensor)
            if src is None:
                continue
            size = _bytes(types.get(tensor)) or 0.0
            if graph.has_edge(src, node.name):
                graph.edges[src, node.name]["bytes"] += size
            else:
                graph.add_edge(src, node.name, bytes=size)
        for tensor in node.output:
            if tensor:
                producer[tensor] = node.name
    if not nx.is_directed_acyclic_graph(graph):
        raise InvalidInput(
            "the model's nodes are not in topological order", field="graph", file=path
        )
    notes = [f"{op} (no cost rule)" for op in uncosted]
    if unknown_shapes:
        first = ", ".join(list(unknown_shapes)[:3])
        notes.append(f"{len(unknown_shapes)} nodes with tensors of unknown shape ({first}...)")
    return graph, tuple(notes)


def _read_tensors(graph: onnx.GraphProto) -> set[str]:
    """Tensors some node reads (subgraphs included) or the graph outputs."""
    return {t for node in graph.node for t in _node_inputs(node)} | {o.name for o in graph.output}


def _observe_missing_shapes(
    model: onnx.ModelProto,
    types: dict[str, tuple[int, tuple[int, ...] | None]],
    specs: tuple[InputSpec, ...],
) -> None:
    """Fill in the shapes inference left unknown by running the model once with ``onnx.reference``.

    Only when some node output that is read has no static shape (data-dependent shapes, control
    flow whose branches differ): the model runs on :meth:`InputSpec.value` inputs (seed 0) and
    the observed shapes of those tensors are recorded. A model that the reference cannot run
    keeps them unknown.
    """
    read = _read_tensors(model.graph)
    missing = [
        out
        for node in model.graph.node
        for out in node.output
        if out in read and types.get(out, (0, None))[1] is None
    ]
    if not missing:
        return
    rng = np.random.default_rng(0)
    feeds = {spec.name: spec.value(rng) for spec in specs}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = ReferenceEvaluator(model).run(missing, feeds)
    except Exception:  # onnx.reference lacks some ops; those shapes stay unknown
        return
    for tensor, value in zip(missing, values, strict=True):
        array = np.asarray(value)
        elem = onnx.helper.np_dtype_to_tensor_dtype(array.dtype)
        types[tensor] = (types.get(tensor, (elem, None))[0] or elem, tuple(array.shape))


def _bytes(info: tuple[int, tuple[int, ...] | None] | None) -> float | None:
    if info is None or info[1] is None or not info[0]:
        return None
    itemsize = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(info[0])).itemsize
    return float(math.prod(info[1]) * itemsize)


def _graph_precision(
    graph: onnx.GraphProto, types: Mapping[str, tuple[int, tuple[int, ...] | None]]
) -> str:
    """The precision of the first float input (else of the first float initializer), else fp32."""
    for tensor in [vi.name for vi in graph.input] + [init.name for init in graph.initializer]:
        elem = types.get(tensor, (0, None))[0]
        if elem in _FLOATS:
            return _PRECISION[elem]
    return "fp32"


def parse_input_flags(flags: Iterable[str]) -> dict[str, list[int]]:
    """``["x=1,3,640,640", ...]`` (the CLI's ``--input``) -> ``{"x": [1, 3, 640, 640]}``."""
    out: dict[str, list[int]] = {}
    for flag in flags:
        in_name, sep, dims = flag.partition("=")
        try:
            if not sep or not in_name:
                raise ValueError
            out[in_name] = [int(d) for d in dims.split(",")]
        except ValueError:
            raise InvalidInput(
                "must be NAME=D1,D2,... with integer dims", field="--input", value=flag
            ) from None
    return out
