"""xpuplan's runtime: a discrete-event simulator that executes plans and online policies.

It imports only :mod:`models`. Entry points: :func:`runtime.simulate.simulate` (a scenario on a
platform under a policy, optionally with a plan) and :func:`runtime.simulate.simulate_plan` (a
plan alone); :func:`runtime.policies.policy_names` lists the policies.
"""

from runtime.engine import Engine
from runtime.metrics import ConservationError, SimResult
from runtime.policies import get_policy, policy_names
from runtime.simulate import simulate, simulate_plan
from runtime.simulator import SimConfig, Simulator

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
