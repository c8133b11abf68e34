"""The notebook-style tour (examples/notebook_tour.py) runs top to bottom from the top level."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOUR = ROOT / "examples" / "notebook_tour.py"


def test_tour_uses_only_the_top_level():
    """The tour imports xpuplan itself, never a layer: everything it needs is public."""
    tree = ast.parse(TOUR.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert "xpuplan" in imported
    assert not [name for name in imported if name.startswith("xpuplan.")]


@pytest.mark.slow
def test_tour_runs_top_to_bottom(tmp_path):
    """With small limits the tour finishes, checks every schedule, and writes its outputs."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    argv = [sys.executable, str(TOUR), "--out", str(tmp_path), "--time-limit", "1"]
    done = subprocess.run(
        [*argv, "--duration", "1"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("gantt.png", "gaps.png", "policies.png"):
        assert (tmp_path / name).read_bytes()[1:4] == b"PNG"
    plan = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert plan["format"] == "xpuplan.plan/1" and plan["period_us"] == 100_000
    assert "gaming@jetson-orin-nx-16gb" in done.stdout and "hybrid" in done.stdout
