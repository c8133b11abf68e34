"""Checks shared by the readers and builders of models: integers, numbers and known keys.

Each raises :class:`InvalidInput` naming the field (a dotted path) and the value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from xpuplan.models.errors import InvalidInput

# Bounds on what the formats accept, so that every number a solver or the simulator meets is one
# it can hold and every result stays finite.
#: Largest integer time (duration, release, deadline, delay) in an instance's ``time_unit``:
#: 2^40 (12.7 days in us), the solvers' bound on any time of a schedule. With at most
#: MAX_KERNELS kernels, sums of times stay below 2^57, inside the 64-bit integers of CP-SAT
#: (about 9.2e18), and each time is exact in a double (2^53).
MAX_TIME = 2**40
#: Largest count (tokens, priorities, inferences) a scenario or an option may give.
MAX_COUNT = 10**6
#: Largest number of identical units of one device.
MAX_UNITS = 1024
#: Largest watts, weights and resource capacities: with times below MAX_TIME and at most
#: MAX_KERNELS kernels, every objective (energy, weighted sums) stays a finite double.
MAX_REAL = 1e9
#: Largest instance the tools accept: about 5 KB of memory per kernel with nine modes, so
#: 100,000 kernels is about half a gigabyte before any solver starts.
MAX_KERNELS = 100_000
#: Largest number of modes of all kernels together.
MAX_MODES = 1_000_000


def is_int(value: Any) -> bool:
    """An ``int`` that is not a ``bool`` (YAML and JSON ``true`` are not counts)."""
    return isinstance(value, int) and not isinstance(value, bool)


def require_int(value: Any, where: str, minimum: int, maximum: int = MAX_TIME) -> None:
    """``value`` is an integer with ``minimum <= value <= maximum``."""
    if not is_int(value) or value < minimum:
        raise InvalidInput(f"must be an integer >= {minimum}", field=where, value=value)
    if value > maximum:
        raise InvalidInput(
            f"must be an integer between {minimum} and {maximum:,}", field=where, value=value
        )


def require_positive(
    value: Any, where: str, *, allow_zero: bool = False, maximum: float = 1e18
) -> None:
    """``value`` is a finite number > 0 (>= 0 with ``allow_zero``) and at most ``maximum``."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    try:
        ok = ok and math.isfinite(value)  # an int too large for a double overflows here
    except OverflowError:
        ok = False
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        # YAML 1.1 reads 1.5e9 (no sign in the exponent) as text: say how to write it.
        hint = " (write the exponent with a sign, e.g. 1.5e+9)" if _numeric_text(value) else ""
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidInput(f"must be a finite number {bound}{hint}", field=where, value=value)
    if value > maximum:
        raise InvalidInput(f"must be at most {maximum:g}", field=where, value=value)


def require_range(value: Any, where: str, minimum: float, maximum: float) -> None:
    """``value`` is a finite number with ``minimum <= value <= maximum``."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    try:
        ok = ok and math.isfinite(value) and minimum <= value <= maximum
    except OverflowError:
        ok = False
    if not ok:
        hint = " (write the exponent with a sign, e.g. 1.5e+9)" if _numeric_text(value) else ""
        raise InvalidInput(
            f"must be a number between {minimum:g} and {maximum:g}{hint}", field=where, value=value
        )


def only_known(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    """Every key of ``data`` is one of ``allowed`` (a typo is an error, not ignored)."""
    for key in data:
        if key not in allowed:
            field = f"{where}.{key}" if where else str(key)
            raise InvalidInput(
                f"is not a known field (known: {', '.join(sorted(allowed))})",
                field=field,
                value=key,
                show_value=False,
            )


def required(data: Mapping[str, Any], key: str, where: str) -> Any:
    """``data[key]``, or an error naming the missing field."""
    if key not in data:
        field = f"{where}.{key}" if where else key
        raise InvalidInput("is required", field=field, value=None, show_value=False)
    return data[key]


def _numeric_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True
