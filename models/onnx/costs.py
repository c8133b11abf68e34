"""Cost rules of ONNX ops: the project's op type and the FLOPs of one node.

FLOPs count a multiply-add as 2 (as everywhere in xpuplan). Bytes are not computed here: the
importer (:mod:`xpuplan.models.onnx.importer`) counts every node's activation inputs as read,
its outputs as written and its constant inputs (initializers, folded constants) as weights.

Rules (``N`` the number of output elements unless said otherwise):

=====================================  ===================  ================================
ONNX op types                          project type         FLOPs
=====================================  ===================  ================================
Conv, ConvInteger, QLinearConv         conv / depthwise     2 N (C/g) prod(k) (+ N with bias)
ConvTranspose                          conv_transpose       2 N_in (M/g) prod(k) (+ N bias)
MatMul, MatMulInteger, QLinearMatMul   matmul               2 N K (batched: N counts batches)
Gemm                                   matmul               2 M N K (+ M N with C)
LSTM / GRU / RNN                       lstm                 2 T B D G H (I + H) (+ gates)
element-wise arithmetic, activations   add / mul / relu...  c N, c per op (table below)
MaxPool, AveragePool, LpPool           pool                 N prod(kernel_shape)
Global*Pool, Reduce*, ArgMax/ArgMin    global_pool          input elements (x2 L2/SumSquare)
BatchNormalization                     batchnorm            2 N (a scale and a shift)
Layer/Instance/Group normalization     layernorm            8 N (mean, variance, normalise,
                                                            scale, shift)
RMS / SimplifiedLayerNormalization     rmsnorm              6 N
LRN                                    layernorm            (2 size + 4) N
Softmax, LogSoftmax                    softmax              5 N (max, sub, exp, sum, div)
Resize, Upsample                       upsample             nearest 0; linear 3 (2^d - 1) N;
                                                            cubic 7 (4^d - 1) / 3 N, d the
                                                            resized dims
Concat                                 concat               0 (bytes only)
Reshape, Transpose, Slice, Split,      reshape              0 (bytes only)
Gather, Pad, Expand, Tile...
Gather of a constant table             embedding            0 (the rows read count as weights)
If, Loop, Scan                         other                the body's (If: the larger branch;
                                                            Loop: times a constant trip count;
                                                            Scan: times the scanned length)
=====================================  ===================  ================================

An op type without a rule is costed by its bytes alone (``other``, 0 FLOPs) and listed in one
warning by the importer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import onnx

Shape = tuple[int, ...] | None
ShapeOf = Callable[[str], Shape]

# Element-wise ops: ONNX type -> (project type, FLOPs per output element).
ELEMENTWISE: dict[str, tuple[str, float]] = {
    "Add": ("add", 1),
    "Sub": ("add", 1),
    "Sum": ("add", 1),
    "Mean": ("add", 1),
    "Max": ("add", 1),
    "Min": ("add", 1),
    "BitShift": ("add", 1),
    "Mul": ("mul", 1),
    "Div": ("mul", 1),
    "Mod": ("mul", 1),
    "Pow": ("mul", 4),
    "Sqrt": ("mul", 4),
    "Reciprocal": ("mul", 1),
    "Exp": ("mul", 4),
    "Log": ("mul", 4),
    "Erf": ("mul", 5),
    "Sin": ("mul", 4),
    "Cos": ("mul", 4),
    "Neg": ("mul", 1),
    "Abs": ("mul", 1),
    "Sign": ("mul", 1),
    "Floor": ("mul", 1),
    "Ceil": ("mul", 1),
    "Round": ("mul", 1),
    "Where": ("mul", 1),
    "Equal": ("mul", 1),
    "Less": ("mul", 1),
    "LessOrEqual": ("mul", 1),
    "Greater": ("mul", 1),
    "GreaterOrEqual": ("mul", 1),
    "Not": ("mul", 1),
    "And": ("mul", 1),
    "Or": ("mul", 1),
    "Xor": ("mul", 1),
    "IsNaN": ("mul", 1),
    "IsInf": ("mul", 1),
    "Cast": ("mul", 1),
    "CastLike": ("mul", 1),
    "QuantizeLinear": ("mul", 2),
    "DequantizeLinear": ("mul", 2),
    "CumSum": ("add", 1),
    "Relu": ("relu", 1),
    "LeakyRelu": ("relu", 2),
    "PRelu": ("relu", 2),
    "Clip": ("relu", 2),
    "ThresholdedRelu": ("relu", 1),
    "Elu": ("relu", 4),
    "Selu": ("relu", 5),
    "Celu": ("relu", 5),
    "Sigmoid": ("sigmoid", 4),
    "HardSigmoid": ("sigmoid", 3),
    "Softplus": ("sigmoid", 5),
    "Softsign": ("sigmoid", 3),
    "Tanh": ("tanh", 5),
    "Gelu": ("gelu", 8),
    "FastGelu": ("gelu", 8),
    "HardSwish": ("hswish", 4),
    "Mish": ("silu", 10),
    "Swish": ("silu", 5),
}
MOVEMENT = frozenset(
    {
        "Constant",
        "Reshape",
        "Flatten",
        "Squeeze",
        "Unsqueeze",
        "Identity",
        "Dropout",
        "Transpose",
        "Slice",
        "Split",
        "Gather",
        "GatherElements",
        "GatherND",
        "ScatterND",
        "ScatterElements",
        "Expand",
        "Tile",
        "Pad",
        "DepthToSpace",
        "SpaceToDepth",
        "Shape",
        "Size",
        "ConstantOfShape",
        "Range",
        "Trilu",
        "EyeLike",
        "OneHot",
        "ReverseSequence",
        "Compress",
        "NonZero",
    }
)
REDUCTIONS = frozenset(
    {
        "ReduceMean",
        "ReduceSum",
        "ReduceMax",
        "ReduceMin",
        "ReduceProd",
        "ReduceL1",
        "ReduceL2",
        "ReduceLogSum",
        "ReduceLogSumExp",
        "ReduceSumSquare",
        "ArgMax",
        "ArgMin",
        "GlobalAveragePool",
        "GlobalMaxPool",
        "GlobalLpPool",
    }
)
POOLS = frozenset({"MaxPool", "AveragePool", "LpPool"})
NORMS: dict[str, tuple[str, float]] = {
    "BatchNormalization": ("batchnorm", 2),
    "LayerNormalization": ("layernorm", 8),
    "InstanceNormalization": ("layernorm", 8),
    "GroupNormalization": ("layernorm", 8),
    "MeanVarianceNormalization": ("layernorm", 8),
    "LpNormalization": ("layernorm", 4),
    "RMSNormalization": ("rmsnorm", 6),
    "SimplifiedLayerNormalization": ("rmsnorm", 6),
    "SkipLayerNormalization": ("layernorm", 9),
    "Softmax": ("softmax", 5),
    "LogSoftmax": ("softmax", 6),
    "Hardmax": ("softmax", 2),
}
CONTROL_FLOW = frozenset({"If", "Loop", "Scan"})
# ONNX op types whose node sits in a graph without running anything worth a kernel of its own.
_CONV = {"Conv": (0, 1), "ConvInteger": (0, 1), "QLinearConv": (0, 3)}
_MATMUL = {"MatMul": (0, 1), "MatMulInteger": (0, 1), "QLinearMatMul": (0, 3)}


def numel(shape: Sequence[int]) -> int:
    """Elements of a tensor of this shape (1 for a scalar)."""
    return math.prod(shape)


def attr(node: onnx.NodeProto, name: str, default: object = None) -> object:
    """The value of a node's attribute, or ``default``."""
    for att in node.attribute:
        if att.name == name:
            return onnx.helper.get_attribute_value(att)
    return default


