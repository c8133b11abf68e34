"""``xpuplan inspect MODEL.onnx``: an ONNX model's ops, FLOPs, weights and kernels."""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from typing import Any

import networkx as nx
import numpy as np
from onnx import helper

from xpuplan.models import InvalidInput
from xpuplan.models.kernels import build_kernel_dag, coarsen, fuse
from xpuplan.models.onnx import import_onnx, kernel_parts, parse_input_flags
from xpuplan.models.presets import resolve_platform

NAME = "inspect"
HELP = "an ONNX model's op counts, FLOPs, weight bytes and kernels (with latencies on a platform)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL.onnx", help="an ONNX file")
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=D1,D2,...",
        help="fix an input's shape (needed for dynamic dims); repeatable",
    )
    parser.add_argument("--platform", help="estimate each kernel's latency on its devices")
    parser.add_argument("--max-kernels", type=int, metavar="N", help="coarsen to at most N kernels")
    parser.add_argument("--json", action="store_true", help="print JSON")


def inspect_model(
    path: str, inputs: dict[str, Any], platform_name: str | None, max_kernels: int | None
) -> dict[str, Any]:
    """The JSON document of ``xpuplan inspect`` (see the module docstring)."""
    if max_kernels is not None and max_kernels < 1:
        raise InvalidInput("must be >= 1", field="--max-kernels", value=max_kernels)
    onnx_model = import_onnx(path, inputs)
    graph = onnx_model.op_graph
    ops = Counter(data["onnx_type"] for _, data in graph.nodes(data=True))
    weight_bytes = math.fsum(
        math.prod(init.dims) * np.dtype(helper.tensor_dtype_to_np_dtype(init.data_type)).itemsize
        for init in onnx_model.model.graph.initializer
    )
    platform = resolve_platform(platform_name) if platform_name else None
    if platform is not None:
        params: dict[str, Any] = {"onnx": path}
        if inputs:
            params["inputs"] = inputs
        dag = build_kernel_dag(
            onnx_model.name, platform, max_kernels=max_kernels, levels="top", **params
        )
    else:
        dag = fuse(graph)
        if max_kernels is not None:
            dag = coarsen(dag, max_kernels)
    parts = {part.name: part for part in kernel_parts(onnx_model, dag)}
    kernels = []
    for name in nx.topological_sort(dag):
        data = dag.nodes[name]
        entry: dict[str, Any] = {
            "name": name,
            "label": data["label"],
            "flops": data["flops"],
            "bytes": data["bytes_read"] + data["bytes_written"] + data["weight_bytes"],
            "weight_bytes": data["weight_bytes"],
            "onnx_nodes": list(parts[name].nodes),
            "inputs": list(parts[name].inputs),
            "outputs": list(parts[name].outputs),
        }
        if "modes" in data:
            entry["latency_us"] = {mode.device: mode.duration for mode in data["modes"]}
        kernels.append(entry)
    return {
        "model": onnx_model.name,
        "file": onnx_model.path,
        "inputs": {spec.name: list(spec.shape) for spec in onnx_model.inputs},
        "outputs": list(onnx_model.outputs),
        "nodes": graph.number_of_nodes(),
        "ops": dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))),
        "flops": math.fsum(data["flops"] for _, data in graph.nodes(data=True)),
        "weight_bytes": weight_bytes,
        "uncosted": list(onnx_model.uncosted),
        "platform": platform.name if platform is not None else None,
        "kernels": kernels,
    }


def run(args: argparse.Namespace) -> int:
    doc = inspect_model(args.model, parse_input_flags(args.input), args.platform, args.max_kernels)
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    shapes = ", ".join(f"{k}={'x'.join(map(str, v))}" for k, v in doc["inputs"].items())
    print(f"{doc['model']} ({doc['file']}): inputs {shapes}")
    print(
        f"{doc['nodes']} nodes, {doc['flops'] / 1e9:.3f} GFLOP, "
        f"{doc['weight_bytes'] / 1e6:.2f} MB of weights"
    )
    print("ops: " + ", ".join(f"{k} {v}" for k, v in doc["ops"].items()))
    if doc["uncosted"]:
        print("costed by bytes alone: " + ", ".join(doc["uncosted"]))
    devices = sorted({d for k in doc["kernels"] for d in k.get("latency_us", {})})
    header = f"{'kernel':<40} {'MFLOP':>10} {'KB':>10} {'nodes':>5}"
    header += "".join(f" {d + ' us':>10}" for d in devices)
    print(f"{len(doc['kernels'])} kernels:")
    print(header)
    for k in doc["kernels"]:
        line = f"{k['name'][:40]:<40} {k['flops'] / 1e6:>10.3f} {k['bytes'] / 1e3:>10.1f}"
        line += f" {len(k['onnx_nodes']):>5}"
        line += "".join(f" {k['latency_us'].get(d, '-')!s:>10}" for d in devices)
        print(line)
    return 0
