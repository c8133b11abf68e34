"""The policy interface and the registry of policies by name.

A policy is told about ready work (:meth:`Policy.on_ready`) and, at each decision point,
starts some of it on idle units (:meth:`Policy.decide`, calling
:meth:`xpuplan.runtime.simulator.Simulator.start`). It never reads the simulator's private state.
Policy modules live in :mod:`xpuplan.runtime.policies` (and the plan executors in
:mod:`xpuplan.runtime.executors`); importing :mod:`runtime` registers them all.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from xpuplan.models import InvalidInput

if TYPE_CHECKING:
    from xpuplan.runtime.jobs import Job, Ready
    from xpuplan.runtime.platform_sim import Run
    from xpuplan.runtime.simulator import Simulator


class Policy(Protocol):
    """What the simulator needs from a policy."""

    name: str
    #: True for executors and policies that run a static plan (they need ``plan=``).
    uses_plan: bool

    def bind(self, sim: Simulator) -> None:
        """Attach to a simulator before it runs (once)."""

    def on_arrival(self, job: Job) -> None:
        """A job arrived (before its first kernels become ready)."""

    def on_ready(self, item: Ready) -> None:
        """A kernel or decode step became ready."""

    def on_end(self, run: Run) -> None:
        """A run ended (the job's state already reflects it)."""

    def on_job_done(self, job: Job) -> None:
        """A job completed."""

    def decide(self) -> None:
        """Start work on idle units (called after every batch of same-instant events)."""


class BasePolicy:
    """No-op hooks; subclasses override what they need."""

    name: ClassVar[str] = "base"
    uses_plan: ClassVar[bool] = False

    def bind(self, sim: Simulator) -> None:
        self.sim = sim

    def on_arrival(self, job: Job) -> None:
        return None

    def on_ready(self, item: Ready) -> None:
        return None

    def on_end(self, run: Run) -> None:
        return None

    def on_job_done(self, job: Job) -> None:
        return None

    def decide(self) -> None:
        return None


# ---------------------------------------------------------------------- registry
P = TypeVar("P", bound=type)
_REGISTRY: dict[str, Callable[..., Policy]] = {}


def register(name: str) -> Callable[[P], P]:
    """Class decorator: make a policy available as ``get_policy(name)``."""

    def deco(cls: P) -> P:
        if name in _REGISTRY:
            raise ValueError(f"policy {name!r} registered twice")
        setattr(cls, "name", name)  # noqa: B010  (a TypeVar bound to type hides the attribute)
        _REGISTRY[name] = cls
        return cls

    return deco


def policy_names() -> list[str]:
    """Names of the registered policies: the online ones, then those that execute a plan.

    Returns
    -------
    list[str]
        Each accepted by :func:`xpuplan.runtime.simulate.simulate`.

    Examples
    --------
    >>> names = policy_names()
    >>> {"fcfs", "edf", "agent-xpu", "twill"} <= set(names), names[-1]
    (True, 'hybrid')
    """
    return sorted(_REGISTRY, key=lambda name: policy_uses_plan(name))


def policy_info(name: str) -> dict[str, Any]:
    """``{"name", "description", "uses_plan", "options"}`` of a registered policy.

    The description is the first paragraph of the policy class's docstring; options are its
    constructor's keyword parameters with their defaults (``plan`` excluded).
    """
    factory = _REGISTRY.get(name)
    if factory is None:
        raise InvalidInput(
            f"is not a known policy (known: {', '.join(_REGISTRY)})", field="policy", value=name
        )
    doc = " ".join((inspect.getdoc(factory) or "").split("\n\n")[0].split())
    options = {
        key: param.default
        for key, param in inspect.signature(factory).parameters.items()
        if key != "plan" and param.default is not inspect.Parameter.empty
    }
    return {
        "name": name,
        "description": doc,
        "uses_plan": policy_uses_plan(name),
        "options": options,
    }


def policy_uses_plan(name: str) -> bool:
    """True when policy ``name`` executes a plan (it takes ``plan=``)."""
    factory = _REGISTRY.get(name)
    return bool(getattr(factory, "uses_plan", False))


def get_policy(name: str, **options: Any) -> Policy:
    """A fresh policy object by name, with its options.

    Raises
    ------
    InvalidInput
        For an unknown name (field ``policy``) or an option the policy does not take.
    """
    factory = _REGISTRY.get(name)
    if factory is None:
        raise InvalidInput(
            f"is not a known policy (known: {', '.join(_REGISTRY)})", field="policy", value=name
        )
    accepted = inspect.signature(factory).parameters
    for key in options:
        if key not in accepted:
            known = ", ".join(accepted) or "none"
            raise InvalidInput(
                f"is not an option of policy {name!r} (options: {known})",
                field=f"policy.{key}",
                value=options[key],
            )
    return factory(**options)
