"""Real ONNX models through xpuplan: import, kernels, FLOPs, profiling, partition overhead, fit.

The models ship inside pip wheels (no download at run time):

* ``rapidocr-onnxruntime`` 1.4.4: ``rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx`` (a
  DBNet text detector, input ``x`` [1, 3, H, W]) and ``ch_PP-OCRv4_rec_infer.onnx`` (an SVTR text
  recogniser, a sequence model with attention, input ``x`` [1, 3, 48, W]);
* ``silero-vad`` 6.2.3: ``silero_vad/data/silero_vad_16k_op15.onnx`` (a voice-activity detector:
  an STFT conv front end, a conv encoder and an LSTM decoder inside ``If`` nodes; inputs ``input``
  [1, 512] audio, ``state`` [2, 1, 128], ``sr`` the sample rate, here 16000).

Figures per model: import time (cold), ONNX nodes before and ops after constant folding, fused and
coarsened kernel counts, FLOPs against an independent count (2 x the multiply-adds of every Conv,
ConvTranspose, MatMul and Gemm node plus their bias adds, from tensor shapes *observed* in an
ONNX Runtime run of the model, not from onnx shape inference), the profile time, the partition
overhead (sum of kernel medians vs one whole-model run on the same CPU provider and thread count),
and the roofline fit's median error before and after calibration.

Usage::

    python benchmarks/onnx_models.py                 # models found in installed packages
    python benchmarks/onnx_models.py --model-dir DIR  # the .onnx files copied out of the wheels
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

from xpuplan.models.kernels import build_kernel_dag, fuse
from xpuplan.models.onnx import UncostedOps, extract_kernel, import_onnx, kernel_parts
from xpuplan.models.onnx.importer import _import_cached
from xpuplan.models.opgraph import totals
from xpuplan.models.scenario import ModelRef, Periodic, Scenario, Task
from xpuplan.runtime.localhost import local_platform
from xpuplan.runtime.onnxrt import profile_scenario, run_kernels, session

MODELS: list[dict[str, Any]] = [
    {
        "name": "ppocr-det",
        "package": "rapidocr_onnxruntime",
        "file": "models/ch_PP-OCRv4_det_infer.onnx",
        "inputs": {"x": [1, 3, 640, 640]},
    },
    {
        "name": "ppocr-rec",
        "package": "rapidocr_onnxruntime",
        "file": "models/ch_PP-OCRv4_rec_infer.onnx",
        "inputs": {"x": [1, 3, 48, 320]},
    },
    {
        "name": "silero-vad",
        "package": "silero_vad",
        "file": "data/silero_vad_16k_op15.onnx",
        "inputs": {
            "input": [1, 512],
            "state": [2, 1, 128],
            "sr": {"range": [16000, 16001]},
        },
    },
]
GEMM_OPS = ("Conv", "ConvTranspose", "MatMul", "Gemm")


def locate(entry: dict[str, Any], model_dir: Path | None) -> Path | None:
    """The model's file in ``model_dir`` (by file name) or inside its installed package."""
    if model_dir is not None:
        path = model_dir / Path(entry["file"]).name
        return path if path.exists() else None
    spec = importlib.util.find_spec(entry["package"])
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / entry["file"]
    return path if path.exists() else None


def independent_gemm_flops(path: Path, feeds: dict[str, np.ndarray]) -> float:
    """2 x multiply-adds (+ 1 per output for a bias) of the Conv/ConvTranspose/MatMul/Gemm
    nodes of the *original* model, with every tensor's shape observed in an ONNX Runtime run (all
    node outputs made outputs, graph optimisations off)."""
    model = onnx.load(str(path))
    inits = {i.name: tuple(i.dims) for i in model.graph.initializer}
    names = [o for n in model.graph.node for o in n.output if o]
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    probe.graph.output.extend(helper.make_empty_tensor_value_info(n) for n in names)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    sess = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    values = sess.run(names, feeds)
    shapes: dict[str, tuple[int, ...]] = dict(inits)
    shapes.update({k: tuple(v.shape) for k, v in feeds.items()})
    shapes.update({n: tuple(np.asarray(v).shape) for n, v in zip(names, values, strict=True)})
    total = 0
    for node in model.graph.node:
        if node.op_type not in GEMM_OPS:
            continue
        out = shapes[node.output[0]]
        if (
            node.op_type in ("Conv", "ConvTranspose", "Gemm")
            and len(node.input) > 2
            and node.input[2]
        ):
            total += math.prod(out)  # the bias add, one per output element
        if node.op_type == "Conv":
            w = shapes[node.input[1]]
            total += 2 * math.prod(out) * math.prod(w[1:])
        elif node.op_type == "ConvTranspose":
            w = shapes[node.input[1]]
            total += 2 * math.prod(shapes[node.input[0]]) * math.prod(w[1:])
        elif node.op_type == "MatMul":
            total += 2 * math.prod(out) * shapes[node.input[0]][-1]
        else:
            trans_a = any(a.name == "transA" and a.i for a in node.attribute)
            a = shapes[node.input[0]]
            total += 2 * math.prod(out) * (a[0] if trans_a else a[-1])
    return float(total)


