"""From a platform and a scenario to a problem Instance: the workload, unrolled over a horizon.

The scenario is compiled once into job templates (:func:`xpuplan.models.workload.compile_workload`,
the compiler the runtime simulates too), then each known task gets one job per arrival over the
planning horizon:

* periodic tasks over their hyperperiod (the least common multiple of the exact rational periods:
  30 FPS and 50 Hz align every 100 ms), or over the horizon the user gives;
* other known arrivals (Poisson, listed times) over the scenario's horizon, drawn with a seed;
* unknown arrivals (reactive requests) are left to the runtime, unless ``include_unknown`` asks
  for the clairvoyant problem (every sampled arrival known in advance).

With a robustness margin (``noise_cv`` and ``quantile``, :class:`xpuplan.models.margin.Margin`)
the instance a plan is solved on has every duration at that quantile of the runtime's latency
noise (:attr:`Planned.planned_instance`); :attr:`Planned.instance` keeps the nominal durations
the runtime executes.

A job is its task's whole template (:attr:`xpuplan.models.workload.TaskSpec.job_template`): an
LLM request is the chunked prefill, which yields the first token, then its ``output_tokens - 1``
decode steps grouped ``decode_tokens_per_kernel`` to a kernel.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import cached_property

from xpuplan.models import (
    MEM_BW,
    Device,
    Edge,
    Instance,
    InvalidInput,
    Job,
    Kernel,
    Mode,
    Objective,
    Resource,
)
from xpuplan.models.margin import Margin, inflate
from xpuplan.models.platform import Platform
from xpuplan.models.scenario import Periodic, Scenario, Task, arrival_times_us, hyperperiod
from xpuplan.models.workload import CompileOptions, JobTemplate, Workload, compile_workload
from xpuplan.planner.contention import contention_kernel, planned_capacity_gbps

# Without periodic tasks and without a scenario horizon, plan one minute of arrivals.
DEFAULT_HORIZON_S = 60.0


@dataclass(frozen=True)
class PlanningOptions:
    """How a scenario is unrolled into an Instance.

    Parameters
    ----------
    horizon_s
        Planning horizon; default the hyperperiod of the periodic tasks, else the scenario's.
    seed
        Seed of the sampled arrivals (Poisson tasks).
    objective
        Overrides the scenario's objective (e.g. ``"late_jobs,energy"``).
    power_cap_w
        Overrides the power cap (default: the scenario's budget, else the platform's).
    dvfs
        ``"per-kernel"`` or ``"per-device"`` (a static level per device).
    memory_bandwidth
        Add the shared memory bandwidth as a renewable resource.
    contention
        Plan so that the runtime's bandwidth contention never slows a kernel: the
        ``mem_bw_gbps`` resource at the runtime's contention capacity (with
        ``memory_bandwidth`` too, the smaller of the two), demands clipped there
        (:mod:`xpuplan.planner.contention`).
    include_unknown
        Plan unknown arrivals too (the clairvoyant problem).
    workload
        How models become kernels (coarsening, levels, decode grouping, resume cost): the
        compiler's options, with the defaults the runtime uses too.
    noise_cv, quantile
        A robustness margin (:attr:`margin`): plan every kernel at the ``quantile`` (in (0, 1))
        of the runtime's lognormal latency noise of coefficient of variation ``noise_cv``. Both
        or neither.
    """

    horizon_s: float | None = None
    seed: int = 0
    objective: str | None = None
    power_cap_w: float | None = None
    dvfs: str = "per-kernel"
    memory_bandwidth: bool = False
    contention: bool = False
    include_unknown: bool = False
    workload: CompileOptions = field(default_factory=CompileOptions)
    noise_cv: float | None = None
    quantile: float | None = None

    @property
    def margin(self) -> Margin | None:
        """The robustness margin of ``noise_cv`` and ``quantile`` (None when neither is given).

        Raises
        ------
        InvalidInput
            When only one is given, or one is out of range.
        """
        if self.noise_cv is None and self.quantile is None:
            return None
        if self.quantile is None:
            raise InvalidInput(
                "needs a quantile to plan at (e.g. quantile=0.99)",
                field="noise_cv",
                value=self.noise_cv,
            )
        if self.noise_cv is None:
            raise InvalidInput(
                "needs the noise_cv it is a quantile of", field="quantile", value=self.quantile
            )
        return Margin(self.noise_cv, self.quantile)


def planning_horizon_us(scenario: Scenario, options: PlanningOptions) -> int:
    """The horizon in us: the option, else the hyperperiod, else the scenario's, else a minute."""
    if options.horizon_s is not None:
        if not options.horizon_s > 0:
            raise InvalidInput("must be > 0", field="horizon", value=options.horizon_s)
        return round(options.horizon_s * 1_000_000)
    tasks = _planned_tasks(scenario, options)
    if tasks and all(isinstance(t.arrival, Periodic) for t in tasks):
        periods = [t.arrival.period for t in tasks if isinstance(t.arrival, Periodic)]
        return round(hyperperiod(periods) * 1_000_000)
    return round((scenario.horizon_s or DEFAULT_HORIZON_S) * 1_000_000)


