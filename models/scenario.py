"""Scenarios: which AI models run, how often, how urgently.

A :class:`Scenario` lists :class:`Task` s. A task runs a model or a chain of models (the output of
one feeds the next) each time it arrives; arrivals are periodic (a frame rate), Poisson (requests
per minute) or listed times. Its class says what it is for:

* ``periodic``: frames with a deadline of (usually) one period -- vision and audio models;
* ``reactive``: user-facing requests, latency critical (a chat answer);
* ``proactive``: background work, throughput oriented (a summary the agent prepares unasked).

A task is *known* when its arrivals can be planned offline (periodic frames; queued background
work); unknown arrivals (a user's question) are left to the runtime's online policies. Built-in
scenarios are in :mod:`xpuplan.models.presets.scenarios`; users' own load from YAML with
:func:`load_scenario`.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

from xpuplan.models.errors import InvalidInput
from xpuplan.models.fields import (
    MAX_COUNT,
    MAX_REAL,
    MAX_TIME,
    only_known,
    require_int,
    require_positive,
    require_range,
    required,
)
from xpuplan.models.instance import Objective
from xpuplan.models.yamlio import read_yaml

TASK_CLASSES = ("periodic", "reactive", "proactive")
# Periodic rates: a period between 10 us and 1,000 s. The period is kept as a fraction with a
# denominator of at most 10,000 (see Periodic.period), exact for every rate in this range.
MIN_RATE_HZ = 1e-3
MAX_RATE_HZ = 1e5
# Poisson rates in requests per minute: from one in about two years to 100,000 a second.
MIN_RATE_PER_MIN = 1e-6
MAX_RATE_PER_MIN = 6e6
# Times in milliseconds (offsets, deadlines, listed arrivals): at most MAX_TIME us.
MAX_MS = MAX_TIME / 1000
# Horizons in seconds: the largest instance time, MAX_TIME us.
MAX_HORIZON_S = MAX_TIME / 1_000_000
# A model named by a file with this suffix is an ONNX model (:mod:`xpuplan.models.onnx`).
ONNX_SUFFIX = ".onnx"


@dataclass(frozen=True)
class Periodic:
    """Arrivals every ``1 / rate_hz`` seconds, the first at ``offset_ms``."""

    rate_hz: float
    offset_ms: float = 0.0

    def validate(self, where: str) -> None:
        require_range(self.rate_hz, f"{where}.rate_hz", MIN_RATE_HZ, MAX_RATE_HZ)
        require_positive(self.offset_ms, f"{where}.offset_ms", allow_zero=True, maximum=MAX_MS)

    @property
    def period(self) -> Fraction:
        """The period in seconds as an exact fraction (30 FPS -> 1/30 s), for hyperperiods."""
        return 1 / Fraction(self.rate_hz).limit_denominator(10_000)


@dataclass(frozen=True)
class Poisson:
    """Arrivals of a Poisson process at ``rate_per_min`` requests per minute."""

    rate_per_min: float

    def validate(self, where: str) -> None:
        require_range(
            self.rate_per_min, f"{where}.rate_per_min", MIN_RATE_PER_MIN, MAX_RATE_PER_MIN
        )


@dataclass(frozen=True)
class Listed:
    """Arrivals at the listed times (milliseconds from the start)."""

    times_ms: tuple[float, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "times_ms", tuple(self.times_ms))

    def validate(self, where: str) -> None:
        if not self.times_ms:
            raise InvalidInput("must list at least one time", field=f"{where}.times_ms", value=[])
        for t_idx, time in enumerate(self.times_ms):
            require_positive(time, f"{where}.times_ms[{t_idx}]", allow_zero=True, maximum=MAX_MS)
        if list(self.times_ms) != sorted(self.times_ms):
            raise InvalidInput(
                "must be in increasing order", field=f"{where}.times_ms", value=list(self.times_ms)
            )


Arrival = Periodic | Poisson | Listed


@dataclass(frozen=True)
class ModelRef:
    """A model of the zoo (:func:`xpuplan.models.zoo.build_model`) with the parameters it runs
    with, or an ONNX file: then ``name`` is the file's stem and ``params`` are ``{"onnx": PATH,
    "inputs": {...}}`` (see :mod:`xpuplan.models.onnx`)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.params, MappingProxyType):
            object.__setattr__(self, "params", MappingProxyType(dict(self.params)))


