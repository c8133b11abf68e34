"""From a platform and a scenario to a problem Instance.

Each known task becomes a *job template* once (its models' kernel DAGs, chained, with modes on
every device that supports them), then one job per arrival over the planning horizon:

* periodic tasks over their hyperperiod (the least common multiple of the exact rational periods:
  30 FPS and 50 Hz align every 100 ms), or over the horizon the user gives;
* other known arrivals (Poisson, traces) over the scenario's horizon, drawn with a seed;
* unknown arrivals (reactive requests) are left to the runtime, unless ``include_unknown`` asks
  for the clairvoyant problem (every arrival of a sampled trace known in advance).

LLM requests become the chunked prefill DAG followed by the decode steps, grouped
``decode_tokens_per_kernel`` tokens to a kernel (each group costed at its middle KV length) so
that an answer of 128 tokens is 8 kernels, not 128.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import networkx as nx

from xpuplan.models import (
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
from xpuplan.models.kernels import build_kernel_dag
from xpuplan.models.platform import Platform
from xpuplan.models.scenario import Periodic, Scenario, Task, arrival_times_us, hyperperiod

MEM_BW_RESOURCE = "mem_bw_gbps"
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
    max_kernels_per_model
        Coarsening target per model, to keep solver instances small.
    kernels_per_chunk
        Coarsening target per LLM prefill chunk.
    levels
        DVFS levels per device in the modes: ``"all"``, ``"top"`` or a count.
    decode_tokens_per_kernel
        Decode steps grouped into one kernel.
    dvfs
        ``"per-kernel"`` or ``"per-device"`` (a static level per device).
    memory_bandwidth
        Add the shared memory bandwidth as a renewable resource.
    include_unknown
        Plan unknown arrivals too (the clairvoyant problem).
    resume_cost_us
        Price of breaking an LLM prefill between chunks (checkpointing its state).
    """

    horizon_s: float | None = None
    seed: int = 0
    objective: str | None = None
    power_cap_w: float | None = None
    max_kernels_per_model: int = 6
    kernels_per_chunk: int = 2
    levels: str | int = 3
    decode_tokens_per_kernel: int = 16
    dvfs: str = "per-kernel"
    memory_bandwidth: bool = False
    include_unknown: bool = False
    resume_cost_us: int = 0


