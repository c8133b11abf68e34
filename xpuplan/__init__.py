"""xpuplan: optimal and provably bounded schedules for AI inference on heterogeneous chips.

Everything a script or a notebook needs is importable from here, in one place::

    import xpuplan

    inst = xpuplan.build_instance(xpuplan.get_platform("ryzen-ai-hx370"),
                                  xpuplan.get_scenario("video-call"))
    res = xpuplan.solve(inst, "heft")
    assert xpuplan.check_schedule(inst, res.schedule) == []
    res.schedule.to_frame(inst)                 # a pandas DataFrame, one row per kernel
    inst.to_networkx()                          # a networkx DiGraph, one node per kernel

:data:`__all__` lists the public surface (``docs/api.md`` describes it with examples); a name
not listed there, here or in a layer's ``__all__`` is private and may change without notice.

The four layers install under this namespace (the repository keeps them as top-level folders,
symlinked here for development tools): :mod:`xpuplan.models` (validated data, the workload
compiler, the checker), :mod:`xpuplan.solvers` (exact solvers, heuristics, bounds),
:mod:`xpuplan.runtime` (simulator and policies) and :mod:`xpuplan.planner` (the user-facing layer
and the command line).

Lazy loading
------------
``import xpuplan`` imports only the data layer (about 0.2 s); the solvers (OR-Tools), pandas,
networkx and the runtime load on first use of a name that needs them (module ``__getattr__``,
PEP 562), so a script pays only for what it uses. Type checkers and IDEs see every name through
the ``TYPE_CHECKING`` imports below; ``tests/test_api.py`` keeps those imports, the lazy table
and :data:`__all__` in step.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from xpuplan.models import __version__

if TYPE_CHECKING:
    from xpuplan.models import (
        Instance,
        InvalidInput,
        Objective,
        Schedule,
        Unsupported,
        XpuplanError,
        check_schedule,
        load_instance,
        load_schedule,
        save_instance,
        save_schedule,
    )
    from xpuplan.models.kernels import build_kernel_dag
    from xpuplan.models.nx import instance_from_networkx
    from xpuplan.models.plan import Plan, load_plan, plan_settings, save_plan
    from xpuplan.models.presets import get_platform, platform_names
    from xpuplan.models.presets.scenarios import get_scenario, scenario_names
    from xpuplan.planner.compare import compare
    from xpuplan.planner.pictures import save_gantt
    from xpuplan.planner.planning import make_plan
    from xpuplan.planner.sweep import sweep
    from xpuplan.planner.unroll import PlanningOptions, build_instance
    from xpuplan.runtime import SimResult, policy_names
    from xpuplan.runtime.api import simulate
    from xpuplan.runtime.real_run import run_plan as run
    from xpuplan.solvers import Result, solve, solver_names

# Public name -> the module that defines it (imported on first use).
_LAZY: dict[str, str] = {
    # Data, files and the checker (xpuplan.models).
    "Instance": "xpuplan.models",
    "Schedule": "xpuplan.models",
    "Objective": "xpuplan.models",
    "Plan": "xpuplan.models.plan",
    "load_instance": "xpuplan.models",
    "save_instance": "xpuplan.models",
    "load_schedule": "xpuplan.models",
    "save_schedule": "xpuplan.models",
    "load_plan": "xpuplan.models.plan",
    "save_plan": "xpuplan.models.plan",
    "plan_settings": "xpuplan.models.plan",
    "check_schedule": "xpuplan.models",
    # Errors: every error xpuplan raises on purpose is an XpuplanError.
    "XpuplanError": "xpuplan.models",
    "InvalidInput": "xpuplan.models",
    "Unsupported": "xpuplan.models",
    # Platforms, scenarios, kernel DAGs, networkx.
    "get_platform": "xpuplan.models.presets",
    "platform_names": "xpuplan.models.presets",
    "get_scenario": "xpuplan.models.presets.scenarios",
    "scenario_names": "xpuplan.models.presets.scenarios",
    "build_kernel_dag": "xpuplan.models.kernels",
    "instance_from_networkx": "xpuplan.models.nx",
    # Planning and solving.
    "build_instance": "xpuplan.planner.unroll",
    "PlanningOptions": "xpuplan.planner.unroll",
    "solve": "xpuplan.solvers",
    "solver_names": "xpuplan.solvers",
    "Result": "xpuplan.solvers",
    "compare": "xpuplan.planner.compare",
    "save_gantt": "xpuplan.planner.pictures",
    "make_plan": "xpuplan.planner.planning",
    "sweep": "xpuplan.planner.sweep",
    # The runtime.
    "simulate": "xpuplan.runtime.api",
    "SimResult": "xpuplan.runtime",
    "policy_names": "xpuplan.runtime",
    "run": "xpuplan.runtime.real_run",  # run_plan: a plan on ONNX Runtime (see _RENAMED)
}

# Public names that their module spells differently (public name -> the module's name).
_RENAMED: dict[str, str] = {"run": "run_plan"}

# Spelled out (not derived from _LAZY) so that linters see what the TYPE_CHECKING imports are for.
__all__ = [
    "Instance",
    "InvalidInput",
    "Objective",
    "Plan",
    "PlanningOptions",
    "Result",
    "Schedule",
    "SimResult",
    "Unsupported",
    "XpuplanError",
    "__version__",
    "build_instance",
    "build_kernel_dag",
    "check_schedule",
    "compare",
    "get_platform",
    "get_scenario",
    "instance_from_networkx",
    "load_instance",
    "load_plan",
    "load_schedule",
    "make_plan",
    "plan_settings",
    "platform_names",
    "policy_names",
    "run",
    "save_gantt",
    "save_instance",
    "save_plan",
    "save_schedule",
    "scenario_names",
    "simulate",
    "solve",
    "solver_names",
    "sweep",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562) and cache the name here."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'xpuplan' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
