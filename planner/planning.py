"""The one way to make a plan: build the instance, solve it, derive the settings, wrap a Plan.

Every command that needs a plan (``xpuplan plan``, ``xpuplan simulate`` without ``--plan``) goes
through :func:`make_plan`, so plans carry the same typed fields (platform, power mode, scenario,
period, the task of every job; :class:`xpuplan.models.plan.Plan`) wherever they come from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from xpuplan.models.plan import Plan, plan_settings
from xpuplan.models.platform import Platform
from xpuplan.models.scenario import Scenario
from xpuplan.planner.contention import SETTINGS_KEY, contention_settings
from xpuplan.planner.unroll import Planned, PlanningOptions, build_planned
from xpuplan.solvers import solve
from xpuplan.solvers.result import Result


@dataclass(frozen=True)
class Made:
    """A plan, the solver's result behind it and the instance it was built from."""

    plan: Plan
    result: Result
    planned: Planned


def make_plan(
    platform: Platform,
    scenario: Scenario,
    options: PlanningOptions | None = None,
    *,
    solver: str = "cpsat",
    time_limit: float | None = None,
    workers: int | None = None,
    planned: Planned | None = None,
    solve_options: Mapping[str, Any] | None = None,
    contention: bool | None = None,
) -> Made:
    """Plan ``scenario`` on ``platform``: instance, solve, settings, :class:`Plan`.

    The solve checks its schedule (:func:`xpuplan.solvers.solve` raises
    :class:`xpuplan.models.InternalError` for a schedule the checker rejects), so the plan's
    schedule is valid or has no assignments (no solution found: ``result.status`` says why).

    Parameters
    ----------
    platform, scenario, options
        What to plan and how to unroll it (:func:`xpuplan.planner.unroll.build_planned`).
    solver, time_limit, workers
        Passed to :func:`xpuplan.solvers.solve`, with ``options.seed`` as the solver's seed.
    planned
        The instance already built from the same arguments (saves building it twice).
    solve_options
        More keyword arguments of :func:`xpuplan.solvers.solve` (e.g. a progress callback).
    contention
        Plan so that the runtime's memory-bandwidth contention never slows a kernel
        (:mod:`xpuplan.planner.contention`); overrides ``options.contention``. The plan records
        it in ``settings["contention"]``.

    Returns
    -------
    Made
        The plan (``.plan``, save it with :func:`xpuplan.models.plan.save_plan`), the solver's
        result (``.result``: status, objective, bound) and the unrolled instance (``.planned``).

    Examples
    --------
    >>> import xpuplan
    >>> platform = xpuplan.get_platform("jetson-orin-nx-16gb")
    >>> made = make_plan(platform, xpuplan.get_scenario("video-call"), solver="heft")
    >>> made.result.status, made.plan.platform, made.plan.scenario
    ('feasible', 'jetson-orin-nx-16gb', 'video-call')
    >>> xpuplan.check_schedule(made.plan.instance, made.plan.schedule)
    []
    """
    options = options or PlanningOptions()
    if contention is not None and contention != options.contention:
        if planned is not None:
            raise ValueError("planned was built without the contention option given")
        options = replace(options, contention=contention)
    if planned is None:
        planned = build_planned(platform, scenario, options)
    instance = planned.instance
    result = solve(
        instance,
        solver,
        time_limit=time_limit,
        workers=workers,
        seed=options.seed,
        **dict(solve_options or {}),
    )
    context: dict[str, Any] = {"solver": solver, "seed": options.seed}
    if options.contention:
        context[SETTINGS_KEY] = contention_settings(instance)
    settings = plan_settings(instance, result.schedule, **context)
    plan = Plan(
        instance,
        result.schedule,
        settings,
        platform=platform.name,
        power_mode=platform.power_mode,
        scenario=scenario.name,
        period_us=planned.period_us,
        job_tasks=planned.job_tasks,
    )
    return Made(plan, result, planned)
