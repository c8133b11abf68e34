"""What fusion, tiling, coarsening and the LLM graphs share: device affinity, edge tensors.

The schema of a kernel graph is in :mod:`xpuplan.models.kernels`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from xpuplan.models.costs import supporting_devices
from xpuplan.models.platform import Platform
from xpuplan.models.roofline import WIDTH_ORDER

# Precisions from narrowest to widest (the order of models.roofline's fallback).
PRECISION_WIDTH = WIDTH_ORDER

Affinity = frozenset[str] | None


def op_affinity(
    op_types: Iterable[str], measured: Mapping[str, float] | None, platform: Platform | None
) -> Affinity:
    """The devices that can run these op types (names), the measured entries, or None (any).

    With a platform: the names of :func:`xpuplan.models.costs.supporting_devices`. Without one: the
    keys of ``measured`` when given, else None (unconstrained).
    """
    if platform is not None:
        return frozenset(dev.name for dev in supporting_devices(platform, op_types, measured))
    return None if measured is None else frozenset(measured)


def compatible(a: Affinity, b: Affinity) -> bool:
    """Whether some device (or measured entry) can run both."""
    return a is None or b is None or bool(a & b)


def intersect(a: Affinity, b: Affinity) -> Affinity:
    """The devices (or entries) that can run both; None is unconstrained."""
    if a is None:
        return b
    return a if b is None else a & b


def edge_tensors(src: str, data: Mapping[str, Any]) -> dict[str, float]:
    """A copy of the tensors of a kernel edge (an edge built elsewhere without them carries one)."""
    if "tensors" in data:
        return dict(data["tensors"])
    return {src: float(data.get("bytes", 0.0))}


def widest(precisions: Iterable[str]) -> str:
    """The widest of ``precisions`` (:data:`PRECISION_WIDTH`)."""
    return max(precisions, key=PRECISION_WIDTH.index)
