"""Online policies and plan executors, one small module each, found by name.

Each module registers its policy class (:func:`register`); a policy uses only the dispatch API
(:mod:`xpuplan.runtime.dispatch`) and the public attributes of jobs and ready items. See
docs/policies.md for how to write one.

>>> from runtime.policies import policy_names
>>> {"fcfs", "edf", "agent-xpu", "twill", "hybrid"} <= set(policy_names())
True
"""

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
    plan_executors,
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
    policy_plan_only,
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
    "policy_plan_only",
    "policy_uses_plan",
    "register",
]
