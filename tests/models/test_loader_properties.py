"""Property: random mutations of valid instance, schedule, scenario and platform files either load
or raise :class:`InvalidInput`, never another exception (issue 14)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import tiny_instance
from xpuplan.models import InvalidInput, instance_to_json
from xpuplan.models.jsonio import instance_from_json, parse_json, schedule_from_json
from xpuplan.models.platform import platform_from_dict
from xpuplan.models.scenario import scenario_from_dict
from xpuplan.models.yamlio import parse_yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
INSTANCE = instance_to_json(tiny_instance())
SCHEDULE = {
    "format": "xpuplan.schedule/1",
    "instance": "tiny",
    "solver": "hand",
    "status": "feasible",
    "objective": 13,
    "lower_bound": 13,
    "assignments": [
        {"kernel": "a1", "device": "npu", "unit": 0, "level": "hi", "start": 0, "end": 5},
    ],
}
SCENARIO_TEXT = (EXAMPLES / "scenarios" / "doorbell.yaml").read_text()
SCENARIO = yaml.safe_load(SCENARIO_TEXT)
PLATFORM_TEXT = (EXAMPLES / "platforms" / "rk3588.yaml").read_text()
PLATFORM = yaml.safe_load(PLATFORM_TEXT)

# Values a careless or hostile file might hold, edge cases first.
leaf = st.one_of(
    st.sampled_from(
        [
            0,
            -1,
            1,
            2**31,
            2**53 + 1,
            2**63,
            10**400,
            1e308,
            -1e308,
            1e-320,
            float("inf"),
            float("-inf"),
            float("nan"),
            "",
            "x",
            "1.5e9",
            True,
            False,
            None,
        ]
    ),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
)
value = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for key, item in doc.items():
            out.extend(_paths(item, (*prefix, key)))
    elif isinstance(doc, list):
        for idx, item in enumerate(doc):
            out.extend(_paths(item, (*prefix, idx)))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """``base`` with one to three places replaced, deleted, or given an extra key."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        if not path:
            doc = draw(value) if draw(st.booleans()) else doc
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "delete", "extra"]))
        last = path[-1]
        if action == "replace":
            parent[last] = draw(value)
        elif action == "delete":
            del parent[last]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=6))] = draw(value)
        else:
            parent.append(draw(value))
    return doc


def _loads_or_invalid(load: Any, doc: Any) -> None:
    try:
        load(doc)
    except InvalidInput as exc:
        assert str(exc)  # a message to print
        assert "\n" not in str(exc).strip()


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(mutated(INSTANCE))
def test_mutated_instances_load_or_raise_invalid_input(doc: Any) -> None:
    _loads_or_invalid(instance_from_json, doc)


@SETTINGS
@given(mutated(SCHEDULE))
def test_mutated_schedules_load_or_raise_invalid_input(doc: Any) -> None:
    _loads_or_invalid(schedule_from_json, doc)


@SETTINGS
@given(mutated(SCENARIO))
def test_mutated_scenarios_load_or_raise_invalid_input(doc: Any) -> None:
    _loads_or_invalid(scenario_from_dict, doc)


@SETTINGS
@given(mutated(PLATFORM))
def test_mutated_platforms_load_or_raise_invalid_input(doc: Any) -> None:
    _loads_or_invalid(platform_from_dict, doc)


@st.composite
def mangled_text(draw: st.DrawFn, text: str) -> str:
    """``text`` with a slice cut, duplicated or replaced by random characters."""
    start = draw(st.integers(0, len(text)))
    stop = draw(st.integers(start, min(len(text), start + 40)))
    action = draw(st.sampled_from(["cut", "repeat", "insert"]))
    if action == "cut":
        return text[:start] + text[stop:]
    if action == "repeat":
        return text[:stop] + text[start:stop] * draw(st.integers(1, 50)) + text[stop:]
    return text[:start] + draw(st.text(max_size=20)) + text[stop:]


@SETTINGS
@given(mangled_text(json.dumps(INSTANCE, indent=1)))
def test_mangled_instance_text_parses_or_raises_invalid_input(text: str) -> None:
    _loads_or_invalid(lambda t: instance_from_json(parse_json(t, "i.json")), text)


@SETTINGS
@given(mangled_text(SCENARIO_TEXT))
def test_mangled_scenario_text_parses_or_raises_invalid_input(text: str) -> None:
    _loads_or_invalid(lambda t: scenario_from_dict(parse_yaml(t, "s.yaml")), text)


@SETTINGS
@given(mangled_text(PLATFORM_TEXT))
def test_mangled_platform_text_parses_or_raises_invalid_input(text: str) -> None:
    _loads_or_invalid(lambda t: platform_from_dict(parse_yaml(t, "p.yaml")), text)
