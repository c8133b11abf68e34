"""Online policies and plan executors, one small module each, found by name.

>>> from runtime.policies import policy_names
>>> {"fcfs", "edf", "agent-xpu", "twill", "hybrid"} <= set(policy_names())
True
"""

import xpuplan.runtime.executors  # noqa: F401  (registers time-triggered and self-timed)
from xpuplan.runtime.policies import (  # noqa: F401  (each module registers its policy)
    agent_xpu,
    dynamic_eft,
    edf,
    fcfs,
    fixed_priority,
    hybrid,
    llf,
    llm_background,
    online_eft,
    round_robin,
    rr_backends,
    static_best,
    twill,
)
from xpuplan.runtime.policies.base import QueuePolicy
from xpuplan.runtime.policy import (
    BasePolicy,
    Policy,
    get_policy,
    policy_info,
    policy_names,
    policy_uses_plan,
    register,
)

__all__ = [
    "BasePolicy",
    "Policy",
    "QueuePolicy",
    "get_policy",
    "policy_info",
    "policy_names",
    "policy_uses_plan",
    "register",
]
