"""xpuplan's data: platforms, AI models and kernel DAGs, scenarios, Instance, Schedule, checker.

This package imports nothing else of the project (solvers, runtime and planner build on it).
"""

from xpuplan.models.checker import Violation, check_schedule
from xpuplan.models.errors import (
    InternalError,
    InvalidInput,
    Unsupported,
    XpuplanError,
)
from xpuplan.models.instance import (
    MEM_BW,
    Device,
    Edge,
    Instance,
    Job,
    Kernel,
    Mode,
    Objective,
    Resource,
)
from xpuplan.models.jsonio import (
    instance_from_json,
    instance_to_json,
    load_instance,
    load_schedule,
    save_instance,
    save_schedule,
    schedule_from_json,
    schedule_to_json,
)
from xpuplan.models.objectives import evaluate, job_completions
from xpuplan.models.schedule import Assignment, Schedule, build_assignments, preemptions_of

__all__ = [
    "MEM_BW",
    "Assignment",
    "Device",
    "Edge",
    "Instance",
    "InternalError",
    "InvalidInput",
    "Job",
    "Kernel",
    "Mode",
    "Objective",
    "Resource",
    "Schedule",
    "Unsupported",
    "Violation",
    "XpuplanError",
    "build_assignments",
    "check_schedule",
    "evaluate",
    "instance_from_json",
    "instance_to_json",
    "job_completions",
    "load_instance",
    "load_schedule",
    "preemptions_of",
    "save_instance",
    "save_schedule",
    "schedule_from_json",
    "schedule_to_json",
]
__version__ = "0.1.0"