def build_instance(
    platform: Platform, scenario: Scenario, options: PlanningOptions = PlanningOptions()
) -> Instance:
    """The Instance of ``scenario`` on ``platform`` (see the module docstring).

    Parameters
    ----------
    platform
        The platform (:func:`xpuplan.models.presets.get_platform`, or a YAML file's).
    scenario
        The scenario (:func:`xpuplan.models.presets.scenarios.get_scenario`, or a YAML file's).
    options
        Horizon, seed, objective, power cap, kernel granularity, DVFS levels...

    Returns
    -------
    Instance
        Named ``scenario@platform[power mode]``, times in us; job ``task@i`` is the task's
        ``i``-th arrival, its kernels ``task@i/<kernel>`` carry the ``task`` attribute. With a
        margin in ``options``, the durations are at its quantile
        (:attr:`Planned.planned_instance`).

    Raises
    ------
    InvalidInput
        When a model is unknown or unsupported on every device, when the scenario has nothing
        to plan (no planned task, or no arrival within the horizon), or when a hard deadline
        is shorter than the fastest possible run of its task.

    Examples
    --------
    >>> from xpuplan.models.presets import get_platform
    >>> from xpuplan.models.presets.scenarios import get_scenario
    >>> inst = build_instance(get_platform("jetson-orin-nx-16gb"), get_scenario("gaming"))
    >>> inst.num_jobs, inst.objective.type, inst.power_cap_w is not None
    (3, 'lexicographic', True)
    """
    return build_planned(platform, scenario, options).planned_instance


@dataclass(frozen=True)
class Planned:
    """An Instance with what it was built from: the workload, each job's task, the period.

    ``instance`` has the workload's nominal durations; :attr:`planned_instance` is the one to
    solve (the same with a robustness ``margin`` applied).
    """

    instance: Instance
    workload: Workload
    job_tasks: dict[str, str]
    horizon_us: int
    #: The horizon when every planned task is periodic (the plan repeats), else None.
    period_us: int | None
    margin: Margin | None = None

    @cached_property
    def planned_instance(self) -> Instance:
        """The instance to solve: :attr:`instance` with every duration at the margin's quantile
        (:func:`xpuplan.models.margin.inflate`), or :attr:`instance` without a margin."""
        return inflate(self.instance, self.margin)


def build_planned(
    platform: Platform, scenario: Scenario, options: PlanningOptions = PlanningOptions()
) -> Planned:
    """:func:`build_instance`, keeping the workload, the task of every job and the period."""
    margin = options.margin  # refuse a bad margin before compiling anything
    tasks = _planned_tasks(scenario, options)
    if not tasks:
        raise InvalidInput(
            f"scenario {scenario.name!r} has no known arrivals to plan (all are reactive); "
            "plan the clairvoyant problem with --include-unknown",
            field="scenario",
            value=scenario.name,
        )
    workload = compile_workload(
        platform,
        scenario,
        options.workload,
        tasks={t.name for t in tasks},
        power_budget_w=options.power_cap_w,
    )
    instance, job_tasks = unroll(workload, platform, scenario, options)
    horizon_us = planning_horizon_us(scenario, options)
    if not instance.jobs:
        raise InvalidInput(
            f"no arrival of the planned tasks of {scenario.name!r} falls within the horizon "
            f"({horizon_us / 1e6:g} s, seed {options.seed}); plan a longer horizon",
            field="horizon",
            value=horizon_us / 1e6,
        )
    periodic = all(isinstance(t.arrival, Periodic) for t in tasks)
    return Planned(
        instance, workload, job_tasks, horizon_us, horizon_us if periodic else None, margin
    )


