"""Shared fixtures: tiny hand-built instances whose schedules can be checked by hand."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xpuplan.models import (
    Assignment,
    Device,
    Edge,
    Instance,
    Job,
    Kernel,
    Mode,
    Objective,
    Resource,
    Schedule,
)

SHARED = Path(os.environ.get("XPUPLAN_SHARED", Path(__file__).resolve().parents[2] / "shared"))
BENCHMARKS = SHARED / "benchmarks"


def tiny_instance(**changes: object) -> Instance:
    """Two devices (a 2-unit CPU, a 1-unit NPU), two jobs, three kernels, one resumable edge.

    Idle power 2 x 0.5 + 0.25 = 1.25 W under a 10 W cap; bandwidth capacity 10.
    """
    inst = Instance(
        name="tiny",
        devices=(Device("cpu", 2, 0.5, "cpu"), Device("npu", 1, 0.25, "npu")),
        resources=(Resource("bw", 10.0),),
        power_cap_w=10.0,
        jobs=(Job("A", 0, 100), Job("B", 5, 50, 2.0)),
        kernels=(
            Kernel(
                "a1",
                "A",
                (Mode("cpu", "hi", 10, 3.0, {"bw": 4.0}), Mode("npu", "hi", 5, 2.0, {"bw": 6.0})),
            ),
            Kernel(
                "a2",
                "A",
                (Mode("cpu", "hi", 10, 3.0), Mode("npu", "hi", 6, 2.0), Mode("npu", "lo", 9, 1.0)),
            ),
            Kernel("b1", "B", (Mode("cpu", "hi", 8, 4.0, {"bw": 5.0}), Mode("npu", "lo", 12, 1.0))),
        ),
        edges=(Edge("a1", "a2", cross_device_delay=3, resume_cost=2),),
        objective=Objective("makespan"),
    )
    return inst.replace(**changes) if changes else inst


# The optimum of tiny_instance() under each objective, worked out by hand (the derivations are the
# docstrings of tests/solvers/test_cpsat.py); brute force and both MILP formulations on both
# backends must each prove it.
TINY_OPTIMA = {
    "makespan": 13,
    "weighted_completion": 37,
    "weighted_tardiness": 0,
    "late_jobs": 0,
    "energy": 62.75,
    "late_jobs,energy": (0, 62.75),
    "makespan,energy": (13, 70.25),
}


def tiny_schedule(*changed: Assignment, **fields: object) -> Schedule:
    """A valid schedule of :func:`tiny_instance` (makespan 13), with some assignments replaced."""
    base = {
        "a1": Assignment("a1", "npu", 0, "hi", 0, 5),
        "a2": Assignment("a2", "npu", 0, "hi", 5, 11),
        "b1": Assignment("b1", "cpu", 0, "hi", 5, 13),
    }
    for asg in changed:
        base[asg.kernel] = asg
    return Schedule("tiny", tuple(base.values()), **fields)  # type: ignore[arg-type]


@pytest.fixture
def tiny() -> Instance:
    return tiny_instance()


@pytest.fixture
def benchmarks_dir() -> Path:
    """``../shared/benchmarks``; tests that need it skip cleanly when it is absent."""
    if not BENCHMARKS.is_dir():
        pytest.skip(f"benchmark instances not found at {BENCHMARKS}")
    return BENCHMARKS