def interleaved_overhead(model: Any, parts: list[Any], rounds: int) -> tuple[float, float]:
    """(whole-model median ms, median over rounds of the sum of kernel times ms), each round
    timing the whole model once and every kernel once, so that load changes on a shared machine
    hit both sides alike."""
    feeds = model.sample_inputs(0)
    tensors = run_kernels(model, parts, feeds)
    whole = session(model.model)
    kernels = [
        (session(extract_kernel(model, p)), {t: tensors[t] for t in p.inputs}) for p in parts
    ]
    for sess, inputs in [(whole, feeds), *kernels]:
        sess.run(None, inputs)
        sess.run(None, inputs)
    whole_ms, sums_ms = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        whole.run(None, feeds)
        whole_ms.append((time.perf_counter() - start) * 1e3)
        total = 0.0
        for sess, inputs in kernels:
            start = time.perf_counter()
            sess.run(None, inputs)
            total += (time.perf_counter() - start) * 1e3
        sums_ms.append(total)
    return float(np.median(whole_ms)), float(np.median(sums_ms))


def bench(
    entry: dict[str, Any], path: Path, repeats: int, kernel_counts: list[int], rounds: int
) -> dict[str, Any]:
    platform, _ = local_platform()
    _import_cached.cache_clear()
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UncostedOps)
        model = import_onnx(path, entry["inputs"], name=entry["name"])
    import_s = time.perf_counter() - start
    graph = model.op_graph
    gemm_flops = sum(d["flops"] for _, d in graph.nodes(data=True) if d["onnx_type"] in GEMM_OPS)
    feeds = model.sample_inputs(0)
    independent = independent_gemm_flops(path, feeds)
    original_nodes = len(onnx.load(str(path), load_external_data=False).graph.node)
    row: dict[str, Any] = {
        "model": entry["name"],
        "file": f"{entry['package']}/{entry['file']}",
        "import_s": import_s,
        "onnx_nodes": original_nodes,
        "ops": graph.number_of_nodes(),
        "fused_kernels": fuse(graph).number_of_nodes(),
        "gflops": totals(graph)["flops"] / 1e9,
        "gemm_gflops": gemm_flops / 1e9,
        "independent_gemm_gflops": independent / 1e9,
        "warnings": [str(w.message) for w in caught],
        "runs": [],
    }
    params = {"onnx": str(path), "inputs": entry["inputs"]}
    for max_kernels in kernel_counts:
        dag = build_kernel_dag(entry["name"], platform, max_kernels=max_kernels, **params)
        parts = kernel_parts(model, dag)
        scenario = Scenario(
            "bench", (Task("t", (ModelRef(entry["name"], params),), Periodic(10.0)),)
        )
        start = time.perf_counter()
        result = profile_scenario(
            platform, scenario, max_kernels=max_kernels, repeats=repeats, warmup=2
        )
        profile_s = time.perf_counter() - start
        whole = result.whole_model_us[(entry["name"], "cpu")][0]
        kernels = sum(m.median_us for m in result.measurements)
        fit = result.fits["cpu"]
        whole_i, kernels_i = interleaved_overhead(model, parts, rounds)
        row["runs"].append(
            {
                "max_kernels": max_kernels,
                "kernels": len(parts),
                "profile_s": profile_s,
                "whole_ms": whole / 1000,
                "kernels_ms": kernels / 1000,
                "overhead": kernels / whole - 1,
                "fit_before": fit.error_before,
                "fit_after": fit.error_after,
                "fit": (fit.compute_efficiency, fit.bandwidth_efficiency, fit.launch_overhead_us),
                "interleaved_whole_ms": whole_i,
                "interleaved_kernels_ms": kernels_i,
                "interleaved_overhead": kernels_i / whole_i - 1,
            }
        )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, help="folder holding the .onnx files")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--kernels", default="4,8,16", help="max-kernels values to profile")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved overhead rounds")
    args = parser.parse_args()
    counts = [int(k) for k in args.kernels.split(",")]
    print(f"onnxruntime {ort.__version__}, onnx {onnx.__version__}; CPU provider, 1 thread")
    for entry in MODELS:
        path = locate(entry, args.model_dir)
        if path is None:
            print(f"{entry['name']}: not found (pip install {entry['package'].replace('_', '-')})")
            continue
        row = bench(entry, path, args.repeats, counts, args.rounds)
        print(
            f"\n{row['model']} ({row['file']}), inputs {entry['inputs']}\n"
            f"  import {row['import_s']:.2f} s; {row['onnx_nodes']} ONNX nodes -> {row['ops']} ops "
            f"after folding -> {row['fused_kernels']} fused kernels\n"
            f"  FLOPs {row['gflops']:.4f} G in all; Conv/MatMul/Gemm {row['gemm_gflops']:.4f} G "
            f"vs independent {row['independent_gemm_gflops']:.4f} G "
            f"({row['gemm_gflops'] / row['independent_gemm_gflops'] - 1:+.2%})"
        )
        for warning in row["warnings"]:
            print(f"  warning: {warning}")
        print(
            "  max_kernels kernels profile_s whole_ms kernels_ms overhead | interleaved: "
            "whole_ms kernels_ms overhead | fit_before fit_after"
        )
        for run in row["runs"]:
            print(
                f"  {run['max_kernels']:>11} {run['kernels']:>7} {run['profile_s']:>9.1f} "
                f"{run['whole_ms']:>8.3f} {run['kernels_ms']:>10.3f} {run['overhead']:>+8.1%} |"
                f" {run['interleaved_whole_ms']:>20.3f} {run['interleaved_kernels_ms']:>10.3f} "
                f"{run['interleaved_overhead']:>+8.1%} | {run['fit_before']:>10.1%} "
                f"{run['fit_after']:>9.1%}"
            )


if __name__ == "__main__":
    main()
