"""xpuplan's runtime: a discrete-event simulator that executes plans and online policies, and
the same policies executing a plan for real on ONNX Runtime.

It imports only :mod:`models`. Entry points: :func:`xpuplan.runtime.api.simulate` (a scenario
on a platform under a policy, optionally with a plan) and
:func:`xpuplan.runtime.api.simulate_plan` (a plan alone);
:func:`xpuplan.runtime.real_run.run_plan` (a plan run for real, measured against itself; not
imported here, so that ``import xpuplan.runtime`` does not load ONNX Runtime);
:func:`xpuplan.runtime.policies.policy_names` lists the policies.
"""

from xpuplan.runtime.api import simulate, simulate_plan
from xpuplan.runtime.engine import Engine
from xpuplan.runtime.metrics import ConservationError, SimResult
from xpuplan.runtime.policies import get_policy, policy_names
from xpuplan.runtime.simulator import SimConfig, Simulator

__all__ = [
    "ConservationError",
    "Engine",
    "SimConfig",
    "SimResult",
    "Simulator",
    "get_policy",
    "policy_names",
    "simulate",
    "simulate_plan",
]
