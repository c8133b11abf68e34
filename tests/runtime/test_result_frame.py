"""SimResult.to_frame: the per-task table agrees with the JSON document, for LLM and other tasks."""

from __future__ import annotations

import math

import pandas as pd

from xpuplan.runtime.api import simulate
from xpuplan.runtime.metrics import TASK_COLUMNS


def _close(value: object, reported: object) -> bool:
    """A frame value against the JSON document's (rounded to 4 decimals, None for missing)."""
    if reported is None:
        return bool(pd.isna(value))
    return math.isclose(float(value), float(reported), abs_tol=1e-4)  # type: ignore[arg-type]


def test_task_frame_agrees_with_the_json_document():
    """Every row and column of to_frame matches to_json's task block."""
    result = simulate("core-ultra-125h", "agent-assistant", "agent-xpu", duration_s=3.0, seed=1)
    frame = result.to_frame()
    doc = result.to_json()["tasks"]
    assert list(frame.columns) == list(TASK_COLUMNS)
    assert list(frame["task"]) == list(doc) and set(frame["policy"]) == {"agent-xpu"}
    assert any(tm.llm for tm in result.tasks.values())
    for row in frame.to_dict("records"):
        task = doc[row["task"]]
        assert row["class"] == task["class"]
        for key in ("arrived", "completed", "dropped", "in_flight", "late", "decided"):
            assert row[key] == task[key]
        assert row["arrived"] == row["completed"] + row["dropped"] + row["in_flight"]
        assert _close(row["deadline_violation_rate"], task["deadline_violation_rate"])
        latency = task["latency_ms"] or {}
        for stat in ("mean", "p50", "p90", "p99"):
            assert _close(row[f"latency_{stat}_ms"], latency.get(stat))
        if "ttft_ms" in task:
            assert _close(row["ttft_mean_ms"], (task["ttft_ms"] or {}).get("mean"))
            assert _close(row["tbt_mean_ms"], (task["tbt_ms"] or {}).get("mean"))
            assert _close(row["tps"], task["tps"]) and row["tokens"] == task["tokens"]
        else:
            assert pd.isna(row["tokens"]) and pd.isna(row["ttft_mean_ms"])


def test_frames_of_several_policies_concatenate():
    """Frames of runs under different policies stack into one table keyed by policy."""
    frames = [
        simulate("jetson-orin-nx-16gb", "gaming", policy, duration_s=1.0, seed=0).to_frame()
        for policy in ("fcfs", "edf")
    ]
    table = pd.concat(frames, ignore_index=True)
    assert list(table["policy"].unique()) == ["fcfs", "edf"]
    assert table.groupby("policy")["arrived"].sum().nunique() == 1  # same arrivals per seed
