"""Converters from public benchmark formats to :class:`xpuplan.models.Instance`, and their ground
truth.

Each converter is a pure function of a file: it validates what it reads and raises
:class:`xpuplan.models.InvalidInput` naming the file, the line (or JSON field) and the value at
fault.

* :func:`stg_to_instance`: Standard Task Graph Set, :math:`P|prec|C_{max}`;
* :func:`fjsp_to_instance`: flexible job shop (FJSPLIB: Brandimarte, Hurink);
* :func:`psplib_to_instance`: PSPLIB single-mode RCPSP (``.sm``);
* :func:`load_dnn_graph`, :func:`dnn_graph_to_instance`: profiled DNN graphs (NeurIPS 2020
  device-placement set) as operator graphs and as CPU + accelerator instances;
* :func:`stg_optima`, :func:`fjsp_bks`, :func:`psplib_optima`: published optima and bounds.
"""

from xpuplan.models.formats.dnn_graph import dnn_graph_to_instance, infer_op_type, load_dnn_graph
from xpuplan.models.formats.fjsp import fjsp_name, fjsp_to_instance
from xpuplan.models.formats.optima import fjsp_bks, psplib_optima, stg_optima
from xpuplan.models.formats.psplib import psplib_to_instance
from xpuplan.models.formats.stg import stg_to_instance

__all__ = [
    "dnn_graph_to_instance",
    "fjsp_bks",
    "fjsp_name",
    "fjsp_to_instance",
    "infer_op_type",
    "load_dnn_graph",
    "psplib_optima",
    "psplib_to_instance",
    "stg_optima",
    "stg_to_instance",
]
