"""Packaging: the wheel installs the four layers under ``xpuplan`` and nothing generic."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_holds_only_the_xpuplan_namespace(tmp_path: Path) -> None:
    """A regular build puts ``xpuplan/...`` and its dist-info in the wheel, nothing else."""
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("xpuplan-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"xpuplan", next(t for t in tops if t.endswith(".dist-info"))}
    for layer in ("models", "solvers", "runtime", "planner"):
        assert f"xpuplan/{layer}/__init__.py" in names
    assert "xpuplan/models/presets/__init__.py" in names  # subpackages come along
    for layer in ("models", "solvers", "runtime", "planner"):  # every module of every layer
        modules = {str(p.relative_to(ROOT)) for p in (ROOT / layer).rglob("*.py")}
        assert {f"xpuplan/{m}" for m in modules} <= set(names)
