"""Checks shared by the readers and builders of models: integers, numbers and known keys.

Each raises :class:`InvalidInput` naming the field (a dotted path) and the value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from xpuplan.models.errors import InvalidInput


def is_int(value: Any) -> bool:
    """An ``int`` that is not a ``bool`` (YAML and JSON ``true`` are not counts)."""
    return isinstance(value, int) and not isinstance(value, bool)


def require_int(value: Any, where: str, minimum: int) -> None:
    """``value`` is an integer >= ``minimum``."""
    if not is_int(value) or value < minimum:
        raise InvalidInput(f"must be an integer >= {minimum}", field=where, value=value)


def require_positive(value: Any, where: str, *, allow_zero: bool = False) -> None:
    """``value`` is a finite number > 0 (>= 0 with ``allow_zero``)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        # YAML 1.1 reads 1.5e9 (no sign in the exponent) as text: say how to write it.
        hint = " (write the exponent with a sign, e.g. 1.5e+9)" if _numeric_text(value) else ""
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidInput(f"must be a finite number {bound}{hint}", field=where, value=value)


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
