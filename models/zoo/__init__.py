"""The model zoo: AI models as operator graphs, built from architecture parameters.

>>> from models.zoo import build_model, count_macs, count_params
>>> graph = build_model("resnet-50")
>>> round(count_macs(graph) / 1e9, 2), round(count_params(graph) / 1e6, 2)
(4.09, 25.56)

Every graph follows :mod:`xpuplan.models.opgraph` and is validated; each op also carries ``layer``
(its block, ``-1`` for stem and head), ``macs`` and ``params`` (see
:mod:`xpuplan.models.zoo.graph_builder`), and the ops of transformers and LLMs carry ``tokens`` (how
many tokens the op processes) and ``token_wise`` (whether it is independent per token), attention
ops also ``kv_len``. The graph's attributes add ``params`` (the resolved build parameters) and
``num_params``.
"""

from __future__ import annotations

import math
from typing import Any

import networkx as nx

from xpuplan.models.errors import InvalidInput
from xpuplan.models.opgraph import validate_op_graph
from xpuplan.models.zoo import audio, cnn, detection, llm, mediapipe, speech, superres, transformer
from xpuplan.models.zoo.llm import LLM_NAMES, LlmArch, llm_arch
from xpuplan.models.zoo.spec import ModelEntry, ModelInfo

_ENTRIES: dict[str, ModelEntry] = {
    entry.name: entry
    for module in (cnn, detection, mediapipe, superres, audio, speech, transformer, llm)
    for entry in module.ENTRIES
}
# Task-level names that scenarios may use instead of a model's own name.
_ALIAS2NAME = {alias: entry.name for entry in _ENTRIES.values() for alias in entry.aliases}


def model_names() -> list[str]:
    """Names of the zoo's models, in registry order (vision, audio, encoders, LLMs).

    Aliases (:attr:`ModelInfo.aliases`) are accepted wherever a name is, but not listed here.
    """
    return list(_ENTRIES)


def _entry(name: str) -> ModelEntry:
    if name in _ALIAS2NAME:
        return _ENTRIES[_ALIAS2NAME[name]]
    if name not in _ENTRIES:
        raise InvalidInput(
            f"is not a known model (known: {', '.join(_ENTRIES)}; aliases: "
            f"{', '.join(_ALIAS2NAME)})",
            field="model",
            value=name,
        )
    return _ENTRIES[name]


def model_info(name: str) -> ModelInfo:
    """Description, default parameters and published figures of model ``name`` (or an alias)."""
    return _entry(name).info()


def build_model(name: str, **params: Any) -> nx.DiGraph:
    """The operator graph of model ``name`` built with ``params`` (see :func:`model_info`).

    An alias builds its model, and the graph carries the model's own name.

    Raises
    ------
    InvalidInput
        For an unknown model (field ``model``) or an unknown or bad parameter (field = its name).
    """
    entry = _entry(name)
    resolved = entry.resolve(params)
    graph = entry.build(entry.name, resolved)
    validate_op_graph(graph, where=entry.name)
    graph.graph["params"] = resolved
    graph.graph["num_params"] = count_params(graph)
    return graph


def count_params(graph: nx.DiGraph) -> int:
    """Parameters of the model: the sum of the ops' ``params`` (tied weights counted once)."""
    return sum(int(data.get("params", 0)) for _, data in graph.nodes(data=True))


def count_macs(graph: nx.DiGraph) -> float:
    """Multiply-accumulates of the conv, matmul and attention ops (what papers call MACs/MAdds)."""
    return math.fsum(float(data.get("macs", 0.0)) for _, data in graph.nodes(data=True))


__all__ = [
    "LLM_NAMES",
    "LlmArch",
    "ModelInfo",
    "build_model",
    "count_macs",
    "count_params",
    "llm_arch",
    "model_info",
    "model_names",
]
