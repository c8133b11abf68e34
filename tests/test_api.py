"""The public surface: ``import xpuplan`` gives every documented name, lazily, each documented."""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import xpuplan

ROOT = Path(__file__).resolve().parents[1]

# The public API. Removing or renaming one of these breaks users' scripts: this list changes only
# on purpose, together with docs/api.md.
PUBLIC = (
    "__version__",
    "Instance",
    "Schedule",
    "Objective",
    "Plan",
    "load_instance",
    "save_instance",
    "load_schedule",
    "save_schedule",
    "load_plan",
    "save_plan",
    "plan_settings",
    "check_schedule",
    "XpuplanError",
    "InvalidInput",
    "Unsupported",
    "get_platform",
    "platform_names",
    "get_scenario",
    "scenario_names",
    "build_kernel_dag",
    "instance_from_networkx",
    "build_instance",
    "PlanningOptions",
    "solve",
    "solver_names",
    "Result",
    "compare",
    "save_gantt",
    "make_plan",
    "simulate",
    "SimResult",
    "policy_names",
    "run",
    "sweep",
)
FUNCTIONS = [name for name in PUBLIC if name != "__version__" and not name[0].isupper()]


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_is_exported(name):
    """Every public name is in __all__, in dir(xpuplan), and resolves to an object."""
    assert name in xpuplan.__all__
    assert name in dir(xpuplan)
    assert getattr(xpuplan, name) is not None


def test_nothing_else_is_public():
    """__all__ is exactly the public list: a new name is added here and in docs/api.md first."""
    assert sorted(xpuplan.__all__) == sorted(PUBLIC)


def test_docs_list_every_public_name():
    """docs/api.md describes every public name."""
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    missing = [name for name in PUBLIC if f"`{name}" not in text]
    assert missing == []


@pytest.mark.parametrize("name", FUNCTIONS)
def test_public_function_has_numpydoc_and_an_example(name):
    """Each public function has numpydoc sections and a runnable example (run as a doctest)."""
    doc = inspect.getdoc(getattr(xpuplan, name)) or ""
    sections = {line.strip() for line in doc.splitlines()}
    assert "Examples" in sections and ">>>" in doc, name
    params = [
        p for p in inspect.signature(getattr(xpuplan, name)).parameters.values() if p.name != "self"
    ]
    if params:
        assert "Parameters" in sections, name
    if inspect.signature(getattr(xpuplan, name)).return_annotation not in ("None", None):
        assert "Returns" in sections, name


@pytest.mark.parametrize("name", [n for n in PUBLIC if n[0].isupper()])
def test_public_class_has_a_docstring(name):
    """Each public class says what it is."""
    assert (inspect.getdoc(getattr(xpuplan, name)) or "").strip()


def test_lazy_table_matches_the_type_checking_imports():
    """The names mypy and IDEs see (TYPE_CHECKING imports) are the lazy ones, from the same
    modules."""
    tree = ast.parse((ROOT / "xpuplan" / "__init__.py").read_text(encoding="utf-8"))
    seen: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.module
                for alias in stmt.names:
                    seen[alias.asname or alias.name] = stmt.module
                    # A name imported under another one is in the renamed table, and only then.
                    renamed = xpuplan._RENAMED.get(alias.asname or alias.name)
                    assert renamed == (alias.name if alias.asname else None)
    lazy = xpuplan._LAZY
    assert seen == lazy
    assert sorted(lazy) == sorted(name for name in xpuplan.__all__ if name != "__version__")


def test_names_resolve_to_their_defining_objects():
    """The top level hands out the very objects of the layers (no wrappers, no copies)."""
    from xpuplan.models import check_schedule
    from xpuplan.planner.unroll import build_instance
    from xpuplan.runtime.real_run import run_plan
    from xpuplan.solvers import solve

    assert xpuplan.check_schedule is check_schedule
    assert xpuplan.solve is solve and xpuplan.build_instance is build_instance
    assert xpuplan.run is run_plan


def test_unknown_name_is_an_attribute_error():
    """A private or missing name is an AttributeError, as for any module."""
    with pytest.raises(AttributeError, match="no attribute 'build_assignments'"):
        _ = xpuplan.build_assignments


def test_import_is_light_and_names_load_on_use():
    """``import xpuplan`` loads neither OR-Tools nor pandas nor networkx; using a name does."""
    code = (
        "import sys, xpuplan\n"
        "heavy = ('ortools', 'pandas', 'networkx', 'xpuplan.runtime', 'xpuplan.solvers')\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "xpuplan.solve\n"
        "assert 'ortools' in sys.modules and 'xpuplan.solvers' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.slow
def test_docs_examples_run(tmp_path, monkeypatch):
    """The code blocks of docs/api.md run in order, as a notebook would, and say true things."""
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    blocks = [
        textwrap.dedent(block.split("```", 1)[0]) for block in re.split(r"```python\n", text)[1:]
    ]
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "docs/api.md", "exec"), scope)
    assert xpuplan.load_plan(tmp_path / "plan.json") == scope["plan"]
    assert scope["inst"].num_kernels == 2  # the last block's task graph


@pytest.mark.parametrize(
    ("cls", "method"),
    [("Instance", "to_networkx"), ("Schedule", "to_frame"), ("SimResult", "to_frame")],
)
def test_public_methods_in_the_ecosystems_shapes(cls, method):
    """The networkx and pandas conversions are methods of the public classes, with examples."""
    doc = inspect.getdoc(getattr(getattr(xpuplan, cls), method)) or ""
    assert "Examples" in doc and ">>>" in doc
