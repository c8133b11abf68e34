"""From a scenario on a platform to a :class:`xpuplan.runtime.workload.Workload`.

Each (model, parameters) is turned into a kernel DAG once
(:func:`xpuplan.models.kernels.build_kernel_dag`) and cached. A task's models run as a chain; an LLM
task (the scenario's convention: its *first* model is the LLM, as in :mod:`xpuplan.planner.unroll`)
becomes

1. the prefill over ``prompt_tokens``, chunked by the task's ``chunk_tokens`` (each chunk
   coarsened to ``kernels_per_chunk`` kernels, so chunk boundaries stay preemption points),
2. ``output_tokens - 1`` decode steps, costed by a :class:`~xpuplan.runtime.workload.DecodeTable`
   sampled from the decode kernel DAG collapsed to one kernel, at the KV lengths the scenario's
   requests span and at batch sizes 1 to 32 (one table per model, so requests of different tasks of
   one model batch together),
3. the rest of the chain (e.g. a speech synthesiser), as one DAG.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xpuplan.models.kernels import build_kernel_dag
from xpuplan.models.platform import Platform
from xpuplan.models.scenario import ModelRef, Scenario, Task
from xpuplan.runtime.workload import (
    DagStage,
    DecodeStage,
    DecodeTable,
    JobTemplate,
    Stage,
    TaskSpec,
    Workload,
    collapse_modes,
    relative_deadline_us,
)


@dataclass(frozen=True)
class BuildOptions:
    """How models become kernels for the simulator.

    Parameters
    ----------
    max_kernels_per_model
        Coarsening target of a non-LLM model (fewer kernels: a faster simulation, fewer
        preemption points).
    kernels_per_chunk
        Coarsening target per prefill chunk.
    levels
        DVFS levels per device in the modes (``"all"``, ``"top"`` or a count).
    decode_batches
        Batch sizes at which decode steps are costed (interpolated in between).
    resume_cost_us
        Price of resuming a prefill broken between chunks.
    """

    max_kernels_per_model: int = 8
    kernels_per_chunk: int = 2
    levels: str | int = 3
    decode_batches: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    resume_cost_us: int = 0


def _key(ref: ModelRef) -> tuple[str, tuple[tuple[str, Any], ...]]:
    return ref.name, tuple(sorted((k, repr(v)) for k, v in ref.params.items()))


class TemplateCache:
    """Kernel DAGs of one platform, built once per (model, parameters, shape)."""

    def __init__(self, platform: Platform, options: BuildOptions = BuildOptions()) -> None:
        self.platform = platform
        self.options = options
        self._templates: dict[Any, JobTemplate] = {}
        self._tables: dict[Any, DecodeTable] = {}

    def model(self, ref: ModelRef) -> JobTemplate:
        """A whole (non-LLM) model as one template."""
        key = ("model", _key(ref))
        if key not in self._templates:
            graph = build_kernel_dag(
                ref.name,
                self.platform,
                max_kernels=self.options.max_kernels_per_model,
                levels=self.options.levels,
                **dict(ref.params),
            )
            self._templates[key] = JobTemplate.from_kernel_dag(graph, ref.name)
        return self._templates[key]

    def prefill(self, ref: ModelRef, prompt_tokens: int, chunk_tokens: int | None) -> JobTemplate:
        """An LLM's prefill of ``prompt_tokens``, chunked."""
        key = ("prefill", _key(ref), prompt_tokens, chunk_tokens)
        if key not in self._templates:
            num_chunks = math.ceil(prompt_tokens / (chunk_tokens or prompt_tokens))
            graph = build_kernel_dag(
                ref.name,
                self.platform,
                phase="prefill",
                tokens=prompt_tokens,
                chunk_tokens=chunk_tokens,
                max_kernels=num_chunks * self.options.kernels_per_chunk,
                levels=self.options.levels,
                resume_cost_us=self.options.resume_cost_us,
                **dict(ref.params),
            )
            self._templates[key] = JobTemplate.from_kernel_dag(graph, f"{ref.name}:prefill")
        return self._templates[key]

    def decode(self, ref: ModelRef, kv_points: tuple[int, ...]) -> DecodeTable:
        """The decode-step cost table of an LLM over ``kv_points`` and the batch sizes."""
        key = ("decode", _key(ref), kv_points)
        if key not in self._tables:
            steps = {}
            for kv in kv_points:
                for batch in self.options.decode_batches:
                    graph = build_kernel_dag(
                        ref.name,
                        self.platform,
                        phase="decode",
                        kv_len=kv,
                        batch=batch,
                        max_kernels=1,
                        levels=self.options.levels,
                        **dict(ref.params),
                    )
                    kernels = JobTemplate.from_kernel_dag(graph, ref.name).kernels
                    steps[(kv, batch)] = collapse_modes(kernels)
            self._tables[key] = DecodeTable.from_steps(
                ref.name, kv_points, self.options.decode_batches, steps
            )
        return self._tables[key]


def build_workload(
    platform: Platform,
    scenario: Scenario,
    options: BuildOptions = BuildOptions(),
    *,
    cache: TemplateCache | None = None,
    power_budget_w: float | None = None,
) -> Workload:
    """The scenario's tasks as the simulator runs them on ``platform``.

    The power budget is ``power_budget_w``, else the scenario's, else the platform's.
    """
    cache = (
        cache
        if cache is not None and cache.platform is platform
        else TemplateCache(platform, options)
    )
    kv_ranges: dict[Any, list[int]] = {}
    for task in scenario.tasks:
        if task.is_llm:
            prompt = task.prompt_tokens or 1
            span = kv_ranges.setdefault(_key(task.models[0]), [prompt + 1, prompt + 1])
            span[0] = min(span[0], prompt + 1)
            span[1] = max(span[1], prompt + max(task.output_tokens or 1, 2) - 1)
    delay = math.ceil(platform.transfer_delay_us(0.0))
    tasks = tuple(_task_spec(task, cache, kv_ranges, delay) for task in scenario.tasks)
    budget = power_budget_w
    if budget is None:
        budget = (
            scenario.power_budget_w
            if scenario.power_budget_w is not None
            else platform.power_budget_w
        )
    return Workload(f"{scenario.name}@{platform.name}", tasks, budget, float(delay))


def _task_spec(
    task: Task, cache: TemplateCache, kv_ranges: Mapping[Any, list[int]], delay: int
) -> TaskSpec:
    common: dict[str, Any] = {
        "cls": task.cls,
        "priority": task.priority,
        "arrival": task.arrival,
        "deadline_us": relative_deadline_us(task),
    }
    if not task.is_llm:
        parts = [cache.model(ref) for ref in task.models]
        return TaskSpec(
            task.name, (DagStage(JobTemplate.chain(task.name, parts, delay)),), **common
        )
    llm = task.models[0]
    prompt = task.prompt_tokens or 1
    output = task.output_tokens or 1
    stages: list[Stage] = [DagStage(cache.prefill(llm, prompt, task.chunk_tokens))]
    if output > 1:
        lo, hi = kv_ranges[_key(llm)]
        table = cache.decode(llm, (lo, hi) if hi > lo else (lo,))
        stages.append(DecodeStage(table, output - 1, prompt + 1))
    if len(task.models) > 1:
        rest = [cache.model(ref) for ref in task.models[1:]]
        stages.append(DagStage(JobTemplate.chain(f"{task.name}:after", rest, delay)))
    return TaskSpec(task.name, tuple(stages), output_tokens=output, first_token_stage=0, **common)
