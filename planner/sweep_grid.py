"""The grid of a sweep and its cells: plain, validated data (the file format: ``docs/sweeps.md``).

A :class:`Grid` expands into :class:`Cell` objects, one per solver or policy on one problem; a cell
is what a Dask worker runs (:func:`xpuplan.planner.sweep.run_cell`) and its ``cell_id`` is the key
by which a sweep resumes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xpuplan.models import InvalidInput
from xpuplan.models.scenario import Poisson, Scenario
from xpuplan.models.yamlio import read_yaml

_LIST_KEYS = (
    "platforms",
    "power_modes",
    "power_cap_w",
    "scenarios",
    "load_scale",
    "seeds",
    "duration_s",
    "time_limit_s",
    "horizon_s",
    "solvers",
    "policies",
)
_SCALAR_KEYS = (
    "name",
    "objective",
    "max_kernels",
    "levels",
    "simulate",
    "threads_per_cell",
    "include_unknown",
    "policy_options",
    "solver_options",
)


# ---------------------------------------------------------------------- the grid
@dataclass(frozen=True)
class Grid:
    """A sweep's grid (see ``docs/sweeps.md`` for the file format).

    Every list key is an axis of the grid; the cells are the product of the axes, times the
    solvers (each with every time limit) and the policies.
    """

    name: str
    platforms: tuple[str, ...]
    scenarios: tuple[str, ...]
    power_modes: tuple[str | None, ...] = (None,)
    power_cap_w: tuple[float | str | None, ...] = (None,)
    load_scale: tuple[float, ...] = (1.0,)
    seeds: tuple[int, ...] = (0,)
    duration_s: tuple[float, ...] = (10.0,)
    time_limit_s: tuple[float, ...] = (10.0,)
    horizon_s: tuple[float | None, ...] = (None,)
    solvers: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    objective: str | None = None
    max_kernels: int = 6
    levels: str | int = 3
    simulate: bool = True
    include_unknown: bool = True
    threads_per_cell: int = 1
    policy_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    solver_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, file: str | None = None) -> Grid:
        """Validate a grid document; errors name the file, the key and the value."""
        try:
            return cls._from_dict(data)
        except InvalidInput as exc:
            raise exc.in_file(file) if file else exc from None

    @classmethod
    def _from_dict(cls, data: Any) -> Grid:
        from xpuplan.planner.online import online_policy_names
        from xpuplan.solvers import solver_names

        if not isinstance(data, Mapping):
            raise InvalidInput("a grid must be a mapping of keys to values", value=data)
        unknown = sorted(set(data) - set(_LIST_KEYS) - set(_SCALAR_KEYS))
        if unknown:
            raise InvalidInput(
                f"is not a grid key (known: {', '.join((*_LIST_KEYS, *_SCALAR_KEYS))})",
                field=unknown[0],
                value=data[unknown[0]],
                show_value=False,
            )
        lists = {key: _as_list(data[key]) for key in _LIST_KEYS if key in data}
        for key in ("platforms", "scenarios"):
            if not lists.get(key):
                raise InvalidInput("must name at least one", field=key, value=data.get(key))
            for pos, value in enumerate(lists[key]):
                if not isinstance(value, str):
                    raise InvalidInput(
                        "must be a name or a file", field=f"{key}[{pos}]", value=value
                    )
        policies = [str(p) for p in lists.get("policies", [])]
        if policies == ["all"]:
            policies = online_policy_names()
        for pos, name in enumerate(policies):
            if name not in online_policy_names():
                raise InvalidInput(
                    f"is not an online policy (known: {', '.join(online_policy_names())}, or all)",
                    field=f"policies[{pos}]",
                    value=name,
                )
        solvers = [str(s) for s in lists.get("solvers", [])]
        for pos, name in enumerate(solvers):
            if name not in solver_names():
                raise InvalidInput(
                    f"is not a registered solver (known: {', '.join(solver_names())})",
                    field=f"solvers[{pos}]",
                    value=name,
                )
        if not solvers and not policies:
            raise InvalidInput("a grid needs solvers or policies", field="solvers", value=None)
        values: dict[str, Any] = {
            "name": str(data.get("name", "sweep")),
            "platforms": tuple(lists["platforms"]),
            "scenarios": tuple(lists["scenarios"]),
            "solvers": tuple(solvers),
            "policies": tuple(policies),
        }
        if "power_modes" in lists:
            values["power_modes"] = tuple(
                None if m is None else str(m) for m in lists["power_modes"]
            )
        if "power_cap_w" in lists:
            values["power_cap_w"] = tuple(
                "none" if v == "none" else _number(v, f"power_cap_w[{p}]", "positive-or-null")
                for p, v in enumerate(lists["power_cap_w"])
            )
        for key, kind in (
            ("load_scale", "positive"),
            ("duration_s", "positive"),
            ("time_limit_s", "positive"),
            ("horizon_s", "positive-or-null"),
        ):
            if key in lists:
                values[key] = tuple(
                    _number(v, f"{key}[{p}]", kind) for p, v in enumerate(lists[key])
                )
        if "seeds" in lists:
            seeds = []
            for pos, seed in enumerate(lists["seeds"]):
                if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
                    raise InvalidInput("must be an integer >= 0", field=f"seeds[{pos}]", value=seed)
                seeds.append(seed)
            values["seeds"] = tuple(seeds)
        for key in _LIST_KEYS:
            if key in values and not values[key] and key not in ("solvers", "policies"):
                raise InvalidInput("must not be empty", field=key, value=[])
        if "objective" in data and data["objective"] is not None:
            values["objective"] = str(data["objective"])
        if "max_kernels" in data:
            values["max_kernels"] = _positive_int(data["max_kernels"], "max_kernels")
        if "threads_per_cell" in data:
            values["threads_per_cell"] = _positive_int(data["threads_per_cell"], "threads_per_cell")
        if "levels" in data:
            levels = data["levels"]
            if levels not in ("all", "top") and not (isinstance(levels, int) and levels >= 1):
                raise InvalidInput("must be all, top or a count >= 1", field="levels", value=levels)
            values["levels"] = levels
        for key in ("simulate", "include_unknown"):
            if key in data:
                if not isinstance(data[key], bool):
                    raise InvalidInput("must be true or false", field=key, value=data[key])
                values[key] = data[key]
        for key in ("policy_options", "solver_options"):
            if key in data:
                raw = data[key] or {}
                if not isinstance(raw, Mapping) or not all(
                    isinstance(v, Mapping) for v in raw.values()
                ):
                    raise InvalidInput("must map names to option mappings", field=key, value=raw)
                values[key] = {str(k): dict(v) for k, v in raw.items()}
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        """The grid as a JSON document (stored with the results)."""
        doc = dataclasses.asdict(self)
        return {key: list(v) if isinstance(v, tuple) else v for key, v in doc.items()}

    def cells(self) -> list[Cell]:
        """Every cell, in a stable order: problems outermost, then solvers, then policies."""
        out = []
        for platform, mode, cap, scenario, scale, seed, duration, horizon in itertools.product(
            self.platforms,
            self.power_modes,
            self.power_cap_w,
            self.scenarios,
            self.load_scale,
            self.seeds,
            self.duration_s,
            self.horizon_s,
        ):
            common: dict[str, Any] = {
                "grid": self.name,
                "platform": platform,
                "power_mode": mode,
                "power_cap_w": cap,
                "scenario": scenario,
                "load_scale": scale,
                "seed": seed,
                "duration_s": duration,
                "horizon_s": duration if horizon is None and self.include_unknown else horizon,
                "include_unknown": self.include_unknown,
                "objective": self.objective,
                "max_kernels": self.max_kernels,
                "levels": self.levels,
                "threads": self.threads_per_cell,
            }
            for solver in self.solvers:
                for limit in self.time_limit_s:
                    out.append(
                        Cell(
                            kind="solver",
                            name=solver,
                            time_limit_s=limit,
                            options=dict(self.solver_options.get(solver, {})),
                            simulate=False,
                            **common,
                        )
                    )
            for policy in self.policies:
                out.append(
                    Cell(
                        kind="policy",
                        name=policy,
                        time_limit_s=None,
                        options=dict(self.policy_options.get(policy, {})),
                        simulate=self.simulate,
                        **common,
                    )
                )
        return out


def load_grid(path: str | os.PathLike[str], overrides: Mapping[str, Any] | None = None) -> Grid:
    """Read and validate a grid file (YAML or JSON), with some keys replaced by ``overrides``."""
    data = read_yaml(path)
    if overrides and isinstance(data, Mapping):
        data = {**data, **overrides}
    return Grid.from_dict(data, file=str(path))


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _number(value: Any, where: str, kind: str) -> float | None:
    if value is None and kind == "positive-or-null":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput("must be a number", field=where, value=value)
    if value <= 0:
        raise InvalidInput("must be > 0", field=where, value=value)
    return float(value)


def _positive_int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidInput("must be an integer >= 1", field=where, value=value)
    return value


# ---------------------------------------------------------------------- cells
@dataclass(frozen=True)
class Cell:
    """One run: a solver or a policy on one problem. Plain data, so Dask can ship it."""

    grid: str
    kind: str
    name: str
    platform: str
    power_mode: str | None
    scenario: str
    power_cap_w: float | str | None
    load_scale: float
    seed: int
    duration_s: float
    horizon_s: float | None
    include_unknown: bool
    time_limit_s: float | None
    objective: str | None
    max_kernels: int
    levels: str | int
    threads: int
    options: Mapping[str, Any]
    simulate: bool

    @property
    def problem(self) -> tuple[Any, ...]:
        """What identifies the cell's instance (cells with the same problem share a best bound)."""
        return (
            self.platform,
            self.power_mode,
            self.power_cap_w,
            self.scenario,
            self.load_scale,
            self.seed,
            self.horizon_s,
            self.include_unknown,
            self.objective,
            self.max_kernels,
            self.levels,
        )

    @property
    def cell_id(self) -> str:
        """A stable id of everything that determines the cell's result (the resume key)."""
        doc = dataclasses.asdict(self)
        doc.pop("grid")
        if doc["power_cap_w"] is None:  # the ids of cells from before the key existed stay
            doc.pop("power_cap_w")
        doc["options"] = dict(sorted(doc["options"].items()))
        text = json.dumps(doc, sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:16]


def cell_from_spec(text: str) -> Cell:
    """The cell a row's ``spec`` column describes."""
    doc = json.loads(text)
    doc.setdefault("power_cap_w", None)
    return Cell(**{**doc, "options": dict(doc.get("options") or {})})


def scaled_scenario(scenario: Scenario, factor: float) -> Scenario:
    """``scenario`` with every Poisson arrival rate multiplied by ``factor``.

    Periodic tasks keep their rates (a frame rate is the application's, not a load knob) and
    listed arrivals their times. The name gains ``-x<factor>`` unless the factor is 1.
    """
    if factor == 1.0:
        return scenario
    tasks = tuple(
        dataclasses.replace(t, arrival=Poisson(t.arrival.rate_per_min * factor))
        if isinstance(t.arrival, Poisson)
        else t
        for t in scenario.tasks
    )
    return dataclasses.replace(scenario, name=f"{scenario.name}-x{factor:g}", tasks=tasks)
