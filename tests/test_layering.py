"""The layering rule: models <- solvers, runtime <- planner (DESIGN.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "solvers", "runtime", "planner")
FORBIDDEN = {
    "models": {"solvers", "runtime", "planner"},
    "solvers": {"runtime", "planner"},
    "runtime": {"solvers", "planner"},
    "planner": set(),
}


def project_imports(path: Path) -> set[str]:
    """Top-level project packages imported anywhere in a module (function bodies included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "xpuplan":
            names = [alias.name for alias in node.names]  # from xpuplan import models
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "xpuplan" and len(parts) > 1:
                parts = parts[1:]
            if parts[0] in PACKAGES:
                found.add(parts[0])
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_follow_layering(package: str) -> None:
    """No module of a package imports a package it must not depend on."""
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = project_imports(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, "\n".join(offenders)


def test_walker_sees_nested_imports(tmp_path: Path) -> None:
    """The walker finds imports hidden in function bodies, so the rule cannot be dodged."""
    module = tmp_path / "m.py"
    module.write_text(
        "def f():\n    from xpuplan.planner.cli import main\n    import xpuplan.solvers.cpsat\n"
        "    from runtime import simulate\n    from xpuplan import models\n"
    )
    assert project_imports(module) == {"planner", "solvers", "runtime", "models"}


def test_relative_imports_never_leave_their_package() -> None:
    """``from .. import x`` would dodge the walker above; the project uses absolute imports."""
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.level > 1
    ]
    assert not offenders, offenders