@dataclass(frozen=True)
class Task:
    """One stream of inferences or requests.

    Parameters
    ----------
    name
        Unique within the scenario.
    models
        The chain of models each arrival runs, in order.
    arrival
        When arrivals happen.
    cls
        ``periodic``, ``reactive`` or ``proactive``.
    priority
        Higher is more important; also the job weight in weighted objectives.
    deadline_ms
        Relative deadline of each arrival (None: none). Periodic tasks default to one period.
    prompt_tokens, output_tokens
        For LLM tasks: tokens of the prompt (prefill) and of the answer (decode steps).
    chunk_tokens
        Prefill chunk size S_chk for LLM tasks (Agent.xpu); None runs the prefill whole.
    known
        Whether arrivals are known offline (default: all but reactive tasks).
    """

    name: str
    models: tuple[ModelRef, ...]
    arrival: Arrival
    cls: str = "periodic"
    priority: int = 1
    deadline_ms: float | None = None
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    chunk_tokens: int | None = None
    known: bool | None = None
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", tuple(self.models))
        if self.known is None:
            object.__setattr__(self, "known", self.cls != "reactive")

    def validate(self, where: str) -> None:
        if not isinstance(self.name, str) or not self.name or "/" in self.name or "@" in self.name:
            raise InvalidInput(
                "must be a non-empty name without '/' or '@'",
                field=f"{where}.name",
                value=self.name,
            )
        if not self.models:
            raise InvalidInput("must list at least one model", field=f"{where}.models", value=[])
        if self.cls not in TASK_CLASSES:
            raise InvalidInput(
                f"must be one of {', '.join(TASK_CLASSES)}", field=f"{where}.class", value=self.cls
            )
        self.arrival.validate(f"{where}.arrival")
        require_int(self.priority, f"{where}.priority", 0, MAX_COUNT)
        if self.deadline_ms is not None:
            require_positive(self.deadline_ms, f"{where}.deadline_ms", maximum=MAX_MS)
        for attr in ("prompt_tokens", "output_tokens", "chunk_tokens"):
            value = getattr(self, attr)
            if value is not None:
                require_int(value, f"{where}.{attr}", 1, MAX_COUNT)

    @property
    def relative_deadline_ms(self) -> float | None:
        """The deadline of each arrival: the given one, else one period for periodic arrivals."""
        if self.deadline_ms is not None:
            return self.deadline_ms
        if self.cls == "periodic" and isinstance(self.arrival, Periodic):
            return 1000.0 / self.arrival.rate_hz
        return None

    @property
    def is_llm(self) -> bool:
        """True when the task carries LLM request sizes."""
        return self.prompt_tokens is not None


