"""The former home of the plan executors, kept so that old imports keep working.

The executors are policies in :mod:`xpuplan.runtime.policies.plan_executors`; a plan's jobs and its
executed schedule are in :mod:`xpuplan.runtime.plan_jobs`.
"""

from xpuplan.runtime.plan_jobs import PlanJobs, executed_schedule
from xpuplan.runtime.policies.plan_executors import SelfTimed, TimeTriggered, unit_window

__all__ = ["PlanJobs", "SelfTimed", "TimeTriggered", "executed_schedule", "unit_window"]
