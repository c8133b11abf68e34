"""Instance and Schedule JSON: exact round trips, and one clear error per kind of bad input."""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tiny_instance, tiny_schedule
from xpuplan.models import (
    InvalidInput,
    instance_from_json,
    instance_to_json,
    load_instance,
    load_schedule,
    save_instance,
    save_schedule,
    schedule_from_json,
    schedule_to_json,
)
from xpuplan.models.generate import random_small_instance
from xpuplan.models.jsonio import write_json


def write(tmp_path: Path, doc: object, name: str = "inst.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


@given(st.integers(0, 10_000))
@settings(max_examples=60, deadline=None)
def test_instance_round_trip(seed):
    """instance -> JSON -> instance is the identity on random instances."""
    inst = random_small_instance(seed)
    assert instance_from_json(json.loads(json.dumps(instance_to_json(inst)))) == inst


def test_files_round_trip(tmp_path):
    """save/load of an instance and a schedule give back equal objects."""
    inst, sched = tiny_instance(), tiny_schedule(objective=13, preemptions=(), message="hi")
    save_instance(tmp_path / "i.json", inst)
    save_schedule(tmp_path / "s.json", sched)
    assert load_instance(tmp_path / "i.json") == inst
    assert load_schedule(tmp_path / "s.json") == sched
    lex = sched.replace(objective=(0, 13), lower_bound=(0, 12))
    assert schedule_from_json(schedule_to_json(lex)) == lex


def base_doc() -> dict:
    return instance_to_json(tiny_instance())


def mutate(path: str, value: object):
    """A document with the field at ``path`` (dotted, [i] for lists) set to ``value``."""
    doc = base_doc()
    keys = path.replace("[", ".").replace("]", "").split(".")
    node = doc
    for key in keys[:-1]:
        node = node[int(key)] if key.isdigit() else node[key]
    last = keys[-1]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return doc


BAD = [
    (
        "negative duration",
        mutate("kernels[0].modes[0].duration", -5),
        "kernels[0].modes[0].duration: must be an integer >= 1 (got -5)",
    ),
    (
        "zero duration",
        mutate("kernels[1].modes[0].duration", 0),
        "kernels[1].modes[0].duration: must be an integer >= 1 (got 0)",
    ),
    (
        "unknown device",
        mutate("kernels[2].modes[1].device", "tpu"),
        "kernels[2].modes[1].device: names no device of this instance (got 'tpu')",
    ),
    (
        "deadline before release",
        mutate("jobs[1].deadline", 3),
        "jobs[1].deadline: is before the job's release 5 (got 3)",
    ),
    (
        "power cap below idle",
        mutate("power_cap_w", 1.0),
        "power_cap_w: is below the idle power of the devices (1.25 W) (got 1.0)",
    ),
    (
        "unknown kernel in edge",
        mutate("edges[0].dst", "nope"),
        "edges[0].dst: names no kernel of this instance (got 'nope')",
    ),
    (
        "unknown field",
        mutate("kernels[0].colour", "red"),
        "kernels[0].colour: is not a known field",
    ),
    (
        "wrong format",
        mutate("format", "xpuplan.instance/9"),
        "format: must be 'xpuplan.instance/1' (got 'xpuplan.instance/9')",
    ),
    (
        "bad objective",
        mutate("objective.type", "fastest"),
        "objective.type: must be one of makespan",
    ),
    (
        "units zero",
        mutate("devices[0].units", 0),
        "devices[0].units: must be an integer >= 1 (got 0)",
    ),
]


@pytest.mark.parametrize(("label", "doc", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_instance_names_file_field_value(tmp_path, label, doc, expected):
    """Each bad input gives one line naming the file, the field and the value."""
    path = write(tmp_path, doc)
    with pytest.raises(InvalidInput) as err:
        load_instance(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {expected}"), message
    assert "\n" not in message


def test_nan_power(tmp_path):
    """NaN (accepted by Python's json) is refused."""
    path = write(tmp_path, json.dumps(base_doc()).replace('"power_w": 3.0', '"power_w": NaN', 1))
    with pytest.raises(InvalidInput, match=r"kernels\[0\]\.modes\[0\]\.power_w: must be a finite"):
        load_instance(path)


def test_cycle(tmp_path):
    """A cyclic kernel graph is refused with the cycle named."""
    doc = base_doc()
    doc["edges"].append({"src": "a2", "dst": "a1"})
    with pytest.raises(
        InvalidInput, match=r"edges: the kernel graph contains a cycle \(got 'a1 -> a2 -> a1'\)"
    ):
        load_instance(write(tmp_path, doc))


def test_malformed_json(tmp_path):
    """Malformed JSON names the file, line and column."""
    with pytest.raises(InvalidInput, match=r"inst.json: malformed JSON at line 1, column 2"):
        load_instance(write(tmp_path, "{oops"))


def test_missing_file(tmp_path):
    """A missing file is named."""
    with pytest.raises(InvalidInput, match="no such file"):
        load_instance(tmp_path / "absent.json")


def test_kernel_without_mode_under_cap(tmp_path):
    """A kernel whose every mode exceeds the power cap is refused."""
    doc = mutate("power_cap_w", 2.0)
    with pytest.raises(
        InvalidInput, match=r"kernels\[0\]\.modes: no mode fits under the power cap"
    ):
        load_instance(write(tmp_path, doc))


def test_resume_cost_across_jobs_refused():
    """resume_cost is only meaningful inside a job."""
    doc = base_doc()
    doc["edges"].append({"src": "a1", "dst": "b1", "resume_cost": 4})
    with pytest.raises(InvalidInput, match=r"edges\[1\]\.resume_cost"):
        instance_from_json(doc)


def test_bad_schedule(tmp_path):
    """A schedule with a non-integer start is refused with its field."""
    doc = schedule_to_json(tiny_schedule())
    doc["assignments"][1]["start"] = 1.5
    with pytest.raises(InvalidInput, match=r"s.json: assignments\[1\]\.start: must be an integer"):
        load_schedule(write(tmp_path, doc, "s.json"))


def test_write_is_atomic(tmp_path):
    """A failure while writing leaves neither a half-written file nor a temporary one."""
    target = tmp_path / "out.json"
    with pytest.raises(ValueError):
        write_json(target, {"values": [1.0] * 10_000 + [math.nan]})
    assert list(tmp_path.iterdir()) == []


def test_written_files_get_ordinary_permissions(tmp_path):
    """A new file gets 0666 less the umask, not mkstemp's 0600; a replaced file keeps its mode."""
    old_umask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.json"
        write_json(fresh, {"a": 1})
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        kept = tmp_path / "kept.json"
        kept.write_text("{}")
        kept.chmod(0o640)
        write_json(kept, {"a": 1})
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640
        assert json.loads(kept.read_text()) == {"a": 1}
    finally:
        os.umask(old_umask)
