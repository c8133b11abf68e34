"""Small ONNX models built with ``onnx.helper`` for the tests, with their FLOPs by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _init(name: str, shape: tuple[int, ...], seed: int) -> onnx.TensorProto:
    rng = np.random.default_rng(seed)
    return numpy_helper.from_array((rng.standard_normal(shape) * 0.1).astype(np.float32), name)


def _save(graph: onnx.GraphProto, path: Path, opset: int = OPSET) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def conv_chain(path: Path) -> tuple[Path, float]:
    """x[1,3,32,32] -> Conv 3x3 (16, pad 1) + bias -> Relu -> Conv 3x3 depthwise (group 16,
    stride 2) -> BatchNorm -> Relu -> GlobalAveragePool -> Flatten -> Gemm (10) + bias.

    FLOPs: conv1 2*16*32*32*3*9 + 16*32*32 = 901120 + 16384; relu 16384; dw conv 2*16*16*16*9 =
    73728; bn 2*4096; relu 4096; gap 4096; gemm 2*10*16 + 10 = 330.
    """
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node(
            "Conv", ["r1", "w2"], ["c2"], name="dw", group=16, strides=[2, 2], pads=[1, 1, 1, 1]
        ),
        helper.make_node("BatchNormalization", ["c2", "s", "bb", "m", "v"], ["n2"], name="bn"),
        helper.make_node("Relu", ["n2"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], name="fc", transB=1),
    ]
    inits = [
        _init("w1", (16, 3, 3, 3), 1),
        _init("b1", (16,), 2),
        _init("w2", (16, 1, 3, 3), 3),
        _init("s", (16,), 4),
        _init("bb", (16,), 5),
        _init("m", (16,), 6),
        numpy_helper.from_array(np.ones(16, np.float32), "v"),
        _init("wf", (10, 16), 7),
        _init("bf", (10,), 8),
    ]
    graph = helper.make_graph(
        nodes,
        "conv_chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        inits,
    )
    flops = (
        2 * 16 * 32 * 32 * 27
        + 16 * 32 * 32
        + 16 * 32 * 32
        + 2 * 16 * 16 * 16 * 9
        + 2 * 4096
        + 4096
        + 4096
        + 2 * 10 * 16
        + 10
    )
    return _save(graph, path), float(flops)


def residual_block(path: Path) -> tuple[Path, float]:
    """x[1,8,16,16] -> Conv 3x3 -> Relu -> Conv 3x3 -> Add(x) -> Relu (no biases).

    FLOPs: 2 convs of 2*8*16*16*8*9 = 294912 each; relus and the add 2048 each.
    """
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "x"], ["a"], name="add"),
        helper.make_node("Relu", ["a"], ["y"], name="relu2"),
    ]
    graph = helper.make_graph(
        nodes,
        "residual",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 16, 16])],
        [_init("w1", (8, 8, 3, 3), 1), _init("w2", (8, 8, 3, 3), 2)],
    )
    return _save(graph, path), float(2 * 294912 + 3 * 2048)


def encoder_block(path: Path, tokens: int = 8, dim: int = 16) -> tuple[Path, float]:
    """One transformer encoder block on x[1,T,D]: LayerNorm -> Q,K,V MatMuls -> QK^T (batched,
    via Transpose) -> scale -> Softmax -> AV -> output MatMul -> residual Add -> LayerNorm ->
    MatMul (4D) -> Relu -> MatMul (D) -> residual Add. A Reshape with a shape computed by
    Shape/Gather/Concat checks constant folding.

    FLOPs (T=8, D=16): LN 8*T*D twice; 4 projections 2*T*D*D each; QK^T and AV 2*T*T*D each;
    scale T*T; softmax 5*T*T; FFN 2*T*D*4D twice; relu T*4D; adds T*D twice.
    """
    t, d = tokens, dim
    nodes = [
        helper.make_node("LayerNormalization", ["x", "g1", "b1"], ["n1"], name="ln1", axis=-1),
        helper.make_node("MatMul", ["n1", "wq"], ["q"], name="q"),
        helper.make_node("MatMul", ["n1", "wk"], ["k"], name="k"),
        helper.make_node("MatMul", ["n1", "wv"], ["v"], name="v"),
        helper.make_node("Transpose", ["k"], ["kt"], name="kt", perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["s"], name="qk"),
        helper.make_node("Mul", ["s", "scale"], ["ss"], name="scale"),
        helper.make_node("Softmax", ["ss"], ["p"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["p", "v"], ["av"], name="av"),
        helper.make_node("Shape", ["x"], ["xs"], name="shape"),
        helper.make_node("Reshape", ["av", "xs"], ["avr"], name="reshape"),
        helper.make_node("MatMul", ["avr", "wo"], ["o"], name="o"),
        helper.make_node("Add", ["o", "x"], ["h"], name="res1"),
        helper.make_node("LayerNormalization", ["h", "g2", "b2"], ["n2"], name="ln2", axis=-1),
        helper.make_node("MatMul", ["n2", "w1"], ["f1"], name="ffn1"),
        helper.make_node("Relu", ["f1"], ["f1r"], name="ffn_relu"),
        helper.make_node("MatMul", ["f1r", "w2"], ["f2"], name="ffn2"),
        helper.make_node("Add", ["f2", "h"], ["y"], name="res2"),
    ]
    inits = [
        numpy_helper.from_array(np.ones(d, np.float32), "g1"),
        numpy_helper.from_array(np.zeros(d, np.float32), "b1"),
        numpy_helper.from_array(np.ones(d, np.float32), "g2"),
        numpy_helper.from_array(np.zeros(d, np.float32), "b2"),
        numpy_helper.from_array(np.array(1 / np.sqrt(d), np.float32), "scale"),
        *[_init(n, (d, d), i) for i, n in enumerate(("wq", "wk", "wv", "wo"))],
        _init("w1", (d, 4 * d), 10),
        _init("w2", (4 * d, d), 11),
    ]
    graph = helper.make_graph(
        nodes,
        "encoder",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, t, d])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, t, d])],
        inits,
    )
    flops = (
        2 * 8 * t * d
        + 4 * 2 * t * d * d
        + 2 * (2 * t * t * d)
        + t * t
        + 5 * t * t
        + 2 * (2 * t * d * 4 * d)
        + t * 4 * d
        + 2 * t * d
    )
    return _save(graph, path), float(flops)


def with_if(path: Path) -> tuple[Path, float]:
    """x[1,4] -> MatMul (4x4) -> If(flag) {then: Mul by 2; else: Relu then Add 1} -> Sigmoid.

    The If's branches read the outer tensor ``h`` directly. FLOPs: 2*4*4; If max(4, 8) = 8;
    sigmoid 4*4.
    """
    then_g = helper.make_graph(
        [helper.make_node("Mul", ["h", "two"], ["t_out"], name="then_mul")],
        "then",
        [],
        [helper.make_tensor_value_info("t_out", TensorProto.FLOAT, [1, 4])],
        [numpy_helper.from_array(np.array(2.0, np.float32), "two")],
    )
    else_g = helper.make_graph(
        [
            helper.make_node("Relu", ["h"], ["e1"], name="else_relu"),
            helper.make_node("Add", ["e1", "one"], ["e_out"], name="else_add"),
        ],
        "else",
        [],
        [helper.make_tensor_value_info("e_out", TensorProto.FLOAT, [1, 4])],
        [numpy_helper.from_array(np.array(1.0, np.float32), "one")],
    )
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
        helper.make_node(
            "If", ["flag"], ["z"], name="branch", then_branch=then_g, else_branch=else_g
        ),
        helper.make_node("Sigmoid", ["z"], ["y"], name="sig"),
    ]
    graph = helper.make_graph(
        nodes,
        "with_if",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]),
            helper.make_tensor_value_info("flag", TensorProto.BOOL, []),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [_init("w", (4, 4), 1)],
    )
    return _save(graph, path), float(2 * 4 * 4 + 8 + 4 * 4)


def dynamic_batch(path: Path) -> tuple[Path, float]:
    """x[N,16] -> Gemm(32) + bias -> Tanh -> MatMul (32x8); N is the dynamic dim ``batch``.

    Plus integer token ids ids[N] -> Gather (embedding 100x8) -> Add. FLOPs at N=4:
    2*4*32*16 + 4*32 + 5*4*32 + 2*4*8*32 + 4*8.
    """
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1"),
        helper.make_node("Tanh", ["h"], ["t"], name="tanh"),
        helper.make_node("MatMul", ["t", "w2"], ["o"], name="fc2"),
        helper.make_node("Gather", ["emb", "ids"], ["e"], name="embed"),
        helper.make_node("Add", ["o", "e"], ["y"], name="add"),
    ]
    graph = helper.make_graph(
        nodes,
        "dynamic",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16]),
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch"]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])],
        [
            _init("w1", (16, 32), 1),
            _init("b1", (32,), 2),
            _init("w2", (32, 8), 3),
            _init("emb", (100, 8), 4),
        ],
    )
    n = 4
    flops = 2 * n * 32 * 16 + n * 32 + 5 * n * 32 + 2 * n * 8 * 32 + n * 8
    return _save(graph, path), float(flops)


BUILDERS = {
    "conv_chain": conv_chain,
    "residual": residual_block,
    "encoder": encoder_block,
    "with_if": with_if,
    "dynamic": dynamic_batch,
}
INPUTS = {"dynamic": {"x": [4, 16], "ids": {"shape": [4], "range": [0, 100]}}}