def unroll(
    workload: Workload, platform: Platform, scenario: Scenario, options: PlanningOptions
) -> tuple[Instance, dict[str, str]]:
    """The jobs of ``workload``'s tasks released over the planning horizon, as an Instance.

    Also the task of every job, by job name (jobs are named ``<task>@<arrival index>``, but
    nothing should parse that).

    Arrivals are drawn for every task of the scenario in order, planned or not, with one
    :class:`random.Random` seeded with ``options.seed``, so a task's arrivals do not depend on
    which other tasks are planned: the runtime draws the same arrivals with the same seed
    (:meth:`xpuplan.models.workload.Workload.arrival_times_us`). Tasks that ``workload`` lacks
    are not planned.
    """
    objective = Objective.parse(options.objective or scenario.objective)
    horizon_us = planning_horizon_us(scenario, options)
    rng = random.Random(options.seed)
    compiled = {spec.name: spec for spec in workload.tasks}

    jobs: list[Job] = []
    job_tasks: dict[str, str] = {}
    kernels: list[Kernel] = []
    edges: list[Edge] = []
    for task in scenario.tasks:
        times = arrival_times_us(task, horizon_us, rng)
        spec = compiled.get(task.name)
        if spec is None or not times:
            continue
        template = spec.job_template
        relative_us = spec.deadline_us
        if relative_us is not None and not objective.soft_deadlines:
            _check_deadline_possible(task, template, platform)
        for arr_idx, release in enumerate(times):
            job = f"{task.name}@{arr_idx}"
            deadline = None if relative_us is None else release + math.floor(relative_us)
            jobs.append(Job(job, release, deadline, float(task.priority)))
            job_tasks[job] = task.name
            for ker in template.kernels:
                kernels.append(Kernel(f"{job}/{ker.name}", job, ker.modes, dict(ker.attrs)))
            for edge in template.edges:
                edges.append(
                    Edge(
                        f"{job}/{template.kernels[edge.src].name}",
                        f"{job}/{template.kernels[edge.dst].name}",
                        edge.cross_device_delay,
                        edge.resume_cost,
                    )
                )

    capacity = bandwidth_capacity_gbps(platform, options)
    resources = () if capacity is None else (Resource(MEM_BW, capacity),)
    if capacity is None:
        kernels = [_without_demands(k) for k in kernels]
    elif options.contention:
        kernels = [contention_kernel(k, capacity) for k in kernels]
    name = f"{scenario.name}@{platform.name}"
    if platform.power_mode:
        name += f"[{platform.power_mode}]"
    instance = Instance(
        name=name,
        devices=tuple(Device(d.name, d.units, d.idle_power_w, d.kind) for d in platform.devices),
        jobs=tuple(jobs),
        kernels=tuple(kernels),
        edges=tuple(edges),
        objective=objective,
        resources=resources,
        power_cap_w=workload.power_budget_w,
        dvfs=options.dvfs,
        time_unit="us",
    )
    return instance, job_tasks


def bandwidth_capacity_gbps(platform: Platform, options: PlanningOptions) -> float | None:
    """The capacity of the instance's ``mem_bw_gbps`` resource (None: no such resource): the
    platform's peak with ``memory_bandwidth``, the runtime's contention capacity with
    ``contention`` (:func:`xpuplan.planner.contention.planned_capacity_gbps`), the smaller with
    both."""
    capacities = []
    if options.memory_bandwidth:
        capacities.append(platform.mem_bw_gbps)
    if options.contention:
        capacities.append(planned_capacity_gbps(platform))
    return min(capacities) if capacities else None


def _planned_tasks(scenario: Scenario, options: PlanningOptions) -> list[Task]:
    return [t for t in scenario.tasks if t.known or options.include_unknown]


def _without_demands(kernel: Kernel) -> Kernel:
    if not any(m.demands for m in kernel.modes):
        return kernel
    modes = tuple(Mode(m.device, m.level, m.duration, m.power_w) for m in kernel.modes)
    return Kernel(kernel.name, kernel.job, modes, kernel.attrs)


def _check_deadline_possible(task: Task, template: JobTemplate, platform: Platform) -> None:
    deadline_ms = task.relative_deadline_ms
    if deadline_ms is not None and template.fastest_us > deadline_ms * 1000:
        raise InvalidInput(
            f"task {task.name!r}: the deadline {deadline_ms:g} ms is shorter than the fastest "
            f"possible run of its models on {platform.name} ({template.fastest_us / 1000:g} ms)",
            field=f"tasks.{task.name}.deadline_ms",
            value=round(deadline_ms, 3),
        )
