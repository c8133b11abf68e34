"""ONNX import: FLOPs against hand counts, kernels that run and reproduce the model, bad input."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import networkx as nx
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from tests.onnx_models import BUILDERS, INPUTS, conv_chain, dynamic_batch, encoder_block, with_if
from xpuplan.models import InvalidInput
from xpuplan.models.kernels import build_kernel_dag
from xpuplan.models.onnx import UncostedOps, import_onnx, kernel_parts, parse_input_flags
from xpuplan.models.opgraph import totals
from xpuplan.models.platform import ORT_PROVIDERS, OrtBinding, platform_from_dict, platform_to_dict
from xpuplan.models.presets import get_platform, platform_names
from xpuplan.models.scenario import load_scenario
from xpuplan.runtime.onnxrt import run_kernels, run_model

PLATFORM = "jetson-orin-nx-16gb"
_PROPERTY_DIR = Path(tempfile.mkdtemp(prefix="xpuplan-onnx-"))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


def _build(name: str, model_dir: Path) -> tuple[Path, float]:
    return BUILDERS[name](model_dir / f"{name}.onnx")


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_flops_match_hand_counts(name: str, model_dir: Path) -> None:
    path, flops = _build(name, model_dir)
    model = import_onnx(path, INPUTS.get(name))
    assert totals(model.op_graph)["flops"] == pytest.approx(flops, rel=1e-12)
    assert model.uncosted == ()


def test_weights_and_types(model_dir: Path) -> None:
    path, _ = conv_chain(model_dir / "cc.onnx")
    graph = import_onnx(path).op_graph
    assert graph.nodes["conv1"]["weight_bytes"] == (16 * 3 * 9 + 16) * 4
    assert graph.nodes["dw"]["type"] == "depthwise_conv"
    assert graph.nodes["conv1"]["bytes_read"] == 3 * 32 * 32 * 4
    assert graph.nodes["conv1"]["bytes_written"] == 16 * 32 * 32 * 4
    assert graph.edges["conv1", "relu1"]["bytes"] == 16 * 32 * 32 * 4


def test_constants_are_folded(model_dir: Path) -> None:
    path, _ = encoder_block(model_dir / "enc.onnx")
    model = import_onnx(path)
    # Shape(x) feeds Reshape: evaluated at import, it becomes an initializer, not an op.
    assert "shape" not in model.op_graph
    assert "xs" in {init.name for init in model.model.graph.initializer}


def test_if_is_one_opaque_op_never_cut(model_dir: Path) -> None:
    path, _ = with_if(model_dir / "if.onnx")
    platform = get_platform(PLATFORM)
    dag = build_kernel_dag("if", platform, onnx=str(path))
    owners = [k for k, d in dag.nodes(data=True) if "branch" in d["ops"]]
    assert len(owners) == 1
    assert import_onnx(path).op_graph.nodes["branch"]["onnx_type"] == "If"
    # Its edge from the MatMul comes from the branches reading h from the outer scope.
    assert import_onnx(path).op_graph.has_edge("mm", "branch")


@pytest.mark.parametrize("name", sorted(BUILDERS))
@pytest.mark.parametrize("max_kernels", [None, 3, 1])
def test_kernels_run_and_reproduce_the_model(
    name: str, max_kernels: int | None, model_dir: Path
) -> None:
    path, _ = _build(name, model_dir)
    params: dict[str, object] = {"onnx": str(path)}
    if name in INPUTS:
        params["inputs"] = INPUTS[name]
    dag = build_kernel_dag(name, get_platform(PLATFORM), max_kernels=max_kernels, **params)
    assert nx.is_directed_acyclic_graph(dag)
    model = import_onnx(path, INPUTS.get(name))
    parts = kernel_parts(model, dag)
    covered = sorted(n for part in parts for n in part.nodes)
    assert covered == sorted(model.op_graph.nodes)
    feeds = model.sample_inputs(seed=1)
    for flag in (False, True) if name == "with_if" else (None,):
        if flag is not None:
            feeds["flag"] = np.array(flag)
        whole = run_model(model, feeds)
        tensors = run_kernels(model, parts, feeds)
        for out in model.outputs:
            np.testing.assert_allclose(tensors[out], whole[out], rtol=1e-5, atol=1e-6)
        # Each kernel's outputs equal those tensors of the whole model.
        probe = onnx.ModelProto()
        probe.CopyFrom(model.model)
        boundary = [t for part in parts for t in part.outputs if t not in model.outputs]
        for tensor in boundary:
            elem, shape = model.tensor_types[tensor]
            probe.graph.output.append(
                helper.make_tensor_value_info(tensor, elem, list(shape or []))
            )
        sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
        names = [o.name for o in probe.graph.output]
        for tensor, value in zip(names, sess.run(names, feeds), strict=True):
            np.testing.assert_allclose(tensors[tensor], value, rtol=1e-5, atol=1e-6)


def test_integer_inputs_default_to_zeros_or_range(model_dir: Path) -> None:
    path, _ = dynamic_batch(model_dir / "dyn.onnx")
    zeros = import_onnx(path, {"x": [2, 16], "ids": [2]}).sample_inputs()
    assert zeros["ids"].dtype == np.int64 and not zeros["ids"].any()
    ranged = import_onnx(path, {"x": [2, 16], "ids": {"shape": [2], "range": [5, 9]}})
    ids = ranged.sample_inputs()["ids"]
    assert ((ids >= 5) & (ids < 9)).all()
    sample = model_dir / "ids.npy"
    np.save(sample, np.array([7, 3], np.int64))
    given = import_onnx(path, {"x": [2, 16], "ids": {"shape": [2], "sample": str(sample)}})
    assert given.sample_inputs()["ids"].tolist() == [7, 3]


def test_dynamic_dims_scale_the_costs(model_dir: Path) -> None:
    path, _ = dynamic_batch(model_dir / "dyn2.onnx")
    one = totals(import_onnx(path, {"x": [1, 16], "ids": [1]}).op_graph)["flops"]
    eight = totals(import_onnx(path, {"x": [8, 16], "ids": [8]}).op_graph)["flops"]
    assert eight == pytest.approx(8 * one)


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        (None, "inputs.x: has dynamic dims batch"),
        ({"x": [4, 16]}, "inputs.ids: has dynamic dims batch"),
        ({"x": [4, 16], "ids": [4], "y": [1]}, "inputs.y: is not an input"),
        ({"x": [4, 16, 1], "ids": [4]}, "inputs.x: has rank 3"),
        ({"x": [4, 17], "ids": [4]}, "inputs.x: dim 1 is 16"),
        ({"x": [4, 0], "ids": [4]}, "inputs.x: must be a list of dims"),
    ],
)
def test_bad_inputs_name_file_and_field(inputs: dict | None, field: str, model_dir: Path) -> None:
    path, _ = dynamic_batch(model_dir / "dyn3.onnx")
    with pytest.raises(InvalidInput) as err:
        import_onnx(path, inputs)
    text = str(err.value)
    assert str(path) in text and field in text and "\n" not in text


def test_bad_files(model_dir: Path) -> None:
    junk = model_dir / "junk.onnx"
    junk.write_bytes(b"\x00\x01not a model at all" * 10)
    path, _ = conv_chain(model_dir / "trunc_src.onnx")
    truncated = model_dir / "truncated.onnx"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    for bad in (junk, truncated):
        with pytest.raises(InvalidInput, match=str(bad)):
            import_onnx(bad)
    model = onnx.load(path)
    model.opset_import[0].version = 99
    future = model_dir / "future.onnx"
    onnx.save(model, future)
    with pytest.raises(InvalidInput, match="opset_import"):
        import_onnx(future)
    with pytest.raises(InvalidInput, match="no such file"):
        import_onnx(model_dir / "missing.onnx")


def test_uncosted_op_types_warn_once(model_dir: Path) -> None:
    node = helper.make_node("Einsum", ["a", "b"], ["y"], name="einsum", equation="ij,jk->ik")
    graph = helper.make_graph(
        [node],
        "einsum",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [3, 4]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
    )
    path = model_dir / "einsum.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    with pytest.warns(UncostedOps, match="Einsum"):
        model = import_onnx(path)
    op = model.op_graph.nodes["einsum"]
    assert op["type"] == "other" and op["bytes_read"] == (6 + 12) * 4 and op["bytes_written"] == 32


def test_support_matrix_speaks_onnx_op_types(model_dir: Path) -> None:
    path, _ = conv_chain(model_dir / "cc2.onnx")
    data = platform_to_dict(get_platform(PLATFORM))
    gpu = next(d for d in data["devices"] if d["name"] == "gpu")
    gpu["unsupported_ops"] = ["GlobalAveragePool"]
    platform = platform_from_dict(data)
    dag = build_kernel_dag("cc", platform, onnx=str(path))
    (gap,) = [k for k, d in dag.nodes(data=True) if "gap" in d["ops"]]
    assert "GlobalAveragePool" in dag.nodes[gap]["op_types"]
    assert "gpu" not in {m.device for m in dag.nodes[gap]["modes"]}
    (conv,) = [k for k, d in dag.nodes(data=True) if "conv1" in d["ops"]]
    assert conv.startswith("conv1~") and dag.nodes[conv]["onnx_nodes"] == ("conv1", "relu1")
    assert "gpu" in {m.device for m in dag.nodes[conv]["modes"]}


def test_scenario_names_an_onnx_file(model_dir: Path) -> None:
    conv_chain(model_dir / "det.onnx")
    dynamic_batch(model_dir / "seq.onnx")
    yaml_path = model_dir / "scenario.yaml"
    yaml_path.write_text(
        "name: s\ntasks:\n"
        "  - {name: cam, model: det.onnx, arrival: {type: periodic, rate_hz: 30}}\n"
        "  - name: seq\n    model: seq.onnx\n    inputs: {x: [2, 16], ids: [2]}\n"
        "    arrival: {type: periodic, rate_hz: 10}\n"
    )
    scenario = load_scenario(yaml_path)
    ref = scenario.task("seq").models[0]
    assert ref.name == "seq" and ref.params["onnx"] == str((model_dir / "seq.onnx").resolve())
    chain = model_dir / "chain.yaml"
    chain.write_text(
        "name: c\ntasks:\n  - name: two\n    arrival: {type: periodic, rate_hz: 5}\n"
        "    models: [det.onnx, {name: seq.onnx, inputs: {x: [3, 16], ids: [3]}}, resnet-50]\n"
    )
    refs = load_scenario(chain).task("two").models
    assert [r.name for r in refs] == ["det", "seq", "resnet-50"]
    assert refs[1].params["inputs"] == {"x": [3, 16], "ids": [3]} and refs[2].params == {}
    zoo_inputs = model_dir / "zoo_inputs.yaml"
    zoo_inputs.write_text(
        "name: z\ntasks:\n  - {name: a, model: resnet-50, inputs: {x: [1]},"
        " arrival: {type: periodic, rate_hz: 1}}\n"
    )
    with pytest.raises(InvalidInput, match=r"tasks\[0\].inputs: applies to ONNX models only"):
        load_scenario(zoo_inputs)
    bad = model_dir / "bad.yaml"
    bad.write_text(
        "name: s\ntasks:\n  - {name: a, model: nope.onnx, arrival: {type: periodic, rate_hz: 1}}\n"
    )
    with pytest.raises(InvalidInput, match=r"bad.yaml: tasks\[0\].models\[0\]: no such ONNX file"):
        load_scenario(bad)


def test_presets_bind_onnxruntime_providers() -> None:
    for name in platform_names():
        for dev in get_platform(name).devices:
            assert dev.onnxruntime is not None and dev.onnxruntime.provider in ORT_PROVIDERS
    assert set(ort.get_all_providers()) <= ORT_PROVIDERS
    data = platform_to_dict(get_platform(PLATFORM))
    data["devices"][0]["onnxruntime"] = {"provider": "FooExecutionProvider"}
    with pytest.raises(InvalidInput, match=r"devices\[0\].onnxruntime.provider"):
        platform_from_dict(data)
    assert OrtBinding("CPUExecutionProvider", threads=2).to_dict()["threads"] == 2


def test_parse_input_flags() -> None:
    assert parse_input_flags(["x=1,3,8,8", "ids=4"]) == {"x": [1, 3, 8, 8], "ids": [4]}
    with pytest.raises(InvalidInput, match="--input"):
        parse_input_flags(["x:1,2"])
    assert math.prod(parse_input_flags(["x=2,2"])["x"]) == 4


@settings(max_examples=15, deadline=None)
@given(
    name=st.sampled_from(sorted(BUILDERS)),
    max_kernels=st.one_of(st.none(), st.integers(min_value=1, max_value=12)),
)
def test_kernels_partition_the_nodes_and_conserve_flops(name: str, max_kernels: int | None) -> None:
    """Property: at any granularity the kernels cover every node once, each kernel records its
    nodes and boundary, and FLOPs and weight bytes are conserved."""
    path, _ = BUILDERS[name](_PROPERTY_DIR / f"{name}.onnx")
    params: dict[str, object] = {"onnx": str(path)}
    if name in INPUTS:
        params["inputs"] = INPUTS[name]
    dag = build_kernel_dag(name, get_platform(PLATFORM), max_kernels=max_kernels, **params)
    ops = import_onnx(path, INPUTS.get(name)).op_graph
    nodes = [n for _, d in dag.nodes(data=True) for n in d["onnx_nodes"]]
    assert sorted(nodes) == sorted(ops.nodes)
    for _, data in dag.nodes(data=True):
        assert sorted(data["onnx_nodes"]) == sorted(data["ops"])
        assert data["onnx_outputs"]
    assert math.fsum(d["flops"] for _, d in dag.nodes(data=True)) == pytest.approx(
        totals(ops)["flops"]
    )
    assert math.fsum(d["weight_bytes"] for _, d in dag.nodes(data=True)) == pytest.approx(
        totals(ops)["weight_bytes"]
    )
    if max_kernels is not None:
        assert dag.number_of_nodes() <= max_kernels


def test_kernel_names_stand_for_their_nodes(model_dir: Path) -> None:
    """A kernel's name is the same at any granularity exactly when its nodes are."""
    path, _ = encoder_block(model_dir / "names.onnx")
    platform = get_platform(PLATFORM)
    name2nodes: dict[str, tuple[str, ...]] = {}
    for max_kernels in (None, 9, 5, 3, 2, 1):
        dag = build_kernel_dag("enc", platform, max_kernels=max_kernels, onnx=str(path))
        for name, data in dag.nodes(data=True):
            nodes = tuple(sorted(data["onnx_nodes"]))
            assert name2nodes.setdefault(name, nodes) == nodes
    assert len(set(name2nodes.values())) == len(name2nodes)


_LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


@pytest.mark.parametrize(("file", "zoo"), [("light_resnet50.onnx", "resnet-50")])
def test_real_model_macs_match_the_zoo(file: str, zoo: str) -> None:
    """The ResNet-50 the onnx wheel ships (its backend test data) has exactly the multiply-adds
    of the zoo's ResNet-50 built from the architecture: two independent counts."""
    path = _LIGHT / file
    if not path.exists():
        pytest.skip(f"{path} is not in this onnx installation")
    from xpuplan.models.zoo import build_model, count_macs

    graph = import_onnx(path).op_graph
    macs = 0.0
    for _, data in graph.nodes(data=True):
        if data["onnx_type"] in ("Conv", "Gemm"):
            bias = math.prod(data["shape"]) if len(data["onnx_inputs"]) > 2 else 0
            macs += (data["flops"] - bias) / 2
    assert macs == count_macs(build_model(zoo))
