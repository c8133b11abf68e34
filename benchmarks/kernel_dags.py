"""Kernel DAG sizes and build times: zoo model -> fused -> coarsened -> annotated.

Usage::

    python benchmarks/kernel_dags.py --max-kernels 12 --repeats 5 \\
        --out benchmarks/results/kernel_dags.md

For every (model, platform) pair: the op count, the kernel count after fusion (with the
platform's op-support matrix), after tiling, after coarsening to ``--max-kernels``, the modes of
the annotated DAG (all DVFS levels), and the median wall time of the whole
:func:`xpuplan.models.kernels.build_kernel_dag` call over ``--repeats`` runs. LLMs are built as a
prefill of ``--prompt`` tokens in chunks of ``--chunk`` tokens. The project's target: a coarsened
ResNet-50 on a 4-device platform with all levels "well under a second".
"""

from __future__ import annotations

import argparse
import os
import platform as host
import shlex
import statistics
import sys
import time
from pathlib import Path

import networkx as nx

from xpuplan.models.kernels import build_kernel_dag, coarsen, fuse, llm_prefill_graph, tile
from xpuplan.models.presets import get_platform, platform_names
from xpuplan.models.zoo import LLM_NAMES, build_model, model_names


def measure(model: str, platform_name: str, args: argparse.Namespace) -> dict[str, object]:
    """Sizes after each stage and the median build time of one (model, platform) pair."""
    platform = get_platform(platform_name)
    llm = model in LLM_NAMES
    params = {"phase": "prefill", "tokens": args.prompt} if llm else {}
    chunk = args.chunk if llm else None
    if llm:
        ops = sum(
            build_model(
                model, phase="prefill", tokens=min(args.chunk, args.prompt - past), past_tokens=past
            ).number_of_nodes()
            for past in range(0, args.prompt, args.chunk)
        )
        fused = llm_prefill_graph(model, args.prompt, args.chunk, platform=platform)
    else:
        ops = build_model(model).number_of_nodes()
        fused = fuse(build_model(model), platform)
    tiled = tile(fused)
    coarse = coarsen(tiled, args.max_kernels, platform)
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        dag = build_kernel_dag(
            model, platform, max_kernels=args.max_kernels, chunk_tokens=chunk, **params
        )
        seconds.append(time.perf_counter() - start)
    assert nx.is_directed_acyclic_graph(dag)
    return {
        "model": model,
        "platform": platform_name,
        "ops": ops,
        "fused": fused.number_of_nodes(),
        "tiled": tiled.number_of_nodes(),
        "coarse": coarse.number_of_nodes(),
        "modes": sum(len(d["modes"]) for _, d in dag.nodes(data=True)),
        "ms": 1e3 * statistics.median(seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(model_names()))
    parser.add_argument("--platforms", default=",".join(platform_names()))
    parser.add_argument("--max-kernels", type=int, default=12)
    parser.add_argument("--prompt", type=int, default=435)
    parser.add_argument("--chunk", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    rows = [measure(m, p, args) for p in args.platforms.split(",") for m in args.models.split(",")]
    lines = [
        "# Kernel DAG sizes and build times",
        "",
        "Command: `python " + " ".join(shlex.quote(a) for a in sys.argv) + "`",
        "",
        f"Host: {os.cpu_count()} CPUs, Python {host.python_version()}, {host.platform()}.",
        f"LLMs: prefill of {args.prompt} tokens in chunks of {args.chunk}; others at their zoo "
        "defaults. ops = operators (all chunks); fused = kernels after fusion with the "
        f"platform's op-support matrix; tiled = after tiling; coarse = after coarsening to "
        f"{args.max_kernels}; modes = (device, level) modes of the annotated DAG (all levels); "
        f"ms = median of {args.repeats} full `build_kernel_dag` calls.",
        "",
        "| platform | model | ops | fused | tiled | coarse | modes | ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['platform']} | {row['model']} | {row['ops']} | {row['fused']} | "
            f"{row['tiled']} | {row['coarse']} | {row['modes']} | {row['ms']:.1f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
