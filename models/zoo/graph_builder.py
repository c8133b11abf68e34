"""A builder that tracks tensor shapes and writes op-graph nodes with their costs.

The zoo's models are written against :class:`GraphBuilder`: each layer helper takes input
:class:`Tensor` s, computes the output shape, the work and the traffic, and adds one op to the
graph (see :mod:`xpuplan.models.opgraph` for the schema). Besides the schema's fields every op
carries

``layer``   the block it belongs to (``-1`` for stem and head ops),
``macs``    multiply-accumulates of its conv/matmul/attention work (0 for other ops),
``params``  parameters the op owns (a tied weight is owned once, by the op that stores it).

Cost formulas (``B`` batch, ``Ho x Wo`` output size, ``K`` kernel, ``g`` groups)
--------------------------------------------------------------------------------
* conv2d: :math:`MACs = B \\cdot H_o W_o \\cdot C_{out} \\cdot K^2 \\cdot C_{in}/g`,
  :math:`FLOPs = 2\\,MACs` (+ :math:`B H_o W_o C_{out}` for a bias); conv1d likewise with
  :math:`L_o` for :math:`H_o W_o` and :math:`K` for :math:`K^2`.
* transposed conv: every input pixel scatters a :math:`K^2 C_{out}` patch, so
  :math:`MACs = B \\cdot H_i W_i \\cdot C_{in} C_{out} K^2` (the form FSRCNN's paper uses);
  its padding is taken such that the output is ``stride`` times the input.
* linear (matmul) of ``M`` rows: :math:`MACs = M \\cdot N_{in} \\cdot N_{out}`, FLOPs ``2 MACs``.
* elementwise ops, norms and activations: :data:`ELEMENT_FLOPS` operations per output element
  (``relu`` 1; ``batchnorm`` 2, the inference-time affine :math:`x \\cdot s + t`;
  ``layernorm`` 8: mean, subtract, square, variance, scale by :math:`1/\\sigma`, gamma, beta;
  ``rmsnorm`` 5: square, sum, :math:`1/\\mathrm{rms}`, scale, gamma; ``softmax`` 5: max, subtract,
  exp, sum, divide; ``silu`` 4 and ``sigmoid`` 4: exp, add, divide (and multiply); ``gelu`` 8
  (tanh form); ``tanh`` 5; ``hswish`` 4 and hard-sigmoid 3: add, clamp, multiply).
* pooling: :math:`K^2` per output element; global pooling: one per input element.

Bytes: activations at the precision's width (:data:`ACT_BYTES`; an ``int4`` model keeps 8-bit
activations, W4A8); ``bytes_read`` sums the op's input tensors (plus any state it reads, such as a
KV cache), ``bytes_written`` is its output; ``weight_bytes`` is the parameters it reads at the
weight width (``weight_bits / 8`` bytes each; norm and PReLU parameters stay at the activation
width).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import networkx as nx

from xpuplan.models.opgraph import add_op, new_op_graph

ACT_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1, "int4": 1}
WEIGHT_BITS = {"fp32": 32, "fp16": 16, "bf16": 16, "int8": 8, "int4": 4}
ELEMENT_FLOPS = {
    "relu": 1,
    "prelu": 2,
    "leaky_relu": 2,
    "silu": 4,
    "gelu": 8,
    "hswish": 4,
    "hsigmoid": 3,
    "sigmoid": 4,
    "tanh": 5,
    "batchnorm": 2,
    "layernorm": 8,
    "rmsnorm": 5,
    "softmax": 5,
    "add": 1,
    "mul": 1,
}
# Activation kinds -> op type of models.opgraph.OP_TYPES (leaky and parametric ReLU are ReLUs to a
# device's op-support matrix; hard-sigmoid is a sigmoid).
_ACT_TYPES = {
    "relu": "relu",
    "prelu": "relu",
    "leaky_relu": "relu",
    "silu": "silu",
    "gelu": "gelu",
    "hswish": "hswish",
    "hsigmoid": "sigmoid",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
}


def per_token(tokens: int, token_wise: bool = True) -> dict[str, Any]:
    """The ``tokens`` and ``token_wise`` attributes of a transformer op."""
    return {"tokens": tokens, "token_wise": token_wise}


@dataclass(frozen=True)
class Tensor:
    """An activation: its shape and the op that produced it (``None`` for a model input)."""

    shape: tuple[int, ...]
    producer: str | None = None

    @property
    def numel(self) -> int:
        """The number of elements."""
        return math.prod(self.shape)

    def view(self, *shape: int) -> Tensor:
        """The same data seen with another shape (a free reshape, no op)."""
        if math.prod(shape) != self.numel:
            raise ValueError(f"cannot view {self.shape} as {shape}")
        return Tensor(tuple(shape), self.producer)


class GraphBuilder:
    """Writes ops into a fresh op graph; ``layer`` and :meth:`scope` label the ops that follow.

    Parameters
    ----------
    name, family, precision
        The graph attributes (see :func:`xpuplan.models.opgraph.new_op_graph`).
    weight_bits
        Width of a stored parameter; defaults to the precision's width.
    """

    def __init__(self, name: str, family: str, precision: str, *, weight_bits: int | None = None):
        self.graph: nx.DiGraph = new_op_graph(name, family, precision)
        self.precision = precision
        self.act_bytes = ACT_BYTES[precision]
        self.weight_bytes_per_param = (weight_bits or WEIGHT_BITS[precision]) / 8
        self.layer = -1
        self._prefix = ""
        self._layer_offset = 0
        self._max_layer = -1

    @contextmanager
    def scope(self, prefix: str) -> Iterator[None]:
        """Prefix the names of the ops added inside (``"palm."``): sub-models share one graph.

        Inside, ``layer`` counts from 0 again but is stored after the layers already in the
        graph, so that layer numbers stay unique across the sub-models.
        """
        outer = (self._prefix, self._layer_offset, self.layer, self._max_layer)
        self._prefix = outer[0] + prefix
        self._layer_offset = 1 + max(
            (d["layer"] for _, d in self.graph.nodes(data=True)), default=-1
        )
        self.layer = self._max_layer = -1
        try:
            yield
        finally:
            self._prefix, self._layer_offset, self.layer, self._max_layer = outer

    def next_layer(self) -> int:
        """Start a new block: ``layer`` becomes the next number not used yet (in this scope)."""
        self.layer = self._max_layer + 1
        return self.layer

    def input(self, *shape: int) -> Tensor:
        """A model input of the given shape."""
        return Tensor(tuple(shape))

    # -- the one place that writes nodes -------------------------------------------------------

    def op(
        self,
        name: str,
        op_type: str,
        inputs: Sequence[Tensor],
        out_shape: Sequence[int],
        *,
        flops: float,
        macs: float = 0.0,
        params: int = 0,
        weight_params: float | None = None,
        quantized: bool = True,
        extra_read: float = 0.0,
        **attrs: Any,
    ) -> Tensor:
        """Add one op and return its output tensor.

        ``weight_params`` is the number of parameters the op reads (defaults to ``params``; a gather
        reads a few rows of its table, a tied output projection reads a table it does not own).
        ``extra_read`` is activation-like state read besides the inputs (a KV cache), in bytes.
        """
        full = self._prefix + name
        if full in self.graph:
            raise ValueError(f"op {full!r} added twice")
        out = tuple(int(d) for d in out_shape)
        if min(out, default=1) < 1:
            raise ValueError(f"op {full!r} would have the empty shape {out}")
        self._max_layer = max(self._max_layer, self.layer)
        read = params if weight_params is None else weight_params
        per_param = self.weight_bytes_per_param if quantized else self.act_bytes
        add_op(
            self.graph,
            full,
            op_type,
            flops=flops,
            bytes_read=sum(t.numel for t in inputs) * self.act_bytes + extra_read,
            bytes_written=math.prod(out) * self.act_bytes,
            weight_bytes=read * per_param,
            shape=out,
            inputs=list(dict.fromkeys(t.producer for t in inputs if t.producer is not None)),
            layer=self.layer + self._layer_offset if self.layer >= 0 else -1,
            macs=float(macs),
            params=int(params),
            **attrs,
        )
        return Tensor(out, full)

    # -- convolutions ----------------------------------------------------------------------------

    def conv2d(
        self,
        name: str,
        x: Tensor,
        out_ch: int,
        kernel: int,
        *,
        stride: int = 1,
        groups: int = 1,
        bias: bool = False,
        padding: int | None = None,
        **attrs: Any,
    ) -> Tensor:
        """2-D convolution of an NCHW tensor; ``padding`` defaults to ``kernel // 2``."""
        batch, in_ch, height, width = x.shape
        pad = kernel // 2 if padding is None else padding
        out_h = (height + 2 * pad - kernel) // stride + 1
        out_w = (width + 2 * pad - kernel) // stride + 1
        out_px = batch * out_h * out_w
        macs = out_px * out_ch * kernel * kernel * (in_ch // groups)
        params = out_ch * (in_ch // groups) * kernel * kernel + (out_ch if bias else 0)
        op_type = "depthwise_conv" if groups > 1 and groups == in_ch else "conv"
        return self.op(
            name,
            op_type,
            [x],
            (batch, out_ch, out_h, out_w),
            flops=2 * macs + (out_px * out_ch if bias else 0),
            macs=macs,
            params=params,
            kernel=kernel,
            stride=stride,
            groups=groups,
            **attrs,
        )

    def conv1d(
        self,
        name: str,
        x: Tensor,
        out_ch: int,
        kernel: int,
        *,
        stride: int = 1,
        dilation: int = 1,
        bias: bool = True,
        **attrs: Any,
    ) -> Tensor:
        """1-D convolution of an NCL tensor with "same" padding (output length ``L / stride``)."""
        batch, in_ch, length = x.shape
        out_len = -(-length // stride)
        out_el = batch * out_len * out_ch
        macs = out_el * kernel * in_ch
        params = out_ch * in_ch * kernel + (out_ch if bias else 0)
        return self.op(
            name,
            "conv",
            [x],
            (batch, out_ch, out_len),
            flops=2 * macs + (out_el if bias else 0),
            macs=macs,
            params=params,
            kernel=kernel,
            stride=stride,
            dilation=dilation,
            **attrs,
        )

    def conv_transpose(
        self, name: str, x: Tensor, out_ch: int, kernel: int, stride: int, *, bias: bool = True
    ) -> Tensor:
        """Transposed conv of an NCL or NCHW tensor, output ``stride`` times the input per axis."""
        batch, in_ch, *spatial = x.shape
        taps = kernel ** len(spatial)
        in_px = batch * math.prod(spatial)
        out_shape = (batch, out_ch, *(d * stride for d in spatial))
        macs = in_px * in_ch * out_ch * taps
        params = in_ch * out_ch * taps + (out_ch if bias else 0)
        flops = 2 * macs + (math.prod(out_shape) if bias else 0)
        return self.op(
            name,
            "conv_transpose",
            [x],
            out_shape,
            flops=flops,
            macs=macs,
            params=params,
            kernel=kernel,
            stride=stride,
        )

    def conv_bn(
        self,
        name: str,
        x: Tensor,
        out_ch: int,
        kernel: int,
        *,
        stride: int = 1,
        groups: int = 1,
        act: str | None = None,
        padding: int | None = None,
    ) -> Tensor:
        """Conv (no bias) -> batch norm -> optional activation: ops ``name.conv/.bn/.<act>``."""
        y = self.conv2d(
            f"{name}.conv", x, out_ch, kernel, stride=stride, groups=groups, padding=padding
        )
        y = self.batchnorm(f"{name}.bn", y)
        return self.act(f"{name}.{act}", y, act) if act else y

    # -- dense -----------------------------------------------------------------------------------

    def linear(
        self,
        name: str,
        x: Tensor,
        out_features: int,
        *,
        bias: bool = True,
        tied: bool = False,
        **attrs: Any,
    ) -> Tensor:
        """``x @ W (+ b)`` over the last axis; ``tied`` reads a weight owned by another op."""
        in_features = x.shape[-1]
        rows = x.numel // in_features
        macs = rows * in_features * out_features
        weights = in_features * out_features + (out_features if bias else 0)
        return self.op(
            name,
            "matmul",
            [x],
            (*x.shape[:-1], out_features),
            flops=2 * macs + (rows * out_features if bias else 0),
            macs=macs,
            params=0 if tied else weights,
            weight_params=weights,
            **attrs,
        )

    # -- elementwise, norms, activations -------------------------------------------------------

    def act(self, name: str, x: Tensor, kind: str, **attrs: Any) -> Tensor:
        """Activation ``kind`` (a key of :data:`ELEMENT_FLOPS`); PReLU has a slope per channel."""
        params = x.shape[1] if kind == "prelu" else 0
        return self.op(
            name,
            _ACT_TYPES[kind],
            [x],
            x.shape,
            flops=ELEMENT_FLOPS[kind] * x.numel,
            params=params,
            quantized=False,
            **attrs,
        )

    def batchnorm(self, name: str, x: Tensor) -> Tensor:
        """Inference batch norm over axis 1: a per-channel scale and shift (2 parameters each)."""
        return self.op(
            name,
            "batchnorm",
            [x],
            x.shape,
            flops=2 * x.numel,
            params=2 * x.shape[1],
            quantized=False,
        )

    def norm(self, name: str, x: Tensor, kind: str, **attrs: Any) -> Tensor:
        """``layernorm`` (gamma and beta) or ``rmsnorm`` (gamma) over the last axis."""
        dim = x.shape[-1]
        params = 2 * dim if kind == "layernorm" else dim
        return self.op(
            name,
            kind,
            [x],
            x.shape,
            flops=ELEMENT_FLOPS[kind] * x.numel,
            params=params,
            quantized=False,
            **attrs,
        )

    def eltwise(self, name: str, kind: str, a: Tensor, b: Tensor, **attrs: Any) -> Tensor:
        """``add`` or ``mul`` of two tensors; the smaller one broadcasts (an SE gate, a mask) or,
        on axis 1, is zero-padded (a shortcut into a wider block)."""
        out, other = (a, b) if a.numel >= b.numel else (b, a)
        fits = len(out.shape) == len(other.shape) and all(
            o == s or s == 1 or axis == 1
            for axis, (o, s) in enumerate(zip(out.shape, other.shape, strict=True))
        )
        if not fits:
            raise ValueError(f"{self._prefix}{name}: shapes {a.shape} and {b.shape} do not combine")
        return self.op(name, kind, [a, b], out.shape, flops=out.numel, **attrs)

    def softmax(self, name: str, x: Tensor, **attrs: Any) -> Tensor:
        """Softmax over the last axis (:data:`ELEMENT_FLOPS` operations per element)."""
        return self.op(
            name, "softmax", [x], x.shape, flops=ELEMENT_FLOPS["softmax"] * x.numel, **attrs
        )

    # -- spatial ---------------------------------------------------------------------------------

    def pool(self, name: str, x: Tensor, kernel: int, stride: int, padding: int = 0) -> Tensor:
        """Max or average pooling over the last two axes (``K^2`` operations per output)."""
        batch, ch, height, width = x.shape
        out_h = (height + 2 * padding - kernel) // stride + 1
        out_w = (width + 2 * padding - kernel) // stride + 1
        out = (batch, ch, out_h, out_w)
        return self.op(
            name,
            "pool",
            [x],
            out,
            flops=kernel * kernel * math.prod(out),
            kernel=kernel,
            stride=stride,
        )

    def global_pool(self, name: str, x: Tensor) -> Tensor:
        """Average over all spatial positions: NC... -> NC11."""
        return self.op(name, "global_pool", [x], (*x.shape[:2], 1, 1), flops=x.numel)

    def adaptive_pool(self, name: str, x: Tensor, size: int) -> Tensor:
        """Average pooling to a fixed ``size x size`` grid (one operation per input element)."""
        return self.op(name, "pool", [x], (*x.shape[:2], size, size), flops=x.numel)

    def upsample(self, name: str, x: Tensor, factor: int, *, bilinear: bool = False) -> Tensor:
        """Nearest (a copy) or bilinear (4 multiplies, 3 adds per output) upsampling."""
        batch, ch, *spatial = x.shape
        out = (batch, ch, *(d * factor for d in spatial))
        return self.op(
            name, "upsample", [x], out, flops=7 * math.prod(out) if bilinear else 0, factor=factor
        )

    def concat(self, name: str, xs: Sequence[Tensor], axis: int = 1) -> Tensor:
        """Concatenate along ``axis``; the other axes must agree."""
        shape = list(xs[0].shape)
        shape[axis] = sum(t.shape[axis] for t in xs)
        return self.op(name, "concat", xs, shape, flops=0)
