"""Real models in: ONNX files imported into operator graphs, kernels extracted as sub-models.

* :func:`import_onnx` (:mod:`xpuplan.models.onnx.importer`): an ``.onnx`` file with fixed input
  shapes -> :class:`OnnxModel`, whose ``op_graph`` follows :mod:`xpuplan.models.opgraph` (costs by
  :mod:`xpuplan.models.onnx.costs`);
* :func:`kernel_parts` and :func:`extract_kernel` (:mod:`xpuplan.models.onnx.extract`): the ONNX
  nodes and boundary tensors of each kernel, and the kernel as a standalone model.

A scenario names an ONNX model as ``model: detector.onnx`` (with ``inputs:``); its
:class:`xpuplan.models.scenario.ModelRef` then carries ``params = {"onnx": PATH, "inputs": ...}``,
which :func:`xpuplan.models.kernels.build_kernel_dag` understands (:func:`onnx_params`).
Running the kernels (ONNX Runtime) is the runtime layer's: :mod:`xpuplan.runtime.onnxrt`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xpuplan.models.errors import InvalidInput
from xpuplan.models.onnx.extract import (
    KernelPart,
    boundary,
    extract_kernel,
    extract_nodes,
    kernel_parts,
    name_kernels,
    record_parts,
)
from xpuplan.models.onnx.importer import (
    InputSpec,
    OnnxModel,
    UncostedOps,
    import_onnx,
    parse_input_flags,
)

ONNX_PARAMS = frozenset({"onnx", "inputs"})


def is_onnx_ref(params: Mapping[str, Any]) -> bool:
    """Whether a model's parameters name an ONNX file (``{"onnx": PATH, ...}``)."""
    return "onnx" in params


def onnx_params(name: str, params: Mapping[str, Any]) -> OnnxModel:
    """The imported model of ``params`` (``onnx``: the file, ``inputs``: shapes), named ``name``.

    Raises
    ------
    InvalidInput
        For a parameter other than ``onnx`` and ``inputs``, or any import error.
    """
    for key in params:
        if key not in ONNX_PARAMS:
            raise InvalidInput(
                "is not a parameter of an ONNX model (parameters: inputs)", field=key, value=key
            )
    return import_onnx(params["onnx"], params.get("inputs"), name=name)


__all__ = [
    "ONNX_PARAMS",
    "InputSpec",
    "KernelPart",
    "OnnxModel",
    "UncostedOps",
    "boundary",
    "extract_kernel",
    "extract_nodes",
    "import_onnx",
    "is_onnx_ref",
    "kernel_parts",
    "name_kernels",
    "onnx_params",
    "parse_input_flags",
    "record_parts",
]
