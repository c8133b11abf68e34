"""The one way to make a plan: build the instance, solve it, derive the settings, wrap a Plan.

Every command that needs a plan (``xpuplan plan``, ``xpuplan simulate`` without ``--plan``) goes
through :func:`make_plan`, so plans carry the same typed fields (platform, power mode, scenario,
period, the task of every job; :class:`xpuplan.models.plan.Plan`) wherever they come from.

Robust plans: with ``PlanningOptions(noise_cv=..., quantile=...)`` the solver plans every kernel
at that quantile of the runtime's latency noise (:mod:`xpuplan.models.margin`). The plan keeps
the nominal instance (what the runtime executes) and records the margin; its schedule is one of
:attr:`xpuplan.models.plan.Plan.planned_instance`. The solver's objective is that instance's:
an energy objective counts each kernel's power over its *planned* (inflated) duration, so it
overstates the dynamic energy a run draws by about the margin's factor (the lognormal noise has
mean 1); the power cap is checked over the inflated intervals, which is conservative. The honest
energy of a robust plan is the simulated one (``xpuplan simulate --plan``). The margin covers
kernel durations only, not cross-device delays or resume costs (a kernel that ends before its
slot breaks an edge the plan had contiguous, and the runtime charges its resume cost).
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
        What to plan and how to unroll it (:func:`xpuplan.planner.unroll.build_planned`);
        ``options.noise_cv`` and ``options.quantile`` ask for a robust plan (see the module
        docstring).
    solver, time_limit, workers
        Passed to :func:`xpuplan.solvers.solve`, with ``options.seed`` as the solver's seed.
    planned
        The instance already built from the same arguments (saves building it twice; a
        different margin raises ``ValueError``).
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
        result (``.result``: status, objective, bound, of the planned instance) and the
        unrolled instance (``.planned``).

    Examples
    --------
    >>> import xpuplan
    >>> platform = xpuplan.get_platform("jetson-orin-nx-16gb")
    >>> made = make_plan(platform, xpuplan.get_scenario("video-call"), solver="heft")
    >>> made.result.status, made.plan.platform, made.plan.scenario
    ('feasible', 'jetson-orin-nx-16gb', 'video-call')
    >>> xpuplan.check_schedule(made.plan.planned_instance, made.plan.schedule)
    []

    A robust plan, every kernel at the 99th percentile of 10 % latency noise:

    >>> from xpuplan.planner.unroll import PlanningOptions
    >>> robust = make_plan(platform, xpuplan.get_scenario("video-call"),
    ...                    PlanningOptions(noise_cv=0.1, quantile=0.99), solver="heft")
    >>> robust.plan.margin
    Margin(noise_cv=0.1, quantile=0.99)
    >>> xpuplan.check_schedule(robust.plan.planned_instance, robust.plan.schedule)
    []
    """
    options = options or PlanningOptions()
    if contention is not None and contention != options.contention:
        if planned is not None:
            raise ValueError("planned was built without the contention option given")
        options = replace(options, contention=contention)
    if planned is None:
        planned = build_planned(platform, scenario, options)
    elif planned.margin != options.margin:
        raise ValueError(
            f"planned was built with margin {planned.margin}, the options ask for "
            f"{options.margin}: build it from the same options"
        )
    instance = planned.planned_instance
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
        planned.instance,
        result.schedule,
        settings,
        platform=platform.name,
        power_mode=platform.power_mode,
        scenario=scenario.name,
        period_us=planned.period_us,
        job_tasks=planned.job_tasks,
        margin=planned.margin,
    )
    return Made(plan, result, planned)
