"""Tiling: large GEMM kernels cut into parallel tiles (the schema: :mod:`xpuplan.models.kernels`).

More, smaller kernels give a scheduler more preemption points and more ways to spread one layer
over several devices. Tiles split the output channels, so each tile reads the whole input.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import networkx as nx

from xpuplan.models.errors import InvalidInput
from xpuplan.models.fields import require_int
from xpuplan.models.kernels.fusion import EPILOGUE_TYPES, GEMM_TYPES
from xpuplan.models.kernels.graph import edge_tensors

# With no max_flops, tile GEMM kernels holding more than this share of the graph's FLOPs.
DEFAULT_TILE_SHARE = 1 / 16


def tile(
    kernel_graph: nx.DiGraph, *, max_flops: float | None = None, max_tiles: int = 8
) -> nx.DiGraph:
    """Cut large GEMM kernels into parallel tiles along their output dimension.

    A GEMM kernel (one conv / matmul with an elementwise epilogue, not coarsened) of :math:`F`
    FLOPs becomes :math:`n = \\min(\\text{max\\_tiles}, \\lceil F / \\text{max\\_flops} \\rceil)`
    tiles between the same predecessors and successors. Tile :math:`i` computes :math:`1/n` of the
    output channels: :math:`F/n` FLOPs, :math:`1/n` of the weights and of the written bytes, and
    it reads the whole input. FLOPs, weight bytes and written bytes are conserved; read bytes
    grow by :math:`(n-1)` times the kernel's input.

    Parameters
    ----------
    max_flops
        Largest tile; default :data:`DEFAULT_TILE_SHARE` of the graph's total FLOPs.
    max_tiles
        Most tiles per kernel.
    """
    require_int(max_tiles, "max_tiles", 1)
    if max_flops is not None and not (
        isinstance(max_flops, int | float) and math.isfinite(max_flops) and max_flops > 0
    ):
        raise InvalidInput("must be a finite number > 0", field="max_flops", value=max_flops)
    total = math.fsum(data["flops"] for _, data in kernel_graph.nodes(data=True))
    limit = max_flops if max_flops is not None else total * DEFAULT_TILE_SHARE
    out = nx.DiGraph(**kernel_graph.graph)
    kernel2tiles: dict[str, list[str]] = {}
    for name, data in kernel_graph.nodes(data=True):
        num_tiles = _num_tiles(data, limit, max_tiles)
        if num_tiles == 1:
            out.add_node(name, **data)
            kernel2tiles[name] = [name]
            continue
        kernel2tiles[name] = [f"{name}/t{t_idx}" for t_idx in range(num_tiles)]
        for t_idx, tile_name in enumerate(kernel2tiles[name]):
            if tile_name in kernel_graph:
                raise InvalidInput(
                    "a tile's name is taken by a kernel", field="kernels", value=tile_name
                )
            out.add_node(tile_name, **_tile_attrs(data, t_idx, num_tiles))
    out.add_edges_from(_tiled_edges(kernel_graph, kernel2tiles))
    return out


def _tiled_edges(
    kernel_graph: nx.DiGraph, kernel2tiles: Mapping[str, list[str]]
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every edge between two kernels, from each tile of one to each tile of the other.

    A tile of the producer hands over its share of each tensor (renamed ``<op>/t<i>``); each tile
    of the consumer reads all of it.
    """
    for src, dst, data in kernel_graph.edges(data=True):
        src_tiles = kernel2tiles[src]
        for t_idx, src_tile in enumerate(src_tiles):
            tensors = edge_tensors(src, data)
            if len(src_tiles) > 1:
                tensors = {f"{op}/t{t_idx}": b / len(src_tiles) for op, b in tensors.items()}
            num_bytes = math.fsum(tensors.values())
            for dst_tile in kernel2tiles[dst]:
                yield src_tile, dst_tile, {"bytes": num_bytes, "tensors": dict(tensors)}


def _num_tiles(data: Mapping[str, Any], limit: float, max_tiles: int) -> int:
    types = set(data["op_types"])
    gemm = bool(types & GEMM_TYPES) and types <= GEMM_TYPES | EPILOGUE_TYPES
    if not gemm or data.get("num_merged", 1) != 1 or "tile" in data or limit <= 0:
        return 1
    return max(1, min(max_tiles, math.ceil(data["flops"] / limit)))


def _tile_attrs(data: Mapping[str, Any], t_idx: int, num_tiles: int) -> dict[str, Any]:
    attrs = dict(data)
    for key in ("flops", "weight_bytes", "bytes_written"):
        attrs[key] = data[key] / num_tiles
    if "measured_us" in data:
        attrs["measured_us"] = {k: v / num_tiles for k, v in data["measured_us"].items()}
    attrs["tile"] = t_idx
    return attrs
