"""Exact integer scaling of the instance's real numbers (powers, demands, weights) for CP-SAT.

CP-SAT works on integers. A real value is used only when it is an exact multiple of ``1 / scale``
for one common scale (up to float noise); otherwise the model refuses the instance with
:class:`xpuplan.models.Unsupported` rather than round in a direction that could make the checker
reject a schedule or the solver miss an optimum.
"""

from __future__ import annotations

from collections.abc import Iterable

from xpuplan.models import Unsupported

# Milliwatts first, then microwatts: the smallest scale keeps the model's numbers small.
POWER_SCALES = (1_000, 1_000_000)
# Job weights: integers first, then decimals down to 1e-6.
WEIGHT_SCALES = tuple(10**exp for exp in range(7))


def is_multiple(value: float, scale: int) -> bool:
    """True when ``value * scale`` is an integer up to float representation noise."""
    scaled = value * scale
    return abs(scaled - round(scaled)) <= 1e-9 * max(1.0, abs(scaled))


def common_scale(values: Iterable[float], scales: tuple[int, ...]) -> int | None:
    """The first scale in ``scales`` that makes every value an integer, or None."""
    items = list(values)
    return next((s for s in scales if all(is_multiple(v, s) for v in items)), None)


def require_scale(values: Iterable[float], scales: tuple[int, ...], what: str) -> int:
    """:func:`common_scale`, refusing with :class:`Unsupported` naming ``what`` when none exists."""
    scale = common_scale(values, scales)
    if scale is None:
        finest = scales[-1]
        raise Unsupported(
            f"cpsat cannot model {what} exactly: not all values are multiples of 1/{finest} "
            "(CP-SAT works on integers and this backend refuses to round)"
        )
    return scale


def scaled(value: float, scale: int) -> int:
    """``value * scale`` as the integer it is (after :func:`require_scale` accepted it)."""
    return round(value * scale)
