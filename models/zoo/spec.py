"""What the zoo knows of a model: its description, its build parameters and how they are checked."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from xpuplan.models.errors import InvalidInput
from xpuplan.models.fields import is_int
from xpuplan.models.platform import PRECISIONS

PARAM_KINDS = ("int", "float", "size", "choice")
MAX_BATCH = 1024


@dataclass(frozen=True)
class ModelInfo:
    """A model of the zoo as users see it.

    Parameters
    ----------
    name
        Registry name, e.g. ``"resnet-50"``.
    family
        ``"cnn"``, ``"encoder"``, ``"llm"`` or ``"audio"``.
    description
        One paragraph: the architecture followed and its source.
    default_params
        Every build parameter with its default.
    precision
        Default precision of the ops.
    reference
        Published figures with their source, e.g. ``{"gmacs": 4.09, "params_m": 25.56,
        "source": "..."}``; ``gmacs`` counts multiply-accumulates, ``gflops`` operations.
    aliases
        Task-level names that also select this model (``"noise-suppression"`` for DTLN).
    """

    name: str
    family: str
    description: str
    default_params: dict[str, Any]
    precision: str
    reference: dict[str, Any]
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Param:
    """How one build parameter is checked.

    ``kind`` is ``"int"``, ``"float"`` (within ``[low, high]``), ``"size"`` (an int or an
    ``(height, width)`` pair, each within ``[low, high]`` and a multiple of ``multiple_of``;
    normalised to a pair) or ``"choice"`` (one of ``choices``). ``only_with`` names another
    parameter's value this one needs, e.g. ``("phase", "decode")`` for an LLM's ``kv_len``.
    """

    default: Any
    kind: str
    low: float = 0
    high: float = math.inf
    multiple_of: int = 1
    choices: tuple[Any, ...] = ()
    only_with: tuple[str, Any] | None = None

    def check(self, key: str, value: Any) -> Any:
        """The value, normalised, or :class:`InvalidInput` naming ``key``."""
        if self.kind == "choice":
            if value not in self.choices:
                raise InvalidInput(
                    f"must be one of {', '.join(map(str, self.choices))}", field=key, value=value
                )
            return value
        if self.kind == "size":
            pair = (value, value) if is_int(value) else value
            if not (isinstance(pair, list | tuple) and len(pair) == 2):
                raise InvalidInput(
                    "must be an integer or a (height, width) pair", field=key, value=value
                )
            return tuple(self._number(key, v, integer=True) for v in pair)
        return self._number(key, value, integer=self.kind == "int")

    def _number(self, key: str, value: Any, *, integer: bool) -> Any:
        ok = (
            is_int(value)
            if integer
            else (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
            )
        )
        ok = ok and self.low <= value <= self.high
        ok = ok and (not integer or value % self.multiple_of == 0)
        if not ok:
            what = "an integer" if integer else "a number"
            rule = f"in [{_fmt(self.low)}, {_fmt(self.high)}]"
            if integer and self.multiple_of > 1:
                rule += f" and a multiple of {self.multiple_of}"
            raise InvalidInput(f"must be {what} {rule}", field=key, value=value)
        return int(value) if integer else float(value)


def _fmt(bound: float) -> str:
    return "inf" if bound == math.inf else f"{bound:g}"


Builder = Callable[[str, dict[str, Any]], nx.DiGraph]


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its description, parameters and builder ``build(name, params)``."""

    name: str
    family: str
    description: str
    params: Mapping[str, Param]
    build: Builder
    precision: str = "fp16"
    reference: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    def info(self) -> ModelInfo:
        """The entry as users see it (:class:`ModelInfo`)."""
        return ModelInfo(
            self.name,
            self.family,
            self.description,
            {key: p.default for key, p in self.params.items()},
            self.precision,
            dict(self.reference),
            self.aliases,
        )

    def resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overridden by ``given``, each checked; unknown or misplaced keys raise.

        Parameters whose ``only_with`` condition does not hold are left out of the result.
        """
        for key in given:
            if key not in self.params:
                raise InvalidInput(
                    f"is not a parameter of model {self.name} (known: {', '.join(self.params)})",
                    field=key,
                    value=given[key],
                )
        resolved = {key: p.check(key, given.get(key, p.default)) for key, p in self.params.items()}
        for key in given:
            need = self.params[key].only_with
            if need is not None and resolved[need[0]] != need[1]:
                raise InvalidInput(
                    f"applies only with {need[0]}={need[1]!r} (model {self.name})",
                    field=key,
                    value=given[key],
                )
        return {
            key: value
            for key, value in resolved.items()
            if (need := self.params[key].only_with) is None or resolved[need[0]] == need[1]
        }


def common_params(**extra: Param) -> dict[str, Param]:
    """``batch`` and ``precision`` (default fp16), then the model's own parameters."""
    return {
        "batch": Param(1, "int", 1, MAX_BATCH),
        "precision": Param("fp16", "choice", choices=PRECISIONS),
        **extra,
    }


def vision_params(
    resolution: int | tuple[int, int],
    *,
    low: int = 32,
    high: int = 4096,
    multiple_of: int = 1,
    **extra: Param,
) -> dict[str, Param]:
    """:func:`common_params` plus ``resolution`` (the input's height and width in pixels)."""
    return common_params(resolution=Param(resolution, "size", low, high, multiple_of), **extra)
