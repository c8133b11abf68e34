"""Moved to :mod:`xpuplan.models.workload` (the one workload of planner and runtime).

These names are re-exported here so that existing imports keep working; import them from
:mod:`xpuplan.models.workload` in new code.
"""

from xpuplan.models.instance import MEM_BW
from xpuplan.models.workload import (
    CompileOptions,
    DagStage,
    DecodeStage,
    DecodeTable,
    EdgeSpec,
    JobTemplate,
    KernelSpec,
    Stage,
    TaskSpec,
    Workload,
    collapse_modes,
    compile_workload,
    llm_task,
    relative_deadline_us,
    single_task,
)

__all__ = [
    "MEM_BW",
    "CompileOptions",
    "DagStage",
    "DecodeStage",
    "DecodeTable",
    "EdgeSpec",
    "JobTemplate",
    "KernelSpec",
    "Stage",
    "TaskSpec",
    "Workload",
    "collapse_modes",
    "compile_workload",
    "llm_task",
    "relative_deadline_us",
    "single_task",
]
