"""The policy interface and the registry of policies by name.

A policy is bound to one run's :class:`xpuplan.runtime.dispatch.DispatchApi` (:meth:`Policy.bind`),
told about arrivals, ready work and ends through its hooks, and at each decision point starts some
ready work on idle units (:meth:`Policy.decide`, calling
:attr:`DispatchApi.start <xpuplan.runtime.dispatch.DispatchApi.start>`). It reads the machine only
through the API's read-only :class:`xpuplan.runtime.dispatch.MachineView`, never the simulator's or
the platform's state. Policy modules live in :mod:`xpuplan.runtime.policies` (the plan executors
too); importing :mod:`xpuplan.runtime` registers them all.

Each registered class carries two flags the rest of the runtime reads through the registry
(:func:`policy_uses_plan`, :func:`policy_plan_only`): ``uses_plan`` (it needs ``plan=``) and
``plan_only`` (it runs the plan's jobs and nothing else: the scenario's own arrivals are not
simulated). This module imports neither the simulator nor any policy.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from xpuplan.models import InvalidInput

if TYPE_CHECKING:
    from xpuplan.runtime.dispatch import DispatchApi, RunView
    from xpuplan.runtime.jobs import Job, Ready


class Policy(Protocol):
    """What the simulator needs from a policy."""

    name: str
    #: True for executors and policies that run a static plan (they need ``plan=``).
    uses_plan: bool
    #: True for plan executors, which run the plan's jobs alone (no other arrivals).
    plan_only: bool

    def bind(self, api: DispatchApi) -> None:
        """Attach to a run before it starts (once)."""

    def on_arrival(self, job: Job) -> None:
        """A job arrived (before its first kernels become ready)."""

    def on_ready(self, item: Ready) -> None:
        """A kernel or decode step became ready."""

    def on_end(self, run: RunView) -> None:
        """A run ended (the job's state already reflects it)."""

    def on_job_done(self, job: Job) -> None:
        """A job completed."""

    def decide(self) -> None:
        """Start work on idle units (called after every batch of same-instant events)."""


class BasePolicy:
    """No-op hooks; subclasses override what they need. :meth:`bind` keeps the API as ``api``."""

    name: ClassVar[str] = "base"
    uses_plan: ClassVar[bool] = False
    plan_only: ClassVar[bool] = False

    def bind(self, api: DispatchApi) -> None:
        self.api = api

    def on_arrival(self, job: Job) -> None:
        return None

    def on_ready(self, item: Ready) -> None:
        return None

    def on_end(self, run: RunView) -> None:
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
        Each accepted by :func:`xpuplan.runtime.api.simulate`.

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
        "plan_only": policy_plan_only(name),
        "options": options,
    }


def policy_uses_plan(name: str) -> bool:
    """True when policy ``name`` executes a plan (it takes ``plan=``)."""
    factory = _REGISTRY.get(name)
    return bool(getattr(factory, "uses_plan", False))


def policy_plan_only(name: str) -> bool:
    """True when policy ``name`` is a plan executor: it runs the plan's jobs and nothing else."""
    factory = _REGISTRY.get(name)
    return bool(getattr(factory, "plan_only", False))


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