@dataclass(frozen=True)
class _Template:
    """One job of a task, with kernel names local to the job."""

    kernels: tuple[tuple[str, tuple[Mode, ...], dict[str, str | int | float | bool]], ...]
    edges: tuple[tuple[str, str, int, int], ...]
    fastest_us: int  # critical path with the fastest modes: no job of the task can be faster


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
        The scenario (:func:`xpuplan.models.scenarios.get_scenario`, or a YAML file's).
    options
        Horizon, seed, objective, power cap, kernel granularity, DVFS levels...

    Returns
    -------
    Instance
        Named ``scenario@platform[power mode]``, times in us; job ``task@i`` is the task's
        ``i``-th arrival, its kernels ``task@i/<kernel>`` carry the ``task`` attribute.

    Raises
    ------
    InvalidInput
        When a model is unknown or unsupported on every device, when the scenario has nothing
        to plan, or when a hard deadline is shorter than the fastest possible run of its task.

    Examples
    --------
    >>> from xpuplan.models.presets import get_platform
    >>> from xpuplan.models.scenarios import get_scenario
    >>> inst = build_instance(get_platform("jetson-orin-nx-16gb"), get_scenario("gaming"))
    >>> inst.num_jobs, inst.objective.type, inst.power_cap_w is not None
    (3, 'lexicographic', True)
    """
    tasks = _planned_tasks(scenario, options)
    if not tasks:
        raise InvalidInput(
            f"scenario {scenario.name!r} has no known arrivals to plan (all are reactive); "
            "plan the clairvoyant problem with --include-unknown",
            field="scenario",
            value=scenario.name,
        )
    objective = Objective.parse(options.objective or scenario.objective)
    horizon_us = planning_horizon_us(scenario, options)
    rng = random.Random(options.seed)

    jobs: list[Job] = []
    kernels: list[Kernel] = []
    edges: list[Edge] = []
    for task in scenario.tasks:
        # Draw every task's arrivals, planned or not, so a task's trace does not depend on
        # which other tasks are planned (the runtime draws the same traces with the same seed).
        times = arrival_times_us(task, horizon_us, rng)
        if task not in tasks or not times:
            continue
        template = _template(platform, task, options)
        deadline_us = task.relative_deadline_ms
        if deadline_us is not None and not objective.soft_deadlines:
            _check_deadline_possible(task, deadline_us, template, platform)
        for arr_idx, release in enumerate(times):
            job = f"{task.name}@{arr_idx}"
            deadline = None if deadline_us is None else release + math.floor(deadline_us * 1000)
            jobs.append(Job(job, release, deadline, float(task.priority)))
            for local, modes, attrs in template.kernels:
                kernels.append(Kernel(f"{job}/{local}", job, modes, attrs))
            for src, dst, delay, resume in template.edges:
                edges.append(Edge(f"{job}/{src}", f"{job}/{dst}", delay, resume))

    power_cap = options.power_cap_w
    if power_cap is None:
        power_cap = (
            scenario.power_budget_w
            if scenario.power_budget_w is not None
            else platform.power_budget_w
        )
    resources = (
        (Resource(MEM_BW_RESOURCE, platform.mem_bw_gbps),) if options.memory_bandwidth else ()
    )
    if not options.memory_bandwidth:
        kernels = [_without_demands(k) for k in kernels]
    name = f"{scenario.name}@{platform.name}"
    if platform.power_mode:
        name += f"[{platform.power_mode}]"
    return Instance(
        name=name,
        devices=tuple(Device(d.name, d.units, d.idle_power_w, d.kind) for d in platform.devices),
        jobs=tuple(jobs),
        kernels=tuple(kernels),
        edges=tuple(edges),
        objective=objective,
        resources=resources,
        power_cap_w=power_cap,
        dvfs=options.dvfs,
        time_unit="us",
    )


def _planned_tasks(scenario: Scenario, options: PlanningOptions) -> list[Task]:
    return [t for t in scenario.tasks if t.known or options.include_unknown]


def _without_demands(kernel: Kernel) -> Kernel:
    if not any(m.demands for m in kernel.modes):
        return kernel
    modes = tuple(Mode(m.device, m.level, m.duration, m.power_w) for m in kernel.modes)
    return Kernel(kernel.name, kernel.job, modes, kernel.attrs)


def _check_deadline_possible(
    task: Task, deadline_ms: float, template: _Template, platform: Platform
) -> None:
    if template.fastest_us > deadline_ms * 1000:
        raise InvalidInput(
            f"task {task.name!r}: the deadline {deadline_ms:g} ms is shorter than the fastest "
            f"possible run of its models on {platform.name} ({template.fastest_us / 1000:g} ms)",
            field=f"tasks.{task.name}.deadline_ms",
            value=round(deadline_ms, 3),
        )


# ---------------------------------------------------------------------- job templates
def _template(platform: Platform, task: Task, options: PlanningOptions) -> _Template:
    """Kernel DAGs of the task's model chain, joined last kernels -> first kernels."""
    parts: list[nx.DiGraph] = []
    for m_idx, ref in enumerate(task.models):
        try:
            if task.is_llm and m_idx == 0:
                parts.append(_llm_graph(platform, task, ref.name, dict(ref.params), options))
            else:
                parts.append(
                    build_kernel_dag(
                        ref.name,
                        platform,
                        max_kernels=options.max_kernels_per_model,
                        levels=options.levels,
                        **dict(ref.params),
                    )
                )
        except InvalidInput as exc:
            raise exc.under(f"tasks.{task.name}.models[{m_idx}]") from None

    kernels: list[tuple[str, tuple[Mode, ...], dict[str, str | int | float | bool]]] = []
    edges: list[tuple[str, str, int, int]] = []
    previous_sinks: list[str] = []
    chain = len(parts) > 1
    for p_idx, graph in enumerate(parts):
        prefix = f"m{p_idx}." if chain else ""
        ref = task.models[p_idx]
        for node in nx.topological_sort(graph):
            data = graph.nodes[node]
            attrs: dict[str, str | int | float | bool] = {
                "task": task.name,
                "model": ref.name,
                "class": task.cls,
            }
            for key in ("label", "layer", "chunk", "phase"):
                if key in data and isinstance(data[key], str | int | float | bool):
                    attrs[key] = data[key]
            kernels.append((f"{prefix}{node}", tuple(data["modes"]), attrs))
        for src, dst, data in graph.edges(data=True):
            edges.append(
                (
                    f"{prefix}{src}",
                    f"{prefix}{dst}",
                    int(data.get("cross_device_delay", 0)),
                    int(data.get("resume_cost", 0)),
                )
            )
        sources = [f"{prefix}{n}" for n in graph.nodes if graph.in_degree(n) == 0]
        delay = math.ceil(platform.transfer_delay_us(0.0))
        for src in previous_sinks:
            for dst in sources:
                edges.append((src, dst, delay, 0))
        previous_sinks = [f"{prefix}{n}" for n in graph.nodes if graph.out_degree(n) == 0]
    return _Template(tuple(kernels), tuple(edges), _fastest_path_us(kernels, edges))


def _llm_graph(
    platform: Platform, task: Task, model: str, params: dict[str, Any], options: PlanningOptions
) -> nx.DiGraph:
    """Chunked prefill, then the decode steps grouped into kernels, as one kernel DAG."""
    assert task.prompt_tokens is not None
    chunk = task.chunk_tokens or task.prompt_tokens
    num_chunks = math.ceil(task.prompt_tokens / chunk)
    prefill = build_kernel_dag(
        model,
        platform,
        phase="prefill",
        tokens=task.prompt_tokens,
        chunk_tokens=task.chunk_tokens,
        max_kernels=num_chunks * options.kernels_per_chunk,
        levels=options.levels,
        resume_cost_us=options.resume_cost_us,
        **params,
    )
    graph = nx.relabel_nodes(prefill, {n: f"prefill.{n}" for n in prefill.nodes})
    for node in graph.nodes:
        graph.nodes[node]["phase"] = "prefill"
    tails = [n for n in graph.nodes if graph.out_degree(n) == 0]
    output = task.output_tokens or 0
    group = max(1, options.decode_tokens_per_kernel)
    done = 0
    g_idx = 0
    while done < output:
        size = min(group, output - done)
        kv_mid = task.prompt_tokens + done + size // 2
        step = build_kernel_dag(
            model,
            platform,
            phase="decode",
            kv_len=kv_mid,
            batch=1,
            max_kernels=1,
            levels=options.levels,
            **params,
        )
        (node,) = step.nodes
        modes = tuple(
            Mode(m.device, m.level, m.duration * size, m.power_w, dict(m.demands))
            for m in step.nodes[node]["modes"]
        )
        name = f"decode.{g_idx}"
        graph.add_node(name, modes=modes, label=f"decode x{size}", phase="decode", chunk=g_idx)
        for tail in tails:
            graph.add_edge(
                tail,
                name,
                cross_device_delay=math.ceil(platform.transfer_delay_us(0.0)),
                resume_cost=0,
            )
        tails = [name]
        done += size
        g_idx += 1
    return graph


def _fastest_path_us(
    kernels: list[tuple[str, tuple[Mode, ...], dict[str, str | int | float | bool]]],
    edges: list[tuple[str, str, int, int]],
) -> int:
    fastest = {name: min(m.duration for m in modes) for name, modes, _ in kernels}
    preds: dict[str, list[str]] = {name: [] for name in fastest}
    for src, dst, _, _ in edges:
        preds[dst].append(src)
    finish: dict[str, int] = {}
    for name, _, _ in kernels:  # kernels are listed in topological order per model
        finish[name] = (
            max((finish[p] for p in preds[name] if p in finish), default=0) + fastest[name]
        )
    return max(finish.values(), default=0)