def node_cost(
    node: onnx.NodeProto,
    shape_of: ShapeOf,
    constant: Callable[[str], object | None],
    subgraph_flops: Callable[[onnx.GraphProto], float],
) -> tuple[str, float] | None:
    """(project op type, FLOPs) of ``node``, or None when no rule covers its op type.

    ``shape_of`` gives a tensor's static shape (None when unknown), ``constant`` a constant
    input's value (None when not constant), ``subgraph_flops`` the FLOPs of a control-flow body.
    A rule whose shapes are unknown costs 0 FLOPs (the importer lists such nodes).
    """
    op = node.op_type
    ins = list(node.input)
    out = shape_of(node.output[0]) if node.output else None

    def n_out() -> int:
        return numel(out) if out is not None else 0

    if op in _CONV:
        x_idx, w_idx = _CONV[op]
        w = shape_of(ins[w_idx])
        x = shape_of(ins[x_idx])
        if w is None or out is None or x is None:
            return "conv", 0.0
        group = int(attr(node, "group", 1))  # type: ignore[call-overload]
        per_out = 2 * numel(w[1:])
        bias = n_out() if len(ins) > (8 if op == "QLinearConv" else 2) and ins[-1] else 0
        kind = "depthwise_conv" if group > 1 and w[1] == 1 and group == x[1] else "conv"
        return kind, float(n_out() * per_out + bias)
    if op == "ConvTranspose":
        x, w = shape_of(ins[0]), shape_of(ins[1])
        if w is None or x is None or out is None:
            return "conv_transpose", 0.0
        bias = n_out() if len(ins) > 2 and ins[2] else 0
        # Every input element meets M/g output channels through prod(k) taps.
        return "conv_transpose", float(2 * numel(x) * numel(w[1:]) + bias)
    if op in _MATMUL:
        a_idx, _ = _MATMUL[op]
        a = shape_of(ins[a_idx])
        if a is None or out is None:
            return "matmul", 0.0
        k = a[-1] if a else 1
        return "matmul", float(2 * n_out() * k)
    if op == "Gemm":
        a = shape_of(ins[0])
        if a is None or out is None:
            return "matmul", 0.0
        k = a[0] if attr(node, "transA", 0) else a[-1]
        bias = n_out() if len(ins) > 2 and ins[2] else 0
        return "matmul", float(2 * n_out() * k + bias)
    if op in ("LSTM", "GRU", "RNN"):
        x, w, r = shape_of(ins[0]), shape_of(ins[1]), shape_of(ins[2])
        if x is None or w is None or r is None:
            return "lstm", 0.0
        seq, batch = x[0], x[1]
        if attr(node, "layout", 0):
            seq, batch = x[1], x[0]
        dirs, gates_h, inp = w[0], w[1], w[2]
        hidden = r[2]
        matmuls = 2 * seq * batch * dirs * gates_h * (inp + hidden)
        return "lstm", float(matmuls + 4 * seq * batch * dirs * gates_h)
    if op in ELEMENTWISE:
        kind, per = ELEMENTWISE[op]
        arity = max(1, len([i for i in ins if i]) - 1) if op in ("Sum", "Mean", "Max", "Min") else 1
        return kind, float(per * arity * n_out())
    if op == "LRN":
        # Per element: square and sum over ``size`` channels, then scale, bias, pow and divide.
        shape = shape_of(ins[0])
        size = int(attr(node, "size", 5))  # type: ignore[call-overload]
        return "layernorm", float((2 * size + 4) * (numel(shape) if shape is not None else 0))
    if op in NORMS:
        kind, per = NORMS[op]
        shape = shape_of(ins[0])
        return kind, float(per * (numel(shape) if shape is not None else 0))
    if op in POOLS:
        kernel = attr(node, "kernel_shape", [])
        return "pool", float(n_out() * numel(list(kernel)))  # type: ignore[call-overload]
    if op in REDUCTIONS:
        shape = shape_of(ins[0])
        per = 2 if op in ("ReduceL2", "ReduceSumSquare", "GlobalLpPool") else 1
        return "global_pool", float(per * (numel(shape) if shape is not None else 0))
    if op in ("Resize", "Upsample"):
        x = shape_of(ins[0])
        if x is None or out is None:
            return "upsample", 0.0
        dims = sum(1 for a, b in zip(x, out, strict=False) if a != b)
        mode = attr(node, "mode", b"nearest")
        mode = mode.decode() if isinstance(mode, bytes) else str(mode)
        if mode == "nearest" or dims == 0:
            per = 0.0
        elif mode == "cubic":
            per = 7 * (4**dims - 1) / 3
        else:
            per = 3.0 * (2**dims - 1)
        return "upsample", per * n_out()
    if op == "Concat":
        return "concat", 0.0
    if op == "Gather" and constant(ins[0]) is not None and constant(ins[1]) is None:
        return "embedding", 0.0
    if op in MOVEMENT:
        return "reshape", 0.0
    if op == "TopK":
        x = shape_of(ins[0])
        return "other", float(numel(x) if x is not None else 0) * 2
    if op in CONTROL_FLOW:
        return "other", _control_flow_flops(node, shape_of, constant, subgraph_flops)
    return None


def _control_flow_flops(
    node: onnx.NodeProto,
    shape_of: ShapeOf,
    constant: Callable[[str], object | None],
    subgraph_flops: Callable[[onnx.GraphProto], float],
) -> float:
    bodies: Mapping[str, onnx.GraphProto] = {
        att.name: att.g for att in node.attribute if att.type == onnx.AttributeProto.GRAPH
    }
    if node.op_type == "If":
        return max((subgraph_flops(g) for g in bodies.values()), default=0.0)
    body = subgraph_flops(bodies["body"]) if "body" in bodies else 0.0
    if node.op_type == "Loop":
        trips = constant(node.input[0]) if node.input and node.input[0] else None
        try:
            count = int(trips) if trips is not None else 1  # type: ignore[call-overload]
        except (TypeError, ValueError):
            count = 1
        return body * max(count, 1)
    num_state = len(node.input) - int(attr(node, "num_scan_inputs", 0))  # type: ignore[call-overload]
    scanned = shape_of(node.input[num_state]) if num_state < len(node.input) else None
    return body * (scanned[0] if scanned else 1)
