"""The policy side of the runtime: only the dispatch API, a read-only machine view, no cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.runtime.helpers import EXACT, chain, kernel, machine, task
from xpuplan.models import InvalidInput
from xpuplan.runtime.dispatch import DispatchApi, MachineView, RunView
from xpuplan.runtime.policies import get_policy, policy_names, policy_plan_only
from xpuplan.runtime.policy import BasePolicy
from xpuplan.runtime.simulator import Simulator

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
POLICY_FILES = sorted((RUNTIME / "policies").glob("*.py"))
# What a policy must not import: the simulator and the state behind the API.
WORLD = {
    "xpuplan.runtime.simulator",
    "xpuplan.runtime.platform_sim",
    "xpuplan.runtime.engine",
    "xpuplan.runtime.metrics",
    "xpuplan.runtime.api",
}


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (TYPE_CHECKING blocks included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            # ``from package import module`` imports that module.
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_policies_import_neither_the_simulator_nor_the_machine_state(path: Path) -> None:
    """No policy module imports the simulator, the platform's state, the engine or metrics."""
    assert not _imports(path) & WORLD


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_policies_touch_no_private_name_of_another_object(path: Path) -> None:
    """A policy reads ``self._x`` (its own state) but never ``other._x``: private names of jobs,
    items, runs, the API and the machine are the simulator's bookkeeping."""
    offences = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        ):
            offences.append(f"line {node.lineno}: .{node.attr}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr")
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and str(node.args[1].value).startswith("_")
        ):
            offences.append(f"line {node.lineno}: {node.func.id}(..., {node.args[1].value!r})")
    # The list-scheduling buckets are the policies' own structures (defined in base.py).
    allowed = {".pop_head", ".push", ".head", ".unpop"}
    assert [o for o in offences if o.split(": ")[1] not in allowed] == []


def _graph() -> dict[str, set[str]]:
    """The import graph between the runtime's modules (TYPE_CHECKING imports included)."""
    names = {}
    for path in [*RUNTIME.glob("*.py"), *POLICY_FILES]:
        rel = path.relative_to(RUNTIME.parent).with_suffix("")
        module = "xpuplan." + ".".join(rel.parts)
        names[module.removesuffix(".__init__")] = path
    return {mod: (_imports(path) & set(names)) - {mod} for mod, path in names.items()}


def test_the_runtime_has_no_import_cycle_between_simulator_api_and_policies() -> None:
    """The simulator, the dispatch API, the policy interface and every policy form no cycle;
    the API and the policy interface import neither the simulator nor a policy."""
    graph = _graph()
    assert "xpuplan.runtime.simulator" not in graph["xpuplan.runtime.policy"]
    assert "xpuplan.runtime.simulator" not in graph["xpuplan.runtime.dispatch"]
    assert not any(m.startswith("xpuplan.runtime.polic") for m in graph["xpuplan.runtime.dispatch"])
    core = {
        m
        for m in graph
        if m.startswith("xpuplan.runtime.polic")
        or m in ("xpuplan.runtime.simulator", "xpuplan.runtime.dispatch")
    }
    state: dict[str, int] = {}

    def visit(mod: str, path: list[str]) -> None:
        state[mod] = 1
        for dep in sorted(graph[mod] & core):
            if state.get(dep) == 1:
                raise AssertionError(" -> ".join([*path, mod, dep]))
            if dep not in state:
                visit(dep, [*path, mod])
        state[mod] = 2

    for mod in sorted(core):
        if mod not in state:
            visit(mod, [])


class _Probe(BasePolicy):
    """A policy that keeps what it was given and tries to write through it."""

    def bind(self, api: DispatchApi) -> None:
        super().bind(api)
        self.seen: list[RunView] = []

    def decide(self) -> None:
        pass

    def on_ready(self, item: object) -> None:
        machine = self.api.machine
        unit = machine.dev_units[0][0]
        if machine.is_idle(unit):
            self.api.start(item, unit)  # type: ignore[arg-type]
            run = machine.run_on(unit)
            assert run is not None
            self.seen.append(run)


def test_the_machine_view_is_read_only() -> None:
    """Every attribute of the view and of a run's view refuses assignment and deletion; what
    they return are copies (tuples, numbers), so the machine cannot be changed through them."""
    spec = machine(budget=10.0)
    tasks = [task("a", chain("a", kernel("k", cpu=100)))]
    probe = _Probe()
    sim = Simulator(spec, tasks, probe, [[0]], 1000.0, config=EXACT)
    sim.run(50.0)
    view = sim.api.machine
    assert isinstance(view, MachineView)
    for name in ("spec", "num_units", "idle_mask", "power_w", "budget_w", "unit_dev", "_m"):
        with pytest.raises(AttributeError):
            setattr(view, name, None)
        with pytest.raises(AttributeError):
            delattr(view, name)
    idle = view.idle_units(1)
    assert isinstance(idle, tuple) and isinstance(view.dev_units[0], tuple)
    assert isinstance(view.running, tuple) and view.num_running == 1
    (run,) = probe.seen
    for name in ("unit", "dev", "level", "power_w", "suspended", "job", "modes"):
        with pytest.raises(AttributeError):
            setattr(run, name, None)
    assert run == view.running[0] and run.unit == 0 and run.expected_end == 100.0
    # What the view reports is the machine's present state.
    assert view.idle_mask == sim.machine.idle_mask and not view.is_idle(0)
    assert view.power_w == sim.machine.power_w


def test_every_plan_executor_is_found_through_the_registry() -> None:
    """The executors carry plan_only (hybrid does not): nothing lists them by name."""
    executors = sorted(name for name in policy_names() if policy_plan_only(name))
    assert executors == ["self-timed", "time-triggered"]
    assert not policy_plan_only("hybrid")
    with pytest.raises(InvalidInput, match="must be a plan executor"):
        get_policy("hybrid", plan=object(), executor="edf")