@dataclass(frozen=True)
class Scenario:
    """A named set of tasks, with the power budget, planning objective and horizon it suggests.

    ``horizon_s`` is the default planning horizon when the known tasks are not all periodic
    (with only periodic tasks the planner uses their hyperperiod).
    """

    name: str
    tasks: tuple[Task, ...]
    description: str = ""
    power_budget_w: float | None = None
    objective: str = "makespan"
    rationale: str = ""
    horizon_s: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tuple(self.tasks))
        self._validate()

    def _validate(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidInput("must be a non-empty string", field="name", value=self.name)
        if not self.tasks:
            raise InvalidInput("must list at least one task", field="tasks", value=[])
        seen = set()
        for t_idx, task in enumerate(self.tasks):
            task.validate(f"tasks[{t_idx}]")
            if task.name in seen:
                raise InvalidInput(
                    "repeats a task name", field=f"tasks[{t_idx}].name", value=task.name
                )
            seen.add(task.name)
        if self.power_budget_w is not None:
            require_positive(self.power_budget_w, "power_budget_w", maximum=MAX_REAL)
        if self.horizon_s is not None:
            require_positive(self.horizon_s, "horizon_s", maximum=MAX_HORIZON_S)
        if not isinstance(self.objective, str):
            raise InvalidInput(
                "must be a string such as 'late_jobs,energy'",
                field="objective",
                value=self.objective,
            )
        Objective.parse(self.objective)

    def task(self, name: str) -> Task:
        for task in self.tasks:
            if task.name == name:
                return task
        raise InvalidInput(f"scenario {self.name!r} has no such task", field="task", value=name)

    @property
    def hyperperiod_s(self) -> Fraction | None:
        """Least common multiple of the periods of the known periodic tasks (exact), or None."""
        periods = [
            t.arrival.period for t in self.tasks if t.known and isinstance(t.arrival, Periodic)
        ]
        return hyperperiod(periods) if periods else None


def hyperperiod(periods: Sequence[Fraction]) -> Fraction:
    """The least common multiple of exact periods: lcm of the numerators over gcd of the
    denominators (of the reduced fractions)."""
    return Fraction(
        math.lcm(*(p.numerator for p in periods)), math.gcd(*(p.denominator for p in periods))
    )


def arrival_times_us(task: Task, horizon_us: int, rng: random.Random) -> list[int]:
    """Arrival times of ``task`` in ``[0, horizon_us)``, in microseconds.

    Periodic arrivals are computed exactly from the rational period (30 FPS -> 33333, 66667,
    100000 us: never drifting); Poisson arrivals draw exponential gaps from ``rng``; listed
    times are cut at the horizon.
    """
    arrival = task.arrival
    if isinstance(arrival, Periodic):
        period_us = arrival.period * 1_000_000
        offset_us = Fraction(arrival.offset_ms) * 1000
        periodic: list[int] = []
        k = 0
        while True:
            tick = round(offset_us + k * period_us)
            if tick >= horizon_us:
                return periodic
            periodic.append(tick)
            k += 1
    if isinstance(arrival, Poisson):
        rate_per_us = arrival.rate_per_min / 60e6
        poisson: list[int] = []
        time = rng.expovariate(rate_per_us)
        while time < horizon_us:
            poisson.append(int(time))
            time += rng.expovariate(rate_per_us)
        return poisson
    return [round(t * 1000) for t in arrival.times_ms if t * 1000 < horizon_us]


# ---------------------------------------------------------------------- YAML
def scenario_from_dict(data: Any, base_dir: str | None = None) -> Scenario:
    """Build a scenario from a parsed YAML document (see ``examples/scenarios``).

    ONNX files the tasks name (``model: detector.onnx``) resolve relative to ``base_dir`` (the
    scenario file's folder; default the working directory).
    """
    if not isinstance(data, Mapping):
        raise InvalidInput("must be a mapping", field="(document)", value=data)
    only_known(
        data,
        {"name", "description", "tasks", "power_budget_w", "objective", "rationale", "horizon_s"},
        "",
    )
    raw_tasks = data.get("tasks")
    if not isinstance(raw_tasks, list):
        raise InvalidInput("must be a list", field="tasks", value=raw_tasks)
    tasks = [
        _task_from_dict(raw, f"tasks[{t_idx}]", base_dir) for t_idx, raw in enumerate(raw_tasks)
    ]
    return Scenario(
        name=required(data, "name", ""),
        tasks=tuple(tasks),
        description=str(data.get("description", "")),
        power_budget_w=data.get("power_budget_w"),
        objective=data.get("objective", "makespan"),
        rationale=str(data.get("rationale", "")),
        horizon_s=data.get("horizon_s"),
    )


def _onnx_ref(file: str, inputs: Any, base_dir: str | None, where: str) -> ModelRef:
    """The reference to an ONNX file (relative to ``base_dir``, the scenario file's folder)."""
    path = Path(file)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    if not path.is_file():
        raise InvalidInput("no such ONNX file", field=where, value=str(path))
    if inputs is not None and not isinstance(inputs, Mapping):
        raise InvalidInput(
            "must map input names to shapes, e.g. {x: [1, 3, 640, 640]}",
            field=f"{where}.inputs",
            value=inputs,
        )
    params: dict[str, Any] = {"onnx": str(path.resolve())}
    if inputs:
        params["inputs"] = dict(inputs)
    return ModelRef(path.stem, params)


def _task_from_dict(raw: Any, where: str, base_dir: str | None = None) -> Task:
    if not isinstance(raw, Mapping):
        raise InvalidInput("must be a mapping", field=where, value=raw)
    only_known(
        raw,
        {
            "name",
            "models",
            "model",
            "arrival",
            "class",
            "priority",
            "deadline_ms",
            "prompt_tokens",
            "output_tokens",
            "chunk_tokens",
            "known",
            "description",
            "inputs",
        },
        where,
    )
    if "model" in raw and "models" in raw:
        raise InvalidInput(
            "give either model or models", field=f"{where}.model", value=raw["model"]
        )
    raw_models = [raw["model"]] if "model" in raw else raw.get("models")
    if not isinstance(raw_models, list):
        raise InvalidInput("must be a list of models", field=f"{where}.models", value=raw_models)
    models = []
    task_inputs = raw.get("inputs")
    for m_idx, ref in enumerate(raw_models):
        mwhere = f"{where}.models[{m_idx}]"
        if isinstance(ref, str) and ref.lower().endswith(ONNX_SUFFIX):
            models.append(_onnx_ref(ref, task_inputs, base_dir, mwhere))
        elif isinstance(ref, str):
            models.append(ModelRef(ref))
        elif isinstance(ref, Mapping):
            only_known(ref, {"name", "params", "inputs"}, mwhere)
            name = required(ref, "name", mwhere)
            if isinstance(name, str) and name.lower().endswith(ONNX_SUFFIX):
                only_known(ref, {"name", "inputs"}, mwhere)
                models.append(_onnx_ref(name, ref.get("inputs", task_inputs), base_dir, mwhere))
                continue
            if "inputs" in ref:
                raise InvalidInput(
                    "applies to ONNX models only", field=f"{mwhere}.inputs", value=ref["inputs"]
                )
            params = ref.get("params", {})
            if not isinstance(params, Mapping):
                raise InvalidInput("must be a mapping", field=f"{mwhere}.params", value=params)
            models.append(ModelRef(name, dict(params)))
        else:
            raise InvalidInput("must be a model name or {name, params}", field=mwhere, value=ref)
    if task_inputs is not None and not any("onnx" in m.params for m in models):
        raise InvalidInput(
            "applies to ONNX models only (model: FILE.onnx)",
            field=f"{where}.inputs",
            value=task_inputs,
        )
    known = raw.get("known")
    if known is not None and not isinstance(known, bool):
        raise InvalidInput("must be true or false", field=f"{where}.known", value=known)
    return Task(
        name=required(raw, "name", where),
        models=tuple(models),
        arrival=_arrival_from_dict(required(raw, "arrival", where), f"{where}.arrival"),
        cls=raw.get("class", "periodic"),
        priority=raw.get("priority", 1),
        deadline_ms=raw.get("deadline_ms"),
        prompt_tokens=raw.get("prompt_tokens"),
        output_tokens=raw.get("output_tokens"),
        chunk_tokens=raw.get("chunk_tokens"),
        known=known,
        description=str(raw.get("description", "")),
    )


def _arrival_from_dict(raw: Any, where: str) -> Arrival:
    if not isinstance(raw, Mapping):
        raise InvalidInput("must be a mapping with a type", field=where, value=raw)
    kind = raw.get("type")
    if kind == "periodic":
        only_known(raw, {"type", "rate_hz", "fps", "offset_ms"}, where)
        rate = raw.get("rate_hz", raw.get("fps"))
        if rate is None:
            raise InvalidInput(
                "is required", field=f"{where}.rate_hz", value=None, show_value=False
            )
        return Periodic(rate, raw.get("offset_ms", 0.0))
    if kind == "poisson":
        only_known(raw, {"type", "rate_per_min"}, where)
        return Poisson(required(raw, "rate_per_min", where))
    # "trace" is the spelling files written before "listed" use; they keep loading.
    if kind in ("listed", "trace"):
        only_known(raw, {"type", "times_ms"}, where)
        times = required(raw, "times_ms", where)
        if not isinstance(times, list):
            raise InvalidInput("must be a list", field=f"{where}.times_ms", value=times)
        return Listed(tuple(times))
    raise InvalidInput("must be periodic, poisson or listed", field=f"{where}.type", value=kind)


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read a scenario from a YAML file, validated like the built-ins."""
    data = read_yaml(path)
    try:
        return scenario_from_dict(data, str(Path(path).parent))
    except InvalidInput as exc:
        raise exc.in_file(str(path)) from None
